"""A wipe waiting for approval when its requester is deactivated (bot/people.py): the request
and the wipe end cancelled, every copy of the card says so, nothing reaches Workspace ONE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import people
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from tests.bot.platforms._drivers import persona_id
from tests.conftest import LiveServer
from tests.handlers.test_device_wipes import confirmed
from tests.handlers.wipes_env import request_of, wipes, wipes_sent
from tests.handlers.ws1_env import device_in, started
from tests.workflows.env import ALEX, PAT, click, console, field, next_where, title_has

Live = tuple[LiveServer, WorkspaceOneSimulator]


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    async with started(tmp_path) as pair:
        yield pair


async def test_a_deactivated_requesters_wipe_is_cancelled_everywhere(live: Live) -> None:
    server, sim = live
    device = await device_in(server, "London")
    async with console(server, ALEX) as alex, console(server, PAT) as pat:
        mine = await confirmed(server, alex, device)
        ask = await next_where(pat, title_has("Approval needed"))
        rt = server.runtime
        await people.deactivate(rt, rt.tenant_id, await persona_id(server, ALEX), by="scim")
        gone = await next_where(pat, lambda m: m["id"] == ask["id"] and not m["card"]["buttons"])
        assert field(gone, "State") == "cancelled: the requester was deactivated"
        await next_where(alex, lambda m: m["id"] == mine["id"]
                         and field(m, "State").startswith("cancelled"))
        await click(pat, ask, "Approve")
        late = await next_where(pat, lambda m: m["private"])
        assert late["card"]["title"] == "Already decided"
    [row] = await wipes(server)
    request = await request_of(server, row)
    assert request is not None and (row.state, request.state) == ("cancelled", "cancelled")
    assert wipes_sent(sim, device) == [] and sim.sent_to(device) == []
