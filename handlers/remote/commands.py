"""`remote`, `remote list|close`: TeamViewer sessions from chat; `teamviewer connect|status`.

Buttons carry the session row's id (`remote.start`, on an incident card: the device's id and the
incident); every click re-reads the rows and re-checks `remote.session` over the device's group.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import handlers.remote.sessions as sessions
from bot.context import Context, Reply
from bot.errors import UserError
from bot.model import Command, Interaction, ReplyTarget
from bot.registry import ActionSpec, Arg, CommandSpec, an_id
from cards.model import Button, Card, Field, Fields, Table, Text
from cards.model import Context as Small
from handlers.common import a_ticket, find_device, parse_for
from handlers.remote.cards import session_card, when
from handlers.remote.connection import NOT_CONFIGURED, teamviewer
from storage.remote import RemoteSession, RemoteSessionRepo

CODE = re.compile(r"^s?(\d{2})-?(\d{3})-?(\d{3})$", re.I)


def parse_code(value: str) -> str:
    match = CODE.match(value.strip())
    if not match:
        raise ValueError(f"`{value}` is not a session code; codes look like s12-345-678")
    return "s{}-{}-{}".format(*match.groups())


async def _start(ctx: Context, ref: str | int, email: str | None, ticket: str | None, note: str,
                 reply_to: ReplyTarget) -> Reply:
    device, scope = await find_device(ctx, ref)
    if isinstance(ref, int):  # a click: the audit trail (and a work note) says what it stood for
        ctx.audit_params["as_command"] = f"remote {device.name}" + (f" for {ticket}" if ticket else "")
    await ctx.require("remote.session", f"start a remote session on {device.name}", device=scope)
    row = await sessions.start(ctx, device, email, ticket, note[:300], reply_to)
    return Reply.private(session_card(row))


async def remote_command(ctx: Context, cmd: Command) -> Reply:
    email, ticket = cmd.args.get("user-or-incident") or (None, None)
    return await _start(ctx, cmd.args["device"], email, ticket, cmd.args.get("note") or "",
                        cmd.reply_to)


async def start_clicked(ctx: Context, interaction: Interaction) -> Reply:
    """`remote.start:<device id>:<incident>` (the incident card's Remote button): what
    `remote <device> for <incident>` does."""
    device_id, ticket = interaction.args
    ctx.audit_params["incident"] = ticket  # the audit trail and the incident's work note
    return await _start(ctx, device_id, None, ticket, "", interaction.reply_to)


async def connect_command(ctx: Context, cmd: Command) -> Reply:
    tv = await teamviewer(ctx.runtime, ctx.tenant_id)
    if tv.mode == "script":
        raise UserError("deskhand signs in with a script token (api_token, or "
                        "DESKHAND_TEAMVIEWER_API_TOKEN), so there is nothing to connect. Remove "
                        "the token to use OAuth instead.",
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
    status = await (await teamviewer(ctx.runtime, ctx.tenant_id)).status(ctx.correlation_id)
    mode = {"script": "script token", "oauth": "OAuth", "off": "not set up"}[status.mode]
    valid = {True: "valid", False: "not valid", None: "unknown"}[status.token_valid]
    items = [Field("Sign-in", mode), Field("Token", valid)]
    if status.connected_by:
        items.append(Field("Connected by", status.connected_by))
    if status.expires_at:
        items.append(Field("Access token expires", when(status.expires_at)))
    return Reply.private(Card("TeamViewer", [Fields(tuple(items)), Text(status.detail),
                                             Small(f"ref {ctx.correlation_id}")],
                              tone="good" if status.token_valid else "attention"))


def _closed_card(before: str, row: RemoteSession) -> Card:
    """The closed card; says so when it was closed before this request."""
    already = ALREADY_CLOSED.format(end=row.end_state or "closed", at=when(row.closed_at)) \
        if before == sessions.CLOSED else None
    return session_card(row, already)


async def close_clicked(ctx: Context, interaction: Interaction) -> Reply:
    row, scope = await sessions.load(ctx, interaction.args[0])
    return Reply.update(_closed_card(row.state, await sessions.close_session(ctx, row, scope)))


async def refresh_clicked(ctx: Context, interaction: Interaction) -> Reply:
    row, scope = await sessions.load(ctx, interaction.args[0])
    row, checked = await sessions.refresh_session(ctx, row, scope)
    return Reply.update(session_card(row, checked))


async def close_command(ctx: Context, cmd: Command) -> Reply:
    row, scope = await sessions.load(ctx, code=cmd.args["code"])
    return Reply.private(_closed_card(row.state, await sessions.close_session(ctx, row, scope)))


async def list_command(ctx: Context, cmd: Command) -> Reply:
    async with ctx.runtime.db.uow() as uow:
        rows = await uow.repo(RemoteSessionRepo).open_for(ctx.tenant_id, ctx.actor.principal.id)
    now = datetime.now(UTC)
    table = tuple((r.code or "-", r.device_name, r.ticket or r.end_customer or "",
                   when(r.created_at), "expired" if r.valid_until and r.valid_until < now
                   else r.state) for r in rows)
    return Reply.private(Card("Your open remote sessions", [
        Table(("code", "device", "for", "started", "state"), table,
              caption="" if table else "You have no open remote sessions."),
        Small("Close one with `remote close <code>`."),
    ]))


DAMAGED = "run `remote list` for your sessions."
ALREADY_CLOSED = "This session was already closed: {end} ({at})."
COMMANDS = (
    CommandSpec(
        "remote", "Start a TeamViewer session on a device; the links come to you privately.",
        remote_command, permission="remote.session",
        args=(Arg("device", "a device name, FQDN or serial"),
              Arg("user-or-incident", "a user's email or an incident number", kind="marker",
                  marker="for", required=False, convert=parse_for),
              Arg("note", "a short note for the session", kind="option", required=False)),
        examples=("remote PC-0001", "remote PC-0001 for INC0012345",
                  'remote PC-0001 for ann@example.com note="printer"')),
    CommandSpec("remote list", "Your open remote sessions.", list_command, permission="remote.session"),
    CommandSpec(
        "remote close", "Close a remote session by its code.", close_command,
        permission="remote.session", args=(Arg("code", "the session code", convert=parse_code),),
        examples=("remote close s12-345-678",)),
    CommandSpec(
        "teamviewer connect", "Connect deskhand to TeamViewer with OAuth (a private sign-in link).",
        connect_command, permission="settings.write"),
    CommandSpec(
        "teamviewer status", "Which TeamViewer sign-in deskhand uses and whether it works.",
        status_command, permission=("settings.read", "remote.session")),
)
ACTIONS = (
    ActionSpec("remote.start", start_clicked, permission="remote.session",
               params=(an_id, a_ticket), damaged="type `remote <device> for <incident>`."),
    ActionSpec("remote.close", close_clicked, permission="remote.session", params=(an_id,),
               damaged=DAMAGED),
    ActionSpec("remote.refresh", refresh_clicked, permission="remote.session", params=(an_id,),
               damaged=DAMAGED),
)
