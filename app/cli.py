"""The `redline` command: thin wrappers over the same service functions as the API."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.cli_keys import Actor, admin_key_path, ensure_admin_key, keys_app, os_user
from app.config import get_settings
from app.errors import InvalidInput, RedlineError
from app.store.db import session_scope
from app.store.regions import REGION_CODE

app = typer.Typer(
    help="Redline: ecological zoning layers, screening and summaries.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
console = Console()
err = Console(stderr=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


def _tracker(bar: Progress, label: str):
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        key = f"{label} {stage}"
        if key not in tasks:
            tasks[key] = bar.add_task(key, total=total)
        bar.update(tasks[key], completed=done, total=total)

    return update


def _fail(exc: RedlineError) -> None:
    err.print(f"[red]错误：[/red]{exc.detail}")
    for item in exc.extra.get("errors", [])[:20]:
        where = f"feature {item.get('feature')}" if "feature" in item else ""
        field = f" field {item['field']}" if "field" in item else ""
        err.print(f"  - {where}{field}: {item['problem']}")
    raise typer.Exit(2)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    from app.store.migrate import upgrade_database

    upgrade_database()
    console.print("schema is up to date")


@app.command("import")
def import_cmd(
    layer: Annotated[str, typer.Argument(help="layer id, e.g. redline")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    crs: Annotated[str | None, typer.Option(help="EPSG:xxxx | GCJ02 | BD09")] = None,
    encoding: Annotated[str | None, typer.Option(help="attribute encoding, e.g. gbk")] = None,
    note: Annotated[str | None, typer.Option()] = None,
    user: Actor = None,
    confirm: Annotated[
        bool, typer.Option(help="accept a version that shrinks the layer sharply")
    ] = False,
    region: Annotated[
        str | None,
        typer.Option(help="6-digit region code: replace the layer only inside it"),
    ] = None,
) -> None:
    """Import FILE as a new version of LAYER (activated only if all of it is valid)."""
    from app.store.imports import ImportRequest, import_file

    if region is not None and not REGION_CODE.fullmatch(region):
        _fail(InvalidInput(f"--region must be a 6-digit division code, not {region!r}."))
    req = ImportRequest(
        layer, file, crs, encoding, note, user or os_user(), confirm=confirm, region=region
    )
    try:
        with _progress() as bar, session_scope() as session:
            version = import_file(session, req, _tracker(bar, layer))
    except RedlineError as exc:
        _fail(exc)
    console.print(
        f"{layer}: version {version.version} active, {version.feature_count} features"
        + (f", {len(version.report['repaired'])} repaired" if version.report["repaired"] else "")
    )
    for warning in version.report.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {warning}")


@app.command("load-reference")
def load_reference_cmd(
    force: Annotated[bool, typer.Option(help="import again even if loaded")] = False,
) -> None:
    """Load the reference regions (巴中市, 达州市, 巫山县) not loaded yet, region by region."""
    from app.store.reference import load_reference, reference_root

    root = reference_root(get_settings().reference_dir)
    with _progress() as bar, session_scope() as session:
        loaded = load_reference(session, root, force, _tracker(bar, "load"))
    for layer, version in loaded.items():
        console.print(f"{layer}: " + (f"version {version} loaded" if version else "already loaded"))


@app.command()
def setup() -> None:
    """Migrate, register the catalog, load the reference data and create the first admin key
    (what `make run` does)."""
    from app.store.layers import sync_catalog

    migrate()
    with session_scope() as session:
        sync_catalog(session)
    load_reference_cmd(force=False)
    path = admin_key_path()
    if ensure_admin_key(path):
        console.print(f"admin API key created: {path} (readable by you only; shown nowhere else)")
    elif path.exists():
        console.print(f"admin API key: {path}")
    else:
        console.print("an admin key exists; more with `redline keys create NAME --role admin`")


@app.command()
def worker() -> None:
    """Run queued jobs (batch screenings) until stopped; start as many as the load needs,
    on this machine or others sharing the database and the job folder."""
    import logging

    from app.queue import run_worker
    from app.screening import batch_jobs  # noqa: F401  (registers its task on the queue)
    from app.screening.batch_pool import serve_batches, start
    from app.store.jobs import recover_interrupted_jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    serve_batches()  # smaller batches are screened in the worker itself
    start()  # and larger ones in its pool's processes, started now
    run_worker(recover_interrupted_jobs)


@app.command()
def layers() -> None:
    """List layers with their active versions."""
    from app.catalog import catalog
    from app.store.layers import active_version, get_layer

    table = Table("id", "名称", "geometry", "version", "features", "area km²")
    with session_scope() as session:
        for layer_id in sorted(catalog()):
            spec, row = get_layer(session, layer_id)
            v = active_version(session, row)
            table.add_row(
                spec.id,
                spec.title_zh,
                spec.geometry_type,
                str(v.version) if v else "-",
                str(v.feature_count) if v else "0",
                f"{v.total_area_m2 / 1e6:,.2f}" if v and v.total_area_m2 else "",
            )
    console.print(table)


@app.command()
def summary(
    by: Annotated[
        str, typer.Option(help="province | city | county | township | village")
    ] = "county",
    region: Annotated[
        str | None, typer.Option(help="region code, e.g. 511900: its units only")
    ] = None,
    layers: Annotated[str | None, typer.Option(help="comma-separated layer ids")] = None,
    rasters: Annotated[str | None, typer.Option(help="raster ids, e.g. landcover")] = None,
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD: versions in force then")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | json | csv | xlsx")] = "table",
    output: Annotated[Path | None, typer.Option(help="file for csv/xlsx")] = None,
) -> None:
    """Area summaries per unit of a level, optionally within a region (union areas, counts)."""
    import datetime as dt
    import json

    from app.summary.export import summary_frame, to_csv, to_xlsx
    from app.summary.service import summarize
    from app.summary.versions import parse_list

    try:
        with session_scope() as session:
            result = summarize(
                session,
                by,
                parse_list(layers),
                dt.date.fromisoformat(as_of) if as_of else None,
                rasters=parse_list(rasters),
                region=region,
            )
    except RedlineError as exc:
        _fail(exc)
    if fmt in ("csv", "xlsx"):
        data = to_csv(result) if fmt == "csv" else to_xlsx(result)
        target = output or Path(f"summary-{by}.{fmt}")
        target.write_bytes(data)
        console.print(f"wrote {target} ({len(result['rows'])} rows)")
    elif fmt == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        frame = summary_frame(result)
        table = Table(*[str(c) for c in frame.columns[:12]])
        for values in frame.iloc[:, :12].itertuples(index=False):
            table.add_row(*[str(v) for v in values])
        console.print(table)
        if len(frame.columns) > 12:
            console.print(f"({len(frame.columns) - 12} more columns: use --format csv/xlsx)")


@app.command("import-raster")
def import_raster_cmd(
    raster: Annotated[str, typer.Argument(help="raster id, e.g. landcover")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    note: Annotated[str | None, typer.Option()] = None,
    user: Actor = None,
) -> None:
    """Store a single-band GeoTIFF as a new version of a raster layer."""
    from app.store.rasters import import_raster

    try:
        with session_scope() as session:
            version = import_raster(session, raster, file, note, user or os_user())
    except RedlineError as exc:
        _fail(exc)
    console.print(
        f"{raster}: version {version.version} active ({version.width}×"
        f"{version.height}, {version.crs})"
    )


@app.command()
def export(
    layer: Annotated[str, typer.Argument(help="layer id, e.g. township")],
    fmt: Annotated[str, typer.Argument(metavar="FORMAT", help="gpkg | zip | geojson | kml | csv")],
    version: Annotated[int | None, typer.Option(help="version number; default active")] = None,
    crs: Annotated[str | None, typer.Option(help="output EPSG code; default EPSG:4490")] = None,
    output: Annotated[Path | None, typer.Option(help="file or folder; default ./LAYER_vN.FMT")] = (
        None
    ),
) -> None:
    """Write one version of LAYER as a file (GeoPackage carries the QGIS style)."""
    import shutil
    import tempfile

    from app.publish.exports import export_layer

    with tempfile.TemporaryDirectory(prefix="redline-export-") as workdir:
        try:
            with session_scope() as session:
                result = export_layer(session, layer, fmt, Path(workdir), version, crs)
        except RedlineError as exc:
            _fail(exc)
        target = output or Path(result.filename)
        if target.is_dir():
            target = target / result.filename
        shutil.move(result.path, target)
    console.print(f"wrote {target} ({layer} version {result.version}, {result.crs})")
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


@app.command()
def screen(
    file: Annotated[
        Path | None,
        typer.Argument(exists=True, dir_okay=False, help="TXT/KML/KMZ/zip/GPKG/GeoJSON/CSV"),
    ] = None,
    wkt: Annotated[str | None, typer.Option(help="the site as WKT instead of a file")] = None,
    crs: Annotated[str | None, typer.Option(help="EPSG:xxxx | GCJ02 | BD09")] = None,
    buffer: Annotated[float, typer.Option(help="buffer around the site, metres")] = 0.0,
    category: Annotated[str | None, typer.Option(help="project category, e.g. 化工")] = None,
    name: Annotated[str | None, typer.Option(help="project name")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | json | html")] = "table",
    industry: Annotated[
        str | None, typer.Option(help="GB/T 4754-2017 industry code, e.g. C2614")
    ] = None,
    eia_item: Annotated[
        str | None, typer.Option(help="item number of the 2021 EIA catalog, e.g. 44")
    ] = None,
    user: Actor = None,
) -> None:
    """Screen a project site against every active layer; the screening is filed."""
    import json

    from app.screening.console import print_screening
    from app.screening.inputs import ScreeningBody, request_from_body, request_from_file
    from app.screening.report import report_html
    from app.screening.screen_one import screen_site
    from app.screening.service import get_screening

    if (file is None) == (wkt is None):
        err.print(
            "[red]错误：[/red]请给出用地文件 FILE 或 --wkt 其中之一。Give either FILE or --wkt."
        )
        raise typer.Exit(2)
    try:
        with session_scope() as session:
            if file is not None:
                req = request_from_file(
                    file,
                    crs,
                    None,
                    buffer,
                    category,
                    name,
                    "auto",
                    user or os_user(),
                    industry_code=industry,
                    eia_item=eia_item,
                )
            else:
                body = ScreeningBody(
                    wkt=wkt,
                    crs=crs or "EPSG:4490",
                    buffer_m=buffer,
                    project_category=category,
                    project_name=name,
                    industry_code=industry,
                    eia_item=eia_item,
                )
                req = request_from_body(body, user or os_user())
            result = screen_site(session, req).as_json()
            html = (
                report_html(session, get_screening(session, result["id"]))
                if fmt == "html"
                else None
            )
    except RedlineError as exc:
        _fail(exc)
    if fmt == "json":
        print(json.dumps(result, ensure_ascii=False, indent=2))
    elif fmt == "html":
        print(html)
    else:
        print_screening(console, result)


@app.command()
def batch(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV/GeoJSON/GPKG/zip")],
    out: Annotated[Path, typer.Option(help="where to write the rows (.json, .csv or .xlsx)")],
    category: Annotated[str | None, typer.Option(help="category of rows without one")] = None,
    buffer: Annotated[float, typer.Option(help="buffer of rows without one, metres")] = 0.0,
    crs: Annotated[str | None, typer.Option(help="EPSG:xxxx | GCJ02 | BD09")] = None,
    encoding: Annotated[str | None, typer.Option(help="CSV text encoding, e.g. gbk")] = None,
    user: Actor = None,
) -> None:
    """Screen every site of a file (rows may give 项目名称, 项目类别, 行业代码, 缓冲距离（米）);
    each row is filed as a screening, and the rows are written with Chinese headers."""
    from app.screening.batch import FORMATS, read_sites, screen_batch, write_rows

    fmt = out.suffix.lstrip(".").lower()
    try:
        if fmt not in FORMATS:
            raise InvalidInput(
                f"--out 的扩展名应为 .{'、.'.join(FORMATS)} 之一。"
                f"--out must end in .{', .'.join(FORMATS)}."
            )
        sites = read_sites(file, crs, encoding)
        with _progress() as bar:
            task = bar.add_task("研判", total=len(sites.labels))
            rows = screen_batch(
                sites,
                category,
                buffer,
                lambda done: bar.update(task, completed=done),
                user or os_user(),
                {"file": file.name},
            )
        write_rows(rows, fmt, out)
    except RedlineError as exc:
        _fail(exc)
    errors = [r["problem"] for r in rows if r["verdict"] == "error"]
    done = f"已研判并归档 {len(rows) - len(errors)} 个站点，{len(errors)} 个无法研判；结果：{out}"
    for line in [done, *errors[:20]]:
        console.print(line, soft_wrap=True)


def main() -> None:
    """Entry point of the `redline` console script."""
    app()
