"""The Workspace ONE simulator's own HTTP (integrations.md 3, checklist item 4), and the table of
which device actions apply to which platform."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from integrations.simulator_kit import serve
from integrations.workspace_one.actions import Action, actions_for, applies, platforms_for
from integrations.workspace_one.models import Platform
from integrations.workspace_one.simulator import WorkspaceOneSimulator

USER, PASSWORD, TENANT = "api", "api-password", "TENANT-CODE"
BASIC = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
         "aw-tenant-code": TENANT, "Accept": "application/json;version=1"}


def top(client: httpx.AsyncClient, path: str) -> str:
    """A path beside the API root (the token endpoint, /_control)."""
    return str(client.base_url).removesuffix("api/") + path


@pytest.fixture
async def http() -> AsyncIterator[tuple[WorkspaceOneSimulator, httpx.AsyncClient]]:
    sim = WorkspaceOneSimulator(accounts={USER: PASSWORD}, tenant_code=TENANT, clients={"c": "s"})
    sim.seed_devices([("PC-0001", "SN1", None, "windows", "10.0.22631", "ann@example.com"),
                      ("IPH-0002", "SN2", "UDID2", "Apple", "18.1", "bo@example.com")])
    runner, url = await serve(sim)
    async with httpx.AsyncClient(base_url=url) as client:
        yield sim, client
    await runner.cleanup()


async def test_devices_come_in_the_documented_v1_shapes(
        http: tuple[WorkspaceOneSimulator, httpx.AsyncClient]) -> None:
    _, client = http
    page = (await client.get("mdm/devices/search", params={"pagesize": "1"}, headers=BASIC)).json()
    assert (page["Page"], page["PageSize"], page["Total"]) == (0, 1, 2)
    pc = page["Devices"][0]
    assert pc["Id"] == {"Value": 1001} and pc["Platform"] == "WinRT"
    assert pc["DeviceReportedName"] == "PC-0001" and pc["UserEmailAddress"] == "ann@example.com"
    assert "Z" not in pc["LastSeen"] and "+" not in pc["LastSeen"]  # no zone, as Workspace ONE
    phone = (await client.get("mdm/devices", params={"searchby": "Serialnumber", "id": "SN2"},
                              headers=BASIC)).json()
    assert phone["Platform"] == "Apple" and phone["Udid"] == "UDID2"
    v2 = await client.get(f"mdm/devices/{phone['Uuid']}",
                          headers={**BASIC, "Accept": "application/json;version=2"})
    assert v2.json()["SerialNumber"] == "SN2"
    none = await client.get("mdm/devices/search", params={"platform": "Android"}, headers=BASIC)
    assert none.status_code == 204 and none.content == b""


async def test_sign_in_refusals_are_1005_with_an_activity_id(
        http: tuple[WorkspaceOneSimulator, httpx.AsyncClient]) -> None:
    sim, client = http
    for headers in ({**BASIC, "aw-tenant-code": "wrong"}, {"Authorization": "Bearer nope"}, {}):
        refused = await client.get("mdm/devices/1001", headers=headers)
        body = refused.json()
        assert refused.status_code == 401 and body["errorCode"] == 1005
        assert body["message"] and len(body["activityId"]) == 36
    assert sim.refused == 3
    token = await client.post(top(client, "connect/token"), data={"grant_type": "client_credentials",
                                                      "client_id": "c", "client_secret": "s"})
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert token.json()["expires_in"] == 3600
    assert (await client.get("mdm/devices/1001", headers=bearer)).status_code == 200


async def test_command_names_in_any_casing_and_the_old_spellings(
        http: tuple[WorkspaceOneSimulator, httpx.AsyncClient]) -> None:
    sim, client = http
    for name in ("Lock", "devicelock", "LOCKDEVICE"):
        answer = await client.post("mdm/devices/1001/commands", params={"command": name},
                                   headers=BASIC)
        assert answer.status_code == 202 and answer.content == b""
    by_serial = await client.post("mdm/devices/commands", headers=BASIC, params={
        "command": "SyncDevice", "searchBy": "Serialnumber", "id": "SN2"})
    assert by_serial.status_code == 202
    unknown = await client.post("mdm/devices/1001/commands", params={"command": "Explode"},
                                headers=BASIC)
    assert unknown.status_code == 400 and "Unknown command" in unknown.json()["message"]
    assert [s.kind for s in sim.sent] == ["Lock", "Lock", "Lock", "SyncDevice"]
    assert sim.sent[-1].device_id == 1002


async def test_control_seeds_the_fleet_and_sets_switches(
        http: tuple[WorkspaceOneSimulator, httpx.AsyncClient]) -> None:
    sim, client = http
    state = (await client.post(top(client, "_control"), json={
        "devices": [{"name": "AND-9", "serial": "SN9", "platform": "android", "os": "15"}],
        "rate_limit_next": 1, "retry_after": 7})).json()
    assert state["devices"] == 1 and state["switches"]["rate_limit_next"] == 1
    limited = await client.get("mdm/devices/1001", headers=BASIC)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert limited.json()["errorCode"] == 429
    assert (await client.post(top(client, "_control"), json={"no_such": 1})).status_code == 400
    assert sim.device("SN9", "serialnumber") is not None


def test_which_actions_apply_to_which_platform() -> None:
    assert applies(Action.RECOVERY_KEY, Platform.WINDOWS) and applies(Action.RECOVERY_KEY, Platform.MACOS)
    assert platforms_for(Action.RECOVERY_KEY) == [Platform.MACOS, Platform.WINDOWS]
    assert platforms_for(Action.DEVICE_WIPE) == [Platform.ANDROID, Platform.IOS, Platform.MACOS,
                                                 Platform.WINDOWS]
    assert not applies(Action.DEVICE_WIPE, Platform.LINUX)
    assert not applies(Action.LOCK, None)  # a platform we do not know: nothing applies
    for platform in Platform:  # every platform can be synced, enterprise-wiped and noted
        assert {Action.SYNC, Action.ENTERPRISE_WIPE, Action.NOTE} <= set(actions_for(platform))
    assert Action.FIND not in actions_for(Platform.WINDOWS)
    assert [p.label for p in platforms_for(Action.FIND)] == ["Android", "iOS"]
