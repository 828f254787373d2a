"""The Workspace ONE client against its simulator over loopback: both sign-ins, lookups, search
paging, every action recorded, recovery keys, notes, error mapping and what is never resent."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from integrations.http import Cause, RetryPolicy, VendorError, new_client
from integrations.simulator_kit import serve
from integrations.workspace_one.auth import BasicAuth, ClientCredentials
from integrations.workspace_one.client import POLICY, By, Command, WorkspaceOneClient, api_root
from integrations.workspace_one.errors import WorkspaceOneError
from integrations.workspace_one.models import Device, Platform
from integrations.workspace_one.simulator import WorkspaceOneSimulator

USER, PASSWORD, TENANT = "deskhand-api", "Pa55word-for-the-api", "TenantCodeABC123"
CLIENT_ID, CLIENT_SECRET = "deskhand-oauth", "oauth-secret-0123456789"
FAST = RetryPolicy(attempts=4, backoff=0.01, max_backoff=0.05, statuses=POLICY.statuses)
CID = "corr0123456789ab"
FLEET = [("PC-0001", "SN000000001", None, "windows", "10.0.22631", "ann.lee@example.com"),
         ("MAC-0002", "SN000000002", None, "macos", "15.1", "bo.chan@example.com"),
         ("IPH-0003", "SN000000003", "UDID-IPHONE-3", "ios", "18.1", "cy.diaz@example.com"),
         ("AND-0004", "SN000000004", None, "android", "15", "dee.eve@example.com"),
         ("LNX-0005", "SN000000005", None, "linux", "Ubuntu 24.04", None)]

Sim = tuple[WorkspaceOneSimulator, str]


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    simulator = WorkspaceOneSimulator(accounts={USER: PASSWORD}, tenant_code=TENANT,
                                      clients={CLIENT_ID: CLIENT_SECRET})
    simulator.seed_devices(FLEET)
    runner, url = await serve(simulator)
    yield simulator, url
    await runner.cleanup()


def token_url(url: str) -> str:
    return url.removesuffix("/api/") + "/connect/token"


@pytest.fixture
async def client(sim: Sim) -> AsyncIterator[WorkspaceOneClient]:
    c = WorkspaceOneClient(sim[1], BasicAuth(USER, PASSWORD), tenant_code=TENANT, policy=FAST)
    yield c
    await c.aclose()


@pytest.fixture
async def oauth(sim: Sim) -> AsyncIterator[tuple[WorkspaceOneClient, ClientCredentials]]:
    http = new_client()
    auth = ClientCredentials(token_url(sim[1]), CLIENT_ID, CLIENT_SECRET, http)
    c = WorkspaceOneClient(sim[1], auth, policy=FAST)
    yield c, auth
    await c.aclose()
    await http.aclose()


async def device(client: WorkspaceOneClient, name: str) -> Device:
    found = await client.device(By.NAME, name, cid=CID)
    assert found is not None
    return found


def test_api_root_takes_the_host_or_the_api_path() -> None:
    for url in ("https://as1.awmdm.com", "https://as1.awmdm.com/", "https://as1.awmdm.com/api",
                "https://as1.awmdm.com/api/"):
        assert api_root(url) == "https://as1.awmdm.com/api/"


async def test_basic_auth_sends_the_tenant_code_and_the_api_version(sim: Sim,
                                                                    client: WorkspaceOneClient) -> None:
    simulator, url = sim
    pc = await client.device(By.ID, 1001, cid=CID)
    assert pc is not None and pc.name == "PC-0001" and simulator.versions[-1] == "1"
    v2 = WorkspaceOneClient(url, BasicAuth(USER, PASSWORD), tenant_code=TENANT, api_version=2)
    try:
        assert await v2.device(By.SERIAL, "SN000000002", cid=CID) is not None
        assert simulator.versions[-1] == "2"
    finally:
        await v2.aclose()
    no_code = WorkspaceOneClient(url, BasicAuth(USER, PASSWORD), policy=FAST)
    try:
        with pytest.raises(WorkspaceOneError) as caught:
            await no_code.device(By.ID, 1001, cid=CID)
    finally:
        await no_code.aclose()
    err = caught.value
    assert (err.status, err.code, err.cause) == (401, "ws1_1005", Cause.AUTH)
    assert "aw-tenant-code" in err.message and err.activity_id in err.message
    assert PASSWORD not in err.message and err.correlation_id == CID


async def test_oauth_token_is_cached_and_fetched_again_before_it_expires(sim: Sim) -> None:
    simulator, url = sim
    now = [1000.0]
    async with new_client() as http:
        auth = ClientCredentials(token_url(url), CLIENT_ID, CLIENT_SECRET, http, clock=lambda: now[0])
        c = WorkspaceOneClient(url, auth, policy=FAST)
        try:
            for _ in range(3):
                assert await c.device(By.UDID, "UDID-IPHONE-3", cid=CID) is not None
            assert auth.fetched == 1 and simulator.token_requests == 1
            now[0] += 3600 - 300 - 1  # still 5 minutes and a second before expiry
            await c.device(By.ID, 1001, cid=CID)
            assert auth.fetched == 1
            now[0] += 2  # inside the margin: fetched again before the old one lapses
            await c.device(By.ID, 1001, cid=CID)
            assert auth.fetched == 2 and simulator.refused == 0
        finally:
            await c.aclose()


async def test_oauth_401_refreshes_once_and_retries(
        sim: Sim, oauth: tuple[WorkspaceOneClient, ClientCredentials]) -> None:
    simulator, _ = sim
    c, auth = oauth
    pc = await device(c, "PC-0001")
    simulator.expire_tokens()
    await c.command(pc, Command.LOCK, cid=CID)  # a 401 is refused before work: safe to resend
    assert auth.fetched == 2 and len(simulator.sent_to("PC-0001", "Lock")) == 1
    simulator.switches.unauthorized_next = 2
    with pytest.raises(WorkspaceOneError) as caught:
        await c.command(pc, Command.SYNC, cid=CID)
    assert caught.value.status == 401 and "OAuth client" in caught.value.message
    assert auth.fetched == 3 and simulator.sent_to("PC-0001", "SyncDevice") == []


async def test_oauth_client_refused_says_what_to_check(sim: Sim) -> None:
    async with new_client() as http:
        auth = ClientCredentials(token_url(sim[1]), CLIENT_ID, "the-wrong-secret-42", http)
        c = WorkspaceOneClient(sim[1], auth, policy=FAST)
        try:
            with pytest.raises(VendorError) as caught:
                await c.device(By.ID, 1001, cid=CID)
        finally:
            await c.aclose()
    assert caught.value.cause is Cause.AUTH and "client id and secret" in caught.value.message
    assert "the-wrong-secret-42" not in caught.value.message


async def test_lookup_by_id_name_serial_and_udid(client: WorkspaceOneClient) -> None:
    by_name = await device(client, "mac-0002")  # the reported name, any casing
    assert by_name.platform is Platform.MACOS and by_name.user_email == "bo.chan@example.com"
    assert by_name.id == 1002 and by_name.enrolled and by_name.last_seen is not None
    assert await client.device(By.ID, 1002, cid=CID) == by_name
    assert await client.device(By.SERIAL, "SN000000002", cid=CID) == by_name
    assert await client.device(By.UDID, by_name.udid, cid=CID) == by_name
    assert (await device(client, by_name.friendly_name)).id == 1002  # the friendly name too
    for by, value in ((By.ID, 9999), (By.NAME, "PC-9999"), (By.SERIAL, "nope"), (By.UDID, "nope")):
        assert await client.device(by, value, cid=CID) is None
    linux = await device(client, "LNX-0005")
    assert linux.platform is Platform.LINUX and linux.user_email == ""


async def test_a_name_two_devices_share_is_refused(sim: Sim, client: WorkspaceOneClient) -> None:
    sim[0].seed_devices([*FLEET, ("PC-0001", "SN000000099", None, "windows", "10", None)])
    with pytest.raises(WorkspaceOneError) as caught:
        await client.device(By.NAME, "PC-0001", cid=CID)
    assert "2 devices are called PC-0001" in caught.value.message


async def test_search_is_paged_and_an_empty_result_is_an_empty_page(
        sim: Sim, client: WorkspaceOneClient) -> None:
    simulator, _ = sim
    simulator.seed_devices([(f"PC-{n:04d}", f"SN{n:09d}", None, "windows", "10", None)
                            for n in range(1, 1201)])
    first = await client.search(page=0, cid=CID)
    assert (len(first.devices), first.total, first.more) == (500, 1200, True)
    last = await client.search(page=2, cid=CID)
    assert len(last.devices) == 200 and not last.more
    found = await device(client, "PC-1150")  # on the third page
    assert found.serial == "SN000001150"
    assert simulator.hits["GET /api/mdm/devices/search"] == 5
    empty = await client.search(platform="Android", cid=CID)
    assert empty.devices == () and not empty.more  # 204 with no body
    simulator.switches.empty_search_204 = False
    assert (await client.search(platform="Android", cid=CID)).total == 0


@pytest.mark.parametrize("command", list(Command))
async def test_each_command_is_recorded_once(sim: Sim, client: WorkspaceOneClient,
                                             command: Command) -> None:
    phone = await device(client, "IPH-0003")
    await client.command(phone, command, cid=CID)
    sent = sim[0].sent_to("IPH-0003")
    assert [s.kind for s in sent] == [command.value] and sent[0].query["command"] == command.value


async def test_the_other_actions_are_recorded_with_their_bodies(sim: Sim,
                                                                client: WorkspaceOneClient) -> None:
    simulator, _ = sim
    android, mac = await device(client, "AND-0004"), await device(client, "MAC-0002")
    await client.change_passcode(android, "482915", cid=CID)
    await client.find_device(android, cid=CID)
    await client.request_device_log(android, cid=CID)
    await client.send_message(android, "Please restart tonight", cid=CID)
    await client.send_message(mac, "Hello", cid=CID)
    kinds = [(s.kind, s.body) for s in simulator.sent_to("AND-0004")]
    assert [k for k, _ in kinds] == ["ChangePasscode", "FindDevice", "RequestDeviceLog", "Message"]
    assert kinds[0][1] == {"Passcode": "482915"}
    assert simulator.sent_to("AND-0004", "RequestDeviceLog")[0].query["searchby"] == "Udid"
    assert kinds[3][1]["MessageBody"] == "Please restart tonight"
    assert kinds[3][1]["MessageType"] == "gcm"
    assert simulator.sent_to("MAC-0002", "Message")[0].body["MessageType"] == "Apns"


async def test_lock_name_can_be_overridden_and_the_simulator_takes_old_spellings(sim: Sim) -> None:
    simulator, url = sim
    c = WorkspaceOneClient(url, BasicAuth(USER, PASSWORD), tenant_code=TENANT,
                           command_names={Command.LOCK: "DeviceLock"})
    try:
        await c.command(await device(c, "PC-0001"), Command.LOCK, cid=CID)
    finally:
        await c.aclose()
    sent = simulator.sent_to("PC-0001")
    assert sent[0].kind == "Lock" and sent[0].query["command"] == "DeviceLock"


async def test_recovery_keys_bitlocker_filevault_and_none(sim: Sim,
                                                          client: WorkspaceOneClient) -> None:
    simulator, _ = sim
    [bitlocker] = await client.recovery_keys(await device(client, "PC-0001"), cid=CID)
    pc = simulator.device(1001)
    assert pc is not None and bitlocker.kind == "BitLocker" and bitlocker.key == pc.bitlocker_key
    assert bitlocker.volume == "C:" and bitlocker.key not in repr(bitlocker)
    [filevault] = await client.recovery_keys(await device(client, "MAC-0002"), cid=CID)
    mac = simulator.device(1002)
    assert mac is not None and (filevault.kind, filevault.key) == ("FileVault", mac.filevault_key)
    assert await client.recovery_keys(await device(client, "IPH-0003"), cid=CID) == []
    assert simulator.sent == []  # reading a key sends nothing to the device


async def test_a_note_is_added_and_listed(sim: Sim, client: WorkspaceOneClient) -> None:
    pc = await device(client, "PC-0001")
    note = "2026-12-06 17:20 UTC: lock by sam.standard@example.com (deskhand)"
    assert await client.add_note(pc, note, cid=CID) == 1
    assert await client.notes(pc, cid=CID) == [note]
    assert sim[0].sent_to("PC-0001", "Note")[0].body == {"DeviceId": 1001, "Note": note}


async def test_error_json_becomes_a_clear_message_with_the_activity_id(
        sim: Sim, client: WorkspaceOneClient) -> None:
    simulator, _ = sim
    pc = await device(client, "PC-0001")
    sw = simulator.switches
    sw.fail_next, sw.fail_status = 1, 403
    with pytest.raises(WorkspaceOneError) as caught:
        await client.command(pc, Command.LOCK, cid=CID)
    err = caught.value
    assert err.status == 403 and "may not do this" in err.message and "Simulated failure" in err.message
    assert len(err.activity_id) == 36 and err.activity_id in err.message
    with pytest.raises(WorkspaceOneError) as caught:
        await client.change_passcode(pc, " ", cid=CID)
    assert caught.value.status == 400 and "Passcode is required" in caught.value.message
    assert simulator.sent == []


async def test_429_waits_for_retry_after_even_for_a_command(sim: Sim,
                                                            client: WorkspaceOneClient) -> None:
    simulator, _ = sim
    pc = await device(client, "PC-0001")
    simulator.switches.rate_limit_next, simulator.switches.retry_after = 1, 1
    await client.command(pc, Command.SYNC, cid=CID)  # 429 is refused before any work
    assert simulator.hits["POST /api/mdm/devices/{id}/commands"] == 2
    assert len(simulator.sent_to("PC-0001", "SyncDevice")) == 1
    simulator.switches.rate_limit_next = 10
    with pytest.raises(WorkspaceOneError) as caught:
        await client.device(By.ID, 1001, cid=CID)
    assert caught.value.cause is Cause.RATE_LIMITED and "rate limiting" in caught.value.message


async def test_a_500_on_a_read_is_retried_then_reported(sim: Sim,
                                                        client: WorkspaceOneClient) -> None:
    simulator, _ = sim
    sw = simulator.switches
    sw.fail_next, sw.fail_status = 2, 500
    assert await client.device(By.ID, 1001, cid=CID) is not None
    sw.fail_next = 100
    with pytest.raises(WorkspaceOneError) as caught:
        await client.device(By.ID, 1001, cid=CID)
    assert caught.value.status == 500 and "4 tries" in caught.value.message
    assert not caught.value.maybe_applied and caught.value.transient is False


async def test_a_500_on_a_command_is_not_resent(sim: Sim, client: WorkspaceOneClient) -> None:
    simulator, _ = sim
    pc = await device(client, "PC-0001")
    sw = simulator.switches
    sw.fail_next, sw.fail_status, sw.fail_path = 5, 500, "/commands"
    with pytest.raises(WorkspaceOneError) as caught:
        await client.command(pc, Command.DEVICE_WIPE, cid=CID)
    assert caught.value.maybe_applied and "may or may not have reached" in caught.value.message
    assert simulator.hits["POST /api/mdm/devices/{id}/commands"] == 1


@pytest.mark.parametrize(("switch", "status"), [("lose_next_command", 502),  # a gateway's 502
                                                ("drop_next_command", None)])  # no answer at all
async def test_a_command_whose_answer_is_lost_is_sent_once(sim: Sim, client: WorkspaceOneClient,
                                                           switch: str, status: int | None) -> None:
    simulator, _ = sim
    pc = await device(client, "PC-0001")
    setattr(simulator.switches, switch, 1)
    with pytest.raises(WorkspaceOneError) as caught:
        await client.command(pc, Command.ENTERPRISE_WIPE, cid=CID)
    assert caught.value.maybe_applied and "before sending it again" in caught.value.message
    assert caught.value.status == status
    assert len(simulator.sent_to("PC-0001", "EnterpriseWipe")) == 1
    assert simulator.hits["POST /api/mdm/devices/{id}/commands"] == 1
    await client.command(pc, Command.SYNC, cid=CID)  # the connection pool recovers
