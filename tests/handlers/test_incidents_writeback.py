"""What deskhand writes back to ServiceNow: a work note after any command run `for` an incident
(done, refused or failed), and a completed run's results attached to its incident once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.bootstrap import build_runtime
from handlers.incidents.attach import attach_results
from handlers.instructions.states import COMPLETED, RunFinished
from storage.audit import AuditEvent
from storage.instructions import InstructionRun, InstructionRunRepo
from tests.handlers.incidents_env import FAST, SnowEnv, snow_env
from tests.workflows.env import ALEX, AVERY, RILEY, button, card_state, click, console, next_where

OS = "1E-Explorer-TachyonCore-GetOperatingSystem"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[SnowEnv]:
    async with snow_env(tmp_path) as e:
        yield e


async def audit(env: SnowEnv, action: str) -> Sequence[AuditEvent]:
    async with env.rt.db.uow() as uow:
        q = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        return (await uow.session.execute(q)).scalars().all()


async def test_a_remote_session_for_an_incident_leaves_a_work_note(env: SnowEnv) -> None:
    inc, device = env.incidents.london, env.incidents.london_device.name
    async with console(env.env.live, RILEY) as riley:
        done = await riley.say(f"remote {device} for {inc}")
    assert done["card"]["title"] == f"Remote session on {device}"
    [note] = await env.wait_notes(inc, 1)
    [command] = await audit(env, "remote")
    assert f"deskhand: {RILEY} ran `remote {device} for {inc}`: done." in note
    assert f"ref {command.correlation_id}" in note
    [written] = await audit(env, "servicenow.work_note")
    assert (written.outcome, written.target, written.correlation_id) == ("ok", inc, command.correlation_id)
    journal = [e for e in env.snow.instance.journal if e.element == "work_notes"]
    assert [e.by for e in journal] == ["deskhand.integration"]


async def test_refused_and_denied_commands_are_noted_with_the_reason(env: SnowEnv) -> None:
    inc, abroad = env.incidents.london, env.incidents.singapore_device.name
    async with console(env.env.live, RILEY) as riley:
        missing = await riley.say(f"remote PC-9999 for {inc}")
        denied = await riley.say(f"remote {abroad} for {inc}")
        await riley.say(f"remote {abroad} for ann@example.com")  # no incident: no note
        await riley.say("remote list")
    assert missing["card"]["title"] == "Device not found" and denied["card"]["title"] == "Not allowed"
    first, second = await env.wait_notes(inc, 2)
    assert f"ran `remote PC-9999 for {inc}`: refused (No device is called `PC-9999`" in first
    assert f"ran `remote {abroad} for {inc}`: not allowed (You may not start a remote session" in second
    await asyncio.sleep(0.3)
    assert len(env.notes(inc)) == 2 and len(await audit(env, "servicenow.work_note")) == 2


async def test_a_note_that_cannot_be_written_does_not_fail_the_command(env: SnowEnv) -> None:
    inc, device = env.incidents.london, env.incidents.london_device.name
    env.snow.switches.fail_next, env.snow.switches.fail_status = 1, 500
    env.snow.switches.fail_path = "PATCH /api/now/table/incident"
    async with console(env.env.live, RILEY) as riley:
        done = await riley.say(f"remote {device} for {inc}")
        typo = await riley.say(f"remote {device} for INC0099999")
    assert done["card"]["title"] == f"Remote session on {device}"
    assert typo["card"]["title"] == f"Remote session on {device}"
    for _ in range(100):
        rows = await audit(env, "servicenow.work_note")
        if len(rows) == 2:
            break
        await asyncio.sleep(0.05)
    assert [(r.outcome, r.target) for r in rows] == [("failed", inc), ("failed", "INC0099999")]
    assert "HTTP 500" in rows[0].detail and "no incident INC0099999" in rows[1].detail
    assert env.notes(inc) == []


async def test_the_remote_button_starts_a_session_for_the_incident(env: SnowEnv) -> None:
    inc, device = env.incidents.london, env.incidents.london_device.name
    async with console(env.env.live, RILEY) as riley:
        card = await riley.say(f"incident {inc}")
        await click(riley, card, "Remote")
        session = await next_where(riley, lambda m: m["card"]["title"] == f"Remote session on {device}")
    assert inc in str(session["card"])
    [code] = list(env.tv.sessions)
    assert inc in env.tv.sessions[code]["description"]
    [note] = await env.wait_notes(inc, 1)
    assert f"{RILEY} ran `remote {device} for {inc}`: done." in note


async def test_a_run_for_an_incident_is_noted_and_its_results_attached_once(env: SnowEnv) -> None:
    inc, device = env.incidents.london, env.incidents.london_device.name
    async with console(env.env.live, AVERY) as avery:
        posted = await avery.say(f"run GetOperatingSystem on {device} for {inc}")
        await next_where(avery, card_state(posted["id"], "completed"))
    notes = await env.wait_notes(inc, 2)
    assert f"{AVERY} ran `run GetOperatingSystem on {device} for {inc}`: done." in notes[0]
    run = (await env.env.runs())[-1]
    [attached] = env.snow.instance.files.values()
    meta = attached.meta
    assert meta["table_sys_id"] == env.record(inc)["sys_id"] and meta["file_name"].endswith(".csv")
    assert meta["file_name"].startswith(f"deskhand-{inc}-")
    assert device.lower() in attached.content.decode("utf-8-sig")
    assert f"results of instruction run {run.id} ({OS} on {device})" in notes[1]
    assert meta["file_name"] in notes[1]
    # The run's end announced again, from this process and another one: nothing more is sent.
    other = build_runtime(env.rt.settings)
    await other.start()
    other.tenant_clients.tune("servicenow", policy=FAST)
    try:
        again = RunFinished(run.tenant_id, run.id, COMPLETED, inc)
        await asyncio.gather(attach_results(env.rt, again), attach_results(other, again))
    finally:
        await other.stop()
    assert len(env.snow.instance.files) == 1 and len(env.notes(inc)) == 2
    [row] = await audit(env, "servicenow.attachment")
    assert row.outcome == "ok" and row.target == inc and row.params["run"] == run.id


async def test_two_processes_completing_together_attach_once(tmp_path: Path, db_url: str) -> None:
    """Two runtimes on one database (SQLite and PostgreSQL), each told twice at once."""
    async with snow_env(tmp_path, url=db_url) as env:
        await _attach_from_two_runtimes(env)


async def _attach_from_two_runtimes(env: SnowEnv) -> None:
    inc = env.incidents.singapore
    async with env.rt.db.uow() as uow:
        run = await uow.repo(InstructionRunRepo).add(InstructionRun(
            tenant_id=env.rt.tenant_id, state=COMPLETED, definition_name=OS, definition_vendor_id=1,
            kind="question", target_label="PC-0003", requester_email=ALEX, incident=inc,
            correlation_id="feedc0ffee"))
        await uow.commit()
    runtimes = [build_runtime(env.rt.settings) for _ in range(2)]
    for rt in runtimes:
        await rt.start()
        rt.tenant_clients.tune("servicenow", policy=FAST)
    try:
        event = RunFinished(env.rt.tenant_id, run.id, COMPLETED, inc)
        await asyncio.gather(*(attach_results(rt, event) for rt in (*runtimes, *runtimes)))
    finally:
        for rt in runtimes:
            await rt.stop()
    assert len(env.snow.instance.files) == 1 and len(env.notes(inc)) == 1


async def test_the_run_instruction_form_starts_a_run_for_the_incident(env: SnowEnv) -> None:
    inc, device = env.incidents.london, env.incidents.london_device.name
    async with console(env.env.live, ALEX) as alex:
        card = await alex.say(f"incident {inc}")
        await click(alex, card, "Run instruction")
        form = await next_where(alex, lambda m: m["card"]["title"].startswith("Run an instruction"))
        choice = next(s for s in form["card"]["sections"] if s["type"] == "choice_input")
        assert OS in [c["value"] for c in choice["choices"]]
        await click(alex, form, "Run", {"instruction": OS, "parameters": ""})
        posted = await next_where(alex, lambda m: m["card"]["title"] == f"{OS} on {device}")
        await next_where(alex, card_state(posted["id"], "completed"))
    [run] = await env.env.runs()
    assert run.incident == inc and run.requester_email == ALEX
    notes = await env.wait_notes(inc, 2)
    assert f"{ALEX} ran `run {OS} on {device} for {inc}`: done." in notes[0]
    assert "are attached as" in notes[1] and len(env.snow.instance.files) == 1


async def test_nothing_is_written_when_servicenow_is_not_set_up(tmp_path: Path) -> None:
    async with snow_env(tmp_path, configured=False) as env:
        device = env.incidents.london_device.name
        async with console(env.env.live, RILEY) as riley:
            done = await riley.say(f"remote {device} for {env.incidents.london}")
        assert done["card"]["title"] == f"Remote session on {device}"
        await asyncio.sleep(0.3)
        assert env.snow.instance.journal == [] and await audit(env, "servicenow.work_note") == []
        assert button(done, "Close session")
