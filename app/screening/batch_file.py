"""A queued batch's sites in the job folder, one line per row, read back a window at a time.

The API writes the file when it queues the batch; the worker that screens it reads a chunk of
rows at a time, so its memory does not grow with the batch. Geometries go as hex WKB (exact
to the bit); a row's cells as given. The job folder is shared by the API and its workers.
The header also holds the batch's survey (`batch_input.survey`), made while the API holds
the sites, so the worker does not read the whole file once more before it starts.
"""

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import shapely

from app.screening.batch_input import BatchSites, RowFields, survey

Survey = tuple[tuple[float, ...] | None, float]


def write_sites(sites: BatchSites, path: Path, buffer_m: float | None = None) -> Path:
    """Write SITES to PATH (a header line, then a line per row); written beside it first.
    BUFFER_M: the batch's buffer, whose survey goes in the header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    header = {
        "total": len(sites.geometries),
        "source_crs": sites.source_crs,
        "source_format": sites.source_format,
        "fields": bool(sites.fields),
    }
    if buffer_m is not None:
        header["survey"] = [buffer_m, *survey(sites, buffer_m, max(1, sites.total))]
    wkb = shapely.to_wkb(np.asarray(sites.geometries, dtype=object), hex=True).tolist()
    names = [f.name for f in dataclasses.fields(RowFields)]  # astuple would deep-copy each
    with partial.open("wb") as fh:
        fh.write(orjson.dumps(header) + b"\n")
        for i, (geom, label) in enumerate(zip(wkb, sites.labels, strict=True)):
            cells = [getattr(sites.fields[i], n) for n in names] if sites.fields else None
            fh.write(orjson.dumps([geom, label, sites.problems.get(i), cells]) + b"\n")
    partial.replace(path)
    return path


class SitesFile:
    """The sites of a file write_sites wrote, read a window at a time (as BatchSites do)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as fh:
            header = orjson.loads(fh.readline())
        self.total: int = header["total"]
        self.source_crs: str = header["source_crs"]
        self.source_format: str = header["source_format"]
        self._fields: bool = header["fields"]
        self._survey: list | None = header.get("survey")

    def surveyed(self, buffer_m: float) -> Survey | None:
        """The batch's survey with BUFFER_M as the API made it (None: not made for it)."""
        if self._survey is None or self._survey[0] != buffer_m:
            return None
        bounds, widest = self._survey[1:]
        return (tuple(bounds) if bounds is not None else None), widest

    def windows(self, size: int) -> Iterator[BatchSites]:
        """The rows, SIZE at a time, in file order (each window knows its first row)."""
        for raw in self.raw_windows(size):
            yield raw.sites()

    def raw_windows(self, size: int) -> Iterator["RawWindow"]:
        """The rows, SIZE at a time, as their lines: parsed by `RawWindow.sites` where they
        are screened (a pool's process), not by the one process reading the file."""
        with self.path.open("rb") as fh:
            fh.readline()
            offset = 0
            while offset < self.total:
                lines = [fh.readline() for _ in range(min(size, self.total - offset))]
                yield RawWindow(lines, offset, self.source_crs, self.source_format, self._fields)
                offset += len(lines)


@dataclass(frozen=True)
class RawWindow:
    """A window of a sites file as its lines, with what its BatchSites need besides."""

    lines: list[bytes]
    offset: int  # the file's row index of the first line
    source_crs: str
    source_format: str
    fields: bool  # whether the lines hold the rows' cells

    @property
    def total(self) -> int:
        """How many rows."""
        return len(self.lines)

    def sites(self) -> BatchSites:
        """The window's BatchSites."""
        rows = [orjson.loads(line) for line in self.lines]
        offset = self.offset
        return BatchSites(
            geometries=shapely.from_wkb(np.array([r[0] for r in rows], dtype=object)).tolist(),
            labels=[r[1] for r in rows],
            problems={offset + j: r[2] for j, r in enumerate(rows) if r[2] is not None},
            fields=[RowFields(*r[3]) for r in rows] if self.fields else [],
            source_crs=self.source_crs,
            source_format=self.source_format,
            offset=offset,
        )
