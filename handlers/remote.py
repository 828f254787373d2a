"""`remote`: TeamViewer sessions from chat; `teamviewer connect|status` for administrators.

A session row is "open" only after TeamViewer created the session; buttons carry the row id
and every click re-reads the row and re-checks `remote.session` over the device's group.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

from bot.audit import Audit
from bot.context import Context, Reply, UserError
from bot.model import Command, Interaction
from bot.rbac import DeviceScope
from bot.registry import ActionSpec, Arg, CommandSpec, Registry
from cards.model import Button, Card, Confirm, Field, Fields, Section, Table, Text
from cards.model import Context as Small
from handlers.common import find_device
from integrations.http import VendorError
from integrations.teamviewer.service import NOT_CONFIGURED, TeamViewer, teamviewer
from storage.devices import Device, DeviceRepo
from storage.directory import DirectoryRepo
from storage.remote import RemoteSession, RemoteSessionRepo
from storage.uow import UnitOfWork

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TICKET = re.compile(r"^[A-Za-z]{2,6}\d{3,12}$")  # INC0012345, RITM0010001, CHG0000042
CODE = re.compile(r"^s?(\d{2})-?(\d{3})-?(\d{3})$", re.I)
QUICKSUPPORT = ("TeamViewer QuickSupport, which runs without installation or admin rights")


def parse_for(value: str) -> tuple[str | None, str | None]:
    """`for` takes a user's email or an incident number; returns (email, ticket)."""
    value = value.strip()
    if EMAIL.match(value) and len(value) <= 254:
        return value.lower(), None
    if TICKET.match(value):
        return None, value.upper()
    raise ValueError(f"`{value}` is neither an email address nor an incident number like INC0012345")


def parse_code(value: str) -> str:
    match = CODE.match(value.strip())
    if not match:
        raise ValueError(f"`{value}` is not a session code; codes look like s12-345-678")
    return "s{}-{}-{}".format(*match.groups())


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _describe(device: Device, who: str, email: str | None, ticket: str | None, note: str) -> str:
    parts = [f"{device.name}{f' ({device.fqdn})' if device.fqdn else ''}",
             f"requested by {who} via deskhand at {_when(datetime.now(UTC))}",
             f"ticket {ticket}" if ticket else "", f"for {email}" if email else "",
             f"note: {note}" if note else ""]
    return " | ".join(p for p in parts if p)


def session_card(row: RemoteSession, checked: str | None = None) -> Card:
    about = [Field("Device", row.device_name), Field("Session code", row.code or "-"),
             Field("Started by", row.requester_email), Field("Valid until", _when(row.valid_until))]
    if row.ticket or row.end_customer:
        about.append(Field("For", ", ".join(x for x in (row.ticket, row.end_customer) if x)))
    small = [checked] if checked else []
    if row.state != "open":
        about.append(Field("Ended", f"{row.end_state} ({_when(row.closed_at)})"))
        return Card(f"Remote session on {row.device_name}: {row.state}",
                    [Fields(tuple(about)), Small(" ".join([*small, f"ref {row.correlation_id}"]))],
                    tone="info")
    if row.full_client is False:
        handover = (f"*{row.device_name} does not have the TeamViewer full client.* QuickSupport "
                    f"route: the user opens {row.end_customer_link}, which downloads {QUICKSUPPORT}, "
                    f"and joins with session code `{row.code}`.")
    else:
        handover = (f"*Hand this to the user:* the link {row.end_customer_link} or session code "
                    f"`{row.code}`.")
        if row.full_client is None:
            handover += (f" Could not check whether {row.device_name} has the full client; without "
                         f"it the same link gives {QUICKSUPPORT}.")
    sections: list[Section] = [
        Fields(tuple(about)), Text(handover),
        Text("*Only you see this card:* join from the browser or the TeamViewer app."),
        Small(" ".join([*small, f"ref {row.correlation_id}"]))]
    ref = str(row.id)
    buttons = [Button("Open in browser", "remote.web", url=row.webclient_link, style="primary"),
               Button("Open in TeamViewer", "remote.app", url=row.supporter_link),
               Button("Refresh status", f"remote.refresh:{ref}", ref),
               Button("Close session", f"remote.close:{ref}", ref, style="danger",
                      confirm=Confirm("Close this session?",
                                      f"{row.code} on {row.device_name} ends for everyone.",
                                      "Close session"))]
    return Card(f"Remote session on {row.device_name}", sections, buttons, tone="good")


