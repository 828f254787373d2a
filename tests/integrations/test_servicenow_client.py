"""The ServiceNow client against the simulator over loopback: both sign-ins, incidents, paging,
callers, devices, work notes, attachments, and errors as plain messages."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from integrations.http import Cause, RetryPolicy, VendorError, new_client
from integrations.servicenow.auth import BasicAuth, OAuthAuth, OAuthSettings
from integrations.servicenow.client import POLICY, ServiceNowClient
from integrations.servicenow.simulator import ServiceNowSimulator
from integrations.simulator_kit import serve

USER, PASSWORD = "svc-deskhand", "Pa55-word-of-the-integration-user"
CLIENT_ID, CLIENT_SECRET = "deskhand-app", "client-secret-1234567890"
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, statuses=POLICY.statuses)
CID = "corr0123456789ab"
DEVICES = [(f"PC-{n:04d}", f"SN{n:09d}", f"user{n:03d}@example.com") for n in range(1, 31)]
AGENTS = [("sam.standard@example.com", "Sam Standard"), ("riley.remote@example.com", "Riley Remote")]


@pytest.fixture
async def sim() -> AsyncIterator[tuple[ServiceNowSimulator, str]]:
    simulator = ServiceNowSimulator(users={USER: PASSWORD}, clients={CLIENT_ID: CLIENT_SECRET})
    simulator.seed_fleet(DEVICES, AGENTS, incidents=25)
    runner, url = await serve(simulator)
    yield simulator, url
    await runner.cleanup()


def basic_client(url: str, **options: object) -> ServiceNowClient:
    return ServiceNowClient(url, BasicAuth(USER, PASSWORD), policy=FAST, **options)  # type: ignore[arg-type]


def oauth_client(url: str, settings: OAuthSettings,
                 clock: Callable[[], float] = time.monotonic) -> tuple[ServiceNowClient, OAuthAuth]:
    http = new_client(url)
    auth = OAuthAuth(settings, http, FAST, clock=clock)
    return ServiceNowClient(url, auth, policy=FAST, http=http), auth


PASSWORD_GRANT = OAuthSettings(CLIENT_ID, CLIENT_SECRET, "password", USER, PASSWORD)


@pytest.fixture
async def client(sim: tuple[ServiceNowSimulator, str]) -> AsyncIterator[ServiceNowClient]:
    c = basic_client(sim[1])
    yield c
    await c.aclose()


async def test_incident_by_number_with_its_caller_and_device(
        sim: tuple[ServiceNowSimulator, str], client: ServiceNowClient) -> None:
    simulator, _ = sim
    incident = await client.incident("inc0010001", cid=CID)
    assert incident is not None and incident.number == "INC0010001"
    stored = simulator.instance.get("incident", incident.sys_id)
    assert stored is not None
    assert incident.short_description == stored["short_description"]
    assert incident.state == stored["state"] and incident.state_label in (
        "New", "In Progress", "On Hold", "Resolved")
    owner = simulator.instance.get("sys_user", stored["caller_id"])
    assert owner is not None and incident.caller_name == owner["name"]
    assert await client.caller_email(incident) == owner["email"]
    device = await client.device(incident)
    assert device is not None and (device.name, device.serial_number) == DEVICES[0][:2]
    assert incident.device_name == "PC-0001" and device.sys_class_name == "cmdb_ci_computer"
    assert await client.incident("INC9999999") is None
    assert await client.incident("INC0010001^ORnumberISNOTEMPTY") is None  # no query injection
    assert await client.incident_by_id("0" * 32) is None
    sam = await client.user_by_email("SAM.Standard@example.com")  # instances compare ignoring case
    assert sam is not None and (sam.name, sam.email) == ("Sam Standard", "sam.standard@example.com")
    assert await client.user_by_email("nobody@example.com") is None
    assert await client.ping() is True


async def test_lists_follow_the_link_header_page_by_page(
        sim: tuple[ServiceNowSimulator, str]) -> None:
    simulator, url = sim
    c = basic_client(url, page_size=4)
    recent = await c.incidents("recent", limit=10)
    assert len(recent) == 10 and simulator.hits["GET /api/now/table/{table}"] == 3
    stamps = [i.updated_at for i in recent]
    assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]
    assert len(await c.incidents("recent", limit=100)) == 25  # stops when no `next` is left
    opened = await c.incidents("open", limit=100)
    assert opened and all(i.open for i in opened)
    assert len(opened) == sum(1 for r in simulator.instance.rows("incident") or []
                              if r["state"] in ("1", "2", "3"))
    mine = await c.incidents("assigned", assigned_to_email="riley.remote@example.com", limit=100)
    assert mine and all(i.assigned_to_name == "Riley Remote" and i.open for i in mine)
    assert await c.incidents("assigned", assigned_to_email="nobody@example.com") == []
    await c.aclose()
    async with httpx.AsyncClient(auth=(USER, PASSWORD)) as raw:  # the headers as instances send them
        first = await raw.get(f"{url}/api/now/table/incident", params={"sysparm_limit": "1"})
        assert first.headers["X-Total-Count"] == "25"
        assert 'sysparm_offset=-1' in first.links["prev"]["url"]
        assert "sysparm_offset=24" in first.links["last"]["url"]
        assert "sysparm_offset=1" in first.links["next"]["url"]
        ref = first.json()["result"][0]["caller_id"]
        assert set(ref) == {"link", "value"} and ref["link"].endswith(f"/sys_user/{ref['value']}")


async def test_the_device_field_is_configurable(sim: tuple[ServiceNowSimulator, str]) -> None:
    simulator, url = sim
    instance = simulator.instance
    instance.refs["incident"]["u_affected_device"] = "cmdb_ci"
    target = instance.ci_by_name("PC-0007")
    by_reference = instance.insert("incident", {"short_description": "custom reference",
                                                "u_affected_device": target, "cmdb_ci": ""})
    by_name = instance.insert("incident", {"short_description": "free text",
                                           "u_device_name": "PC-0009"})
    unknown = instance.insert("incident", {"short_description": "unknown", "u_device_name": "LAPTOP-X"})
    for mode in ("all", "false", "true"):  # every display-value shape resolves the same device
        c = basic_client(url, device_field="u_affected_device", display_value=mode)
        incident = await c.incident(by_reference["number"])
        assert incident is not None and incident.device_id == target
        assert (incident.state, incident.state_label, incident.open) == ("1", "New", True)
        assert incident.device_table == "cmdb_ci"
        assert (await c.device(incident)).serial_number == "SN000000007"  # type: ignore[union-attr]
        await c.aclose()
    c = basic_client(url, device_field="u_device_name")
    named = await c.incident(by_name["number"])
    assert named is not None and named.device_name == "PC-0009"
    assert (await c.device(named)).serial_number == "SN000000009"  # type: ignore[union-attr]
    stranger = await c.device(await c.incident(unknown["number"]))  # type: ignore[arg-type]
    assert stranger is not None and (stranger.name, stranger.sys_id) == ("LAPTOP-X", "")
    default = await c.incident("INC0010001")
    assert default is not None and await c.device(default) is None  # no such field on it
    await c.aclose()


async def test_work_notes_append_to_the_journal(
        sim: tuple[ServiceNowSimulator, str], client: ServiceNowClient) -> None:
    simulator, _ = sim
    incident = await client.incident("INC0010002")
    assert incident is not None
    await client.add_work_note(incident.sys_id, "deskhand: TeamViewer session s12-345-678 created")
    await client.add_work_note(incident.sys_id, "deskhand: session closed")
    assert simulator.instance.notes(incident.sys_id) == [
        "deskhand: TeamViewer session s12-345-678 created", "deskhand: session closed"]
    again = await client.incident_by_id(incident.sys_id)
    assert again is not None and again.state == incident.state
    assert again.work_notes.index("session closed") < again.work_notes.index("s12-345-678")
    assert f"- {USER} (Work notes)" in again.work_notes
    moved = await client.update_incident(incident.sys_id, {"state": "2"})
    assert moved.state == "2" and moved.state_label == "In Progress"


async def test_an_attachment_round_trips_its_bytes(
        sim: tuple[ServiceNowSimulator, str], client: ServiceNowClient) -> None:
    simulator, _ = sim
    incident = await client.incident("INC0010003")
    assert incident is not None
    content = os.urandom(70_000) + b"\x00\xff"
    attached = await client.attach(incident.sys_id, "run-42 results.xlsx", content,
                                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert (attached.file_name, attached.table_name, attached.table_sys_id) == (
        "run-42 results.xlsx", "incident", incident.sys_id)
    assert attached.size_bytes == len(content) and attached.download_link.endswith("/file")
    assert [a.sys_id for a in await client.attachments(incident.sys_id)] == [attached.sys_id]
    assert await client.attachment_content(attached.sys_id) == content
    assert simulator.instance.files[attached.sys_id].content == content


async def test_oauth_password_grant_is_cached_and_renewed(sim: tuple[ServiceNowSimulator, str]) -> None:
    simulator, url = sim
    c, auth = oauth_client(url, PASSWORD_GRANT)
    assert await c.incident("INC0010001") is not None
    assert await c.incidents(limit=3)
    assert auth.grants == ["password"]  # one token for both calls
    form = simulator.token_requests[0]
    assert form["grant_type"] == "password" and form["username"] == USER
    simulator.expire_tokens()  # the instance ended the token early: a 401, then a refresh
    assert await c.incident("INC0010001") is not None
    simulator.refresh.clear()  # the refresh token is refused too: the original grant again
    simulator.expire_tokens()
    assert await c.incident("INC0010001") is not None
    assert auth.grants == ["password", "refresh_token", "refresh_token", "password"]
    await c.aclose()


async def test_oauth_renews_before_expiry_and_one_grant_serves_concurrent_calls(
        sim: tuple[ServiceNowSimulator, str]) -> None:
    simulator, url = sim
    now = [1000.0]
    c, auth = oauth_client(url, PASSWORD_GRANT, clock=lambda: now[0])
    found = await asyncio.gather(*(c.incident(f"INC00100{n:02d}") for n in range(1, 11)))
    assert all(found) and auth.grants == ["password"]
    now[0] += 1799 - 30  # inside the last minute of the token's life: renewed before it is used
    assert await c.incident("INC0010001") is not None
    assert auth.grants == ["password", "refresh_token"] and simulator.refused == 0
    await c.aclose()


async def test_oauth_client_credentials_and_its_refusal(sim: tuple[ServiceNowSimulator, str]) -> None:
    simulator, url = sim
    c, auth = oauth_client(url, OAuthSettings(CLIENT_ID, CLIENT_SECRET, "client_credentials"))
    assert await c.incident("INC0010001") is not None
    assert auth.grants == ["client_credentials"] and "username" not in simulator.token_requests[0]
    await c.aclose()
    simulator.switches.client_credentials = False  # an older release without the grant
    c, _ = oauth_client(url, OAuthSettings(CLIENT_ID, CLIENT_SECRET, "client_credentials"))
    with pytest.raises(VendorError) as refused:
        await c.incident("INC0010001")
    assert refused.value.cause is Cause.AUTH and "client-credentials grant" in refused.value.message
    await c.aclose()
    c, _ = oauth_client(url, OAuthSettings(CLIENT_ID, "wrong-secret-123", "password", USER, PASSWORD))
    with pytest.raises(VendorError) as wrong:
        await c.incident("INC0010001")
    assert wrong.value.status == 401 and "wrong-secret" not in wrong.value.message
    await c.aclose()


async def test_refused_credentials_say_so_without_the_secret(sim: tuple[ServiceNowSimulator, str]) -> None:
    simulator, url = sim
    c = ServiceNowClient(url, BasicAuth(USER, "not-the-password"), policy=FAST)
    with pytest.raises(VendorError) as refused:
        await c.incident("INC0010001", cid=CID)
    error = refused.value
    assert (error.status, error.cause, error.correlation_id) == (401, Cause.AUTH, CID)
    assert "integration user" in error.message and "not-the-password" not in error.message
    assert simulator.refused == 1
    await c.aclose()
    simulator.switches.unauthorized_next = 1  # one 401 on an OAuth token: renewed, then fine
    o, auth = oauth_client(url, PASSWORD_GRANT)
    assert await o.incident("INC0010001") is not None
    assert auth.grants == ["password", "refresh_token"]
    await o.aclose()


async def test_rate_limits_wait_out_retry_after_or_say_so(
        sim: tuple[ServiceNowSimulator, str], client: ServiceNowClient) -> None:
    simulator, _ = sim
    simulator.switches.rate_limit_next, simulator.switches.retry_after = 2, 0
    assert await client.incident("INC0010001") is not None
    assert simulator.hits["GET /api/now/table/{table}"] == 3
    simulator.switches.rate_limit_next, simulator.switches.retry_after = 1, 3600
    with pytest.raises(VendorError) as limited:  # an hour is not waited out in chat
        await client.incident("INC0010001", cid=CID)
    assert limited.value.cause is Cause.RATE_LIMITED and "rate limiting" in limited.value.message
    assert simulator.hits["GET /api/now/table/{table}"] == 4


async def test_vendor_failures_become_plain_messages(
        sim: tuple[ServiceNowSimulator, str], client: ServiceNowClient) -> None:
    simulator, _ = sim
    incident = await client.incident("INC0010004")
    assert incident is not None
    sw = simulator.switches
    sw.fail_next, sw.fail_status, sw.fail_path = 1, 500, "GET"
    with pytest.raises(VendorError) as broken:
        await client.incident("INC0010004", cid=CID)
    assert broken.value.status == 500 and broken.value.cause is Cause.REJECTED
    assert "Simulated failure" in broken.value.message and broken.value.correlation_id == CID
    sw.fail_next, sw.fail_status = 2, 503  # refused before any work: retried
    assert await client.incident("INC0010004") is not None
    sw.fail_next, sw.fail_status, sw.fail_path = 1, 502, "PATCH"  # may have been applied: not resent
    with pytest.raises(VendorError) as gateway:
        await client.add_work_note(incident.sys_id, "only once")
    assert gateway.value.cause is Cause.UNAVAILABLE and simulator.hits[
        "PATCH /api/now/table/{table}/{sys_id}"] == 1
    with pytest.raises(VendorError) as policy:  # the instance's data policy, in its own words
        await client.update_incident(incident.sys_id, {"state": "6"})
    assert policy.value.status == 403 and "close_code is mandatory" in policy.value.message
    with pytest.raises(VendorError) as missing:
        await client.update_incident("0" * 32, {"work_notes": "x"})
    assert missing.value.cause is Cause.NOT_FOUND and "does not know that record" in missing.value.message


async def test_the_fleet_is_seeded_through_control(sim: tuple[ServiceNowSimulator, str]) -> None:
    simulator, url = sim
    async with httpx.AsyncClient() as raw:
        answer = await raw.post(f"{url}/_control", json={"fleet": {
            "devices": [{"name": "MAC-0100", "serial": "C02XYZ", "owner": "ann@example.com"}],
            "people": [{"email": "pat.approver@example.com", "name": "Pat Approver"}],
            "incidents": 1}})
        assert answer.status_code == 200 and answer.json()["records"]["incident"] == 26
        assert (await raw.post(f"{url}/_control", json={"nope": 1})).status_code == 400
    newest = max(simulator.instance.rows("incident") or [], key=lambda r: r["number"])
    assert simulator.instance.get("cmdb_ci", newest["cmdb_ci"])["name"] == "MAC-0100"  # type: ignore[index]
