"""GCJ-02 (Amap/Tencent) and BD-09 (Baidu) to WGS84/CGCS2000, via prcoords.

The forward formula is public; the inverse is iterated by prcoords to well below 0.5 m.
WGS84 and CGCS2000 differ by centimetres, far below these offsets, so they are equated.
"""

import numpy as np
import prcoords


def _convert(lonlat: np.ndarray, inverse) -> np.ndarray:
    out = np.empty_like(lonlat, dtype=float)
    for i, (lon, lat) in enumerate(lonlat):
        # check_china=False: the coverage check happens after conversion, with a clear error.
        c = inverse(prcoords.Coords(lat, lon), check_china=False)
        out[i] = (c.lon, c.lat)
    return out


def gcj02_to_wgs84(lonlat: np.ndarray) -> np.ndarray:
    """GCJ-02 (Amap, Tencent) lon/lat rows to WGS84, by iteration (below 0.5 m)."""
    return _convert(lonlat, prcoords.gcj_wgs_bored)


def bd09_to_wgs84(lonlat: np.ndarray) -> np.ndarray:
    """BD-09 (Baidu) lon/lat rows to WGS84, by iteration (below 0.5 m)."""
    return _convert(lonlat, prcoords.bd_wgs_bored)


def wgs84_to_gcj02(lonlat: np.ndarray) -> np.ndarray:
    """WGS84 lon/lat rows to GCJ-02 with the published closed formula."""
    return _convert(lonlat, prcoords.wgs_gcj)


def wgs84_to_bd09(lonlat: np.ndarray) -> np.ndarray:
    """WGS84 lon/lat rows to BD-09 (GCJ-02 plus Baidu's offset)."""
    return _convert(lonlat, prcoords.wgs_bd)
