"""Screenings run at most REDLINE_SCREENING_SLOTS at a time per API process (app.api.slots);
the others wait their turn and are all answered."""

import asyncio
import threading
import time

import httpx
import pytest

from app.api.routes import screenings
from app.config import get_settings

SITE = {"geometry": {"type": "Point", "coordinates": [106.84, 32.35]}, "project_name": "并发"}


def _running_at_once(monkeypatch, client, headers, slots: int, requests: int) -> tuple[int, list]:
    """The most screenings seen running at once, and the answers, for REQUESTS sent together."""
    monkeypatch.setattr(get_settings(), "screening_slots", slots)
    lock = threading.Lock()
    now = {"running": 0, "most": 0}
    real = screenings._screen_json

    def counted(actor: str, raw: bytes):
        with lock:
            now["running"] += 1
            now["most"] = max(now["most"], now["running"])
        try:
            time.sleep(0.15)  # long enough for every request to have arrived meanwhile
            return real(actor, raw)
        finally:
            with lock:
                now["running"] -= 1

    monkeypatch.setattr(screenings, "_screen_json", counted)

    async def send_all() -> list[httpx.Response]:
        # A new event loop, as a new API process has: its limiter takes the setting.
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://redline", headers=headers
        ) as http:
            return await asyncio.gather(
                *(http.post("/screenings", json=SITE) for _ in range(requests))
            )

    answers = asyncio.run(send_all())
    return now["most"], answers


@pytest.mark.parametrize("slots", [1, 2])
def test_screenings_beyond_the_slots_wait_and_are_all_filed(
    monkeypatch, client, admin_headers, reference, slots
):
    most, answers = _running_at_once(monkeypatch, client, admin_headers, slots, 6)
    assert [a.status_code for a in answers] == [201] * 6
    assert len({a.json()["id"] for a in answers}) == 6
    assert most == slots


def test_more_slots_run_more_screenings_at_once(monkeypatch, client, admin_headers, reference):
    # The counter itself sees concurrency when the slots allow it.
    most, answers = _running_at_once(monkeypatch, client, admin_headers, 6, 6)
    assert [a.status_code for a in answers] == [201] * 6
    assert most > 2
