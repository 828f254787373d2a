"""Remote sessions as workflow rows: pending -> open | failed; open -> closing -> closed.

A row is "open" only after TeamViewer created the session. Every vendor call's outcome is audited
in the same transaction as the row's move, and a failed call leaves the row where it was (or
failed), never half-done.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

from bot import places
from bot.audit import Audit
from bot.context import Context
from bot.errors import Conflict, NotFound, UserError
from bot.model import ReplyTarget
from bot.rbac import DeviceScope
from bot.workflow import Workflow
from handlers.remote.cards import when
from handlers.remote.connection import NOT_CONFIGURED, TeamViewer, teamviewer
from integrations.http import Cause, VendorError
from storage.devices import Device, DeviceRepo
from storage.directory import DirectoryRepo
from storage.remote import RemoteSession, RemoteSessionRepo
from storage.uow import UnitOfWork

PENDING, OPEN, FAILED, CLOSING, CLOSED = "pending", "open", "failed", "closing", "closed"
SESSIONS = Workflow("remote session", RemoteSession, {
    PENDING: (OPEN, FAILED),
    OPEN: (CLOSING, CLOSED),
    CLOSING: (CLOSED, OPEN),  # back to open when TeamViewer would not close it
})


def _describe(device: Device, who: str, email: str | None, ticket: str | None, note: str) -> str:
    parts = [f"{device.name}{f' ({device.fqdn})' if device.fqdn else ''}",
             f"requested by {who} via deskhand at {when(datetime.now(UTC))}",
             f"ticket {ticket}" if ticket else "", f"for {email}" if email else "",
             f"note: {note}" if note else ""]
    return " | ".join(p for p in parts if p)


async def _full_client(ctx: Context, tv: TeamViewer, device: Device) -> bool | None:
    """Managed in TeamViewer (by name or FQDN) means the full client is installed."""
    try:
        for name in filter(None, (device.name, device.fqdn)):
            if await tv.client.managed_device(ctx.correlation_id, name) is not None:
                return True
        return False
    except VendorError:
        return None  # unknown: the card offers both routes


async def _connected(ctx: Context) -> TeamViewer:
    tv = await teamviewer(ctx.runtime, ctx.tenant_id)
    if tv.mode == "off":
        raise UserError(NOT_CONFIGURED, title="TeamViewer is not set up")
    return tv


async def start(ctx: Context, device: Device, email: str | None, ticket: str | None,
                note: str, reply_to: ReplyTarget) -> RemoteSession:
    """Ask TeamViewer for a session on `device`; the row is open once TeamViewer created it."""
    tv = await _connected(ctx)
    who = ctx.actor.principal.email
    description = _describe(device, who, email, ticket, note)[:1000]
    customer = None
    async with ctx.runtime.db.uow() as uow:
        if email:
            person = await uow.repo(DirectoryRepo).principal_by_email(ctx.tenant_id, email)
            customer = {"name": (person.display_name if person else email.split("@")[0])[:100],
                        "email": email}
        row = await uow.repo(RemoteSessionRepo).add(RemoteSession(
            tenant_id=ctx.tenant_id, state=PENDING, device_id=device.id, device_name=device.name,
            requester_id=ctx.actor.principal.id, requester_email=who, end_customer=email,
            ticket=ticket, note=note, description=description, correlation_id=ctx.correlation_id,
            reply_to=places.stored(reply_to, ctx.actor)))
        await uow.commit()
    full = asyncio.create_task(_full_client(ctx, tv, device))
    try:
        session = await tv.client.create_session(
            ctx.correlation_id, groupname=tv.group, description=description,
            marker=f"deskhand:{ctx.correlation_id}:{row.id}", end_customer=customer)
    except VendorError as exc:
        full.cancel()
        async with ctx.runtime.db.uow() as uow:
            await SESSIONS.move(uow, ctx.tenant_id, row.id, PENDING, FAILED,
                                end_state=f"not created: {exc.code}")
            await _audit(uow, ctx, "teamviewer.session.create", "failed", device.name,
                         {"device": device.name, "error": exc.code}, exc.message)
            await uow.commit()
        raise UserError(f"No session was started on {device.name}. {exc.message}",
                        title="TeamViewer did not start a session") from None
    values: dict[str, Any] = {"code": session.code, "supporter_link": session.supporter_link,
              "end_customer_link": session.end_customer_link,
              "webclient_link": session.webclient_supporter_link or session.supporter_link,
              "valid_until": session.valid_until, "full_client": await full}
    async with ctx.runtime.db.uow() as uow:
        opened = await SESSIONS.move(uow, ctx.tenant_id, row.id, PENDING, OPEN, **values)
        if opened:
            await _audit(uow, ctx, "teamviewer.session.create", "ok", device.name,
                         {"session": session.code, "device": device.name, "ticket": ticket,
                          "for": email, "full_client": values["full_client"]}, description)
        await uow.commit()
        row = await uow.repo(RemoteSessionRepo).get(ctx.tenant_id, row.id) or row
    if not opened:  # TeamViewer took so long that the sweep gave the row up: end this one too
        with contextlib.suppress(VendorError):
            await tv.client.close_session(ctx.correlation_id, session.code)
        raise UserError(f"TeamViewer answered too late, so the session on {device.name} was not "
                        "kept. Start it again.", title="TeamViewer did not start a session")
    ctx.audit_params["session"] = session.code
    return row


async def _audit(uow: UnitOfWork, ctx: Context, action: str, outcome: str, target: str,
                 params: dict[str, object], detail: str = "") -> None:
    """The vendor call's outcome, committed together with the row's state change."""
    await Audit.add(uow, ctx.tenant_id, "external", action, outcome, actor=ctx.actor,
                    correlation_id=ctx.correlation_id, target=target, params=params, detail=detail)


async def load(ctx: Context, row_id: int | None = None, code: str | None = None
                ) -> tuple[RemoteSession, DeviceScope]:
    """The row from the database (never from a button) and its device's current scope."""
    async with ctx.runtime.db.uow() as uow:
        sessions, inventory = uow.repo(RemoteSessionRepo), uow.repo(DeviceRepo)
        row = (await sessions.get(ctx.tenant_id, row_id) if row_id is not None
               else await sessions.by_code(ctx.tenant_id, code or ""))
        if row is None:
            what = f"No session {code} was" if code else "This session was not"
            raise NotFound(f"{what} started through deskhand; `remote list` shows your open "
                           "sessions.", title="Unknown session")
        device = await inventory.find(ctx.tenant_id, row.device_name)
        group = await inventory.group(device.management_group_id) \
            if device is not None and device.management_group_id else None
    ctx.target = row.device_name
    ctx.audit_params["session"] = row.code
    return row, DeviceScope(row.device_name, group.name if group else None)


