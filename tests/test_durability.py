"""Writes are committed before they are acknowledged: a 2xx means the row is there."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, text

from app.config import get_settings

SITE = {"type": "Point", "coordinates": [106.75, 31.86]}
WRITES = 100
# TestClient waits for the whole ASGI call, so it cannot see a late commit; a few writes
# check the route, the live server and the middleware test below check the ordering.
TESTCLIENT_WRITES = 50
WORKERS = 4


@pytest.fixture(scope="module", autouse=True)
def loaded(reference):
    return reference


def test_a_read_straight_after_each_write_finds_it(client):
    """TestClient: screenings, each read back at once."""
    for i in range(TESTCLIENT_WRITES):
        resp = client.post("/screenings", json={"geometry": SITE, "project_name": f"d{i}"})
        assert resp.status_code == 201, resp.text
        assert client.get(f"/screenings/{resp.json()['id']}").status_code == 200, i


def test_a_read_straight_after_each_write_finds_it_over_http(live_server, admin_headers):
    """A real uvicorn, writes from parallel clients: every 201's id reads back at once."""

    def write_then_read(i: int) -> tuple[int, int]:
        with httpx.Client(base_url=live_server, timeout=30, headers=admin_headers) as http:
            resp = http.post("/screenings", json={"geometry": SITE, "project_name": f"h{i}"})
            if resp.status_code != 201:
                return resp.status_code, 0
            return 201, http.get(f"/screenings/{resp.json()['id']}").status_code

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(write_then_read, range(WRITES)))
    assert results == [(201, 200)] * WRITES


def test_the_commit_happens_before_the_response_starts(database, reference, admin_headers):
    """At the moment the 201's headers go out, another connection already sees the row."""
    from fastapi.testclient import TestClient

    from app.api.main import create_app

    engine = create_engine(get_settings().database_url)
    seen: list[int] = []

    def count() -> int:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM screening"))

    app = create_app()

    def watch(inner):
        async def asgi(scope, receive, send):
            async def watched_send(message):
                if message["type"] == "http.response.start" and scope["method"] == "POST":
                    seen.append(count())
                await send(message)

            await inner(scope, receive, watched_send)

        return asgi

    app.add_middleware(lambda inner: watch(inner))  # outermost: sees what the client sees
    try:
        with TestClient(app, headers=admin_headers) as c:
            before = count()
            resp = c.post("/screenings", json={"geometry": SITE})
            assert resp.status_code == 201, resp.text
    finally:
        engine.dispose()
    assert seen == [before + 1]
