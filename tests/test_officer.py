"""The officer (经办人) named on a screening: sent in JSON or the upload form, filed in the
result and its own column, listed and filtered; blank allowed (CLI), bounded at 50."""

import pytest
from shapely.geometry import Point
from sqlalchemy import text

from app.store.db import session_scope
from tests.test_screening import land_txt, screen

POINT = {"type": "Point", "coordinates": [106.76, 31.86]}
TXT = land_txt(Point(106.76, 31.86).buffer(0.002), name="经办人测试地块")


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


def column_officer(screening_id: str) -> str | None:
    with session_scope() as session:
        return session.execute(
            text("SELECT officer FROM screening WHERE id = :id"), {"id": screening_id}
        ).scalar_one()


def test_json_officer_is_filed_listed_and_filtered(client):
    filed = screen(
        client, geometry=POINT, project_category="居住", project_name="甲", officer="  李经办 "
    )
    assert filed["project"]["officer"] == "李经办"
    assert column_officer(filed["id"]) == "李经办"
    assert client.get(f"/screenings/{filed['id']}").json()["project"]["officer"] == "李经办"
    other = screen(client, geometry=POINT, project_category="居住", officer="王经办")
    listed = client.get("/screenings", params={"officer": "李经办"}).json()
    assert filed["id"] in [s["id"] for s in listed]
    assert other["id"] not in [s["id"] for s in listed]
    assert {s["officer"] for s in listed} == {"李经办"}
    everyone = {s["id"]: s["officer"] for s in client.get("/screenings").json()}
    assert everyone[other["id"]] == "王经办"


def test_multipart_officer_is_filed(client):
    resp = client.post(
        "/screenings",
        files={"file": ("site.txt", TXT.encode("utf-8"), "text/plain")},
        data={"project_category": "工业", "officer": "赵经办"},
    )
    assert resp.status_code == 201, resp.text
    filed = resp.json()
    assert filed["project"]["officer"] == "赵经办"
    assert column_officer(filed["id"]) == "赵经办"
    assert client.get(f"/screenings/{filed['id']}").json()["inputs"]["officer"] == "赵经办"


def test_no_officer_is_allowed_for_api_and_cli_users(client):
    filed = screen(client, geometry=POINT, project_category="居住")
    assert filed["project"].get("officer") is None
    assert column_officer(filed["id"]) is None
    blank = screen(client, geometry=POINT, project_category="居住", officer="   ")
    assert blank["project"].get("officer") is None


def test_an_officer_name_over_50_characters_is_422(client):
    long = "长" * 51
    resp = client.post("/screenings", json={"geometry": POINT, "officer": long})
    assert resp.status_code == 422
    resp = client.post(
        "/screenings",
        files={"file": ("site.txt", TXT.encode("utf-8"), "text/plain")},
        data={"officer": long},
    )
    assert resp.status_code == 422
    assert "officer" in resp.json()["detail"]
    assert client.get("/screenings", params={"officer": long}).status_code == 422
    assert screen(client, geometry=POINT, officer="长" * 50)["project"]["officer"] == "长" * 50
