"""Settings from the environment (pydantic-settings)."""

import os
import re
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting, from the environment (REDLINE_*; DATABASE_URL for the database)."""

    model_config = SettingsConfigDict(env_prefix="REDLINE_", extra="ignore")

    database_url: str = Field(
        "postgresql+psycopg://postgres@127.0.0.1:55432/redline",
        validation_alias=AliasChoices("DATABASE_URL", "REDLINE_DATABASE_URL"),
    )
    # A hot-standby replica of database_url (docs/scaling.md): tiles, OGC, features, summaries,
    # regions and places read there, everything that writes uses the primary. None: all primary.
    read_database_url: str | None = None
    # Screening lookups on the replica too (the record is always filed on the primary), and only
    # when the replica has replayed all the primary had written as the request began, waiting at
    # most replica_max_wait_ms; otherwise the screening reads the primary. Off by default.
    screen_from_replica: bool = False
    replica_max_wait_ms: int = 100
    catalog_dir: Path = PROJECT_ROOT / "layers"
    reference_dir: Path = PROJECT_ROOT / "layers" / "data" / "bazhong"
    # Inputs outside this lon/lat box are rejected: the service covers China, and
    # coordinates outside it nearly always mean a wrong CRS or swapped axes.
    coverage_bbox: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)
    max_upload_mb: int = 200
    # Files kept on disk live under var_dir/<database name>/, so two databases served from
    # one checkout never overwrite or delete each other's files.
    var_dir: Path = PROJECT_ROOT / "var"
    # Where long jobs (batch screenings) leave their result files (default: data_dir/jobs).
    job_dir: Path = Field(None, validate_default=False)  # type: ignore[assignment]
    # Raster layer versions are GeoTIFFs kept here (default: data_dir/rasters); the database
    # holds their metadata and absolute paths.
    raster_dir: Path = Field(None, validate_default=False)  # type: ignore[assignment]
    subdivide_vertices: int = 256
    # Vector tiles: an in-memory cache keyed by layer version, and the browser cache age.
    tile_cache_tiles: int = 2000
    tile_cache_mb: int = 64
    tile_max_age_s: int = 3600
    # Summaries: encoded bodies and computed results kept per process (0: none, every
    # request is computed from the stored per-unit figures, as the bench's cold case).
    summary_cache_entries: int = 128
    # A raster XYZ template ({z}/{x}/{y}, e.g. Tianditu with a key) drawn under the layers;
    # none keeps the map page offline. The page offers a toggle only when one is set, and
    # shows the attribution the provider asks for (e.g. "© 天地图").
    basemap_url: str | None = None
    basemap_attribution: str | None = None
    # Reads of layers, tiles, OGC, exports and summaries need no key (QGIS works as is);
    # false requires a viewer key for them.
    open_reads: bool = True
    # Origins whose pages may call the API from a browser (comma-separated); none by default.
    cors_origins: str = ""

    @property
    def cors_origin_list(self) -> list[str]:
        """REDLINE_CORS_ORIGINS as a list."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    # Limits (issue 9): one request must not be able to take the machine down.
    max_json_mb: int = 20  # JSON bodies; a 20 000-vertex site is ~1 MB
    max_json_depth: int = 64
    max_json_string_mb: int = 1
    max_archive_mb: int = 2000  # decompressed size of an uploaded zip/KMZ
    max_archive_ratio: int = 200  # decompressed / compressed, per member
    max_archive_members: int = 1000
    max_raster_pixels: int = 400_000_000  # width × height of an uploaded raster
    max_zonal_pixels: int = 100_000_000  # pixels one zonal statistics read may hold
    statement_timeout_s: int = 30
    import_statement_timeout_s: int = 600  # imports and batch jobs run longer statements
    idle_in_transaction_timeout_s: int = 120
    temp_file_limit_mb: int = 2048  # needs superuser: skipped (and logged) when refused
    # API processes `make run` starts (uvicorn --workers); 0 = one per CPU core. The service
    # is stateless, so processes (and machines) add up; each has its own caches and pool.
    api_workers: int = Field(0, ge=0)
    # Connections the API processes of one machine may hold together on one database server
    # (pooled plus overflow): split evenly between api_workers (app.store.db.pool_limits).
    # Keep it under the server's max_connections (100 by default) less what job workers, the
    # CLI, replication and administrators need there.
    db_connection_budget: int = Field(60, ge=1)
    # Job queue (procrastinate on this database): `make run` starts queue_workers worker
    # processes (`redline worker`), each running queue_concurrency jobs at once.
    queue_workers: int = 1
    queue_concurrency: int = 1
    # Processes a large batch job screens its chunks in (app.screening.batch_pool); 0 = one
    # per CPU core, 1 = in the worker itself.
    batch_processes: int = Field(0, ge=0)
    # Grid cells (a quarter degree a side) of layer parts an API process holds for screening
    # single points in memory (app.screening.point_cells); 0 = every site by the statement.
    point_cells: int = Field(64, ge=0)
    # Screenings one API process runs at once (app.api.slots); the rest wait their turn on the
    # event loop. Screening is CPU work under one GIL: more threads at it only contend.
    screening_slots: int = Field(2, ge=1, le=64)
    # A running job's worker renews its lease every third of job_lease_s; a lease run out (or
    # a dead worker pid on this host) puts the job back on the queue, job_attempts runs in all,
    # then fails it.
    job_lease_s: int = 60
    job_attempts: int = 3
    # Per-key (per-client until keys exist) moving-window rate limits, per process.
    rate_limit_reads_per_minute: int = 6000
    rate_limit_writes_per_minute: int = 600

    @property
    def api_processes(self) -> int:
        """How many API processes run: api_workers, or the CPU cores when it is 0."""
        return self.api_workers or os.cpu_count() or 1

    @property
    def data_dir(self) -> Path:
        """The folder of this database's files: var_dir/<database name>."""
        name = make_url(self.database_url).database or "default"
        return self.var_dir / re.sub(r"[^A-Za-z0-9_.-]", "_", name)

    @model_validator(mode="after")
    def _default_dirs(self) -> "Settings":
        # Unset folders follow the database, read from the same environment.
        if self.job_dir is None:
            self.job_dir = self.data_dir / "jobs"
        if self.raster_dir is None:
            self.raster_dir = self.data_dir / "rasters"
        return self


@lru_cache
def get_settings() -> Settings:
    """The settings, read once per process (tests clear the cache to change them)."""
    return Settings()
