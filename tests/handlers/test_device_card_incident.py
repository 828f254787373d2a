"""The device card opened from an incident card acts for that incident: its buttons carry the
incident on, so a click is `device <action> <device> for <incident>` (checked against the
incident's caller, noted on the incident, kept on a wipe's row); `for <incident>` needs
incident.read; and without a provider of tickets' end users a ticket names nobody. ServiceNow
and Workspace ONE are their simulators over loopback; people use the console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot import rbac_admin
from bot.rbac_admin import Granter, Scope
from bot.services import Services
from bot.tickets import TicketEndUsers
from integrations.simulator_kit import serve
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.device_wipes import DeviceWipe
from tests.handlers.incidents_env import SnowEnv, snow_env
from tests.handlers.test_device_card import clicked, labels, submit
from tests.handlers.test_remote import ALEX, audit_rows, button, console
from tests.handlers.ws1_env import CODE, PASSWORD, USER, aim, ws1_settings
from tests.workflows.env import NINA

Both = tuple[SnowEnv, WorkspaceOneSimulator]


@pytest.fixture
async def both(tmp_path: Path) -> AsyncIterator[Both]:
    sim = WorkspaceOneSimulator(accounts={USER: PASSWORD}, tenant_code=CODE)
    runner, url = await serve(sim)
    try:
        async with snow_env(tmp_path, process=ws1_settings(url)) as env:
            await aim(env.env.live, sim)
            yield env, sim
    finally:
        await runner.cleanup()


def title(message: dict[str, Any]) -> str:
    return str(message["card"]["title"])


def sent(sim: WorkspaceOneSimulator, device: str) -> list[str]:
    return [s.kind for s in sim.sent_to(device) if s.kind != "Note"]


async def test_device_actions_from_an_incident_are_checked_against_its_caller_and_noted(
        both: Both) -> None:
    env, sim = both
    live, inc = env.env.live, env.incidents
    device = inc.london_device
    async with console(live, ALEX) as alex:
        # INC london: called in by the device's owner.
        incident = await alex.say(f"incident {inc.london}")
        card = await clicked(alex, incident, "Device actions")
        locked = await clicked(alex, card, "Lock")
        form = await clicked(alex, card, "Send a message\u2026")
        told = await submit(alex, form, "Send", {"message": "Please restart tonight"})
        # INC resolved: the same device, but called in by Riley, who is not enrolled on it.
        other = await clicked(alex, await alex.say(f"incident {inc.resolved}"), "Device actions")
        refused = await clicked(alex, other, "Lock")
    assert title(card) == f"Device {device.name}"
    assert button(card, "Lock")["action_id"] == f"device.do:lock:{device.id}:{inc.london}"
    assert button(card, "Send a message\u2026")["action_id"] == \
        f"device.form:message:{device.id}:{inc.london}"
    assert button(card, "Wipe\u2026")["action_id"] == f"device.wipe-ask:wipe:{device.id}:{inc.london}"
    assert f"run for {inc.london}" in card["card"]["fallback"]
    assert button(form, "Send")["action_id"] == f"device.send:message:{device.id}:{inc.london}"
    assert title(locked) == f"Lock: {device.name}" and title(told) == f"Send a message: {device.name}"
    assert title(refused) == "Not the device's user" and "nothing was sent" in refused["card"]["fallback"]
    assert sent(sim, device.name) == ["Lock", "Message"]  # the refused lock sent nothing
    # Workspace ONE's note after each action names the incident, as `for <incident>` does.
    notes = [s.body["Note"] for s in sim.sent_to(device.name) if s.kind == "Note"]
    assert len(notes) == 2 and all(f"for {inc.london}" in n for n in notes)
    refusal = [r for r in await audit_rows(live, "ws1.lock") if r.outcome == "refused"]
    assert len(refusal) == 1 and refusal[0].params["ticket"] == inc.resolved
    # The work notes: what was done, as the typed command, on the incident it was done for.
    done = await env.wait_notes(inc.london, 2)
    assert f"ran `device lock {device.name} for {inc.london}`: done" in done[0]
    assert f"ran `device message {device.name} for {inc.london}`: done" in done[1]
    [no] = await env.wait_notes(inc.resolved, 1)
    assert f"ran `device lock {device.name} for {inc.resolved}`: refused" in no
    assert ALEX in no


async def test_a_wipe_asked_from_an_incidents_device_card_keeps_the_incident(both: Both) -> None:
    env, sim = both
    live, inc = env.env.live, env.incidents
    async with console(live, ALEX) as alex:
        card = await clicked(alex, await alex.say(f"incident {inc.london}"), "Device actions")
        asked = await clicked(alex, card, "Wipe\u2026")
    assert title(asked) == f"Wipe {inc.london_device.name}?" and sim.sent_to(inc.london_device.name) == []
    async with live.runtime.db.uow() as uow:
        [row] = (await uow.session.execute(select(DeviceWipe))).scalars().all()
    assert row.ticket == inc.london and row.for_email is None and row.state == "confirming"
    [note] = await env.wait_notes(inc.london, 1)
    assert f"ran `device wipe {inc.london_device.name} for {inc.london}`: done" in note


async def test_buttons_without_an_incident_still_work_and_bad_parts_are_damaged(both: Both) -> None:
    env, sim = both
    live, device = env.env.live, env.incidents.london_device
    async with console(live, ALEX) as alex:
        plain = await alex.say(f"device {device.name}")

        async def press(action_id: str) -> dict[str, Any]:
            await alex.click(plain, {"action_id": action_id, "value": ""})
            return await alex.next()

        card = await press(f"device.card:{device.id}")  # drawn before cards carried incidents
        synced = await press(f"device.do:sync:{device.id}")
        damaged = [await press(f"device.card:{device.id}:not-a-number"),
                   await press(f"device.do:sync:{device.id}:INC0010001:extra"),
                   await press("device.do:sync")]
    assert "device.do:lock:" in button(card, "Lock")["action_id"]
    assert button(card, "Lock")["action_id"] == f"device.do:lock:{device.id}"
    assert "run for" not in card["card"]["fallback"]
    assert title(synced) == f"Sync: {device.name}" and sent(sim, device.name) == ["SyncDevice"]
    assert all("This button is damaged" in title(d) + d["card"]["fallback"] for d in damaged)
    assert env.notes(env.incidents.london) == []


async def test_for_an_incident_needs_incident_read_over_the_device(both: Both) -> None:
    env, sim = both
    live, inc = env.env.live, env.incidents
    device = inc.london_device
    async with live.runtime.db.uow() as uow:  # a custom role: locks, no incident.read
        cli = Granter("cli")
        await rbac_admin.create_role(uow, live.runtime.tenant_id, cli, "Locker",
                                     ["device.read", "device.lock"])
        await rbac_admin.grant(uow, live.runtime.tenant_id, cli, "Locker", email=NINA,
                               scope=Scope(device_groups=["London"]))
        await uow.commit()
    async with console(live, NINA) as nina:
        denied = await nina.say(f"device lock {device.name} for {inc.london}")
        card = await nina.say(f"device {device.name}")
        by_email = await nina.say(f"device lock {device.name} for {device.owner_email}")
    assert title(denied) == "Not allowed"
    assert f"for {inc.london}, which reads the incident (incident.read)" in denied["card"]["fallback"]
    assert labels(card) == ["Lock"]
    assert title(by_email) == f"Lock: {device.name}"  # an email is checked without ServiceNow
    assert sent(sim, device.name) == ["Lock"]
    [denial] = await audit_rows(live, "incident.read")
    assert denial.kind == "denial" and denial.outcome == "denied" and denial.target == device.name


async def test_without_a_provider_of_ticket_end_users_a_ticket_names_nobody(both: Both) -> None:
    env, sim = both
    live, inc = env.env.live, env.incidents
    runtime = live.runtime
    assert runtime.services.get(TicketEndUsers) is not None  # the incidents capability's
    provided, runtime.services = runtime.services, Services(runtime)  # as if it were not there
    try:
        async with console(live, ALEX) as alex:
            # Riley called it in and is not enrolled: refused above, but nobody is named now.
            done = await alex.say(f"device sync {inc.london_device.name} for {inc.resolved}")
    finally:
        runtime.services = provided
    assert title(done) == f"Sync: {inc.london_device.name}"
    assert sent(sim, inc.london_device.name) == ["SyncDevice"]


async def test_a_device_without_an_enrolled_email_is_refused_with_what_an_admin_can_do(
        both: Both) -> None:
    env, sim = both
    live, inc = env.env.live, env.incidents
    device = inc.london_device
    next(d for d in sim.devices if d.name == device.name).email = ""  # enrolled to nobody
    async with console(live, ALEX) as alex:
        refused = await alex.say(f"device lock {device.name} for {inc.london}")
    text = refused["card"]["fallback"]
    assert title(refused) == "Not the device's user" and "nothing was sent" in text
    assert "fix the device's enrollment in Workspace ONE" in text
    assert "email_validation_exceptions" in text and "without `for`" not in text
    assert sent(sim, device.name) == []
