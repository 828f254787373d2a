"""Who may read /metrics (bot/metrics_web.py), over HTTP: nobody on the public listener by
default (404), a token's holder when DESKHAND_METRICS_TOKEN is set (401 without it), and
whoever reaches DESKHAND_METRICS_HOST:DESKHAND_METRICS_PORT, a listener of its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from bot.bootstrap import Settings
from bot.settings import SettingsError, load_settings
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server

TOKEN = "scrape-token-0123456789abcdef"


@asynccontextmanager
async def deskhand(tmp_path: Path, **settings: object) -> AsyncIterator[LiveServer]:
    port = free_port()
    runner, live = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}", **settings))
    try:
        yield live
    finally:
        await runner.cleanup()


async def get(url: str, token: str | None = None) -> tuple[int, str, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


async def refused(url: str) -> bool:
    """Nothing listens there."""
    try:
        await get(url)
    except aiohttp.ClientConnectorError:
        return True
    return False


async def test_by_default_metrics_are_served_nowhere(tmp_path: Path) -> None:
    async with deskhand(tmp_path) as live:
        status, _, _ = await get(f"{live.url}/metrics")
        assert status == 404
        assert (await get(f"{live.url}/readyz"))[0] == 200  # the listener itself answers


async def test_with_a_token_the_public_listener_serves_metrics_to_its_holder_only(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with deskhand(tmp_path, metrics_token=TOKEN) as live:
        url = f"{live.url}/metrics"
        for token in (None, "wrong-token-0123456789abcdef", TOKEN[:-1]):
            status, body, headers = await get(url, token)
            assert status == 401, token
            assert headers["WWW-Authenticate"].startswith("Bearer")
            assert "deskhand_" not in body
        async with aiohttp.ClientSession() as http:  # a scheme other than Bearer
            async with http.get(url, headers={"Authorization": f"Basic {TOKEN}"}) as resp:
                assert resp.status == 401
        status, body, _ = await get(url, TOKEN)
        assert status == 200 and "deskhand_inbox_queued" in body
    refusals = [r for r in caplog.records if r.name == "deskhand.metrics"]
    assert len(refusals) == 4 and all(r.levelname == "WARNING" for r in refusals)
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


async def test_a_metrics_port_is_a_listener_of_its_own_on_loopback(tmp_path: Path) -> None:
    metrics = free_port()
    async with deskhand(tmp_path, metrics_port=metrics) as live:
        assert live.runtime.settings.metrics_host == "127.0.0.1"
        status, body, _ = await get(f"http://127.0.0.1:{metrics}/metrics")
        assert status == 200 and "deskhand_commands" in body
        assert (await get(f"{live.url}/metrics"))[0] == 404  # not on the public one
        assert (await get(f"http://127.0.0.1:{metrics}/readyz"))[0] == 404  # only /metrics there
    assert await refused(f"http://127.0.0.1:{metrics}/metrics")  # stopped with the listener


async def test_a_token_guards_the_metrics_port_too(tmp_path: Path) -> None:
    metrics = free_port()
    async with deskhand(tmp_path, metrics_port=metrics, metrics_token=TOKEN) as live:
        assert (await get(f"http://127.0.0.1:{metrics}/metrics"))[0] == 401
        assert (await get(f"http://127.0.0.1:{metrics}/metrics", TOKEN))[0] == 200
        assert (await get(f"{live.url}/metrics", TOKEN))[0] == 200


def test_metrics_settings_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DESKHAND_METRICS_PORT", "DESKHAND_METRICS_TOKEN", "DESKHAND_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SettingsError) as same:
        load_settings(Settings, port=9000, metrics_port=9000)
    assert same.value.lines == [
        "DESKHAND_METRICS_PORT: must differ from DESKHAND_PORT: metrics get a listener of their own"]
    assert load_settings(Settings, metrics_token="").metrics_token is None  # empty is unset
