"""The production console signs each person in to their own tenant: a session of beta's Alex
works in beta (beta's person, beta's grants), in beta's room; it never sees acme's room, and a
click naming acme's message or acme's row changes nothing of acme's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot import console_signin
from bot.model import ReplyTarget
from bot.platforms.console.hub import ROOM
from cards.model import message_card
from storage.directory import DirectoryRepo
from tests.bot.platforms.test_console_signin import carrying, console_ws, origin, sign_in
from tests.bot.tenants_env import ALEX, BETA_ALEX, acme_rows, add_beta, unchanged
from tests.conftest import LiveServer


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


async def link_for(server: LiveServer, tenant_id: int) -> str:
    async with server.runtime.db.uow() as uow:
        person = await uow.repo(DirectoryRepo).principal_by_email(tenant_id, ALEX)
        assert person is not None
        link = await console_signin.issue_link(uow, person, server.url, 5, by="test")
        await uow.commit()
    return link.url


async def next_message(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        data = await ws.receive_json(timeout=10)
        if data["type"] in ("message", "update") and data["message"]["kind"] == "card":
            return {"type": data["type"], **data["message"]}


async def test_a_console_session_works_in_its_persons_tenant_only(
        console_server: LiveServer, http: aiohttp.ClientSession) -> None:
    server, rt = console_server, console_server.runtime
    beta = await add_beta(rt)
    rows = await acme_rows(rt)
    acme_cookie = await sign_in(http, server, await link_for(server, rt.tenant_id))
    beta_cookie = await sign_in(http, server, await link_for(server, beta))
    async with http.get(f"{server.url}/console/api/session",
                        headers=carrying(beta_cookie)) as r:
        session = (await r.json())["persona"]
    assert session["name"] == BETA_ALEX and session["roles"] == ["Full Administrator"]

    acme_ws = await console_ws(http, server, acme_cookie)
    beta_ws = await console_ws(http, server, beta_cookie)
    try:
        await beta_ws.send_json({"type": "command", "text": "whoami"})
        assert (await next_message(beta_ws))["card"]["title"] == f"You are {BETA_ALEX}"
        await acme_ws.send_json({"type": "command", "text": "whoami"})
        assert (await next_message(acme_ws))["card"]["title"] == "You are Alex Admin"

        # A card in acme's room reaches acme's people only.
        hub = rt.platforms["console"].messenger
        posted = await hub.post(ReplyTarget("console", ROOM),
                                message_card("Acme's approvers", "run 7 waits"))
        assert (await next_message(acme_ws))["id"] == posted.message_id
        # Beta's Alex clicks Approve on acme's request, naming acme's message: nothing of acme's
        # changes, the card in acme's room included; beta's Alex hears of no such request.
        await beta_ws.send_json({"type": "action", "message_id": posted.message_id,
                                 "action_id": f"approval.approve:{rows.request}",
                                 "value": str(rows.request)})
        answer = await next_message(beta_ws)
        assert answer["type"] == "message" and answer["private"]
        assert f"There is no approval request {rows.request}" in answer["card"]["fallback"]
        assert await unchanged(rt, rows)
        await acme_ws.send_json({"type": "command", "text": "whoami"})
        assert (await next_message(acme_ws))["card"]["title"] == "You are Alex Admin"  # no update
        with_history = await http.ws_connect(f"{server.url}/console/ws",
                                             headers=carrying(beta_cookie, **origin(server)))
        hello = await with_history.receive_json(timeout=10)
        await with_history.close()
        assert posted.message_id not in {m["id"] for m in hello["history"]}
        assert not [m for m in hello["history"] if "Alex Admin" in str(m["card"])]
    finally:
        await asyncio.gather(acme_ws.close(), beta_ws.close())


async def test_a_download_link_serves_its_own_tenants_person_only(
        console_server: LiveServer, http: aiohttp.ClientSession) -> None:
    """Links carry the tenant and the person they were made for; each download checks that the
    person is still of that tenant (and may), so a link never serves one tenant's data to
    another tenant's person."""
    rt = console_server.runtime
    beta = await add_beta(rt)
    rows = await acme_rows(rt)
    async with rt.db.uow() as uow:
        ours = await uow.repo(DirectoryRepo).principal_by_email(rt.tenant_id, ALEX)
        theirs = await uow.repo(DirectoryRepo).principal_by_email(beta, ALEX)
    assert ours is not None and theirs is not None
    for person, status in ((ours.id, 200), (theirs.id, 403)):
        for kind, payload in (("audit.csv", {"t": rt.tenant_id, "p": person, "f": {}}),
                              ("instruction.export", {"t": rt.tenant_id, "p": person, "r": rows.run,
                                              "f": "csv"})):
            async with http.get(rt.downloads.url(kind, payload)) as r:
                assert r.status == status, (kind, person, await r.text())
