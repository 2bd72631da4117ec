"""The `redline` command: thin wrappers over the same service functions as the API."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.config import get_settings
from app.errors import RedlineError
from app.store.db import session_scope

app = typer.Typer(
    help="Redline: ecological zoning layers, screening and summaries.", no_args_is_help=True
)
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
    err.print(f"[red]error:[/red] {exc.detail}")
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
    user: Annotated[str | None, typer.Option(envvar="USER")] = None,
) -> None:
    """Import FILE as a new version of LAYER (activated only if all of it is valid)."""
    from app.store.imports import ImportRequest, import_file

    try:
        with _progress() as bar, session_scope() as session:
            version = import_file(
                session, ImportRequest(layer, file, crs, encoding, note, user), _tracker(bar, layer)
            )
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
    """Load the Bazhong reference data for layers that have no active version."""
    from app.store.reference import load_reference

    with _progress() as bar, session_scope() as session:
        loaded = load_reference(session, get_settings().reference_dir, force, _tracker(bar, "load"))
    for layer, version in loaded.items():
        console.print(f"{layer}: " + (f"version {version} loaded" if version else "already loaded"))


@app.command()
def setup() -> None:
    """Migrate, register the catalog and load the reference data (what `make run` does)."""
    from app.store.layers import sync_catalog

    migrate()
    with session_scope() as session:
        sync_catalog(session)
    load_reference_cmd(force=False)


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


def main() -> None:
    app()
