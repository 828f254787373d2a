"""Where the device actions meet the other capabilities: `for <incident>` checked against the
incident's caller in ServiceNow (and noted on the incident), and the device card's wipe buttons
opening the wipe's typed confirmation. Both simulators over loopback, through the console."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from integrations.workspace_one.simulator import WorkspaceOneSimulator
from tests.handlers.incidents_env import SnowEnv, snow_env
from tests.handlers.test_device_card import clicked, labels
from tests.handlers.test_remote import ALEX, SAM, audit_rows, button, console
from tests.handlers.ws1_env import aim, device_in, inventory, simulator, ws1_settings

Both = tuple[SnowEnv, WorkspaceOneSimulator]


@pytest.fixture
async def both(tmp_path: Path) -> AsyncIterator[Both]:
    async with simulator() as (sim, url), snow_env(tmp_path, process=ws1_settings(url)) as env:
        await aim(env.env.live, sim)
        yield env, sim


def title(message: dict[str, Any]) -> str:
    return str(message["card"]["title"])


async def test_an_incident_vouches_for_its_caller_only(both: Both) -> None:
    env, sim = both
    live, device = env.env.live, env.incidents.london_device.name
    async with console(live, ALEX) as alex:
        # INC london: called in by the device's owner -> the lock goes through.
        done = await alex.say(f"device lock {device} for {env.incidents.london}")
        # INC resolved: called in by Riley, who is not enrolled on it -> refused, nothing sent.
        other = await alex.say(f"device sync {device} for {env.incidents.resolved}")
        unknown = await alex.say(f"device sync {device} for INC9999999")
    assert title(done) == f"Lock: {device}"
    assert title(other) == "Not the device's user" and "nothing was sent" in other["card"]["fallback"]
    assert title(unknown) == "Unknown incident"
    assert [s.kind for s in sim.sent_to(device) if s.kind != "Note"] == ["Lock"]
    refused = [r for r in await audit_rows(live, "ws1.sync") if r.outcome == "refused"]
    assert len(refused) == 1 and refused[0].params["ticket"] == env.incidents.resolved
    # The generic work note of a command run `for` an incident reaches it too.
    [note] = await env.wait_notes(env.incidents.london, 1)
    assert f"device lock {device}" in note and "alex.admin@example.com" in note


async def test_the_email_validation_setting_off_lets_any_incident_through(both: Both) -> None:
    env, sim = both
    live, device = env.env.live, env.incidents.london_device.name
    async with console(live, ALEX) as alex:
        await alex.say("settings set email_validation=off")
        done = await alex.say(f"device sync {device} for {env.incidents.resolved}")
    assert title(done) == f"Sync: {device}" and [s.kind for s in sim.sent_to(device)][:1] == ["SyncDevice"]


async def test_the_card_offers_wipes_to_those_who_may_wipe(both: Both) -> None:
    env, sim = both
    live = env.env.live
    pc = await device_in(live, "London")
    async with console(live, ALEX) as alex:
        card = await alex.say(f"device {pc}")
        asked = await clicked(alex, card, "Wipe\u2026")
    async with console(live, SAM) as sam:  # Endpoint Standard: no wipes
        sams = await sam.say(f"device {pc}")
    device_id = (await inventory(live, pc)).id
    assert labels(card)[-2:] == ["Wipe\u2026", "Enterprise wipe\u2026"]
    assert button(card, "Wipe\u2026")["action_id"] == f"device.wipe-ask:wipe:{device_id}"
    assert not any("wipe" in label.lower() for label in labels(sams))
    assert title(asked) == f"Wipe {pc}?" and sim.sent_to(pc) == []
