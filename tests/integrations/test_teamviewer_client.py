"""The TeamViewer client against the simulator over loopback: contract, retries, typed errors."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from integrations.http import RetryPolicy, VendorError, retry_after, send
from integrations.simulator_kit import serve
from integrations.teamviewer.client import POLICY, ScriptToken, TeamViewerClient
from integrations.teamviewer.simulator import TeamViewerSimulator
from tests.conftest import free_port

TOKEN = "1234567-AbCdEfGhIjKlMnOpQrSt"
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, statuses=POLICY.statuses)
CID = "corr0123456789ab"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[TeamViewerSimulator, str]]:
    simulator = TeamViewerSimulator(script_tokens=(TOKEN,))
    simulator.seed_devices([("PC-0001", True), ("PC-0002", False), ("MAC-0003", True)])
    runner, url = await serve(simulator)
    yield simulator, url
    await runner.cleanup()


@pytest.fixture
async def client(sim: tuple[TeamViewerSimulator, str]) -> AsyncIterator[TeamViewerClient]:
    c = TeamViewerClient(f"{sim[1]}/api/v1/", ScriptToken(TOKEN), policy=FAST)
    yield c
    await c.aclose()


async def test_session_lifecycle_speaks_the_documented_shapes(
        sim: tuple[TeamViewerSimulator, str], client: TeamViewerClient) -> None:
    simulator, _ = sim
    session = await client.create_session(CID, groupname="deskhand", description="PC-0001 | INC1",
                                          marker="m-1", end_customer={"name": "Ann", "email": "a@x.io"})
    assert re.fullmatch(r"s\d{2}-\d{3}-\d{3}", session.code)
    assert session.open and session.supporter_link and session.end_customer_link
    assert session.webclient_supporter_link and session.custom_api == "m-1"
    assert session.valid_until is not None and session.valid_until > datetime.now(UTC)
    assert (await client.get_session(CID, session.code)).description == "PC-0001 | INC1"
    assert [s.code for s in await client.list_sessions(CID)] == [session.code]
    await client.close_session(CID, session.code, description="PC-0001 | INC1 | closed by me")
    closed = await client.get_session(CID, session.code)
    assert closed.state == "Closed" and closed.closed_at is not None
    assert closed.description.endswith("closed by me")
    assert await client.list_sessions(CID) == []
    assert simulator.hits["PUT /api/v1/sessions/{code}"] == 1


async def test_raw_contract_of_list_close_and_errors(sim: tuple[TeamViewerSimulator, str]) -> None:
    _, url = sim
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=f"{url}/api/v1/") as http:
        for n in range(55):
            r = await http.post("sessions", json={"groupname": "g", "description": str(n)}, headers=auth)
            assert r.status_code == 200
        page = (await http.get("sessions", params={"full_list": "true"}, headers=auth)).json()
        assert len(page["sessions"]) == 50 and page["sessions_remaining"] == 5
        rest = (await http.get("sessions", params={"offset": page["next_offset"]}, headers=auth)).json()
        assert len(rest["sessions"]) == 5 and rest["next_offset"] is None
        code = rest["sessions"][0]["code"]
        assert (await http.put(f"sessions/{code}", json={"state": "closed"}, headers=auth)).status_code == 204
        closed = (await http.get("sessions", params={"state": "CLOSED"}, headers=auth)).json()
        assert [s["code"] for s in closed["sessions"]] == [code]
        refused = await http.get("sessions", headers={"Authorization": "Bearer nope"})
        body = refused.json()
        assert refused.status_code == 401 and body["error"] == "invalid_token"
        assert isinstance(body["error_code"], int) and body["error_description"]
        assert (await http.post("sessions", json={}, headers=auth)).json()["error"] == "invalid_request"
        ping = await http.get("ping", headers={"Authorization": "Bearer nope"})
        assert ping.status_code == 200 and ping.json() == {"token_valid": False}


async def test_ping_reports_token_validity(sim: tuple[TeamViewerSimulator, str],
                                           client: TeamViewerClient) -> None:
    assert await client.ping(CID) is True
    wrong = TeamViewerClient(f"{sim[1]}/api/v1/", ScriptToken("7654321-wrongwrongwrongwrong"))
    try:
        assert await wrong.ping(CID) is False
    finally:
        await wrong.aclose()


async def test_managed_devices_tell_full_client_from_quicksupport(
        sim: tuple[TeamViewerSimulator, str], client: TeamViewerClient) -> None:
    simulator, _ = sim
    assert (await client.managed_device(CID, "pc-0001")) is not None
    assert (await client.managed_device(CID, "PC-0002")) is None  # no full client: not managed
    simulator.seed_devices([(f"PC-{n:04d}", n % 5 != 0) for n in range(1, 251)])
    devices = await client.managed_devices(CID)
    assert len(devices) == 200 and all(d.teamviewer_id for d in devices)
    assert simulator.hits["GET /api/v1/managed/devices"] >= 3  # paged by nextPaginationToken
    legacy = await client.devices(CID)
    assert legacy and legacy[0]["remotecontrol_id"].startswith("r")


async def test_managed_device_cache_is_fetched_first_and_refreshed_after_five_minutes(
        sim: tuple[TeamViewerSimulator, str]) -> None:
    """The cache's age is measured on the client's clock: a clock that reads 10 s (a machine
    booted moments ago) must still fetch on first use, not trust an empty cache."""
    simulator, url = sim
    now = [10.0]
    client = TeamViewerClient(f"{url}/api/v1/", ScriptToken(TOKEN), policy=FAST,
                              clock=lambda: now[0])
    try:
        assert await client.managed_device(CID, "PC-0001") is not None
        fetched = simulator.hits["GET /api/v1/managed/devices"]
        simulator.seed_devices([("PC-0001", False)])
        now[0] += 299
        assert await client.managed_device(CID, "PC-0001") is not None  # still cached
        assert simulator.hits["GET /api/v1/managed/devices"] == fetched
        now[0] += 2
        assert await client.managed_device(CID, "PC-0001") is None  # refreshed: now unmanaged
        assert simulator.hits["GET /api/v1/managed/devices"] > fetched
    finally:
        await client.aclose()


async def test_429_waits_for_retry_after(sim: tuple[TeamViewerSimulator, str],
                                         client: TeamViewerClient) -> None:
    simulator, _ = sim
    simulator.switches.rate_limit_next, simulator.switches.retry_after = 1, 1
    started = time.perf_counter()
    session = await client.create_session(CID, groupname="g", description="d", marker="m")
    assert time.perf_counter() - started >= 1.0  # the backoff alone would be ~10 ms
    assert session.code and simulator.hits["POST /api/v1/sessions"] == 2


async def test_503_is_retried_then_succeeds(sim: tuple[TeamViewerSimulator, str],
                                            client: TeamViewerClient) -> None:
    simulator, _ = sim
    simulator.switches.fail_next, simulator.switches.fail_status = 2, 503
    assert len(await client.list_sessions(CID)) == 0
    assert simulator.hits["GET /api/v1/sessions"] == 3


async def test_500_after_retries_is_a_clear_error_and_nothing_open(
        sim: tuple[TeamViewerSimulator, str], client: TeamViewerClient) -> None:
    simulator, _ = sim
    sw = simulator.switches
    sw.fail_next, sw.fail_status, sw.fail_path = 100, 500, "POST /api/v1/sessions"
    with pytest.raises(VendorError) as caught:
        await client.create_session(CID, groupname="g", description="d", marker="m")
    err = caught.value
    assert (err.vendor, err.status, err.correlation_id) == ("TeamViewer", 500, CID)
    assert "4 tries" in err.message and TOKEN not in err.message
    assert simulator.hits["POST /api/v1/sessions"] == 4
    assert simulator.hits["GET /api/v1/sessions"] == 3  # looked before each resend
    assert simulator.open_sessions() == []


async def test_a_lost_create_response_does_not_duplicate_the_session(
        sim: tuple[TeamViewerSimulator, str], client: TeamViewerClient) -> None:
    simulator, _ = sim
    simulator.switches.lose_next_create = 1  # created, but the answer is a 502
    session = await client.create_session(CID, groupname="g", description="d", marker="unique-1")
    assert len(simulator.sessions) == 1 and session.code in simulator.sessions
    assert simulator.hits["POST /api/v1/sessions"] == 1


async def test_licence_session_limit_is_not_retried_and_explained(
        sim: tuple[TeamViewerSimulator, str], client: TeamViewerClient) -> None:
    simulator, _ = sim
    simulator.switches.max_open_sessions = 1
    await client.create_session(CID, groupname="g", description="d", marker="a")
    with pytest.raises(VendorError) as caught:
        await client.create_session(CID, groupname="g", description="d", marker="b")
    assert caught.value.code == "session_limit" and "licence" in caught.value.message
    assert simulator.hits["POST /api/v1/sessions"] == 2


async def test_401_and_403_messages_say_what_to_fix(sim: tuple[TeamViewerSimulator, str],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    simulator, url = sim
    secret = "7654321-NotTheRightTokenAtAll"
    wrong = TeamViewerClient(f"{url}/api/v1/", ScriptToken(secret), policy=FAST)
    try:
        with pytest.raises(VendorError) as caught:
            await wrong.list_sessions(CID)
        assert caught.value.status == 401 and "DESKHAND_TEAMVIEWER_API_TOKEN" in caught.value.message
        simulator.script_tokens.add(secret)
        simulator.switches.fail_next, simulator.switches.fail_status = 1, 403
        with pytest.raises(VendorError) as caught:
            await wrong.list_sessions(CID)
        assert caught.value.status == 403 and "Session management" in caught.value.message
    finally:
        await wrong.aclose()
    assert secret not in caplog.text and secret not in repr(caught.value)


async def test_unreachable_vendor_is_retried_then_reported() -> None:
    dead = TeamViewerClient(f"http://127.0.0.1:{free_port()}/api/v1/", ScriptToken(TOKEN), policy=FAST)
    try:
        with pytest.raises(VendorError) as caught:
            await dead.list_sessions(CID)
    finally:
        await dead.aclose()
    assert caught.value.code == "unreachable" and caught.value.attempts == 4
    assert "could not be reached" in caught.value.message


async def test_retry_after_parsing_and_cap(sim: tuple[TeamViewerSimulator, str]) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after(httpx.Response(429, headers={"Retry-After": later})) or 0) <= 30
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    simulator, url = sim
    simulator.switches.rate_limit_next, simulator.switches.retry_after = 1, 3600
    async with httpx.AsyncClient(base_url=f"{url}/api/v1/") as http:
        started = time.perf_counter()
        response = await send(http, "GET", "ping", vendor="TeamViewer", correlation_id=CID, policy=FAST)
    # A Retry-After beyond the cap is handed back at once instead of stalling the chat command.
    assert response.status_code == 429 and time.perf_counter() - started < 0.5
    for attempt in range(6):
        assert 0 < FAST.delay(attempt) <= FAST.max_backoff
