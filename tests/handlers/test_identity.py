"""Linking chat accounts to people: refusals at auto-link (no email, two people), and the
administrators' `identity list|link|unlink`, over signed Slack requests and Teams activities."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.identity import NO_ACCESS
from storage.directory import DirectoryRepo
from storage.tenants import TenantRepo
from tests.bot.platforms.test_teams import say, texts
from tests.fakes.bot_connector import ALEX as TEAMS_ALEX
from tests.fakes.bot_connector import FakeBotFramework, TeamsUser, teams_deskhand
from tests.fakes.slack_api import ALEX, GUEST, NINA, STRANGER, SlackEnv, slack_env

NINA_EMAIL = "nina.new@example.com"
# Email and UPN that name two different people in the directory: nobody is linked.
TWO = TeamsUser("29:1twoPeopleMRI", "6a7b8c9d-0000-4000-8000-0000000000e5", "Two People",
                "sam.standard@example.com", upn="riley.remote@example.com")


async def answer(env: SlackEnv, user: str, text: str, url: str) -> str:
    await env.command(user, "/deskhand", text, response=url)
    await env.idle()
    replies = [c.args for c in env.fake.called("response_url") if c.path == f"/response/{url}"]
    assert replies, f"no answer to {text!r}"
    return str(replies[-1].get("text", "")) + str(replies[-1].get("blocks", ""))


async def test_no_email_is_refused_then_an_admin_links_and_unlinks_by_hand(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        refused = await answer(env, GUEST, "whoami", "g1")
        assert "Slack did not tell deskhand an email" in refused
        assert "identity link slack:T0001:U0GUEST to" in refused
        unknown = await answer(env, STRANGER, "whoami", "s1")
        assert NO_ACCESS.split(":")[0] in unknown and "did not tell" not in unknown
        reasons = {e.actor_email: e.params for e in await env.audit() if e.outcome == "unknown_user"}
        assert reasons["slack:T0001:U0GUEST"]["reason"] == "no_email"
        assert reasons["slack:T0001:U0STRANGER"]["reason"] == "unknown_email"

        # only administrators (rbac.admin) link, list and unlink
        assert "Not allowed" in await answer(env, NINA, "identity list", "n1")
        linked = await answer(env, ALEX, f"identity link slack:T0001:U0GUEST to {NINA_EMAIL}", "a1")
        assert "slack:T0001:U0GUEST linked to nina.new@example.com" in linked
        assert "You are Nina New" in await answer(env, GUEST, "whoami", "g2")
        listed = await answer(env, ALEX, f"identity list {NINA_EMAIL}", "a2")
        assert "slack:T0001:U0GUEST" in listed
        # moving a link says from whom; linking it again changes nothing
        moved = await answer(env, ALEX, "identity link slack:T0001:U0GUEST to sam.standard@example.com",
                             "a3")
        assert f"It was linked to {NINA_EMAIL} until now" in moved
        again = await answer(env, ALEX, "identity link slack:T0001:U0GUEST to sam.standard@example.com",
                             "a4")
        assert "nothing changed" in again
        unlinked = await answer(env, ALEX, "identity unlink slack:T0001:U0GUEST", "a5")
        assert "slack:T0001:U0GUEST unlinked" in unlinked
        assert "Slack did not tell deskhand an email" in await answer(env, GUEST, "whoami", "g3")

        events = sorted((e for e in await env.audit()
                         if e.kind == "command" and e.action.startswith("identity")),
                        key=lambda e: e.id)
        assert [(e.action, e.outcome, e.target) for e in events] == [
            ("identity link", "ok", NINA_EMAIL), ("identity list", "ok", NINA_EMAIL),
            ("identity link", "ok", "sam.standard@example.com"),
            ("identity link", "ok", "sam.standard@example.com"),
            ("identity unlink", "ok", "sam.standard@example.com")]
        assert events[2].params["was"] == NINA_EMAIL
        assert events[0].params["account"] == "slack:T0001:U0GUEST"


@pytest.mark.parametrize(("text", "expected"), [
    ("identity link U0GUEST to nina.new@example.com", "is not a chat account"),
    ("identity link slack:nope:U0GUEST to nina.new@example.com", "is not a chat account"),
    ("identity link console:local:3 to nina.new@example.com", "linked by deskhand itself"),
    ("identity link slack:T0001:U0GUEST to eve@example.com", "Nobody with the email eve@example.com"),
    ("identity unlink slack:T0001:U0NOBODY", "is not linked to anyone here"),
    ("identity list eve@example.com", "Nobody with the email eve@example.com"),
])
async def test_bad_input_is_refused_with_what_is_allowed(tmp_path: Path, text: str,
                                                         expected: str) -> None:
    async with slack_env(tmp_path) as env:
        assert expected in await answer(env, ALEX, text, "x")


async def test_a_link_in_another_tenant_is_not_taken_over(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        rt = env.server.runtime
        async with rt.db.uow() as uow:
            other = await uow.repo(TenantRepo).ensure("beta", "Beta")
            person = await uow.repo(DirectoryRepo).upsert_principal(other.id, "eve@beta.example", "Eve")
            await uow.repo(DirectoryRepo).link_identity(other.id, person.id, "slack", "T0001", GUEST)
            await uow.commit()
        refused = await answer(env, ALEX, f"identity link slack:T0001:{GUEST} to {NINA_EMAIL}", "x")
        assert "belongs to another deskhand tenant" in refused
        assert "is not linked to anyone here" in await answer(
            env, ALEX, f"identity unlink slack:T0001:{GUEST}", "y")
        # the other tenant's person never acts here; the account is told why
        assert "linked to a person of another deskhand tenant" in await answer(
            env, GUEST, "whoami", "z")


@pytest.fixture
def fake() -> Iterator[FakeBotFramework]:
    fake = FakeBotFramework().start()
    for user in (TEAMS_ALEX, TWO):
        fake.add_user(user)
    yield fake
    fake.stop()


async def test_teams_email_and_upn_naming_two_people_links_nobody(tmp_path: Path,
                                                                   fake: FakeBotFramework) -> None:
    async with teams_deskhand(tmp_path, fake) as live:
        call = await say(fake, live, "whoami", user=TWO)
        shown = texts(call.cards[0])
        assert "belong to different people" in shown
        assert "sam.standard@example.com, riley.remote@example.com" in shown
        async with live.runtime.db.uow() as uow:
            assert await uow.repo(DirectoryRepo).identity("teams", tenant_of(fake), TWO.aad) is None
        call = await say(fake, live, "whoami", user=TEAMS_ALEX)
        shown = texts(call.cards[0])
        assert "You are Alex Admin" in shown  # whoami shows the links in full
        assert f"teams:{tenant_of(fake)}:{TEAMS_ALEX.aad}" in shown


def tenant_of(fake: Any) -> str:
    return str(fake.tenant)
