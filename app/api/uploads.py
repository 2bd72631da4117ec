"""Save an uploaded file to a temporary folder, keeping its name (the format comes from it)."""

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from fastapi import UploadFile

from app.config import get_settings
from app.errors import InvalidInput

# Upload folders are named redline-upload-<pid>-…, so start-up can tell a dead process's
# leftovers from a live one's uploads.
PREFIX = "redline-upload-"


@asynccontextmanager
async def saved_upload(file: UploadFile) -> AsyncIterator[Path]:
    """Save an upload to a private temporary folder (size-capped); the folder goes after use."""
    name = Path(file.filename or "").name
    if not Path(name).suffix:
        raise InvalidInput(
            "上传的文件需要带扩展名的文件名（如 .geojson、.zip）：请重命名后再上传。"
            "The uploaded file needs a name with its extension (.geojson, .zip …)."
        )
    limit = get_settings().max_upload_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-") as tmp:
        path = Path(tmp) / name
        size = 0
        with path.open("wb") as out:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    mb = get_settings().max_upload_mb
                    raise InvalidInput(
                        f"上传的文件超过 {mb} MB：请拆分文件后分批上传。The upload exceeds {mb} MB."
                    )
                out.write(chunk)
        yield path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_uploads(before: float) -> int:
    """Delete upload folders a crashed process left: older than `before`, owner not running."""
    removed = 0
    for folder in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
        owner = folder.name.removeprefix(PREFIX).split("-", 1)[0]
        alive = owner.isdigit() and int(owner) != os.getpid() and _pid_alive(int(owner))
        with suppress(OSError):
            if not alive and folder.stat().st_mtime < before:
                shutil.rmtree(folder)
                removed += 1
    return removed
