"""Microsoft 365 tenants map to deskhand tenants in Teams, and nothing crosses: a message or an
Action.Execute click from Fabrikam's Teams runs as beta's person over beta's rows; a click
carrying an id of acme's row is not found there; an unmapped Microsoft 365 tenant is refused
(with DESKHAND_TEAMS_TENANT_ID before the turn, as always; without it, in the turn, audited)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.tenancy import TEAMS_TENANT
from storage.teams import TeamsConversationRepo
from tests.bot.platforms.test_teams import texts
from tests.bot.tenants_env import BETA_ALEX, acme_rows, add_beta, audit, map_workspace, unchanged
from tests.fakes.bot_connector import ALEX, TENANT, FakeBotFramework, TeamsUser, teams_deskhand

FABRIKAM = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
NOBODY = "99999999-0000-4000-8000-000000000000"
B_ALEX = TeamsUser("29:1betaAlexMRI", "0b0b0b0b-0000-4000-8000-0000000000a1", "Alex Admin",
                   "alex.admin@example.com")
B_PERSONAL = "a:1BetaAlexPersonalChat0123456789personal"


@pytest.fixture
def fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    for user in (ALEX, B_ALEX):
        fake.add_user(user)
    yield fake
    fake.stop()


def from_tenant(fake: FakeBotFramework, fixture: str, user: TeamsUser, tenant: str,
                **overrides: Any) -> dict[str, Any]:
    activity = fake.activity(fixture, user, **overrides)
    activity["channelData"]["tenant"]["id"] = activity["conversation"]["tenantId"] = tenant
    if user is B_ALEX:
        activity["conversation"]["id"] = B_PERSONAL
    return activity


async def said(fake: FakeBotFramework, live: Any, user: TeamsUser, tenant: str, text: str) -> str:
    before = len(fake.posted())
    status, _ = await fake.send(live.url, from_tenant(fake, "message_personal", user, tenant,
                                                      text=text))
    assert status == 201
    posted = await fake.wait_for("send", "reply", count=before + 1)
    assert len(posted) > before, f"no reply to {text!r}"
    return texts(posted[-1].cards[0])


async def clicked(fake: FakeBotFramework, live: Any, user: TeamsUser, tenant: str,
                  verb: str) -> str:
    invoke = from_tenant(fake, "invoke_action_execute", user, tenant)
    invoke["value"]["action"].update(verb=verb, data={"deskhand.action": verb})
    status, body = await fake.send(live.url, invoke)
    assert status == 200, body
    return str(body["value"])


async def test_each_microsoft_365_tenant_acts_in_its_own_tenant(
        tmp_path: Path, fake: FakeBotFramework) -> None:
    async with teams_deskhand(tmp_path, fake) as live:  # DESKHAND_TEAMS_TENANT_ID: acme's own
        rt = live.runtime
        beta = await add_beta(rt)
        rows = await acme_rows(rt)
        # Not mapped yet: refused before the turn, as with the setting alone.
        status, body = await fake.send(live.url, from_tenant(fake, "message_personal", B_ALEX,
                                                             FABRIKAM, text="whoami"))
        assert status == 403 and "others are refused" in body["error"]
        await map_workspace(rt, beta, TEAMS_TENANT, FABRIKAM)

        assert f"You are {BETA_ALEX}" in await said(fake, live, B_ALEX, FABRIKAM, "whoami")
        assert "You are Alex Admin" in await said(fake, live, ALEX, TENANT, "whoami")
        for verb, words in ((f"approval.approve:{rows.request}",
                             f"There is no approval request {rows.request}"),
                            (f"run.cancel:{rows.run}", f"There is no run {rows.run}"),
                            (f"device.card:{rows.device}", "no longer in the inventory")):
            assert words in await clicked(fake, live, B_ALEX, FABRIKAM, verb), verb
        assert await unchanged(rt, rows)

        async with rt.db.uow() as uow:  # beta's conversations are kept as beta's
            conversations = uow.repo(TeamsConversationRepo)
            assert await conversations.get(beta, B_PERSONAL) is not None
            assert await conversations.get(rt.tenant_id, B_PERSONAL) is None
        theirs = [(e.kind, e.action) for e in await audit(rt, beta)]
        assert ("command", "whoami") in theirs and ("interaction", "run.cancel") in theirs
        assert not any(FABRIKAM in (e.platform_identity or "")
                       for e in await audit(rt, rt.tenant_id))


async def test_without_the_tenant_setting_an_unmapped_one_is_refused_in_the_turn(
        tmp_path: Path, fake: FakeBotFramework) -> None:
    async with teams_deskhand(tmp_path, fake, teams_app_type="MultiTenant",
                              teams_tenant_id="") as live:
        rt = live.runtime
        # Nothing mapped: every Microsoft 365 tenant is the deployment's.
        assert "You are Alex Admin" in await said(fake, live, ALEX, NOBODY, "whoami")
        beta = await add_beta(rt)
        await map_workspace(rt, beta, TEAMS_TENANT, FABRIKAM)
        for shown in (await said(fake, live, ALEX, NOBODY, "whoami"),
                      await clicked(fake, live, ALEX, NOBODY, "run.cancel:1")):
            assert f"This Microsoft 365 tenant ({NOBODY}) is not connected" in shown
            assert f"deskhand tenant map <tenant> --teams-tenant {NOBODY}" in shown
        assert f"You are {BETA_ALEX}" in await said(fake, live, B_ALEX, FABRIKAM, "whoami")
        denials = [e for e in await audit(rt, rt.tenant_id) if e.outcome == "unmapped_workspace"]
        assert sorted((e.action, e.params["workspace"]) for e in denials) == [
            ("run.cancel", NOBODY), ("whoami", NOBODY)]
