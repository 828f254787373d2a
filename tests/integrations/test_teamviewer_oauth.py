"""TeamViewer OAuth end to end: `teamviewer connect`, the browser round trip, the callback,
sealed tokens, refresh before expiry and once on a 401, rotation, and no token in logs or chat."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from sqlalchemy import select

from handlers.remote.config import TeamViewerConfig
from handlers.remote.connection import TeamViewer
from integrations.teamviewer.simulator import TeamViewerSimulator
from storage.audit import AuditEvent
from storage.remote import RemoteSession, TeamViewerAuthRepo, TeamViewerCredential
from tests.bot.test_smoke_console import ConsoleClient
from tests.conftest import LiveServer
from tests.handlers.test_remote import (
    ALEX,
    CLIENT_SECRET,
    FAST,
    RILEY,
    button,
    console,
    device_in,
    remote_server,
)

Pair = tuple[LiveServer, TeamViewerSimulator]


@pytest.fixture
async def oauth(tmp_path: Path) -> AsyncIterator[Pair]:
    async with remote_server(tmp_path, oauth=True) as pair:
        yield pair


async def sign_in(alex: ConsoleClient, *, tamper: bool = False) -> tuple[str, int, str]:
    """Run `teamviewer connect`, allow on the (simulated) TeamViewer page, follow the redirect.

    Returns (callback URL, its status, page text).
    """
    card = await alex.say("teamviewer connect")
    link = button(card, "Sign in to TeamViewer")["url"]
    assert card["private"] is True
    async with aiohttp.ClientSession() as browser:
        async with browser.get(link) as page:
            assert page.status == 200 and "Allow" in await page.text()
        form = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()} | {"decision": "allow"}
        async with browser.post(link.split("?")[0], data=form, allow_redirects=False) as allowed:
            assert allowed.status == 302
            callback = allowed.headers["Location"]
        if tamper:
            callback = callback.replace("state=", "state=x")
        async with browser.get(callback) as done:
            return callback, done.status, await done.text()


async def credential(live: LiveServer) -> TeamViewerCredential | None:
    async with live.runtime.db.uow() as uow:
        return await uow.repo(TeamViewerAuthRepo).credential(live.runtime.tenant_id)


async def test_connect_stores_sealed_tokens_with_pkce(oauth: Pair) -> None:
    server, sim = oauth
    async with console(server, ALEX) as alex:
        before = (await alex.say("teamviewer status"))["card"]["fallback"]
        assert "Not connected yet" in before
        _, status, text = await sign_in(alex)
        assert status == 200 and "TeamViewer is connected" in text
        status_card = (await alex.say("teamviewer status"))["card"]["fallback"]
        device = await device_in(server, "London")
        remote = (await alex.say(f"remote {device}"))["card"]
    assert "OAuth" in status_card and "valid" in status_card and ALEX in status_card
    assert remote["title"] == f"Remote session on {device}"
    row = await credential(server)
    assert row is not None and row.connected_by == ALEX
    access, refresh = sim.issued[0], sim.issued[1]
    assert access not in row.access_token and refresh not in row.refresh_token  # sealed at rest
    assert server.runtime.secrets.open(row.access_token) == access
    [exchange] = sim.token_requests
    assert exchange["grant_type"] == "authorization_code" and exchange["client_secret"] == CLIENT_SECRET
    grant = next(iter(sim.grants.values()))
    digest = hashlib.sha256(exchange["code_verifier"].encode()).digest()
    assert grant.method == "S256"
    assert grant.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    async with server.runtime.db.uow() as uow:
        events = (await uow.session.execute(select(AuditEvent).where(
            AuditEvent.action == "teamviewer.connect"))).scalars().all()
    assert [(e.outcome, e.actor_email) for e in events] == [("ok", ALEX)]


async def test_wrong_or_replayed_state_is_refused(oauth: Pair) -> None:
    server, sim = oauth
    async with console(server, ALEX) as alex:
        _, status, text = await sign_in(alex, tamper=True)
        assert status == 400 and "does not match a pending" in text
        assert await credential(server) is None and sim.token_requests == []
        callback, status, _ = await sign_in(alex)
        assert status == 200
    async with aiohttp.ClientSession() as browser, browser.get(callback) as replay:
        assert replay.status == 400  # the state works once
    async with server.runtime.db.uow() as uow:
        outcomes = (await uow.session.execute(select(AuditEvent.outcome).where(
            AuditEvent.action == "teamviewer.connect").order_by(AuditEvent.id))).scalars().all()
    assert outcomes == ["refused", "ok", "refused"]


async def test_expired_token_is_refreshed_once_and_the_call_retried(oauth: Pair) -> None:
    server, sim = oauth
    async with console(server, ALEX) as alex:
        await sign_in(alex)
        old = await credential(server)
        sim.expire_tokens()  # TeamViewer considers the stored access token expired
        device = await device_in(server, "London")
        card = (await alex.say(f"remote {device}"))["card"]
    assert card["title"] == f"Remote session on {device}"
    # The create and the managed-devices lookup run side by side: both get a 401, but only
    # one refresh happens; each call is retried once with the new token.
    assert sim.refused == 2 and sim.hits["POST /api/v1/sessions"] == 2
    assert [r["grant_type"] for r in sim.token_requests] == ["authorization_code", "refresh_token"]
    new = await credential(server)
    assert old is not None and new is not None and new.version == old.version + 1
    old_refresh = server.runtime.secrets.open(old.refresh_token)
    new_refresh = server.runtime.secrets.open(new.refresh_token)
    # Rotation: the new refresh token replaced the old one, which TeamViewer no longer takes.
    assert new_refresh != old_refresh and sim.refresh == {new_refresh}


async def test_refresh_happens_before_expiry(oauth: Pair) -> None:
    server, sim = oauth
    sim.switches.token_ttl = 120  # inside deskhand's five-minute margin from the start
    async with console(server, ALEX) as alex:
        await sign_in(alex)
        card = (await alex.say(f"remote {await device_in(server, 'London')}"))["card"]
    assert card["title"].startswith("Remote session on")
    assert sim.refused == 0 and "refresh_token" in [r["grant_type"] for r in sim.token_requests]


async def test_a_second_401_is_an_answer_not_a_loop(oauth: Pair) -> None:
    server, sim = oauth
    async with console(server, ALEX) as alex:
        await sign_in(alex)
        sim.switches.unauthorized_next = 10  # TeamViewer keeps refusing, fresh token or not
        device = await device_in(server, "London")
        card = (await alex.say(f"remote {device}"))["card"]
    assert "run `teamviewer connect` again" in card["fallback"]
    assert sim.hits["POST /api/v1/sessions"] == 2  # the first try and one retry after a refresh
    assert [r["grant_type"] for r in sim.token_requests].count("refresh_token") == 1
    async with server.runtime.db.uow() as uow:
        states = (await uow.session.execute(select(RemoteSession.state))).scalars().all()
    assert states == ["failed"]


async def test_two_replicas_refreshing_at_once_both_end_up_valid(oauth: Pair) -> None:
    server, sim = oauth
    async with console(server, ALEX) as alex:
        await sign_in(alex)
    sim.expire_tokens()
    rt = server.runtime
    config = rt.config(TeamViewerConfig)
    one = TeamViewer(rt, rt.tenant_id, config, policy=FAST)
    two = TeamViewer(rt, rt.tenant_id, config, policy=FAST)
    try:
        results = await asyncio.gather(one.client.list_sessions("r1"), two.client.list_sessions("r2"))
    finally:
        await one.aclose()
        await two.aclose()
    assert results == [[], []]
    # The database lease lets one of them spend the refresh token; the other reuses the result.
    assert [r["grant_type"] for r in sim.token_requests].count("refresh_token") == 1
    row = await credential(server)
    assert row is not None and sim.refresh == {server.runtime.secrets.open(row.refresh_token)}


async def test_connect_needs_settings_write_and_oauth_mode(oauth: Pair, tmp_path: Path) -> None:
    server, _ = oauth
    async with console(server, RILEY) as riley:
        assert (await riley.say("teamviewer connect"))["card"]["title"] == "Not allowed"
    async with remote_server(tmp_path / "script") as (script_server, _), \
            console(script_server, ALEX) as alex:
        card = (await alex.say("teamviewer connect"))["card"]
    assert card["title"] == "TeamViewer uses a script token"


async def test_no_token_in_logs_chat_or_audit(oauth: Pair, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server, sim = oauth
    chat: list[dict[str, Any]] = []
    async with console(server, ALEX) as alex:
        _, _, page = await sign_in(alex)
        sim.expire_tokens()
        device = await device_in(server, "London")
        chat.append(await alex.say(f"remote {device}"))
        chat.append(await alex.say("teamviewer status"))
        sim.switches.unauthorized_next = 10
        chat.append(await alex.say(f"remote {device}"))
    secrets = [*sim.issued, CLIENT_SECRET, *(r.get("code_verifier", "") for r in sim.token_requests),
               *(r.get("code", "") for r in sim.token_requests)]
    assert len([s for s in secrets if s]) >= 6
    async with server.runtime.db.uow() as uow:
        audit = " ".join(f"{e.params} {e.detail}" for e in
                         (await uow.session.execute(select(AuditEvent))).scalars().all())
    for secret in filter(None, secrets):
        assert secret not in caplog.text
        assert all(secret not in str(m) for m in chat)
        assert secret not in page and secret not in audit
    assert datetime.now(UTC)  # the run above took real HTTP round trips, nothing was stubbed
