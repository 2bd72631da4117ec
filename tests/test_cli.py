"""The `redline` command over the same service functions."""

from typer.testing import CliRunner

from app.cli import app
from tests.factories import SQUARE, frame, write

runner = CliRunner()


def test_import_prints_new_version(database, tmp_path):
    path = write(frame([SQUARE]), tmp_path / "cli.geojson")
    result = runner.invoke(app, ["import", "test_parcel", str(path), "--note", "cli"])
    assert result.exit_code == 0, result.output
    assert "active, 1 features" in result.output


def test_import_failure_exits_2_with_the_reason(database, tmp_path):
    path = write(frame([SQUARE], grade=["特级"]), tmp_path / "bad.geojson")
    result = runner.invoke(app, ["import", "test_parcel", str(path)])
    assert result.exit_code == 2
    assert "feature 1 field grade" in result.output


def test_unknown_crs_option(database, tmp_path):
    path = write(frame([SQUARE]), tmp_path / "c.geojson")
    result = runner.invoke(app, ["import", "test_parcel", str(path), "--crs", "MARS"])
    assert result.exit_code == 2 and "Unknown coordinate system" in result.output