async def _full_client(ctx: Context, tv: TeamViewer, device: Device) -> bool | None:
    """Managed in TeamViewer (by name or FQDN) means the full client is installed."""
    try:
        for name in filter(None, (device.name, device.fqdn)):
            if await tv.client.managed_device(ctx.correlation_id, name) is not None:
                return True
        return False
    except VendorError:
        return None  # unknown: the card offers both routes


def _connected(ctx: Context) -> TeamViewer:
    tv = teamviewer(ctx.runtime)
    if tv.mode == "off":
        raise UserError(NOT_CONFIGURED, title="TeamViewer is not set up")
    return tv


async def remote_command(ctx: Context, cmd: Command) -> Reply:
    device, scope = await find_device(ctx, cmd.args["device"])
    await ctx.require("remote.session", f"start a remote session on {device.name}", device=scope)
    tv = _connected(ctx)
    email, ticket = cmd.args.get("user-or-incident") or (None, None)
    note = (cmd.args.get("note") or "")[:300]
    who = ctx.actor.principal.email
    description = _describe(device, who, email, ticket, note)[:1000]
    customer = None
    async with ctx.runtime.db.uow() as uow:
        if email:
            person = await uow.repo(DirectoryRepo).principal_by_email(ctx.tenant_id, email)
            customer = {"name": (person.display_name if person else email.split("@")[0])[:100],
                        "email": email}
        row = await uow.repo(RemoteSessionRepo).add(RemoteSession(
            tenant_id=ctx.tenant_id, state="pending", device_id=device.id, device_name=device.name,
            requester_id=ctx.actor.principal.id, requester_email=who, end_customer=email,
            ticket=ticket, note=note, description=description, correlation_id=ctx.correlation_id))
        await uow.commit()
    full = asyncio.create_task(_full_client(ctx, tv, device))
    try:
        session = await tv.client.create_session(
            ctx.correlation_id, groupname=tv.group, description=description,
            marker=f"deskhand:{ctx.correlation_id}:{row.id}", end_customer=customer)
    except VendorError as exc:
        full.cancel()
        async with ctx.runtime.db.uow() as uow:
            await uow.repo(RemoteSessionRepo).transition(ctx.tenant_id, row.id, "pending", state="failed",
                                                         end_state=f"not created: {exc.code}")
            await _audit(uow, ctx, "teamviewer.session.create", "failed", device.name,
                         {"device": device.name, "error": exc.code}, exc.message)
            await uow.commit()
        raise UserError(f"No session was started on {device.name}. {exc.message}",
                        title="TeamViewer did not start a session") from None
    values = {"state": "open", "code": session.code, "supporter_link": session.supporter_link,
              "end_customer_link": session.end_customer_link,
              "webclient_link": session.webclient_supporter_link or session.supporter_link,
              "valid_until": session.valid_until, "full_client": await full}
    async with ctx.runtime.db.uow() as uow:
        sessions = uow.repo(RemoteSessionRepo)
        await sessions.transition(ctx.tenant_id, row.id, "pending", **values)
        await _audit(uow, ctx, "teamviewer.session.create", "ok", device.name,
                     {"session": session.code, "device": device.name, "ticket": ticket,
                      "for": email, "full_client": values["full_client"]}, description)
        await uow.commit()
        row = await sessions.get(ctx.tenant_id, row.id) or row
    ctx.audit_params["session"] = session.code
    return Reply.private(session_card(row))


async def _audit(uow: UnitOfWork, ctx: Context, action: str, outcome: str, target: str,
                 params: dict[str, object], detail: str = "") -> None:
    """The vendor call's outcome, committed together with the row's state change."""
    await Audit.add(uow, ctx.tenant_id, "external", action, outcome, actor=ctx.actor,
                    correlation_id=ctx.correlation_id, target=target, params=params, detail=detail)


