#!/usr/bin/env python3
"""Render the report of three sample sites (point, 50 km road, 20-parcel 报盘 file) as PDF,
DOCX and PNG page images in artifacts/, to look at.

Needs a database with the Bazhong reference data (loaded here if missing) and pdftoppm:

    DATABASE_URL=postgresql+psycopg://…/redline_test python scripts/report_images.py
"""

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import get_settings  # noqa: E402
from app.screening.inputs import ScreeningBody, request_from_body, request_from_file  # noqa: E402
from app.screening.opinion import opinion_docx  # noqa: E402
from app.screening.report import report_pdf  # noqa: E402
from app.screening.screen_one import screen_site  # noqa: E402
from app.screening.service import get_screening  # noqa: E402
from app.store.db import session_scope  # noqa: E402
from app.store.migrate import upgrade_database  # noqa: E402
from app.store.reference import load_reference  # noqa: E402
from tests.report_samples import parcels_txt, point_site, road_site  # noqa: E402

ARTIFACTS = ROOT / "artifacts"


def main() -> None:
    """Screen the samples, write artifacts/report-<name>.pdf/.docx and -<page>.png."""
    ARTIFACTS.mkdir(exist_ok=True)
    upgrade_database()
    with session_scope() as session:
        load_reference(session, get_settings().reference_dir)
    with tempfile.TemporaryDirectory() as tmp:
        txt = Path(tmp) / "报盘坐标.txt"
        txt.write_bytes(parcels_txt().encode("gbk"))
        samples = {
            "point": request_from_body(
                ScreeningBody(
                    geometry=point_site(), project_category="化工", project_name="光雾山化工厂选址"
                ),
                "报告示例",
            ),  # fmt: skip
            "road": request_from_body(
                ScreeningBody(
                    geometry=road_site(),
                    project_category="线性基础设施",
                    project_name="巴中南北向二级公路改建工程",
                    buffer_m=200,
                ),
                "报告示例",
            ),  # fmt: skip
            "parcels": request_from_file(
                txt, None, None, 0.0, "工业", "临港产业园报盘地块", "auto", "报告示例"
            ),
        }
        for name, req in samples.items():
            with session_scope() as session:
                sid = screen_site(session, req).id
            with session_scope() as session:
                row = get_screening(session, sid)
                pdf = ARTIFACTS / f"report-{name}.pdf"
                pdf.write_bytes(report_pdf(session, row))
                (ARTIFACTS / f"report-{name}.docx").write_bytes(opinion_docx(session, row))
            for old in ARTIFACTS.glob(f"report-{name}-*.png"):
                old.unlink()
            subprocess.run(
                ["pdftoppm", "-r", "70", "-png", str(pdf), str(ARTIFACTS / f"report-{name}")],
                check=True,
            )
            print(name, sid, sorted(p.name for p in ARTIFACTS.glob(f"report-{name}-*.png")))


if __name__ == "__main__":
    main()
