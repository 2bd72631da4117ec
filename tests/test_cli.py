"""The `redline` command over the same service functions."""

import json

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


def test_summary_by_county_within_a_region(reference):
    result = runner.invoke(
        app, ["summary", "--by", "county", "--region", "511900", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert len(rows) == 5 and all(r["code"].startswith("5119") for r in rows)
    # Only Bazhong is loaded here: Dazhou's region has no counties to list.
    result = runner.invoke(
        app, ["summary", "--by", "county", "--region", "511700", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == []
