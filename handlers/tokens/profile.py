"""The one-time download of a token's Delta Sharing profile file.

`token download` sends its creator a signed link (bot/downloads.py; nothing is stored for it).
Opening the link shows a page with one button; pressing it (a POST, so a link preview or a
mail scanner that fetches the page never uses it up) makes the secret, stores its hash, turns
the token active and answers the file. The token's move from pending is a compare-and-set, so
the link gives out a file exactly once; the creator's token.write is checked again then.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING

from aiohttp import web

from bot.downloads import LinkError
from bot.origin import same_origin
from bot.rbac import decide, grants_of
from handlers.tokens import PROFILE_PATH, lifecycle, texts
from storage.directory import DirectoryRepo
from storage.tokens import DataAccessToken

if TYPE_CHECKING:
    from bot.runtime import Runtime

KIND = "token.profile"
LINK_MINUTES = 15
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
           "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"}


def link(runtime: Runtime, row: DataAccessToken, principal_id: int) -> str:
    signed = runtime.downloads.sign(KIND, {"t": row.tenant_id, "id": row.id, "by": principal_id},
                                    ttl=LINK_MINUTES * 60)
    return f"{runtime.settings.public_url.rstrip('/')}{PROFILE_PATH}{signed}"


def profile_file(runtime: Runtime, row: DataAccessToken, secret: str) -> bytes:
    """The Delta Sharing profile (integrations.md 6.1), version 1."""
    expires = row.expires_at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return json.dumps({"shareCredentialsVersion": 1,
                       "endpoint": f"{runtime.settings.public_url.rstrip('/')}/sharing/",
                       "bearerToken": secret, "expirationTime": expires}, indent=2).encode()


def _page(title: str, body: str, status: int) -> web.Response:
    return web.Response(status=status, content_type="text/html", charset="utf-8", headers=HEADERS,
                        text=f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>"
                             f"<meta name=robots content=noindex></head><body style='font-family:"
                             f"sans-serif;max-width:40em;margin:3em auto'><h1>{title}</h1>{body}"
                             "</body></html>")


def _payload(runtime: Runtime, request: web.Request) -> dict[str, int] | None:
    try:
        kind, payload = runtime.downloads.verify(request.match_info["link"])
    except LinkError:
        return None
    values = {k: payload.get(k) for k in ("t", "id", "by")}
    if kind != KIND or not all(isinstance(v, int) for v in values.values()):
        return None
    return values  # type: ignore[return-value]


async def confirm(runtime: Runtime, request: web.Request) -> web.StreamResponse:
    payload = _payload(runtime, request)
    if payload is None:
        return _page(texts.PAGE_TITLE, f"<p>{html.escape(texts.LINK_INVALID)}</p>", 410)
    action = html.escape(PROFILE_PATH + request.match_info["link"], quote=True)
    ask = texts.PAGE_ASK.format(id=payload["id"])
    return _page(texts.PAGE_TITLE, f"<p>{html.escape(ask)}</p><form method=post action=\"{action}\">"
                                   "<button type=submit>Download the profile file</button></form>", 200)


async def redeem(runtime: Runtime, request: web.Request) -> web.StreamResponse:
    if "Origin" in request.headers and not same_origin(request, runtime.settings.public_url):
        return _page(texts.PAGE_TITLE, f"<p>{html.escape(texts.LINK_FOREIGN)}</p>", 403)
    payload = _payload(runtime, request)
    if payload is None:
        return _page(texts.PAGE_TITLE, f"<p>{html.escape(texts.LINK_INVALID)}</p>", 410)
    tenant, token_id, principal_id = payload["t"], payload["id"], payload["by"]
    async with runtime.db.uow() as uow:
        person = await uow.repo(DirectoryRepo).principal(principal_id)
        grants = await grants_of(uow, tenant, principal_id) if person else []
    if person is None or person.tenant_id != tenant or not decide(
            grants, "token.write", active=person.active).allowed:
        return _page(texts.PAGE_TITLE, f"<p>{html.escape(texts.LINK_INVALID)}</p>", 403)
    done = await lifecycle.activate(runtime.db, tenant, token_id, principal_id)
    if done is None:
        return _page(texts.PAGE_TITLE, f"<p>{html.escape(texts.LINK_USED)}</p>", 410)
    row, secret = done
    name = f"deskhand-token-{row.id}.share"
    return web.Response(body=profile_file(runtime, row, secret), headers={
        **HEADERS, "Content-Type": "application/json",
        "Content-Disposition": f'attachment; filename="{name}"'})


