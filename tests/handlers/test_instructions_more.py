"""`history`, `settings` and `remote install` over the console against the Tachyon simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from bot.tenant_settings import ApprovalSettings, CoreTenantSettings
from handlers.instructions.config import InstructionSettings
from storage.tenants import SettingsRepo
from tests.workflows.env import (
    ALEX,
    AVERY,
    NINA,
    PAT,
    RILEY,
    SAM,
    Env,
    card_state,
    click,
    console,
    devices_in,
    instruction_env,
    next_where,
    title_has,
)

AUDREY = "audrey.auditor@example.com"


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with instruction_env(tmp_path) as e:
        yield e


def table(message: dict[str, object]) -> list[list[str]]:
    return next(s for s in message["card"]["sections"] if s["type"] == "table")["rows"]  # type: ignore[index]


async def test_history_filters_and_scope(env: Env) -> None:
    [london] = await devices_in(env.live, "London")
    [singapore] = await devices_in(env.live, "Singapore")
    async with console(env.live, AVERY) as avery, console(env.live, ALEX) as alex:
        for who, text in ((avery, f"run GetOperatingSystem on {london}"),
                          (avery, f"run DeviceUptime on {singapore}"),
                          (alex, f"run GetOperatingSystem on {london}")):
            posted = await who.say(text)
            await next_where(who, card_state(posted["id"], "completed"))
        mine = table(await avery.say("history mine"))
        assert [r[2] for r in mine] == [AVERY, AVERY] and mine[0][0] > mine[1][0]  # newest first
        assert mine[0][5] == "not needed" and mine[0][6] == "completed (1 answers)"
        assert len(table(await avery.say(f"history device {london}"))) == 2
        by_name = table(await avery.say("history instruction 1E-Explorer-TachyonCore-DeviceUptime"))
        assert [r[4] for r in by_name] == [singapore]
        bad = (await avery.say("history yesterday"))["card"]
        assert "not a filter I know" in bad["fallback"]
    async with env.rt.db.uow() as uow:
        await rbac_admin.grant(uow, env.rt.tenant_id, Granter("test"), "Console Viewer", email=SAM,
                               scope=Scope(device_groups=["London"]))
        await uow.commit()
    async with console(env.live, SAM) as sam:
        seen = table(await sam.say("history"))
        assert sorted(r[4] for r in seen) == [london, london]  # the Singapore run is out of his scope
    async with console(env.live, NINA) as nina:
        assert (await nina.say("history"))["card"]["title"] == "Not allowed"


async def test_history_takes_the_short_names_run_takes(env: Env) -> None:
    [london] = await devices_in(env.live, "London")
    async with console(env.live, AVERY) as avery:
        posted = await avery.say(f"run DeviceUptime on {london}")
        await next_where(avery, card_state(posted["id"], "completed"))
        for typed in ("DeviceUptime", "deviceuptime", "1E-Explorer-TachyonCore-DeviceUptime"):
            found = await avery.say(f"history instruction {typed}")
            assert found["card"]["title"] == \
                "Instruction history of 1E-Explorer-TachyonCore-DeviceUptime"
            assert [r[3] for r in table(found)] == ["1E-Explorer-TachyonCore-DeviceUptime"]
        vague = (await avery.say("history instruction TachyonCore"))["card"]
        assert vague["title"] == "Which instruction?" and "Give more of the name" in vague["fallback"]
        # A name the catalogue does not hold (1E withdrew it) is looked up as typed.
        gone = await avery.say("history instruction Retired-Instruction")
        assert table(gone) == [] and "of Retired-Instruction" in gone["card"]["title"]


async def test_settings_show_and_set_with_ranges(env: Env) -> None:
    async with console(env.live, ALEX) as alex:
        shown = table(await alex.say("settings show"))
        rows = {r[0]: r for r in shown}
        assert rows["page_size"][2] == "one of 10, 25, 50, 100"
        assert rows["keep_answers_minutes"][1:3] == ["120", "a whole number from 10 to 10080"]
        changed = await alex.say("settings set page_size=25 approval_expiry_minutes=30 enable_approval=off")
        assert changed["card"]["title"] == "Settings changed"
        assert "10 \u2192 25" in changed["card"]["fallback"]
        refused = (await alex.say("settings set status_wait_seconds=0 page_size=50"))["card"]
        assert refused["title"] == "Check the settings" and "from 1 to 300" in refused["fallback"]
        assert "Nothing was changed" in refused["fallback"]
        odd = (await alex.say("settings set page_size=30"))["card"]
        assert "one of 10, 25, 50, 100, not `30`" in odd["fallback"]
        unknown = (await alex.say("settings set colour=red"))["card"]
        assert "unknown setting `colour`" in unknown["fallback"]
        channel = (await alex.say("settings set approval_channel_slack=general"))["card"]
        assert "Slack channel id" in channel["fallback"]
    async with env.rt.db.uow() as uow:
        stored = await uow.repo(SettingsRepo).get(env.rt.tenant_id)
    core, approval = CoreTenantSettings.load(stored), ApprovalSettings.load(stored)
    assert (core.page_size, approval.approval_expiry_minutes, approval.enable_approval,
            InstructionSettings.load(stored).status_wait_seconds) == (25, 30, False, 1)
    async with console(env.live, AUDREY) as audrey:
        assert (await audrey.say("settings show"))["card"]["title"] == "Settings"
        assert (await audrey.say("settings set page_size=50"))["card"]["title"] == "Not allowed"
    # With approval off, an action goes to 1E at once (1E's own approval still applies there).
    async with console(env.live, AVERY) as avery:
        posted = await avery.say("run ClearTempFiles on PC-0001")
        assert (await env.runs())[-1].approval_required is False
        await next_where(avery, lambda m: m["id"] == posted["id"]
                         and "approve it in 1E" in m["card"]["fallback"])
    assert env.issued() == 1


async def test_remote_install_goes_through_approval_and_installs(env: Env) -> None:
    [london] = await devices_in(env.live, "London")
    [singapore] = await devices_in(env.live, "Singapore")
    async with console(env.live, RILEY) as riley, console(env.live, PAT) as pat:
        posted = await riley.say(f"remote install {london} for INC0000001")
        assert posted["card"]["title"] == f"1E-TeamViewer-InstallFullClient on {london}"
        ask = await next_where(pat, title_has("Approval needed"))
        await click(pat, ask, "Approve")
        await next_where(riley, card_state(posted["id"], "completed"))
        refused = (await riley.say(f"remote install {singapore}"))["card"]
        assert refused["title"] == "Not allowed" and "group Singapore" in refused["fallback"]
    run = (await env.runs())[0]
    assert run.parameters == {"channel": "stable"} and run.incident == "INC0000001"
    assert f"{london.lower()}.corp.example.com" in env.sim.installed
