"""Deactivating a person (bot/people.py) takes effect everywhere at once, driven the way the
platforms do: the console WebSocket and sign-in cookie, signed Slack requests, the Delta Sharing
endpoint over HTTP, an approval request with its card copies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot import people
from storage.audit import AuditEvent
from storage.directory import DirectoryRepo
from storage.tokens import DataAccessTokenRepo
from tests.bot.platforms._drivers import persona_id
from tests.bot.platforms.test_console_signin import EMAIL, carrying, console_ws, new_link, sign_in
from tests.conftest import LiveServer
from tests.fakes.slack_api import ALEX, slack_env
from tests.handlers.sharing_env import token
from tests.workflows.env import (
    AVERY,
    PAT,
    Env,
    card_state,
    click,
    console,
    field,
    instruction_env,
    next_where,
    title_has,
)

RESTART = "run RestartService serviceName=Spooler on PC-0001"


async def events(rt: Any, kind: str, action: str) -> list[AuditEvent]:
    async with rt.db.uow() as uow:
        q = select(AuditEvent).where(AuditEvent.kind == kind, AuditEvent.action == action)
        return list((await uow.session.execute(q.order_by(AuditEvent.id))).scalars().all())


async def principal_id(rt: Any, email: str) -> int:
    async with rt.db.uow() as uow:
        row = await uow.repo(DirectoryRepo).principal_by_email(rt.tenant_id, email)
    assert row is not None
    return row.id


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with instruction_env(tmp_path) as e:
        yield e


def labels(message: dict[str, Any]) -> list[str]:
    return [b["label"] for b in message["card"]["buttons"]]


async def test_pending_request_is_cancelled_every_copy_redrawn_and_the_person_refused(
        env: Env) -> None:
    async with console(env.live, AVERY) as avery, console(env.live, PAT) as pat:
        mine = await avery.say(RESTART)
        assert field(mine, "State") == "waiting for approval"
        ask = await next_where(pat, title_has("Approval needed"))
        avery_id = await persona_id(env.live, AVERY)
        await people.deactivate(env.rt, env.rt.tenant_id, avery_id, by="scim")
        # the approvers' copy loses its buttons and says why; the requester's copy ends too
        withdrawn = await next_where(pat, lambda m: m["id"] == ask["id"] and not labels(m))
        assert field(withdrawn, "Approval") == (
            f"cancelled: {AVERY} was deactivated in the directory")
        await next_where(avery, card_state(mine["id"], "cancelled"))
        # a late Approve is told it was decided; nothing reaches 1E
        await click(pat, ask, "Approve")
        late = await next_where(pat, lambda m: m["private"])
        assert late["card"]["title"] == "Already decided"
        # the deactivated person: every command and click refused, with a clear message
        refused = await avery.say("whoami")
        assert refused["card"]["title"] == "Your account is deactivated"
        assert AVERY in refused["card"]["fallback"]
        await click(avery, mine, "Cancel")
        clicked = await next_where(avery, lambda m: m["private"])
        assert clicked["card"]["title"] == "Your account is deactivated"

        await people.reactivate(env.rt, env.rt.tenant_id, avery_id, by="scim")
        back = await avery.say("whoami")
        assert back["card"]["title"].startswith("You are ")
    run = (await env.runs())[-1]
    request = await env.request(run.id)
    assert (run.state, request.state, env.issued()) == ("cancelled", "cancelled", 0)
    assert run.outcome == f"{AVERY} was deactivated in the directory"
    [cancelled] = await events(env.rt, "decision", "instruction.approve")
    assert (cancelled.outcome, cancelled.actor_email) == ("cancelled", "scim")
    denials = [e for e in await events(env.rt, "denial", "whoami") if e.outcome == "inactive_user"]
    assert [e.actor_email for e in denials] == [AVERY]
    assert [e.outcome for e in await events(env.rt, "denial", "run.cancel")] == ["inactive_user"]
    assert [(e.actor_email, e.target) for e in
            await events(env.rt, "directory", "person.deactivate")] == [("scim", AVERY)]
    assert len(await events(env.rt, "directory", "person.reactivate")) == 1


async def test_console_sessions_end_and_stay_ended_after_reactivation(
        console_server: LiveServer) -> None:
    rt = console_server.runtime
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        cookie = await sign_in(http, console_server, await new_link(console_server))
        ws = await console_ws(http, console_server, cookie)
        unused = await new_link(console_server)
        who = await principal_id(rt, EMAIL)
        await people.deactivate(rt, rt.tenant_id, who, by="okta")
        await ws.send_json({"type": "command", "text": "help"})  # the next request: signed out
        assert (await ws.receive_json(timeout=10))["type"] == "signed-out"
        await people.reactivate(rt, rt.tenant_id, who, by="okta")
        # what the deactivation ended does not come back with the account
        async with http.get(f"{console_server.url}/console", headers=carrying(cookie)) as r:
            assert r.status == 401
        async with http.post(unused, headers={"Origin": console_server.url}) as r:
            assert r.status == 403 and "cancelled by a sign-out" in await r.text()
    [logout] = await events(rt, "signin", "console.logout")
    assert (logout.actor_email, logout.params["ended"]) == ("okta", 2)


async def test_slack_command_and_click_refused_and_audited(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        rt = env.server.runtime
        await env.command(ALEX, "/deskhand", "whoami", response="first")
        await env.idle()
        alex = await principal_id(rt, "alex.admin@example.com")
        await people.deactivate(rt, rt.tenant_id, alex, by="entra")
        await env.command(ALEX, "/devices", "", response="cmd")
        await env.send(env.action_body(ALEX, "devices.more", "x", ts="1700000000.000100",
                                       response="click"))
        await env.idle()
        replies = {c.path: c.args for c in env.fake.called("response_url")}
        for url in ("/response/cmd", "/response/click"):
            assert replies[url]["response_type"] == "ephemeral"
            assert "is deactivated in the directory" in replies[url]["text"]
        refusals = [e for e in await env.audit() if e.outcome == "inactive_user"]
        assert sorted(e.action for e in refusals) == ["devices", "devices.more"]
        assert all(e.actor_email == "alex.admin@example.com" for e in refusals)
        assert not [e for e in await env.audit() if e.kind in ("command", "interaction")
                    and e.action in ("devices", "devices.more")]


async def test_data_access_tokens_stop_at_once_and_are_revoked(server: LiveServer) -> None:
    rt = server.runtime
    token_id = await token(server, rt.tenant_id, "the-secret")
    headers = {"Authorization": "Bearer the-secret"}
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/sharing/shares", headers=headers) as r:
            assert r.status == 200
        creator = await principal_id(rt, "test@example.com")
        async with rt.db.uow() as uow:  # the flag alone (as committed before the effects run)
            row = await uow.repo(DirectoryRepo).principal(creator)
            assert row is not None
            row.active = False
            await uow.commit()
        async with http.get(server.url + "/sharing/shares", headers=headers) as r:
            body = await r.json()
            assert r.status == 401 and "creator was deactivated" in body["message"]
        await people.deactivate(rt, rt.tenant_id, creator, by="scim")
        async with http.get(server.url + "/sharing/shares", headers=headers) as r:
            assert r.status == 401 and (await r.json())["message"] == "the bearer token is revoked"
        await people.reactivate(rt, rt.tenant_id, creator, by="scim")
        async with http.get(server.url + "/sharing/shares", headers=headers) as r:
            assert r.status == 401  # revoked for good
    async with rt.db.uow() as uow:
        row = await uow.repo(DataAccessTokenRepo).get(rt.tenant_id, token_id)
    assert row is not None and (row.state, row.revoked_by) == ("revoked", "scim")
    [revoked] = await events(rt, "data-access", "token.revoke")
    assert revoked.params == {"id": token_id}


async def test_unknown_or_foreign_person_is_refused(server: LiveServer) -> None:
    rt = server.runtime
    with pytest.raises(people.UnknownPerson):
        await people.deactivate(rt, rt.tenant_id + 1, await principal_id(rt, AVERY), by="scim")
    with pytest.raises(people.UnknownPerson):
        await people.reactivate(rt, rt.tenant_id, 10**9, by="scim")
    async with rt.db.uow() as uow:
        row = await uow.repo(DirectoryRepo).principal_by_email(rt.tenant_id, AVERY)
    assert row is not None and row.active


async def test_a_request_whose_requester_was_just_deactivated_is_not_approved(env: Env) -> None:
    """Between the flag and the cancellation (or if the cancellation failed), an Approve click
    is refused: the requester's account decides, not the card."""
    from sqlalchemy import update

    from storage.directory import PrincipalRow

    async with console(env.live, AVERY) as avery, console(env.live, PAT) as pat:
        await avery.say(RESTART)
        ask = await next_where(pat, title_has("Approval needed"))
        async with env.rt.db.uow() as uow:  # the flag alone, as a crash after it would leave it
            await uow.session.execute(update(PrincipalRow).where(
                PrincipalRow.email == AVERY).values(active=False))
            await uow.commit()
        await click(pat, ask, "Approve")
        refused = await next_where(pat, lambda m: m["private"])
    assert refused["card"]["title"] == "Requester deactivated"
    run = (await env.runs())[-1]
    assert run.state == "awaiting_approval" and env.issued() == 0