async def _load(ctx: Context, row_id: int | None = None, code: str | None = None
                ) -> tuple[RemoteSession, DeviceScope]:
    """The row from the database (never from a button) and its device's current scope."""
    async with ctx.runtime.db.uow() as uow:
        sessions, inventory = uow.repo(RemoteSessionRepo), uow.repo(DeviceRepo)
        row = (await sessions.get(ctx.tenant_id, row_id) if row_id is not None
               else await sessions.by_code(ctx.tenant_id, code or ""))
        if row is None:
            what = f"No session {code} was" if code else "This session was not"
            raise UserError(f"{what} started through deskhand; `remote list` shows your open "
                            "sessions.", title="Unknown session")
        device = await inventory.find(ctx.tenant_id, row.device_name)
        group = await inventory.group(device.management_group_id) \
            if device is not None and device.management_group_id else None
    ctx.target = row.device_name
    ctx.audit_params["session"] = row.code
    return row, DeviceScope(row.device_name, group.name if group else None)


async def close_session(ctx: Context, row: RemoteSession, scope: DeviceScope) -> RemoteSession:
    await ctx.require("remote.session", f"close the remote session on {row.device_name}", scope)
    if row.state == "closed":
        return row
    if row.state != "open" or row.code is None:
        raise UserError(f"This session is {row.state}; there is nothing to close.")
    rt, who = ctx.runtime, ctx.actor.principal.email
    async with rt.db.uow() as uow:
        claimed = await uow.repo(RemoteSessionRepo).transition(ctx.tenant_id, row.id, "open",
                                                               state="closing")
        await uow.commit()
    if not claimed:
        raise UserError("Someone is closing this session right now; refresh in a moment.")
    end = f"closed by {who}"
    try:
        await teamviewer(rt).client.close_session(
            ctx.correlation_id, row.code,
            description=f"{row.description} | {end} at {_when(datetime.now(UTC))}")
    except VendorError as exc:
        if exc.status != 404:
            async with rt.db.uow() as uow:
                await uow.repo(RemoteSessionRepo).transition(ctx.tenant_id, row.id, "closing", state="open")
                await _audit(uow, ctx, "teamviewer.session.close", "failed", row.device_name,
                             {"session": row.code, "error": exc.code}, exc.message)
                await uow.commit()
            raise UserError(f"Session {row.code} is still open. {exc.message}",
                            title="TeamViewer did not close the session") from None
        end = "already gone from TeamViewer"
    async with rt.db.uow() as uow:
        sessions = uow.repo(RemoteSessionRepo)
        await sessions.transition(ctx.tenant_id, row.id, "closing", state="closed",
                                  closed_at=datetime.now(UTC), closed_by=who, end_state=end[:300])
        await _audit(uow, ctx, "teamviewer.session.close", "ok", row.device_name,
                     {"session": row.code, "end_state": end})
        await uow.commit()
        row = await sessions.get(ctx.tenant_id, row.id) or row
    return row


async def refresh_session(ctx: Context, row: RemoteSession, scope: DeviceScope) -> tuple[RemoteSession, str]:
    await ctx.require("remote.session", f"see the remote session on {row.device_name}", scope)
    if row.state != "open" or row.code is None:
        return row, ""
    try:
        live = await teamviewer(ctx.runtime).client.get_session(ctx.correlation_id, row.code)
    except VendorError as exc:
        if exc.status != 404:
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
            sessions = uow.repo(RemoteSessionRepo)
            if await sessions.transition(
                    ctx.tenant_id, row.id, "open", state="closed", end_state=end,
                    closed_at=(live.closed_at if live else None) or datetime.now(UTC)):
                await _audit(uow, ctx, "teamviewer.session.close", "ok", row.device_name,
                             {"session": row.code, "end_state": end})
            await uow.commit()
            row = await sessions.get(ctx.tenant_id, row.id) or row
    return row, checked


async def connect_command(ctx: Context, cmd: Command) -> Reply:
    tv = teamviewer(ctx.runtime)
    if tv.mode == "script":
        raise UserError("deskhand signs in with a script token (DESKHAND_TEAMVIEWER_API_TOKEN), "
                        "so there is nothing to connect. Remove the token to use OAuth instead.",
                        title="TeamViewer uses a script token")
    if tv.oauth is None:
        raise UserError(NOT_CONFIGURED, title="TeamViewer is not set up")
    link = await tv.oauth.begin(ctx.actor.principal.id)
    ctx.target = "TeamViewer"
    return Reply.private(Card("Connect TeamViewer", [
        Text("Sign in with a TeamViewer account that may manage sessions. The link is for you "
             "only, works once and expires in 10 minutes."),
        Small(f"ref {ctx.correlation_id}"),
    ], [Button("Sign in to TeamViewer", "teamviewer.signin", url=link, style="primary")]))


