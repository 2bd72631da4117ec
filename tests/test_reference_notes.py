"""Reference data versions carry a Chinese note (manifest note_zh): officers read it in the
report's 数据版本 table; the English note stays in the manifest for developers."""

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from app.store.db import session_scope
from app.store.models import LayerVersion, RasterVersion
from app.store.reference import version_note

DATA = Path(__file__).resolve().parent.parent / "layers" / "data"
CJK = re.compile(r"[\u4e00-\u9fff]")
REGIONS = ("bazhong", "dazhou", "wushan")


def _chinese(note: str | None) -> bool:
    """Mostly Chinese: CJK characters, none of the English provenance words."""
    return (
        bool(note)
        and CJK.search(note) is not None
        and not re.search(r"SYNTHETIC|REAL |geometry|derived", note)
    )


@pytest.mark.parametrize("region", REGIONS)
def test_every_manifest_entry_has_a_chinese_note(region):
    manifest = yaml.safe_load((DATA / region / "manifest.yaml").read_text(encoding="utf-8"))
    entries = {**manifest["layers"], **(manifest.get("rasters") or {})}
    for name, entry in entries.items():
        assert "SYNTHETIC" in entry["note"] or "REAL" in entry["note"], name  # English kept
        assert _chinese(entry["note_zh"]), (name, entry["note_zh"])
        source = "真实几何" if entry["source"] == "real" else "合成"
        assert entry["note_zh"].startswith(source), (name, entry["note_zh"])


def test_version_note_prefers_chinese():
    assert version_note({"note": "SYNTHETIC x", "note_zh": "合成几何"}, "bazhong") == "合成几何"
    assert version_note({"note": "SYNTHETIC x"}, "bazhong") == "SYNTHETIC x"
    assert version_note({}, "bazhong") == "参考数据：bazhong"


def test_loaded_reference_versions_have_chinese_notes(reference):
    with session_scope() as session:
        layers = session.execute(
            select(LayerVersion.layer_id, LayerVersion.note).where(
                LayerVersion.created_by == "reference-data"
            )
        ).all()
        rasters = session.execute(
            select(RasterVersion.raster_id, RasterVersion.note).where(
                RasterVersion.created_by == "reference-data"
            )
        ).all()
    assert {r.layer_id for r in layers} >= {"redline", "township", "admin_county"}
    assert {r.raster_id for r in rasters} >= {"landcover", "eco_importance"}
    for row in [*layers, *rasters]:
        assert _chinese(row.note), row
