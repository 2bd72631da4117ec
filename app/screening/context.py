"""Where a site lies: every county and township it touches, with its share of the site.

Pure: reads the context layers' figures from findings.find_many (`site_share` is the share
of the site's area, of its length for lines, of its points for points).
"""

from typing import Any

from app.screening.models import Context, ControlUnit, UnitShare

TOUCHING = ("inside", "overlaps")
# Zone types from the strictest: the summary names the strictest one the site touches.
ZONE_ORDER = ("重点生态功能区", "农产品主产区", "城镇化地区")
# What the share is a share of, by site kind.
_OF = {"polygon": "用地", "line": "线路长度", "point": "点位"}
_ACCESS_KEYS = ("spatial_constraints", "emission_controls", "risk_controls", "resource_efficiency")


def touching(by_layer: dict[str, list[dict[str, Any]]], layer: str) -> list[dict[str, Any]]:
    """The features of a layer that hold part of the site."""
    return [f for f in by_layer.get(layer, []) if f["relation"] in TOUCHING]


def main_unit(by_layer: dict[str, list[dict[str, Any]]], layer: str) -> dict[str, Any] | None:
    """The unit holding most of the site (area, length or points): "the" county / township."""
    return max(touching(by_layer, layer), key=lambda f: f.get("site_share") or 0, default=None)


def _pct(share: float) -> str:
    """A share as a percentage in words: 82%, 7.5%."""
    return f"{share * 100:.1f}".removesuffix(".0") + "%"


def unit_shares(
    by_layer: dict[str, list[dict[str, Any]]], layer: str, positioning: dict[str, str]
) -> list[UnitShare]:
    """Every unit of a layer the site touches, largest share first.

    POSITIONING gives a county's 县级主体功能定位 by county code (townships carry it)."""
    out = []
    for f in touching(by_layer, layer):
        a = f.get("attributes") or {}
        county_code = a.get("county_code") or a.get("code")
        out.append(
            UnitShare(
                code=a.get("code"),
                name=f["name"],
                county=a.get("county") or (f["name"] if layer == "admin_county" else None),
                share=f.get("site_share") or 0.0,
                zone_type=a.get("zone_type"),
                county_positioning=a.get("county_positioning") or positioning.get(county_code),
            )
        )
    return sorted(out, key=lambda u: -u.share)


def place(county: str | None, township: str | None) -> str:
    """County and township as one name; some regions' township names already start with the
    county's (达川区合成02街道), which is then not said twice."""
    county, township = county or "", township or ""
    return township if county and township.startswith(county) else county + township


def summary(counties: list[UnitShare], townships: list[UnitShare], kind: str) -> str | None:
    """The context line, e.g. 跨 4 个乡镇，其中 3 个为重点生态功能区，占用地 82%."""
    if not townships:
        return None
    if len(townships) == 1:
        t = townships[0]
        return f"位于{place(t.county, t.name)}" + (f"（{t.zone_type}）" if t.zone_type else "")
    spans = f"跨 {len(townships)} 个乡镇"
    if len(counties) > 1:
        spans = f"跨 {len(counties)} 个区县、{len(townships)} 个乡镇"
    zones = {t.zone_type for t in townships}
    if len(zones) == 1 and None not in zones:
        return f"{spans}，均为{zones.pop()}"
    zone = next((z for z in ZONE_ORDER if z in zones), None)
    if zone is None:
        return spans
    those = [t for t in townships if t.zone_type == zone]
    share = sum(t.share for t in those)
    return f"{spans}，其中 {len(those)} 个为{zone}，占{_OF.get(kind, '用地')} {_pct(share)}"


def context_of(by_layer: dict[str, list[dict[str, Any]]], kind: str = "polygon") -> Context:
    """County, township and control units from the context layers' relations to the site.

    KIND (point, line, polygon) says what the shares are shares of."""
    county, township = main_unit(by_layer, "admin_county"), main_unit(by_layer, "township")
    t = (township or {}).get("attributes", {})
    positioning = {
        a["county_code"]: a["county_positioning"]
        for f in touching(by_layer, "township")
        if (a := f.get("attributes") or {}).get("county_code") and a.get("county_positioning")
    }
    counties = unit_shares(by_layer, "admin_county", positioning)
    townships = unit_shares(by_layer, "township", positioning)
    return Context(
        county=(county or {}).get("name"),
        county_code=(county or {}).get("attributes", {}).get("code"),
        township=t.get("name"),
        township_code=t.get("code"),
        zone_type=t.get("zone_type"),
        county_positioning=t.get("county_positioning"),
        overlay_energy=t.get("overlay_energy"),
        overlay_heritage=t.get("overlay_heritage"),
        townships=[f["name"] for f in touching(by_layer, "township")],
        control_units=[
            ControlUnit(
                code=f["attributes"].get("code"),
                name=f["name"],
                unit_class=f["attributes"].get("unit_class"),
                overlap_share=f.get("overlap_share"),
                access_list={k: f["attributes"].get(k) for k in _ACCESS_KEYS},
            )
            for f in touching(by_layer, "control_unit")
        ],
        county_shares=counties,
        township_shares=townships,
        summary=summary(counties, townships, kind),
    )
