"""The Tachyon client against the simulator over loopback: catalogue, issue, progress, paging."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from integrations.http import RetryPolicy, VendorError
from integrations.simulator_kit import serve
from integrations.tachyon.client import TachyonClient
from integrations.tachyon.definitions import any_of, fqdn_scope, management_group_scope
from integrations.tachyon.responses import FIRST_START, Other, ResponseError, ResponseRow
from integrations.tachyon.sim_api import Switches
from integrations.tachyon.simulator import TachyonSimulator
from integrations.tachyon.status import InstructionStatus, Status

TOKEN = "tok-deskhand-0123456789"
APPROVER = "tok-approver-9876543210"
FAST = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.02)
QUICK = dict(step_seconds=0.03, answer_seconds=0.15, minute_seconds=0.02, error_percent=0, offline_percent=0)

Sim = tuple[TachyonSimulator, str]


@asynccontextmanager
async def running_sim() -> AsyncIterator[Sim]:
    """A fast simulator with 200 devices, two principals, no device errors and nobody offline."""
    simulator = TachyonSimulator(tokens={TOKEN: "svc-deskhand", APPROVER: "approver@corp.example.com"},
                                 switches=Switches(**QUICK))  # type: ignore[arg-type]
    simulator.synthetic_fleet(200)
    runner, url = await serve(simulator)
    try:
        yield simulator, url
    finally:
        await runner.cleanup()


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    async with running_sim() as running:
        yield running


@pytest.fixture
async def client(sim: Sim) -> AsyncIterator[TachyonClient]:
    async with TachyonClient(sim[1], "deskhand", TOKEN, approver_token=APPROVER, policy=FAST) as c:
        yield c


async def until(client: TachyonClient, instruction_id: int, done: Callable[[InstructionStatus], bool],
                patience: float = 5.0) -> list[int]:
    """Poll until `done`; returns the distinct status codes seen, in order."""
    seen: list[int] = []
    deadline = time.monotonic() + patience
    while True:
        status = await client.status(instruction_id)
        if not seen or seen[-1] != status.status:
            seen.append(int(status.status))
        if done(status):
            return seen
        assert time.monotonic() < deadline, f"stuck at {seen}"
        await asyncio.sleep(0.01)


async def test_catalogue_lists_definitions_sets_and_parameters(client: TachyonClient) -> None:
    definitions = {d.name: d for d in await client.definitions()}
    check = definitions["1E-TeamViewer-CheckFullClientInstalled"]
    install = definitions["1E-TeamViewer-InstallFullClient"]
    assert check.type == "question" and not check.approval_required and check.instruction_set_name
    assert install.type == "action" and install.approval_required
    assert install.parameters[0].allowed_values == ("stable", "preview")
    service = definitions["1E-Explorer-TachyonCore-ServiceStatus"]
    param = service.parameters[0]
    assert (param.name, param.pattern, param.required, param.max_length) == (
        "serviceName", "%serviceName%", True, 64)
    assert service.columns == ("ServiceName", "DisplayName", "State", "StartMode")
    assert service.readable({"serviceName": "Spooler"}) == "What is the state of the Spooler service?"
    _, problems = service.check_parameters({"serviceName": "bad;name", "colour": "red"})
    assert any("colour" in p for p in problems) and any("serviceName" in p for p in problems)
    assert service.check_parameters({"serviceName": "Spooler"}) == ({"serviceName": "Spooler"}, [])
    temp = definitions["1E-Explorer-TachyonCore-ClearTempFiles"]
    assert temp.check_parameters({}) == ({"olderThanDays": "7"}, [])  # the default fills in
    assert "whole number" in (temp.check_parameters({"olderThanDays": "x"})[1][0])
    assert (await client.definition(service.id)) == service
    assert (await client.definition(service.name)) == service
    assert await client.definition("No-Such-Instruction") is None
    sets = await client.sets()
    assert len(sets) >= 4 and {d.instruction_set_id for d in definitions.values()} <= {s.id for s in sets}
    assert await client.ping() is True


async def test_targeted_question_progresses_and_answers_per_device(sim: Sim, client: TachyonClient) -> None:
    fqdns = ["pc-0001.corp.example.com", "PC-0002.corp.example.com", "pc-0003.corp.example.com"]
    issued = await client.issue("1E-Explorer-TachyonCore-ServiceStatus", {"serviceName": "Spooler"},
                                fqdns=fqdns, consumer_custom_data="run-1", requested_for="ann@example.com",
                                instruction_ttl_minutes=30, response_ttl_minutes=90)
    assert issued.status == Status.CREATED and issued.consumer_custom_data == "run-1"
    assert issued.created_by == "svc-deskhand" and issued.requested_for == "ann@example.com"
    assert (issued.instruction_ttl_minutes, issued.response_ttl_minutes) == (30, 90)
    assert issued.parameters == {"serviceName": "Spooler"}
    seen = await until(client, issued.id, lambda s: s.terminal)
    assert seen[0] == Status.CREATED and seen[-1] == Status.COMPLETED
    assert seen == sorted(seen) and set(seen) <= {0, 4, 5, 6}
    final = await client.status(issued.id)
    assert final.sent_at is not None and final.created_at is not None and final.sent_at >= final.created_at
    stats = await client.statistics(issued.id)
    assert (stats.sent, stats.received, stats.outstanding, stats.errors, stats.rows) == (3, 3, 0, 0, 3)
    page = await client.responses(issued.id)
    assert [r.fqdn for r in page.rows] == [f.lower() for f in fqdns]
    assert all(r.values["ServiceName"] == "Spooler" and r.values["State"] in ("Running", "Stopped")
               for r in page.rows)
    assert page.rows[0].record()["Fqdn"] == "pc-0001.corp.example.com"
    again = await client.responses(issued.id)
    assert again.rows == page.rows  # answers are a pure function of instruction and device
    tail = await client.responses(issued.id, page.cursor)
    assert tail.rows == () and tail.next_start is None and tail.cursor == page.cursor


async def test_scoped_issue_reaches_the_matching_devices(sim: Sim, client: TachyonClient) -> None:
    london = await client.issue(101, {}, scope=management_group_scope("London"))
    two = await client.issue(101, {}, scope=any_of(fqdn_scope("pc-0005.corp.example.com"),
                                                   fqdn_scope("pc-0010.corp.example.com")))
    everyone = await client.issue(101, {}, scope={})
    for issued, count in ((london, 50), (two, 2), (everyone, 200)):
        await until(client, issued.id, lambda s: s.terminal)
        stats = await client.statistics(issued.id)
        assert (stats.sent, stats.success) == (count, count)
    rows = (await client.responses(two.id)).rows
    assert {r.fqdn for r in rows} == {"pc-0005.corp.example.com", "pc-0010.corp.example.com"}
    with pytest.raises(ValueError):
        await client.issue(101, {}, scope={}, fqdns=["a"])


async def test_paging_10000_responses_without_gaps_or_duplicates(sim: Sim, client: TachyonClient) -> None:
    simulator, _ = sim
    simulator.synthetic_fleet(10_000)
    simulator.switches.error_percent, simulator.switches.offline_percent = 3, 2
    simulator.switches.answer_seconds, simulator.switches.minute_seconds = 0.4, 0.01  # TTL ends at 0.6 s
    issued = await client.issue("1E-Explorer-TachyonCore-GetOperatingSystem", {}, scope={})
    ids: list[int] = []
    fqdns: list[str] = []
    cursor, sizes = FIRST_START, [777, 1000, 1, 2500]
    final = False
    while True:  # page while devices are still answering, as the poller does
        page = await client.responses(issued.id, cursor, sizes[len(ids) % len(sizes)])
        ids += [r.id for r in page.rows]
        fqdns += [r.fqdn for r in page.rows]
        cursor = page.cursor
        if not page.rows:
            if final:
                break
            final = (await client.status(issued.id)).terminal  # one more page after the end
            await asyncio.sleep(0.02)
    stats = await client.statistics(issued.id)
    assert ids == list(range(1, len(ids) + 1)) and len(set(fqdns)) == len(fqdns)
    assert len(ids) == stats.rows == stats.success == 9_500
    assert stats.received - stats.success == 300 and stats.outstanding == 200 and stats.sent == 10_000
    errors: list[str] = []
    kinds: list[Other] = []
    cursor = FIRST_START
    while (epage := await client.response_errors(issued.id, cursor, 128)).rows:
        errors += [e.fqdn for e in epage.rows]
        kinds += [e.kind for e in epage.rows]
        assert all(e.error for e in epage.rows if e.kind is not Other.NO_DATA)
        cursor = epage.cursor
    assert len(errors) == len(set(errors)) == 300 and not set(errors) & set(fqdns)
    # Other responses of every kind (2.5); 1E's counts follow them.
    assert [kinds.count(k) for k in Other] == [75, 75, 75, 75]
    assert (stats.success_no_data, stats.errors, stats.not_implemented) == (75, 75, 75)
    assert (await client.status(issued.id)).status == Status.COMPLETED  # offline ones ran out of time
    middle = await client.responses(issued.id, "0;5000", 3)
    assert [r.id for r in middle.rows] == [5001, 5002, 5003] and middle.cursor == "0;5003"


async def test_several_rows_per_device_and_a_bad_start_token(client: TachyonClient) -> None:
    issued = await client.issue("1E-Explorer-TachyonCore-InstalledSoftware", {"productName": "%"},
                                fqdns=[f"pc-{n:04d}.corp.example.com" for n in range(1, 6)])
    await until(client, issued.id, lambda s: s.terminal)
    rows: list[ResponseRow] = []
    cursor = FIRST_START
    while (page := await client.responses(issued.id, cursor, 4)).rows:
        rows += page.rows
        cursor = page.cursor
    assert len(rows) == 15 and len({(r.fqdn, r.values["Product"]) for r in rows}) == 15
    with pytest.raises(VendorError) as bad:
        await client.responses(issued.id, "page-two")
    assert bad.value.status == 400 and "0;0" in bad.value.message


async def test_search_by_custom_data_finds_what_a_run_issued(client: TachyonClient) -> None:
    first = await client.issue(101, {}, fqdns=["pc-0001.corp.example.com"], consumer_custom_data="run-41")
    second = await client.issue(102, {}, fqdns=["pc-0002.corp.example.com"], consumer_custom_data="run-42")
    found = await client.find_by_custom_data("run-42")
    assert found is not None and found.id == second.id and found.definition_id == 102
    assert (await client.find_by_custom_data("run-4")) is None  # exact, not a prefix
    page = await client.search(created_by="svc-deskhand")
    assert page.total == 2 and [i.id for i in page.items] == [second.id, first.id]  # newest first
    assert (await client.search(definition_id=101)).total == 1


async def test_lost_issue_answer_is_found_by_marker_not_issued_twice(sim: Sim, client: TachyonClient) -> None:
    simulator, _ = sim
    simulator.switches.lose_next_issue = 1
    issued = await client.issue(101, {}, fqdns=["pc-0001.corp.example.com"], consumer_custom_data="run-7")
    assert len(simulator.instructions) == 1 and issued.id in simulator.instructions
    simulator.switches.lose_next_issue = 1
    with pytest.raises(VendorError) as lost:  # without a marker the client cannot tell: it says so
        await client.issue(101, {}, fqdns=["pc-0001.corp.example.com"])
    assert lost.value.status == 502 and len(simulator.instructions) == 2


async def test_case_insensitive_paths_version_segment_and_bearer(sim: Sim) -> None:
    _, url = sim
    headers = {"X-Tachyon-Consumer": "deskhand", "Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=url) as raw:
        response = await raw.get("v3.2/instructiondefinitions/name/1e-teamviewer-installfullclient",
                                 headers=headers)
        assert response.status_code == 200 and response.json()["Id"] == 202
        missing = await raw.get("NoSuchThing", headers=headers)
        assert missing.status_code == 404 and "Message" in missing.json()


def test_other_response_statuses_map_to_their_kind_and_an_unknown_one_is_an_error() -> None:
    rows = [ResponseError.from_api({"Fqdn": "pc-1", "Status": s, "ErrorData": ""}) for s in (1, 2, 3, 4)]
    assert [r.kind for r in rows] == [Other.NO_DATA, Other.ERROR, Other.NOT_IMPLEMENTED, Other.TOO_LARGE]
    newer = ResponseError.from_api({"fqdn": "pc-2", "status": "9", "errorData": "new in 1E 26"})
    assert newer.kind is Other.ERROR and newer.status == 9 and newer.error == "new in 1E 26"
