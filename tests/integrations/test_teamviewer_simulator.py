"""The simulator's own contract: OAuth (PKCE enforced once sent, rotation), control, mounting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiohttp import web

from integrations.simulator_kit import serve
from integrations.teamviewer.oauth import pkce_pair
from integrations.teamviewer.simulator import SimDevice, TeamViewerSimulator
from tests.conftest import free_port

CLIENT, SECRET, BACK = "app", "app-secret-000000", "http://127.0.0.1:1/cb"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[TeamViewerSimulator, httpx.AsyncClient]]:
    simulator = TeamViewerSimulator(clients={CLIENT: SECRET})
    runner, url = await serve(simulator)
    async with httpx.AsyncClient(base_url=url) as http:
        yield simulator, http
    await runner.cleanup()


async def authorize(http: httpx.AsyncClient, challenge: str | None) -> str:
    form = {"response_type": "code", "client_id": CLIENT, "redirect_uri": BACK, "state": "s1",
            "decision": "allow"}
    if challenge:
        form |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    page = await http.get("/oauth2/authorize", params={k: v for k, v in form.items() if k != "decision"})
    assert page.status_code == 200 and 'name="state" value="s1"' in page.text
    answer = await http.post("/oauth2/authorize", data=form)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["s1"]
    return query["code"][0]


async def token(http: httpx.AsyncClient, **fields: str) -> httpx.Response:
    return await http.post("/api/v1/oauth2/token", data={"client_id": CLIENT,
                                                         "client_secret": SECRET, **fields})


async def test_pkce_is_enforced_once_a_challenge_was_sent(
        sim: tuple[TeamViewerSimulator, httpx.AsyncClient]) -> None:
    _, http = sim
    verifier, challenge = pkce_pair()
    code = await authorize(http, challenge)
    wrong = await token(http, grant_type="authorization_code", code=code, code_verifier="x" * 50)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    code = await authorize(http, challenge)
    right = await token(http, grant_type="authorization_code", code=code, code_verifier=verifier,
                        redirect_uri=BACK)
    body = right.json()
    assert right.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == 86400
    reused = await token(http, grant_type="authorization_code", code=code, code_verifier=verifier)
    assert reused.status_code == 400  # a code works once
    plain = await token(http, grant_type="authorization_code", code=await authorize(http, None))
    assert plain.status_code == 200  # without a challenge PKCE is not required


async def test_refresh_rotates_and_client_secret_is_checked(
        sim: tuple[TeamViewerSimulator, httpx.AsyncClient]) -> None:
    simulator, http = sim
    first = (await token(http, grant_type="authorization_code", code=await authorize(http, None))).json()
    second = (await token(http, grant_type="refresh_token", refresh_token=first["refresh_token"])).json()
    assert second["refresh_token"] != first["refresh_token"]
    again = await token(http, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    bad = await http.post("/api/v1/oauth2/token", data={"client_id": CLIENT, "client_secret": "no",
                                                        "grant_type": "refresh_token"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    ping = await http.get("/api/v1/ping", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert ping.json() == {"token_valid": True}
    simulator.expire_tokens()
    ping = await http.get("/api/v1/ping", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert ping.json() == {"token_valid": False}


async def test_control_switches_and_a_mounted_prefix() -> None:
    simulator = TeamViewerSimulator(script_tokens=("tok-123456",))
    parent = web.Application()
    simulator.mount(parent, "/_sim/teamviewer")
    runner = web.AppRunner(parent)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}/_sim/teamviewer"
    try:
        async with httpx.AsyncClient(base_url=base) as http:
            state = (await http.post("/_control", json={"latency": 0.0, "devices": [
                {"name": "PC-1", "full_client": True}, {"name": "PC-2", "full_client": False}]})).json()
            assert state["devices"] == 2
            assert (await http.post("/_control", json={"nonsense": 1})).status_code == 400
            auth = {"Authorization": "Bearer tok-123456"}
            managed = (await http.get("/api/v1/managed/devices", headers=auth)).json()
            assert [d["name"] for d in managed["resources"]] == ["PC-1"]
            assert set(managed["resources"][0]) >= {"id", "TeamViewerId", "name", "isOnline", "last_seen"}
            created = (await http.post("/api/v1/sessions", json={"groupname": "g"}, headers=auth)).json()
            assert created["end_customer_link"].startswith(f"{base}/s/")
            assert (await http.get(created["supporter_link"].removeprefix(base))).status_code == 200
            await http.post("/_control", json={"max_open_sessions": 1})
            limited = await http.post("/api/v1/sessions", json={"groupname": "g"}, headers=auth)
            assert limited.status_code == 429 and "concurrent sessions" in limited.json()["error_description"]
            hits = (await http.get("/_control")).json()["hits"]
            assert hits["POST /api/v1/sessions"] == 2
    finally:
        await runner.cleanup()


async def test_managed_listings_page_every_device_once() -> None:
    """250 managed devices (every fifth without the full client, so unmanaged) page through
    `managed/devices` and each group's `managed/groups/{id}/devices` 100 at a time, each device
    once; a token the API did not give is refused."""
    simulator = TeamViewerSimulator(script_tokens=("tok-123456",))
    simulator.devices = [SimDevice(f"PC-{n:03d}", full_client=n % 5 != 0,
                                   group=("A", "B", "")[n % 3]) for n in range(250)]
    runner, url = await serve(simulator)

    async def walk(http: httpx.AsyncClient, path: str) -> tuple[list[str], int]:
        names, token, pages = [], None, 0
        while True:
            body = (await http.get(path, params={"paginationToken": token} if token else None)).json()
            names += [d["name"] for d in body["resources"]]
            pages += 1
            token = body["nextPaginationToken"]
            if not token:
                return names, pages

    managed = [d for d in simulator.devices if d.full_client]
    try:
        async with httpx.AsyncClient(base_url=url,
                                     headers={"Authorization": "Bearer tok-123456"}) as http:
            assert await walk(http, "/api/v1/managed/devices") == ([d.name for d in managed], 2)
            groups = (await http.get("/api/v1/managed/groups")).json()["resources"]
            assert [g["name"] for g in groups] == ["A", "B"]
            for group in groups:
                names, _ = await walk(http, f"/api/v1/managed/groups/{group['id']}/devices")
                assert names == [d.name for d in managed if d.group == group["name"]]
            bad = await http.get("/api/v1/managed/devices", params={"paginationToken": "x"})
            assert bad.status_code == 400
    finally:
        await runner.cleanup()
