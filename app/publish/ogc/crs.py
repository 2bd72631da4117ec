"""Coordinate reference systems as OGC API - Features Part 2 offers them: URIs and axis order."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import pyproj

from app.geo.crs import gk_zone_epsg, gk_zones
from app.publish.cql import BadParameter
from app.store.features import GeometryOutput

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
STORAGE_CRS = "http://www.opengis.net/def/crs/EPSG/0/4490"


@dataclass(frozen=True)
class OgcCrs:
    """A CRS as the API offers it: its URI, PostGIS SRID and EPSG axis order."""

    uri: str
    srid: int
    north_first: bool  # the CRS lists latitude/northing first: PostGIS x/y must be swapped
    geographic: bool

    @property
    def digits(self) -> int:
        """Decimal digits of output coordinates: about 1 cm in degrees, 1 mm in metres."""
        return 7 if self.geographic else 3

    @property
    def output(self) -> GeometryOutput:
        """How the items query writes geometries in this CRS."""
        return GeometryOutput(self.srid, self.north_first, self.digits)


def epsg_uri(code: int) -> str:
    """The OGC URI of an EPSG code."""
    return f"http://www.opengis.net/def/crs/EPSG/0/{code}"


@lru_cache(maxsize=64)
def ogc_crs(uri: str) -> OgcCrs:
    """The OgcCrs of a URI; axis order comes from the EPSG definition, not a hard-coded list."""
    if uri == CRS84:
        definition, srid = pyproj.CRS.from_user_input("OGC:CRS84"), 4326
    else:
        srid = int(uri.rsplit("/", 1)[1])
        definition = pyproj.CRS.from_epsg(srid)
    north_first = definition.axis_info[0].direction in ("north", "south")
    return OgcCrs(uri, srid, north_first, definition.is_geographic)


def crs_uri(value: str) -> str:
    """Accept a URI, a safe CURIE [EPSG:4490], EPSG:4490 or CRS84 and return the URI."""
    text = value.strip().removeprefix("[").removesuffix("]")
    if text.upper() in ("CRS84", "OGC:CRS84") or text.replace("https:", "http:") == CRS84:
        return CRS84
    match = re.fullmatch(r"(?i)(?:EPSG:|https?://www\.opengis\.net/def/crs/EPSG/0/)(\d+)", text)
    return epsg_uri(int(match[1])) if match else text


def offered_crs(extent: Sequence[float] | None) -> list[str]:
    """CRS84, CGCS2000, WGS 84, Web Mercator and the GK zones (both eastings) of the extent."""
    codes = [4490, 4326, 3857]
    if extent is not None:
        zones = gk_zones(extent[0], extent[2])
        codes += [gk_zone_epsg(z) for z in zones]
        codes += [gk_zone_epsg(z, zone_prefixed=False) for z in zones]
    return [CRS84, *(epsg_uri(c) for c in codes)]


def choose_crs(value: str | None, name: str, offered: list[str]) -> OgcCrs:
    """The CRS a `crs`/`bbox-crs`/`filter-crs` parameter names (CRS84 when absent), or a 400."""
    if value is None:
        return ogc_crs(CRS84)
    uri = crs_uri(value)
    if uri not in offered:
        raise BadParameter(
            f"{name}={value!r} is not offered for this collection. Use one of: "
            f"{', '.join(offered)}."
        )
    return ogc_crs(uri)
