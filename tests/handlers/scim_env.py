"""Helpers of the SCIM tests: deskhand on loopback with a tenant token, an IdP-shaped HTTP
client, the console persona of a provisioned person, and a role granted to a directory group."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from multidict import CIMultiDict

from bot import rbac_admin
from bot.rbac_admin import Granter
from handlers.scim import tokens
from storage.tenants import TenantRepo
from tests.bot.platforms._drivers import ConsoleClient, persona_id
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server

MEDIA = "application/scim+json"
OKTA_AGENT = {"User-Agent": "Okta SCIM Client 1.0.0"}


@dataclass
class Idp:
    """An IdP's SCIM connection: the base URL and the tenant's bearer token."""

    http: aiohttp.ClientSession
    base: str
    token: str
    headers: dict[str, str]

    async def call(self, method: str, path: str, body: Any = None, *,
                   raw: bytes | None = None, token: str | None = None,
                   params: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, CIMultiDict[str], Any]:
        headers = {**self.headers, "Authorization": f"Bearer {token or self.token}",
                   **(headers or {})}
        data = raw
        if body is not None:
            import json

            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = MEDIA
        async with self.http.request(method, self.base + path, data=data, headers=headers,
                                     params=params) as r:
            text = await r.read()
            parsed = None
            if text:
                assert r.headers["Content-Type"].startswith(MEDIA), r.headers["Content-Type"]
                parsed = await r.json(content_type=None)
            return r.status, CIMultiDict(r.headers), parsed


async def issue_token(server: LiveServer, slug: str = "acme") -> str:
    async with server.runtime.db.uow() as uow:
        await uow.repo(TenantRepo).ensure(slug, slug.title())
        secret = await tokens.issue(uow, slug, rotate=False)
        await uow.commit()
    return secret


@asynccontextmanager
async def scim_server(tmp_path: Path, url: str | None = None) -> AsyncIterator[LiveServer]:
    port = free_port()
    settings = make_settings(url or sqlite_url(tmp_path), port=port,
                             public_url=f"http://127.0.0.1:{port}")
    runner, live = await start_server(settings)
    try:
        yield live
    finally:
        await runner.cleanup()


@asynccontextmanager
async def idp(server: LiveServer, token: str,
              headers: dict[str, str] | None = None) -> AsyncIterator[Idp]:
    async with aiohttp.ClientSession() as http:
        yield Idp(http, server.url + "/scim/v2", token, headers or {})


async def grant_group(server: LiveServer, role: str, group: str) -> None:
    async with server.runtime.db.uow() as uow:
        await rbac_admin.grant(uow, server.runtime.tenant_id, Granter("test"), role, group=group)
        await uow.commit()


async def say(server: LiveServer, email: str, text: str) -> dict[str, Any]:
    """What deskhand answers `email` in the console (a fresh connection: a fresh decision)."""
    pid = await persona_id(server, email)
    async with aiohttp.ClientSession() as s, \
            s.ws_connect(f"{server.url}/console/ws?persona={pid}") as ws:
        client = ConsoleClient(ws)
        await client.next("hello")
        return (await client.say(text))["card"]  # type: ignore[no-any-return]
