"""Zip archives (zipped Shapefiles, KMZ …) checked from their directory before extraction.

A zip bomb declares its sizes in the central directory: the sum of the members' sizes, their
compression ratios, their count and nested archives are all refused without inflating a byte.
"""

import zipfile
from pathlib import Path

from app.config import get_settings
from app.errors import UnreadableFile
from app.io.limits import TooLarge

NESTED = (".zip", ".kmz", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz")
# Small members (.prj, .cpg, padded .dbf headers) compress far beyond any bomb's ratio.
_RATIO_FLOOR = 1024 * 1024


def check_archive(path: Path) -> None:
    """Refuse an archive whose directory declares too much data, a bomb's ratio or nesting."""
    settings = get_settings()
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(
            f"“{path.name}”不是可读取的 zip 压缩包（{exc}）：请重新压缩后再上传。"
            f"{path.name!r} is not a readable zip archive ({exc}). "
            "Re-create the zip and upload it again."
        ) from exc
    if len(members) > settings.max_archive_members:
        raise TooLarge(
            f"压缩包“{path.name}”中有 {len(members)} 个文件，"
            f"最多 {settings.max_archive_members} 个：请只压缩一个图层的文件。"
            f"The archive {path.name!r} has {len(members)} members; at most "
            f"{settings.max_archive_members}. Zip only the parts of one layer."
        )
    nested = [m.filename for m in members if m.filename.lower().endswith(NESTED)]
    if nested:
        raise UnreadableFile(
            f"压缩包“{path.name}”中含有其他压缩包（{'、'.join(nested[:3])}）：请解压后直接压缩图层文件。"
            f"The archive {path.name!r} holds other archives ({', '.join(nested[:3])}); "
            "unpack them and zip the layer's files directly."
        )
    total = sum(m.file_size for m in members)
    limit = settings.max_archive_mb * 1024 * 1024
    if total > limit:
        raise TooLarge(
            f"压缩包“{path.name}”解压后有 {total // (1024 * 1024)} MB，超过上限 "
            f"{settings.max_archive_mb} MB：请拆分数据，或请管理员调高 REDLINE_MAX_ARCHIVE_MB。"
            f"The archive {path.name!r} expands to {total // (1024 * 1024)} MB; the limit is "
            f"{settings.max_archive_mb} MB. Split the data, or ask an administrator to raise "
            "REDLINE_MAX_ARCHIVE_MB."
        )
    for m in members:
        if (
            m.file_size > _RATIO_FLOOR
            and m.file_size > m.compress_size * settings.max_archive_ratio
        ):
            raise TooLarge(
                f"压缩包“{path.name}”中的“{m.filename}”压缩比超过 {settings.max_archive_ratio}:1，"
                "疑似压缩炸弹，已拒收。"
                f"{m.filename!r} in {path.name!r} is compressed more than "
                f"{settings.max_archive_ratio}:1, as a zip bomb is; the archive is refused."
            )
