"""A screening as a terminal shows it (`redline screen`): Chinese headers, Beijing time."""

from rich.console import Console
from rich.table import Table

from app.geo.measure import area_units
from app.screening.report import KINDS, LABELS, RELATIONS, beijing_time

# Two-line headers and folded names keep the table readable in an 80-column terminal.
FINDING_HEADERS = (
    "结论",
    "图层",
    "要素",
    "关系",
    "重叠面积\n（公顷）",
    "占用地\n比例",
    "距离\n（米）",
)
VERDICT_STYLE = {
    "prohibited": "bold white on red",
    "restricted": "bold white on dark_orange",
    "attention": "bold black on yellow",
    "clear": "bold white on green",
}


def print_screening(console: Console, r: dict) -> None:
    """The screening as an officer reads it: all in Chinese, times in Beijing time."""
    site, ctx = r["site"], r["context"]
    console.print(
        f"研判编号：{r['id']}  结论：[{VERDICT_STYLE[r['verdict']]}] "
        f"{r.get('verdict_label') or LABELS[r['verdict']]} [/]"
    )
    console.print(f"研判时间：{beijing_time(r['created_at'])}")
    console.print(
        f"用地：{KINDS.get(site['kind'], site['kind'])}，"
        f"面积 {area_units(site['area_m2'])['ha']:.4f} 公顷，长度 {site['length_m']:.1f} 米，"
        f"{site['vertices']} 个节点"
    )
    towns = "、".join(t for t in ctx.get("townships") or [] if t)
    zone = f"（{ctx['zone_type']}）" if ctx.get("zone_type") else ""
    place = ctx.get("summary") or f"{ctx.get('county') or ''}{towns}{zone}"
    console.print(f"位置：{place or '未知'}")
    if r.get("by_category"):
        console.print(
            "各类别结论："
            + "；".join(f"{c['category']} {c['verdict_label']}" for c in r["by_category"])
        )
    table = Table()
    for header in FINDING_HEADERS:
        table.add_column(header, overflow="fold")
    for f in r["findings"]:
        table.add_row(
            LABELS[f["verdict"]],
            f["layer_title"],
            str(f["name"] or "-"),
            RELATIONS[f["relation"]],
            f"{area_units(f['overlap_area_m2'])['ha']:.4f}" if f.get("overlap_area_m2") else "",
            f"{f['overlap_share'] * 100:.1f}%" if f.get("overlap_share") else "",
            f"{f['distance_m']:.1f}" if f.get("distance_m") is not None else "",
        )
    console.print(table)
    for f in r["findings"]:
        for rule in f["rules"]:
            console.print(f"[bold]{LABELS[rule['verdict']]}[/bold] {rule['message']}")
            console.print(f"  依据：{rule['basis']}", style="dim")
    for w in r["warnings"]:
        console.print(f"[yellow]提示：[/yellow]{w}")
