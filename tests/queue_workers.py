"""Job-queue workers for tests: one in this process (a thread with its own event loop), or a
`redline worker` subprocess that a test can kill."""

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class InProcessWorker:
    """A procrastinate worker on a thread, serving our queue until stop() (as `redline worker`
    does, with the job recovery rounds)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._run, name="test-queue-worker", daemon=True)

    def _run(self) -> None:
        from app.queue import run_worker_async
        from app.screening import batch_jobs  # noqa: F401  (registers the batch task)
        from app.store.jobs import recover_interrupted_jobs

        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(
            run_worker_async(recover_interrupted_jobs, install_signal_handlers=False)
        )
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)
        self._loop.close()

    def start(self) -> "InProcessWorker":
        """Start serving the queue."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop (a job still running is cut off, as a stopped worker's would be)."""
        for _ in range(100):
            if self._task is not None:
                break
            time.sleep(0.05)
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the test worker did not stop"


def worker_process(*, hold_s: float = 0.0, **env: str) -> subprocess.Popen:
    """`redline worker` in a subprocess (its settings from ENV, REDLINE_* names); HOLD_S > 0
    makes each screening chunk wait that long first, so a test can kill it mid-job."""
    code = (
        "import time\n"
        "from app.screening import batch\n"
        f"if {hold_s!r} > 0:\n"
        "    screen = batch._screen_rows\n"
        "    def held(*args, **kwargs):\n"
        f"        time.sleep({hold_s!r})\n"
        "        return screen(*args, **kwargs)\n"
        "    batch._screen_rows = held\n"
        "from app.cli import main\n"
        "main()\n"
    )
    (ROOT / "artifacts").mkdir(exist_ok=True)
    log = (ROOT / "artifacts" / "queue_worker.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-c", code, "worker"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