async def status_command(ctx: Context, cmd: Command) -> Reply:
    status = await teamviewer(ctx.runtime).status(ctx.correlation_id)
    mode = {"script": "script token", "oauth": "OAuth", "off": "not set up"}[status.mode]
    valid = {True: "valid", False: "not valid", None: "unknown"}[status.token_valid]
    items = [Field("Sign-in", mode), Field("Token", valid)]
    if status.connected_by:
        items.append(Field("Connected by", status.connected_by))
    if status.expires_at:
        items.append(Field("Access token expires", _when(status.expires_at)))
    return Reply.private(Card("TeamViewer", [Fields(tuple(items)), Text(status.detail),
                                             Small(f"ref {ctx.correlation_id}")],
                              tone="good" if status.token_valid else "attention"))


def _row_id(interaction: Interaction) -> int:
    try:
        return int(interaction.action_id.split(":", 1)[1])
    except (IndexError, ValueError):
        raise UserError("This button is damaged; run `remote list` for your sessions.") from None


async def close_clicked(ctx: Context, interaction: Interaction) -> Reply:
    row, scope = await _load(ctx, _row_id(interaction))
    return Reply.update(session_card(await close_session(ctx, row, scope)))


async def refresh_clicked(ctx: Context, interaction: Interaction) -> Reply:
    row, scope = await _load(ctx, _row_id(interaction))
    try:
        row, checked = await refresh_session(ctx, row, scope)
    except VendorError as exc:
        raise UserError(exc.message, title="TeamViewer did not answer") from None
    return Reply.update(session_card(row, checked))


async def close_command(ctx: Context, cmd: Command) -> Reply:
    row, scope = await _load(ctx, code=cmd.args["code"])
    return Reply.private(session_card(await close_session(ctx, row, scope)))


async def list_command(ctx: Context, cmd: Command) -> Reply:
    async with ctx.runtime.db.uow() as uow:
        rows = await uow.repo(RemoteSessionRepo).open_for(ctx.tenant_id, ctx.actor.principal.id)
    now = datetime.now(UTC)
    table = tuple((r.code or "-", r.device_name, r.ticket or r.end_customer or "",
                   _when(r.created_at), "expired" if r.valid_until and r.valid_until < now
                   else r.state) for r in rows)
    return Reply.private(Card("Your open remote sessions", [
        Table(("code", "device", "for", "started", "state"), table,
              caption="" if table else "You have no open remote sessions."),
        Small("Close one with `remote close <code>`."),
    ]))


def register(registry: Registry) -> None:
    registry.add(CommandSpec(
        "remote", "Start a TeamViewer session on a device; the links come to you privately.",
        remote_command, permission="remote.session",
        args=(Arg("device", "a device name, FQDN or serial"),
              Arg("user-or-incident", "a user's email or an incident number", kind="marker",
                  marker="for", required=False, convert=parse_for),
              Arg("note", "a short note for the session", kind="option", required=False)),
        examples=("remote PC-0042", "remote PC-0042 for INC0012345",
                  'remote PC-0042 for ann@example.com note="printer"')))
    registry.add(CommandSpec("remote list", "Your open remote sessions.", list_command,
                             permission="remote.session"))
    registry.add(CommandSpec(
        "remote close", "Close a remote session by its code.", close_command,
        permission="remote.session", args=(Arg("code", "the session code", convert=parse_code),),
        examples=("remote close s12-345-678",)))
    registry.add_action(ActionSpec("remote.close", close_clicked, permission="remote.session"))
    registry.add_action(ActionSpec("remote.refresh", refresh_clicked, permission="remote.session"))
    registry.add(CommandSpec(
        "teamviewer connect", "Connect deskhand to TeamViewer with OAuth (a private sign-in link).",
        connect_command, permission="settings.write"))
    registry.add(CommandSpec(
        "teamviewer status", "Which TeamViewer sign-in deskhand uses and whether it works.",
        status_command, permission=("settings.read", "remote.session")))
