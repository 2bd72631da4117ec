"""What the map page reads besides the API: the basemap toggle appears only when configured."""

from fastapi.testclient import TestClient

from app.api.main import create_app
from app.config import get_settings

TIANDITU = "https://t0.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=k"


def test_no_basemap_by_default(client):
    assert client.get("/web/config.json").json() == {"basemap": False, "basemap_attribution": None}


def test_a_configured_basemap_is_offered_with_its_credit(database):
    settings = get_settings().model_copy(
        update={"basemap_url": TIANDITU, "basemap_attribution": "© 天地图"}
    )
    page = TestClient(create_app(settings)).get("/web/config.json")
    assert page.status_code == 200
    assert page.json() == {"basemap": True, "basemap_attribution": "© 天地图"}


def test_the_page_loads_its_scripts_in_order(client):
    """coords.js, screen.js and places.js are served and loaded before app.js starts."""
    html = client.get("/").text
    scripts = ["coords.js", "screen.js", "places.js", "app.js"]
    positions = [html.index(f'/static/{name}"') for name in scripts]
    assert positions == sorted(positions)
    for name in scripts:
        assert client.get(f"/static/{name}").status_code == 200
