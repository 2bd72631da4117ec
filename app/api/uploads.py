"""Save an uploaded file to a temporary folder, keeping its name (the format comes from it)."""

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import UploadFile

from app.config import get_settings
from app.errors import InvalidInput


@asynccontextmanager
async def saved_upload(file: UploadFile) -> AsyncIterator[Path]:
    """Save an upload to a private temporary folder (size-capped); the folder goes after use."""
    name = Path(file.filename or "").name
    if not Path(name).suffix:
        raise InvalidInput("The uploaded file needs a name with its extension (.geojson, .zip …).")
    limit = get_settings().max_upload_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="redline-upload-") as tmp:
        path = Path(tmp) / name
        size = 0
        with path.open("wb") as out:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise InvalidInput(f"The upload exceeds {get_settings().max_upload_mb} MB.")
                out.write(chunk)
        yield path
