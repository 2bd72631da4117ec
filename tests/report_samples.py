"""Three sites whose reports must fit the page: a point, a 50 km road, a 20-parcel 报盘 file.

Shared by tests/test_report.py and scripts/report_images.py (which renders their PDF pages).
"""

import json
from pathlib import Path

import numpy as np
import pyproj
import shapely
from shapely.geometry import shape

# The header of a 报盘 file in CGCS2000 3° zone 36 (zone-prefixed eastings), up to the parcels.
LAND_HEADER = (
    "[属性描述]",
    "坐标系=2000国家大地坐标系",
    "几度分带=3",
    "投影类型=高斯克吕格",
    "计量单位=米",
    "带号=36",
    "精度=0.001",
    "[地块坐标]",
)

REF = Path(__file__).resolve().parent.parent / "layers" / "data" / "bazhong"
GEOD = pyproj.Geod(ellps="GRS80")


def point_site() -> dict:
    """A point inside the 米仓山—光雾山 redline (a 禁止 for a chemical plant)."""
    data = json.loads((REF / "redline.geojson").read_text(encoding="utf-8"))
    geom = next(
        shape(f["geometry"])
        for f in data["features"]
        if f["properties"]["name"] == "米仓山—光雾山水源涵养生态保护红线"
    )
    p = shapely.point_on_surface(max(shapely.get_parts(geom), key=lambda g: g.area))
    return {"type": "Point", "coordinates": [p.x, p.y]}


def road_site() -> dict:
    """A ~50 km road running north-south through 巴州区 and 南江县, gently winding."""
    lats = np.linspace(31.62, 32.07, 46)
    lons = 106.76 + 0.012 * np.sin(np.linspace(0, 5 * np.pi, lats.size))
    return {"type": "LineString", "coordinates": [[x, y] for x, y in zip(lons, lats, strict=True)]}


def road_length_m() -> float:
    """The road's geodesic length (an independent figure)."""
    return GEOD.geometry_length(shape(road_site()))


def parcel_squares(n: int = 20) -> list[shapely.Polygon]:
    """n squares of about 120 m, 5 to a row, 350 m apart, by the 巴河 near 巴中城区."""
    out = []
    for i in range(n):
        lon = 106.735 + (i % 5) * 0.0037
        lat = 31.845 + (i // 5) * 0.0032
        out.append(shapely.box(lon, lat, lon + 0.00127, lat + 0.00108))
    return out


def parcels_txt(n: int = 20, wrong: int = 3) -> str:
    """A 报盘 file of n parcels in CGCS2000 3° zone 36 (zone-prefixed eastings); parcel `wrong`
    declares twice its area."""
    to_gk = pyproj.Transformer.from_crs(4490, 4524, always_xy=True)
    lines = list(LAND_HEADER)
    uses = ["工业用地", "仓储用地", "道路与交通设施用地", "公用设施用地"]
    for k, square in enumerate(parcel_squares(n), start=1):
        ring = list(square.exterior.coords)
        area_ha = abs(GEOD.geometry_area_perimeter(square)[0]) / 1e4 * (2 if k == wrong else 1)
        name = f"巴中经济开发区临港产业园第{k}号地块（配套仓储物流及公用设施用地）"
        lines.append(f"{len(ring)},{area_ha:.4f},DK-2026-{k:03d},{name},面,,{uses[k % 4]},,@")
        for i, (lon, lat) in enumerate(ring):
            east, north = to_gk.transform(lon, lat)
            lines.append(f"J{i % (len(ring) - 1) + 1},1,{north:.3f},{east:.3f}")
    return "\n".join(lines) + "\n"
