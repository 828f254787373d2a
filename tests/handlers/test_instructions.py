"""`instructions` and `run` over the console WebSocket against the Tachyon simulator (loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from storage.audit import AuditEvent
from storage.instructions import InstructionResponse
from tests.workflows.env import (
    ALEX,
    AVERY,
    NINA,
    SAM,
    Env,
    card_state,
    click,
    console,
    devices_in,
    field,
    instruction_env,
    next_where,
    title_has,
)

OS = "1E-Explorer-TachyonCore-GetOperatingSystem"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with instruction_env(tmp_path) as e:
        yield e


async def test_instructions_lists_what_the_person_may_run_with_parameters(env: Env) -> None:
    async with console(env.live, AVERY) as avery:
        card = (await avery.say("instructions"))["card"]
        rows = {r[0]: r for r in card["sections"][0]["rows"]}
        assert OS in rows and rows["1E-Explorer-TachyonCore-ServiceStatus"][3] == "serviceName=<string>"
        assert rows["1E-Explorer-TachyonCore-RestartService"][1] == "action"
        assert "[productName=<string>]" in rows["1E-Explorer-TachyonCore-InstalledSoftware"][3]
        searched = (await avery.say("instructions teamviewer"))["card"]
        assert {r[0] for r in searched["sections"][0]["rows"]} == {
            "1E-TeamViewer-CheckFullClientInstalled", "1E-TeamViewer-InstallFullClient"}
    async with console(env.live, NINA) as nina:
        assert (await nina.say("instructions"))["card"]["title"] == "Not allowed"


async def test_question_runs_at_once_progresses_in_place_and_pages_results(env: Env) -> None:
    async with console(env.live, AVERY) as avery:
        posted = await avery.say("run GetOperatingSystem on PC-0001 for inc0012345")
        assert posted["private"] is True and posted["card"]["title"] == f"{OS} on PC-0001"
        assert field(posted, "Incident") == "INC0012345"
        done = await next_where(avery, card_state(posted["id"], "completed"))
        assert "answers" in field(done, "Stored") and field(done, "Progress").startswith("sent 1")
        run = (await env.runs())[-1]
        assert run.state == "completed" and run.answers_stored == 1 and run.vendor_id
        ins = env.sim.instructions[run.vendor_id]
        assert ins.body["ConsumerCustomData"] == f"deskhand:run:{run.id}:{run.correlation_id}"
        assert [d.fqdn for d in ins.devices] == ["pc-0001.corp.example.com"]
        await click(avery, done, "Show results")
        results = await next_where(avery, title_has("Answers of"))
        table = results["card"]["sections"][0]
        assert table["columns"][:2] == ["device", "OperatingSystem"]
        assert table["rows"][0][0] == "pc-0001.corp.example.com"
        assert table["rows"][0][1].startswith("Microsoft")


async def test_parameters_are_validated_against_the_definition(env: Env) -> None:
    async with console(env.live, AVERY) as avery:
        bad = (await avery.say("run ServiceStatus serviceName=no/slashes on PC-0001"))["card"]
        assert bad["title"] == "Check the parameters" and "serviceName" in bad["fallback"]
        assert "^[A-Za-z0-9_.-]{1,64}$" in bad["fallback"]
        missing = (await avery.say("run ServiceStatus on PC-0001"))["card"]
        assert "serviceName is required" in missing["fallback"]
        unknown = (await avery.say("run ServiceStatus serviceName=Spooler colour=red on PC-0001"))["card"]
        assert "no parameter 'colour'" in unknown["fallback"] and "serviceName" in unknown["fallback"]
        number = (await avery.say("run ClearTempFiles olderThanDays=abc on PC-0001"))["card"]
        assert "olderThanDays" in number["fallback"] and "whole number" in number["fallback"]
        choice = (await avery.say("run InstallFullClient channel=beta on PC-0001"))["card"]
        assert "stable, preview" in choice["fallback"]
        vague = (await avery.say("run TachyonCore on PC-0001"))["card"]
        assert vague["title"] == "Which instruction?"
        nowhere = (await avery.say("run GetOperatingSystem on PC-9999"))["card"]
        assert nowhere["title"] == "Device not found"
        ticket = (await avery.say("run GetOperatingSystem on PC-0001 for tomorrow"))["card"]
        assert "incident number" in ticket["fallback"]
    assert await env.runs() == [] and env.issued() == 0


async def test_target_limit_and_scope_on_every_device(env: Env) -> None:
    await env.settings(max_targets=20)
    async with console(env.live, AVERY) as avery:
        big = (await avery.say("run GetOperatingSystem on group:London"))["card"]
        assert big["title"] == "Too many devices" and "max_targets" in big["fallback"]
    async with env.rt.db.uow() as uow:  # Sam may ask questions on London devices only
        await rbac_admin.grant(uow, env.rt.tenant_id, Granter("test"), "Questioner", email=SAM,
                               scope=Scope(device_groups=["London"]))
        await uow.commit()
    london = await devices_in(env.live, "London", 2)
    abroad = await devices_in(env.live, "Singapore", 2)
    async with console(env.live, SAM) as sam:
        refused = (await sam.say(f"run GetOperatingSystem on {london[0]},{abroad[0]},{abroad[1]}"))["card"]
        assert refused["title"] == "Not allowed" and abroad[0] in refused["fallback"]
        assert "and 1 more of the 3 targets" in refused["fallback"]
        assert "Singapore" in refused["fallback"]
        ok = await sam.say(f"run GetOperatingSystem on {london[0]},{london[1]}")
        assert ok["card"]["title"].endswith(f"on {london[0]}, {london[1]}")
        await next_where(sam, card_state(ok["id"], "completed"))
    async with env.rt.db.uow() as uow:
        denials = (await uow.session.execute(select(AuditEvent).where(
            AuditEvent.kind == "denial", AuditEvent.action == "instruction.run.question"))).scalars().all()
    assert [d.target for d in denials] == [abroad[0]]


async def test_group_run_stores_every_answer_once(env: Env) -> None:
    async with console(env.live, ALEX) as alex:
        posted = await alex.say("run InstalledSoftware on group:Singapore")
        await next_where(alex, card_state(posted["id"], "completed"))
    run = (await env.runs())[-1]
    async with env.rt.db.uow() as uow:
        rows = (await uow.session.execute(select(InstructionResponse).where(
            InstructionResponse.run_id == run.id))).scalars().all()
    answers = [(r.fqdn, r.values["Product"]) for r in rows if not r.is_error]
    assert len(answers) == run.answers_stored == len(set(answers)) > 0
    assert run.target_count == 50 and env.issued() == 1
