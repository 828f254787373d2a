"""`group:` runs to a group linked to its 1E management group go out as one scope, not a list.

The simulator plays 1E: it records what each instruction was sent with (`Scope` and `Cmd`), and
its fleet is deskhand's inventory, each group with its own 1E id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from storage.devices import ManagementGroup
from tests.handlers.test_approvals import RESTART
from tests.workflows.env import (
    ALEX,
    AVERY,
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


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with instruction_env(tmp_path) as e:
        yield e


async def link(env: Env, group: str) -> str:
    """Link the deskhand group to the simulator's id for it, as `deskhand groups link` does."""
    [tachyon_id] = {str(d.group_id) for d in env.sim.devices if d.group == group}
    async with env.rt.db.uow() as uow:
        row = (await uow.session.execute(select(ManagementGroup).where(
            ManagementGroup.name == group))).scalar_one()
        row.tachyon_id = tachyon_id
        await uow.commit()
    return tachyon_id


async def test_linked_group_goes_to_1e_as_its_management_group(env: Env) -> None:
    tachyon_id = await link(env, "Singapore")
    async with console(env.live, ALEX) as alex:
        posted = await alex.say("run InstalledSoftware on group:Singapore")
        assert "sent to 1E as its management group" in field(posted, "Targets")
        await next_where(alex, card_state(posted["id"], "completed"))
    run = (await env.runs())[-1]
    assert run.target_group == "Singapore" and run.target_count == 50
    assert run.vendor_scope == {"Attribute": "managementgroup", "Operator": "==", "Value": tachyon_id}
    sent = env.sim.instructions[run.vendor_id or 0]
    assert sent.body["Scope"] == run.vendor_scope and sent.body["Cmd"] == "SendAll"
    assert "Devices" not in sent.body
    assert {d.fqdn for d in sent.devices} == {d.fqdn for d in env.sim.devices if d.group == "Singapore"}
    assert run.answers_stored > 0 and env.issued() == 1


async def test_a_group_too_big_for_a_device_list_is_refused_until_linked(env: Env) -> None:
    env.rt.settings.tachyon_max_fqdns = 20
    async with console(env.live, ALEX) as alex:
        refused = (await alex.say("run GetOperatingSystem on group:London"))["card"]
        assert refused["title"] == "Too many devices"
        assert "at most 20 device names" in refused["fallback"]
        assert 'deskhand groups link "London" --tachyon-id' in refused["fallback"]
        names = ",".join(await devices_in(env.live, "London", 21))
        listed = await alex.say(f"run GetOperatingSystem on {names}")
        assert listed["card"]["title"] == "Too many devices" and "name a group" in listed["card"]["fallback"]
        assert await env.runs() == [] and env.issued() == 0
        await link(env, "London")
        posted = await alex.say("run GetOperatingSystem on group:London")
        await next_where(alex, card_state(posted["id"], "completed"))
    assert (await env.runs())[-1].vendor_scope is not None


async def test_rights_on_named_devices_never_reach_the_whole_1e_group(env: Env) -> None:
    """Sam may ask questions on every London device by name, not on group London: 1E may know
    London devices our inventory does not, so his run goes out as the FQDN list."""
    await link(env, "London")
    london = await devices_in(env.live, "London", 1000)
    async with env.rt.db.uow() as uow:
        await rbac_admin.grant(uow, env.rt.tenant_id, Granter("test"), "Questioner", email=SAM,
                               scope=Scope(devices=london))
        await uow.commit()
    async with console(env.live, SAM) as sam:
        posted = await sam.say("run GetOperatingSystem on group:London")
        assert "management group" not in field(posted, "Targets")
        await next_where(sam, card_state(posted["id"], "completed"))
        run = (await env.runs())[-1]
        assert run.vendor_scope is None and run.target_group == "London"
        sent = env.sim.instructions[run.vendor_id or 0]
        assert sorted(sent.body["Devices"]) == sorted(d.fqdn for d in env.sim.devices if d.group == "London")
        env.rt.settings.tachyon_max_fqdns = 20
        refused = (await sam.say("run GetOperatingSystem on group:London"))["card"]
        assert refused["title"] == "Too many devices" and "not group London as a whole" in refused["fallback"]


async def test_approving_a_scoped_run_needs_the_group_as_a_whole(env: Env) -> None:
    await link(env, "London")
    london = await devices_in(env.live, "London", 1000)
    async with env.rt.db.uow() as uow:  # Sam approves on every London device, by name only
        await rbac_admin.grant(uow, env.rt.tenant_id, Granter("test"), "Approver", email=SAM,
                               scope=Scope(devices=london))
        await uow.commit()
    async with console(env.live, AVERY) as avery, console(env.live, SAM) as sam:
        await avery.say(RESTART.format("group:London"))
        ask = await next_where(sam, title_has("Approval needed"))
        await click(sam, ask, "Approve")
        refused = await next_where(sam, lambda m: m["private"])
        assert refused["card"]["title"] == "Not allowed" and "group London" in refused["card"]["fallback"]
    run = (await env.runs())[-1]
    assert run.vendor_scope is not None and (await env.request(run.id)).state == "pending"
    assert env.issued() == 0
