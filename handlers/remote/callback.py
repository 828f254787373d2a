"""GET /oauth/teamviewer/callback: where TeamViewer sends the admin back after `teamviewer connect`.

The state is checked once only and the person who asked for the link must still hold
settings.write; every outcome is audited and answered with a short HTML page and a reference.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from aiohttp import web

from bot.model import new_correlation_id
from bot.rbac import decide, grants_of
from handlers.remote.connection import teamviewer
from integrations.http import VendorError
from integrations.teamviewer.oauth import ConnectRefused, state_hash
from storage.directory import DirectoryRepo
from storage.remote import TeamViewerAuthRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

def _page(status: int, title: str, text: str) -> web.Response:
    return web.Response(status=status, content_type="text/html", headers={"Cache-Control": "no-store"},
                        text=(f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>"
                              f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"))


async def oauth_callback(runtime: Runtime, request: web.Request) -> web.Response:
    cid = new_correlation_id()
    async with runtime.db.uow() as uow:  # whose sign-in this is: the tenant that asked for it
        tenant_id = await uow.repo(TeamViewerAuthRepo).state_tenant(
            state_hash(request.query.get("state", ""))) or runtime.tenant_id
    tv = await teamviewer(runtime, tenant_id)
    audit = runtime.audit

    async def record(outcome: str, detail: str, who: str | None = None) -> None:
        await audit.record(tenant_id, "external", "teamviewer.connect", outcome,
                           actor_label=who or "teamviewer oauth callback", correlation_id=cid,
                           target="TeamViewer", detail=detail)

    if tv.oauth is None:
        return _page(404, "TeamViewer sign-in is not configured",
                     "deskhand uses a script token or has no TeamViewer OAuth app configured.")
    if request.query.get("error"):
        reason = request.query["error"][:100]
        await record("refused", f"TeamViewer sign-in returned error {reason}")
        return _page(400, "TeamViewer was not connected",
                     f"The sign-in ended with '{reason}'. Run `teamviewer connect` to try again.")

    async def authorize(principal_id: int) -> str:
        async with runtime.db.uow() as uow:
            person = await uow.repo(DirectoryRepo).principal(principal_id)
            if person is None or person.tenant_id != tenant_id:
                raise ConnectRefused("The person who asked for this link no longer exists.")
            grants = await grants_of(uow, tenant_id, principal_id)
        if not decide(grants, "settings.write", active=person.active).allowed:
            raise ConnectRefused(f"{person.email} no longer holds settings.write.")
        return person.email

    try:
        who = await tv.oauth.complete(request.query.get("state", ""), request.query.get("code", ""),
                                      cid, authorize)
    except ConnectRefused as exc:
        await record("refused", str(exc))
        return _page(400, "TeamViewer was not connected", f"{exc} (ref {cid})")
    except VendorError as exc:
        await record("failed", exc.message)
        return _page(502, "TeamViewer was not connected", f"{exc.message} (ref {cid})")
    await record("ok", "OAuth tokens stored (sealed)", who)
    return _page(200, "TeamViewer is connected",
                 f"deskhand can now start remote sessions. Connected by {who}. "
                 "You can close this tab.")