async def require_owner(ctx: Context, row: RemoteSession, scope: DeviceScope, what: str) -> None:
    """A session's links and its end belong to whoever started it; anyone else needs
    remote.manage over the device (audited when refused)."""
    await ctx.require("remote.session", f"{what} the remote session on {row.device_name}", scope)
    if row.requester_id != ctx.actor.principal.id:
        await ctx.require("remote.manage", f"{what} the remote session {row.requester_email} "
                          f"started on {row.device_name}", scope)


async def close_session(ctx: Context, row: RemoteSession, scope: DeviceScope) -> RemoteSession:
    await require_owner(ctx, row, scope, "close")
    if row.state == CLOSED:
        return row
    if row.state != OPEN or row.code is None:
        raise Conflict(f"This session is {row.state}; there is nothing to close.")
    rt, who = ctx.runtime, ctx.actor.principal.email
    async with rt.db.uow() as uow:
        claimed = await SESSIONS.move(uow, ctx.tenant_id, row.id, OPEN, CLOSING)
        await uow.commit()
    if not claimed:
        raise Conflict("Someone is closing this session right now; refresh in a moment.")
    end = f"closed by {who}"
    try:
        await (await teamviewer(rt, ctx.tenant_id)).client.close_session(
            ctx.correlation_id, row.code,
            description=f"{row.description} | {end} at {when(datetime.now(UTC))}")
    except VendorError as exc:
        if exc.cause is not Cause.NOT_FOUND:
            async with rt.db.uow() as uow:
                await SESSIONS.move(uow, ctx.tenant_id, row.id, CLOSING, OPEN)
                await _audit(uow, ctx, "teamviewer.session.close", "failed", row.device_name,
                             {"session": row.code, "error": exc.code}, exc.message)
                await uow.commit()
            raise UserError(f"Session {row.code} is still open. {exc.message}",
                            title="TeamViewer did not close the session") from None
        end = "already gone from TeamViewer"
    async with rt.db.uow() as uow:
        await SESSIONS.move(uow, ctx.tenant_id, row.id, CLOSING, CLOSED,
                            closed_at=datetime.now(UTC), closed_by=who, end_state=end[:300])
        await _audit(uow, ctx, "teamviewer.session.close", "ok", row.device_name,
                     {"session": row.code, "end_state": end})
        await uow.commit()
        row = await uow.repo(RemoteSessionRepo).get(ctx.tenant_id, row.id) or row
    return row


async def refresh_session(ctx: Context, row: RemoteSession, scope: DeviceScope) -> tuple[RemoteSession, str]:
    await require_owner(ctx, row, scope, "see")
    if row.state != OPEN or row.code is None:
        return row, ""
    try:
        tv = await teamviewer(ctx.runtime, ctx.tenant_id)
        live = await tv.client.get_session(ctx.correlation_id, row.code)
    except VendorError as exc:
        if exc.cause is not Cause.NOT_FOUND:
            raise
        live = None
    state = live.state.lower() if live else "unknown to TeamViewer"
    checked = f"TeamViewer says {state} at {datetime.now(UTC):%H:%M:%S} UTC."
    if live is None or not live.open:
        expired = live is not None and live.valid_until is not None \
            and live.valid_until <= datetime.now(UTC)
        gone = "closed in TeamViewer" if live else "gone from TeamViewer"
        end = "expired" if expired else gone
        async with ctx.runtime.db.uow() as uow:
            if await SESSIONS.move(
                    uow, ctx.tenant_id, row.id, OPEN, CLOSED, end_state=end,
                    closed_at=(live.closed_at if live else None) or datetime.now(UTC)):
                await _audit(uow, ctx, "teamviewer.session.close", "ok", row.device_name,
                             {"session": row.code, "end_state": end})
            await uow.commit()
            row = await uow.repo(RemoteSessionRepo).get(ctx.tenant_id, row.id) or row
    return row, checked
