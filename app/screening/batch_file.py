"""A queued batch's sites in the job folder, one line per row, read back a window at a time.

The API writes the file when it queues the batch; the worker that screens it reads a chunk of
rows at a time, so its memory does not grow with the batch. Geometries go as hex WKB (exact
to the bit); a row's cells as given. The job folder is shared by the API and its workers.
"""

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import orjson
import shapely

from app.screening.batch_input import BatchSites, RowFields


def write_sites(sites: BatchSites, path: Path) -> Path:
    """Write SITES to PATH (a header line, then a line per row); written beside it first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    header = {
        "total": len(sites.geometries),
        "source_crs": sites.source_crs,
        "source_format": sites.source_format,
        "fields": bool(sites.fields),
    }
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

    def windows(self, size: int) -> Iterator[BatchSites]:
        """The rows, SIZE at a time, in file order (each window knows its first row)."""
        with self.path.open("rb") as fh:
            fh.readline()
            offset = 0
            while offset < self.total:
                lines = [orjson.loads(fh.readline()) for _ in range(min(size, self.total - offset))]
                yield self._window(lines, offset)
                offset += len(lines)

    def _window(self, lines: list[list], offset: int) -> BatchSites:
        """One window's BatchSites from its lines."""
        geoms = shapely.from_wkb(np.array([line[0] for line in lines], dtype=object)).tolist()
        return BatchSites(
            geometries=geoms,
            labels=[line[1] for line in lines],
            problems={offset + j: line[2] for j, line in enumerate(lines) if line[2] is not None},
            fields=[RowFields(*line[3]) for line in lines] if self._fields else [],
            source_crs=self.source_crs,
            source_format=self.source_format,
            offset=offset,
        )
