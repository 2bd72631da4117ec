"""The `redline` command over the same service functions."""

import datetime as dt
import json
import re

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


def test_screen_table_is_chinese_with_beijing_time(client, reference):
    """`redline screen` prints Chinese headers and labels, and the filing time in Beijing
    time (UTC+8), the same instant as the record's ISO 8601 created_at."""
    wkt = "POINT (106.85 32.62)"
    result = runner.invoke(app, ["screen", "--wkt", wkt, "--category", "化工"])
    assert result.exit_code == 0, result.output
    out = result.output
    headers = ("结论", "图层", "要素", "关系", "重叠面积", "（公顷）", "距离", "（米）", "依据")
    for header in headers:
        assert header in out, header
    for english in ("verdict", "layer", "feature", "relation", "distance", "warning", "site:"):
        assert english not in out, english
    screening_id = re.search(r"研判编号：(\w+)", out).group(1)
    filed = client.get(f"/screenings/{screening_id}").json()["created_at"]
    beijing = dt.datetime.fromisoformat(filed).astimezone(dt.UTC) + dt.timedelta(hours=8)
    assert (
        f"研判时间：{beijing.year}年{beijing.month}月{beijing.day}日 {beijing:%H:%M}（北京时间）"
        in out
    )


def test_screen_and_batch_messages_are_chinese(database, tmp_path):
    neither = runner.invoke(app, ["screen"])
    assert neither.exit_code == 2 and "错误：请给出用地文件" in neither.output
    sites = tmp_path / "s.csv"
    sites.write_text("name,lon,lat\n甲,106.85,32.62\n", encoding="utf-8")
    wrong = runner.invoke(app, ["batch", str(sites), "--out", str(tmp_path / "rows.pdf")])
    assert wrong.exit_code == 2 and "错误：--out 的扩展名应为" in wrong.output
