"""`redline keys …` and the first admin key that `redline setup` leaves under var/."""

import datetime as dt
import getpass
import os
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from app.config import PROJECT_ROOT, get_settings
from app.errors import RedlineError
from app.store.db import session_scope

keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
# Who is recorded as having acted: --actor, else the OS user (kept as --user too).
Actor = Annotated[
    str | None, typer.Option("--actor", "--user", help="recorded as the actor; default: OS user")
]


def os_user() -> str:
    """The local user: the CLI runs with the database URL, so it is trusted as that user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def fail(exc: RedlineError) -> None:
    """Print the problem and exit with status 2."""
    err.print(f"[red]error:[/red] {exc.detail}")
    raise typer.Exit(2)


def admin_key_path() -> Path:
    """Where `setup` leaves the first admin key: var/<database name>/admin.key."""
    database = make_url(get_settings().database_url).database or "redline"
    return PROJECT_ROOT / "var" / database / "admin.key"


def write_secret(path: Path, secret: str) -> None:
    """Write a secret to a new file only its owner can read (0600 from the start)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # a left-over file may have looser permissions
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")


def ensure_admin_key(path: Path) -> bool:
    """Create an admin key into PATH when no active admin key exists; whether it did."""
    from app.store.keys import create_key, has_active_admin

    with session_scope() as session:
        if has_active_admin(session):
            return False
        new = create_key(session, "admin", "admin", os_user())
        write_secret(path, new.secret)
    return True


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="the owner, e.g. 张三")],
    role: Annotated[str, typer.Option(help="viewer | officer | editor | admin")] = "viewer",
    actor: Actor = None,
) -> None:
    """Create a key and print it once: only its hash is stored."""
    from app.store.keys import create_key

    try:
        with session_scope() as session:
            new = create_key(session, name, role, actor or os_user())
            prefix = new.row.prefix
    except RedlineError as exc:
        fail(exc)
    err.print(f"key {prefix} for {name} ({role}); it is shown this once:")
    print(new.secret)


def _beijing(moment: dt.datetime | None) -> str:
    """A stored (timezone-aware) time as Beijing time, minutes; empty when never."""
    return f"{moment.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M}" if moment else ""


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, prefix, owner, role, dates (no secrets)."""
    from app.store.keys import list_keys

    table = Table("id", "prefix", "name", "role", "created", "last used", "revoked")
    table.caption = "times in Beijing time (北京时间)"
    with session_scope() as session:
        for k in list_keys(session):
            table.add_row(
                str(k.id),
                k.prefix,
                k.name,
                k.role,
                _beijing(k.created_at),
                _beijing(k.last_used_at),
                _beijing(k.revoked_at),
            )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    ref: Annotated[str, typer.Argument(metavar="ID|PREFIX")],
    actor: Actor = None,
) -> None:
    """Revoke a key by id or prefix: refused (401) from now on."""
    from app.store.keys import revoke_key

    try:
        with session_scope() as session:
            row = revoke_key(session, ref, actor or os_user())
            label = f"{row.prefix} ({row.name}, {row.role})"
    except RedlineError as exc:
        fail(exc)
    console.print(f"revoked {label}")
