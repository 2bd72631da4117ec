"""Source coordinate systems: EPSG codes (incl. CGCS2000 Gauss-Krüger zones), GCJ-02, BD-09.

Everything is converted to CGCS2000 geographic coordinates (EPSG:4490), lon/lat order.
"""

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
import pyproj
import shapely
from pyproj.exceptions import CRSError as PyprojCRSError

from app.errors import CrsError
from app.geo import chinese_datums

STORAGE_EPSG = 4490
_OBFUSCATED = {"GCJ02": "gcj02", "GCJ-02": "gcj02", "BD09": "bd09", "BD-09": "bd09"}


@dataclass(frozen=True)
class SourceCrs:
    """Where input coordinates come from: an EPSG CRS or a Chinese obfuscated datum."""

    kind: Literal["epsg", "gcj02", "bd09"]
    epsg: int | None = None

    @property
    def label(self) -> str:
        """How the CRS is named to users: EPSG:xxxx, GCJ02 or BD09."""
        return f"EPSG:{self.epsg}" if self.kind == "epsg" else self.kind.upper()


def parse_crs(text: str) -> SourceCrs:
    """Parse 'EPSG:4490', '4549', 'GCJ02', 'BD-09', 'CGCS2000', 'WGS84'…"""
    value = text.strip().upper().replace(" ", "")
    if value in _OBFUSCATED:
        return SourceCrs(_OBFUSCATED[value])
    aliases = {"CGCS2000": 4490, "WGS84": 4326, "CRS84": 4326}
    if value in aliases:
        return SourceCrs("epsg", aliases[value])
    code = value.removeprefix("EPSG:")
    if not code.isdigit():
        raise CrsError(
            f"无法识别的坐标系「{text}」：请填写 EPSG 代码，如 EPSG:4490（CGCS2000 经纬度）、"
            "EPSG:4545（CGCS2000 3° 高斯-克吕格 中央经线 108°E），"
            "或 GCJ02（高德、腾讯）、BD09（百度）。"
            f"Unknown coordinate system {text!r}. Use an EPSG code such as EPSG:4490 "
            "(CGCS2000), EPSG:4545 (CGCS2000 / 3-degree Gauss-Krüger CM 108E), GCJ02 or BD09."
        )
    _crs_for(int(code))
    return SourceCrs("epsg", int(code))


def from_pyproj(crs: pyproj.CRS) -> SourceCrs:
    """The SourceCrs of a CRS found in a file (.prj, GeoPackage, KML…)."""
    code = crs.to_epsg(min_confidence=70)
    if code is None:
        raise CrsError(
            f"The file's coordinate system ({crs.name}) has no EPSG equivalent. "
            "Pass the CRS explicitly (crs=EPSG:xxxx)."
        )
    return SourceCrs("epsg", code)


@lru_cache(maxsize=64)
def _crs_for(code: int) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_epsg(code)
    except PyprojCRSError as exc:
        raise CrsError(
            f"EPSG:{code} 不是可用的坐标系，请核对代码。"
            f"EPSG:{code} is not a known coordinate system."
        ) from exc


@lru_cache(maxsize=64)
def _transformer(code: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(_crs_for(code), STORAGE_EPSG, always_xy=True)


def gk_zone_epsg(zone: int, width: int = 3, zone_prefixed: bool = True) -> int:
    """EPSG code of a CGCS2000 Gauss-Krüger zone (3° zones 25-45; 6° zones 13-23)."""
    if width == 3:
        if not 25 <= zone <= 45:
            raise CrsError(f"3-degree zone {zone} is outside CGCS2000 zones 25-45 (China).")
        return (4513 if zone_prefixed else 4534) + zone - 25
    if width == 6:
        if not 13 <= zone <= 23:
            raise CrsError(f"6-degree zone {zone} is outside CGCS2000 zones 13-23 (China).")
        return (4491 if zone_prefixed else 4502) + zone - 13
    raise CrsError(f"Zone width {width} is not 3 or 6 degrees.")


GK3_ZONES = range(25, 46)  # CGCS2000 3-degree zones covering China (central meridians 75-135°E)


def gk_zone_of(lon: float) -> int:
    """The 3-degree Gauss-Krüger zone of a longitude: zone n spans [3n - 1.5°, 3n + 1.5°).

    A longitude exactly on a zone edge (106.5°, 109.5°...) belongs to the zone east of it,
    the usual surveying convention: floor((lon + 1.5) / 3). Python's round(lon / 3) would
    round half to even and so send 106.5° east but 109.5° west.
    """
    return math.floor((lon + 1.5) / 3)


def gk_zones(min_lon: float, max_lon: float) -> range:
    """The CGCS2000 3-degree zones (within 25-45) that a longitude range touches."""
    first, last = gk_zone_of(min_lon), gk_zone_of(max_lon)
    return range(max(first, GK3_ZONES.start), min(last, GK3_ZONES.stop - 1) + 1)


def to_storage(geoms: np.ndarray, source: SourceCrs) -> np.ndarray:
    """Reproject or de-obfuscate an array of shapely geometries to EPSG:4490 (lon, lat)."""
    geoms = shapely.force_2d(geoms)
    if source.kind == "gcj02":
        return shapely.transform(geoms, chinese_datums.gcj02_to_wgs84)
    if source.kind == "bd09":
        return shapely.transform(geoms, chinese_datums.bd09_to_wgs84)
    if source.epsg == STORAGE_EPSG:
        return geoms
    transformer = _transformer(source.epsg)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, project)
