"""The console in production: no persona picker, single-use sign-in links, a session cookie.

Driven over real HTTP and WebSocket against `deskhand` in production mode with the console on;
links come from the `console` chat command (Slack, Teams), from `deskhand console-link` and,
where the test is about the link itself, from bot/console_signin.issue_link.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, update

from bot import console_signin
from storage.audit import AuditRepo
from storage.console import ConsoleToken
from storage.directory import DirectoryRepo
from tests.bot.conftest import CONSOLE
from tests.bot.test_cli import _env, run
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server
from tests.fakes.bot_connector import ALEX as TEAMS_ALEX
from tests.fakes.bot_connector import FakeBotFramework, teams_deskhand
from tests.fakes.slack_api import ALEX, slack_env

EMAIL = "alex.admin@example.com"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # Cookies are passed by hand: each test says exactly which cookie a request carries.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def new_link(server: LiveServer, email: str = EMAIL) -> str:
    async with server.runtime.db.uow() as uow:
        person = await uow.repo(DirectoryRepo).principal_by_email(server.runtime.tenant_id, email)
        assert person is not None
        link = await console_signin.issue_link(uow, person, server.url, 5, by="test")
        await uow.commit()
    return link.url


def origin(server: LiveServer) -> dict[str, str]:
    return {"Origin": server.url}


async def sign_in(http: aiohttp.ClientSession, server: LiveServer, url: str) -> SimpleCookie:
    async with http.post(url, headers=origin(server), allow_redirects=False) as r:
        assert r.status == 303, await r.text()
        assert r.headers["Location"] == "/console"
        return SimpleCookie(r.headers["Set-Cookie"])


def carrying(cookie: SimpleCookie, **extra: str) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={m.value}" for k, m in cookie.items()), **extra}


async def console_ws(http: aiohttp.ClientSession, server: LiveServer,
                     cookie: SimpleCookie) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"{server.url}/console/ws", headers=carrying(cookie, **origin(server)))
    hello = await ws.receive_json(timeout=10)
    assert hello["type"] == "hello" and hello["persona"] == EMAIL
    return ws


async def next_card(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        data = await ws.receive_json(timeout=10)
        if data["type"] == "message" and data["message"]["kind"] == "card":
            return dict(data["message"]["card"])


async def tokens(server: LiveServer) -> list[ConsoleToken]:
    async with server.runtime.db.uow() as uow:
        return list((await uow.session.execute(select(ConsoleToken))).scalars())


async def test_production_has_no_persona_picker_and_warns_at_start(
        tmp_path: Path, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "deskhand.console")
    port = free_port()
    runner, server = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}", **CONSOLE))
    try:
        assert any("web console is on in production" in r.getMessage() and "not https" in
                   r.getMessage() for r in caplog.records)
        async with http.get(f"{server.url}/console/api/personas") as r:
            assert r.status == 404
        async with http.get(f"{server.url}/console") as r:
            assert r.status == 401
            page = await r.text()
            assert "single-use link" in page and "alex.admin" not in page
        async with http.get(f"{server.url}/console/api/session") as r:
            assert r.status == 401
        for query in ("", "?persona=1"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(f"{server.url}/console/ws{query}", headers=origin(server))
            assert refused.value.status == 401
    finally:
        await runner.cleanup()


async def test_a_link_signs_in_one_browser_once(console_server: LiveServer,
                                                 http: aiohttp.ClientSession) -> None:
    url = await new_link(console_server)
    for _ in range(2):  # a link preview (GET) uses nothing up
        async with http.get(url) as r:
            assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
            assert r.headers["Referrer-Policy"] == "same-origin"
            assert 'method="post"' in await r.text()
    for headers in ({}, {"Origin": "https://evil.example"}):  # a POST from another site
        async with http.post(url, headers=headers, allow_redirects=False) as r:
            assert r.status == 403 and "another site" in await r.text()

    cookie = await sign_in(http, console_server, url)
    [(name, morsel)] = cookie.items()
    assert name == "deskhand-console"  # http: no Secure, so no __Host- prefix
    assert morsel["httponly"] and morsel["samesite"] == "Strict" and morsel["path"] == "/"
    assert not morsel["secure"]
    assert 12 * 3600 - 60 <= int(morsel["max-age"]) <= 12 * 3600

    async with http.get(f"{console_server.url}/console", headers=carrying(cookie)) as r:
        assert r.status == 200 and "console.js" in await r.text()
    async with http.get(f"{console_server.url}/console/api/session", headers=carrying(cookie)) as r:
        session = await r.json()
    assert session["mode"] == "signed-in" and session["persona"]["email"] == EMAIL
    assert "Full Administrator" in session["persona"]["roles"]

    ws = await console_ws(http, console_server, cookie)
    await ws.send_json({"type": "command", "text": "whoami"})
    assert "Alex Admin" in json.dumps(await next_card(ws))
    await ws.close()

    async with http.post(url, headers=origin(console_server), allow_redirects=False) as r:
        assert r.status == 403 and "already used" in await r.text()
    # Only hashes are stored: neither the link's token nor the cookie is in the database.
    stored = {t.token_hash for t in await tokens(console_server)}
    assert url.rsplit("/", 1)[1] not in stored and morsel.value not in stored
    async with console_server.runtime.db.uow() as uow:
        trail = [(e.action, e.outcome) for e in await uow.repo(AuditRepo).query(
            console_server.runtime.tenant_id) if e.kind == "signin"]
    assert sorted(trail) == [("console.link", "ok"), ("console.signin", "ok"),
                             ("console.signin", "refused")]


async def test_expired_guessed_and_forged_are_refused(console_server: LiveServer,
                                                      http: aiohttp.ClientSession) -> None:
    url = await new_link(console_server)
    async with console_server.runtime.db.uow() as uow:
        await uow.session.execute(update(ConsoleToken).values(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await uow.commit()
    async with http.post(url, headers=origin(console_server), allow_redirects=False) as r:
        assert r.status == 403 and "has expired" in await r.text()
    signin = f"{console_server.url}/console/signin/"
    for bad in (signin + secrets.token_urlsafe(32), signin + "short", signin + "%C3%A9" * 43):
        async with http.post(bad, headers=origin(console_server), allow_redirects=False) as r:
            assert r.status == 403 and "not valid" in await r.text(), bad

    good = await sign_in(http, console_server, await new_link(console_server))
    forged = [SimpleCookie({"deskhand-console": secrets.token_urlsafe(32)}),
              SimpleCookie({"deskhand-console": "x" * 5000}),
              SimpleCookie({"other": good["deskhand-console"].value})]
    link_as_cookie = (await new_link(console_server)).rsplit("/", 1)[1]  # a link is not a session
    forged.append(SimpleCookie({"deskhand-console": link_as_cookie}))
    for cookie in forged:
        async with http.get(f"{console_server.url}/console", headers=carrying(cookie)) as r:
            assert r.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"{console_server.url}/console/ws",
                                  headers=carrying(cookie, **origin(console_server)))
        assert refused.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as cross_site:
        await http.ws_connect(f"{console_server.url}/console/ws",
                              headers=carrying(good, Origin="https://evil.example"))
    assert cross_site.value.status == 403


async def test_logout_deactivation_and_sign_out_end_sessions(
        tmp_path: Path, console_server: LiveServer, http: aiohttp.ClientSession) -> None:
    env = _env(console_server.runtime.settings.database_url, DESKHAND_MODE="production",
               DESKHAND_CONSOLE_ENABLED="true", DESKHAND_PUBLIC_URL=console_server.url)
    [made, demo, nobody] = run((env, ["console-link", EMAIL]),
                               ({**env, "DESKHAND_MODE": "demo"}, ["console-link", EMAIL]),
                               (env, ["console-link", "eve@example.com"]), cwd=tmp_path)
    assert made.code == 0 and made.out.startswith(f"{console_server.url}/console/signin/")
    assert demo.code == 1 and "in demo/dev mode anyone picks a persona" in demo.err
    assert nobody.code == 1 and "nobody with the email eve@example.com" in nobody.err
    cookie = await sign_in(http, console_server, made.out.split()[0])
    ws = await console_ws(http, console_server, cookie)

    [ended] = run((env, ["console-logout", EMAIL]), cwd=tmp_path)
    assert ended.code == 0 and ended.out.strip() == f"{EMAIL}: 1 console session(s) and link(s) ended"
    await ws.send_json({"type": "command", "text": "help"})
    assert (await ws.receive_json(timeout=10))["type"] == "signed-out"
    closed = await ws.receive(timeout=10)
    assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401
    async with http.get(f"{console_server.url}/console/api/session", headers=carrying(cookie)) as r:
        assert r.status == 401

    cookie = await sign_in(http, console_server, await new_link(console_server))
    unused = await new_link(console_server)
    await set_active(console_server, False)  # what SCIM does when the IdP deactivates someone
    async with http.get(f"{console_server.url}/console", headers=carrying(cookie)) as r:
        assert r.status == 401
    async with http.post(unused, headers=origin(console_server)) as r:
        assert r.status == 403 and "deactivated" in await r.text()
    with pytest.raises(console_signin.SignInRefused, match="deactivated"):
        await new_link(console_server)
    await set_active(console_server, True)

    cookie = await sign_in(http, console_server, await new_link(console_server))
    async with http.post(f"{console_server.url}/console/signout",
                         headers=carrying(cookie, **origin(console_server))) as r:
        assert r.status == 204 and "deskhand-console=\"\"" in r.headers["Set-Cookie"]
    async with http.get(f"{console_server.url}/console", headers=carrying(cookie)) as r:
        assert r.status == 401


async def set_active(server: LiveServer, active: bool) -> None:
    async with server.runtime.db.uow() as uow:
        person = await uow.repo(DirectoryRepo).principal_by_email(server.runtime.tenant_id, EMAIL)
        assert person is not None
        person.active = active
        await uow.commit()


async def test_https_public_url_makes_a_secure_host_only_cookie(
        tmp_path: Path, http: aiohttp.ClientSession) -> None:
    port = free_port()
    runner, server = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url="https://deskhand.example.com", **CONSOLE))
    try:
        url = (await new_link(server)).replace("https://deskhand.example.com", server.url)
        [(name, morsel)] = (await sign_in(http, server, url)).items()
        assert name == "__Host-deskhand-console" and morsel["secure"] and morsel["path"] == "/"
    finally:
        await runner.cleanup()


async def test_console_command_sends_a_link_only_where_only_you_see_it(
        tmp_path: Path, fake: FakeBotFramework) -> None:
    async with slack_env(tmp_path / "slack", **CONSOLE) as env:
        status, _, _ = await env.command(ALEX, "/deskhand", "console")
        assert status == 200
        await env.idle()
        [reply] = env.fake.called("response_url")
        assert reply.args["response_type"] == "ephemeral"
        blocks = json.dumps(reply.args["blocks"])
        assert "Sign in to the deskhand console" in blocks and "/console/signin/" in blocks
        assert env.fake.called("chat.postMessage") == []
        [row] = await tokens(env.server)
        assert row.kind == "link"

    async with teams_deskhand(tmp_path / "teams", fake, console_enabled=True) as server:
        # In a channel, with no 1:1 chat with deskhand yet: no link is made at all.
        await fake.send(server.url, fake.activity(
            "message_channel_mention", TEAMS_ALEX, text="<at>deskhand</at> console"))
        [answer] = await fake.wait_for("send", "reply", count=1)
        assert "Ask me in a private chat" in json.dumps(answer.cards)
        assert await tokens(server) == []
        await fake.send(server.url, fake.activity("message_personal", TEAMS_ALEX, text="console"))
        posted = await fake.wait_for("send", "reply", count=2)
        card = json.dumps(posted[1].cards)
        assert "Sign in to the deskhand console" in card and "/console/signin/" in card
        assert posted[1].conversation != answer.conversation
        assert len(await tokens(server)) == 1


@pytest.mark.parametrize(("settings", "answer"), [
    ({"mode": "production"}, "The console is off"),
    ({"mode": "dev"}, "needs no sign-in"),
])
async def test_console_command_without_sign_in(tmp_path: Path, settings: dict[str, Any],
                                               answer: str) -> None:
    async with slack_env(tmp_path, **settings) as env:
        await env.command(ALEX, "/deskhand", "console")
        await env.idle()
        [reply] = env.fake.called("response_url")
        assert answer in json.dumps(reply.args["blocks"])
        assert await tokens(env.server) == []
