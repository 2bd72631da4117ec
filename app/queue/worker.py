"""Worker processes: run the queued tasks, and put back the jobs of workers that died."""

import asyncio
import contextlib
import logging
from collections.abc import Callable

from app.config import get_settings
from app.queue.broker import QUEUE, tasks

log = logging.getLogger(__name__)


async def _housekeeping(recover: Callable[[], object], every_s: float) -> None:
    """Call RECOVER now and every EVERY_S seconds (a failed round is logged, not fatal)."""
    while True:
        try:
            await asyncio.to_thread(recover)
        except Exception:  # the database may be away for a while: try again next round
            log.exception("recovering interrupted jobs failed")
        await asyncio.sleep(every_s)


async def run_worker_async(
    recover: Callable[[], object] | None = None,
    *,
    wait: bool = True,
    install_signal_handlers: bool = True,
) -> None:
    """Run our queue's tasks until stopped (or, WAIT false, until the queue is empty).

    RECOVER (requeue or fail the jobs of dead workers) runs at start and every third of the
    job lease, so a job never stays running after its worker is gone.
    """
    settings = get_settings()
    lease = float(settings.job_lease_s)
    # procrastinate logs each job with its arguments (a batch's every site): ours log ids.
    logging.getLogger("procrastinate").setLevel(max(logging.WARNING, log.getEffectiveLevel()))
    log.info("worker: queue %r, %d job(s) at once", QUEUE, settings.queue_concurrency)
    keeper = asyncio.create_task(_housekeeping(recover, lease / 3)) if recover else None
    try:
        async with tasks.open_async():
            await tasks.run_worker_async(
                queues=[QUEUE],
                concurrency=settings.queue_concurrency,
                wait=wait,
                install_signal_handlers=install_signal_handlers,
                # Our job rows are the record: the queue keeps only what is left to do.
                delete_jobs="successful",
                update_heartbeat_interval=lease / 3,
                stalled_worker_timeout=lease,
                listen_notify=True,
                fetch_job_polling_interval=min(5.0, lease / 3),
            )
    finally:
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper


def run_worker(recover: Callable[[], object] | None = None) -> None:
    """Run a worker in the foreground until SIGINT or SIGTERM (the `redline worker` command)."""
    asyncio.run(run_worker_async(recover))
