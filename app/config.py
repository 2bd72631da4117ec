"""Settings from the environment (pydantic-settings)."""

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting, from the environment (REDLINE_*; DATABASE_URL for the database)."""

    model_config = SettingsConfigDict(env_prefix="REDLINE_", extra="ignore")

    database_url: str = Field(
        "postgresql+psycopg://postgres@127.0.0.1:55432/redline",
        validation_alias=AliasChoices("DATABASE_URL", "REDLINE_DATABASE_URL"),
    )
    catalog_dir: Path = PROJECT_ROOT / "layers"
    reference_dir: Path = PROJECT_ROOT / "layers" / "data" / "bazhong"
    # Inputs outside this lon/lat box are rejected: the service covers China, and
    # coordinates outside it nearly always mean a wrong CRS or swapped axes.
    coverage_bbox: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)
    max_upload_mb: int = 200
    # Where long jobs (batch screenings) leave their result files.
    job_dir: Path = PROJECT_ROOT / "var" / "jobs"
    # Raster layer versions are GeoTIFFs kept here; the database holds their metadata.
    raster_dir: Path = PROJECT_ROOT / "var" / "rasters"
    subdivide_vertices: int = 256
    # Vector tiles: an in-memory cache keyed by layer version, and the browser cache age.
    tile_cache_tiles: int = 2000
    tile_cache_mb: int = 64
    tile_max_age_s: int = 3600
    # A raster XYZ template ({z}/{x}/{y}, e.g. Tianditu with a key) drawn under the layers;
    # none keeps the map page offline.
    basemap_url: str | None = None
    # Reads of layers, tiles, OGC, exports and summaries need no key (QGIS works as is);
    # false requires a viewer key for them.
    open_reads: bool = True
    # Origins whose pages may call the API from a browser (comma-separated); none by default.
    cors_origins: str = ""

    @property
    def cors_origin_list(self) -> list[str]:
        """REDLINE_CORS_ORIGINS as a list."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    """The settings, read once per process (tests clear the cache to change them)."""
    return Settings()
