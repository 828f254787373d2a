"""`data-access enable|disable`, `token create|download|list|revoke`, and their buttons.

Buttons carry the token's id only; every click re-reads the row in the clicker's tenant.
"""

from __future__ import annotations

from bot.context import Context, Reply
from bot.errors import UserError
from bot.model import Command, Interaction
from bot.registry import ActionSpec, Arg, CommandSpec, an_id, positive_int
from bot.tenant_settings import CoreTenantSettings
from cards.model import Button, Card, Confirm, Table, Text
from cards.model import Context as Small
from handlers.tokens import access, lifecycle, profile, sharing, texts
from handlers.tokens.cards import day, token_card
from handlers.tokens.states import ACTIVE, LIFETIMES, PENDING, STATES
from storage.sharing import DATASETS
from storage.tokens import DataAccessTokenRepo


def parse_lifetime(value: str) -> str:
    if value.lower() not in LIFETIMES:
        raise ValueError(texts.BAD_LIFETIME.format(value=value))
    return value.lower()


def parse_status(value: str) -> str:
    if value.lower() not in STATES:
        raise ValueError(texts.BAD_STATUS.format(value=value))
    return value.lower()


def endpoint(ctx: Context) -> str:
    return f"{ctx.runtime.settings.public_url.rstrip('/')}/sharing/"


async def enable_command(ctx: Context, cmd: Command) -> Reply:
    ctx.target = "data access"
    async with ctx.runtime.db.uow() as uow:
        if await access.enabled(uow, ctx.tenant_id):
            return Reply.private(Card("Data access", [Text(texts.ON_ALREADY)]))
        await access.put(uow, ctx.tenant_id, True, by=ctx.actor.principal.email)
        await uow.commit()
    return Reply.public(Card("Data access is on", [Text(texts.ENABLED.format(endpoint=endpoint(ctx)))],
                             tone="good"))


async def disable_command(ctx: Context, cmd: Command) -> Reply:
    ctx.target = "data access"
    async with ctx.runtime.db.uow() as uow:
        on = await access.enabled(uow, ctx.tenant_id)
        count = await uow.repo(DataAccessTokenRepo).count(ctx.tenant_id)
    if not on:
        return Reply.private(Card("Data access", [Text(texts.OFF_ALREADY)]))
    ask = texts.DISABLE_ASK.format(count=count)
    return Reply.public(Card("Turn data access off?", [Text(ask)], [Button(
        "Turn off and delete all tokens", "data-access.disable", style="danger",
        confirm=Confirm("Delete every data-access token?", ask, "Turn off", "Keep"))],
        tone="attention"))


async def disable_clicked(ctx: Context, interaction: Interaction) -> Reply:
    ctx.target = "data access"
    count = await lifecycle.delete_all(ctx)
    ctx.audit_params["deleted"] = count
    return Reply.update(Card("Data access is off", [
        Text(texts.DISABLED.format(count=count)), Small(f"by {ctx.actor.principal.email}")],
        tone="warning"))


async def refresh_command(ctx: Context, cmd: Command) -> Reply:
    ctx.target = "data access"
    async with ctx.runtime.db.uow() as uow:
        await lifecycle.require_on(uow, ctx.tenant_id)
    store = sharing.snapshots(ctx.runtime)
    done = [await store.refresh(ctx.tenant_id, dataset) for dataset in DATASETS]
    rows = tuple((s.dataset, str(s.version), str(s.rows)) for s in done)
    return Reply.private(Card("Shared data refreshed", [
        Table(("table", "version", "rows"), rows), Text(texts.REFRESHED)], tone="good"))


async def create_command(ctx: Context, cmd: Command) -> Reply:
    row = await lifecycle.create(ctx, cmd.args["name"], cmd.args.get("description") or "",
                                 cmd.args["expires"], cmd.reply_to)
    return Reply.public(token_card(row, f"Data-access token {row.id} created",
                                   texts.HOW_TO_DOWNLOAD.format(id=row.id)))


async def download_command(ctx: Context, cmd: Command) -> Reply:
    row = await lifecycle.load(ctx, cmd.args["id"])
    me = ctx.actor.principal
    if row.created_by_id != me.id:
        raise UserError(texts.NOT_CREATOR.format(id=row.id, creator=row.created_by_email),
                        title="Not your token")
    if row.state != PENDING:
        raise UserError(texts.NOT_PENDING.format(id=row.id, state=row.state),
                        title="Already downloaded")
    async with ctx.runtime.db.uow() as uow:
        await lifecycle.require_on(uow, ctx.tenant_id)
    if await ctx.messenger.private_place(cmd.reply_to, ctx.actor) is None:
        raise UserError(texts.NOWHERE_PRIVATE.format(id=row.id), title="Ask me in a private chat")
    url = profile.link(ctx.runtime, row, me.id)
    return Reply.private(Card(f"Download token {row.id}'s profile", [
        Text(texts.DOWNLOAD.format(minutes=profile.LINK_MINUTES, id=row.id)),
        Small(f"ref {ctx.correlation_id}"),
    ], [Button("Download the profile file", "token.profile", url=url, style="primary")]))


async def _list_card(ctx: Context, search: str, status: str, before: int | None) -> Card:
    async with ctx.runtime.db.uow() as uow:
        size = (await CoreTenantSettings.read(uow, ctx.tenant_id)).page_size
        on = await access.enabled(uow, ctx.tenant_id)
        rows = list(await uow.repo(DataAccessTokenRepo).page(
            ctx.tenant_id, search=search or None, states=(status,) if status else (),
            before_id=before, limit=size + 1))
    more = None
    if len(rows) > size:
        rows = rows[:size]
        more = Button("Older", f"token.more:{rows[-1].id}", f"{search}\x1f{status}")
    table = tuple((str(r.id), r.name, r.state, r.lifetime, day(r.expires_at), r.created_by_email,
                   r.description[:80]) for r in rows)
    what = " ".join(filter(None, (f"matching {search}" if search else "",
                                  f"{status}" if status else "")))
    return Card(f"Data-access tokens{f' ({what})' if what else ''}", [
        Table(("id", "name", "state", "lifetime", "expires", "created by", "description"), table,
              caption="Newest first" if table else texts.NO_TOKENS, more=more),
        Small(texts.LIST_HINT if on else texts.OFF),
    ])


async def list_command(ctx: Context, cmd: Command) -> Reply:
    return Reply.private(await _list_card(ctx, (cmd.args.get("search") or "").strip(),
                                          cmd.args.get("status") or "", None))


async def more_clicked(ctx: Context, interaction: Interaction) -> Reply:
    (before,), (search, status) = interaction.args, interaction.fields
    if status and status not in STATES:
        raise UserError("This button is damaged; run `token list` again.")
    return Reply.update(await _list_card(ctx, search, status, before))


async def revoke_command(ctx: Context, cmd: Command) -> Reply:
    row = await lifecycle.load(ctx, cmd.args["id"])
    if row.state not in (PENDING, ACTIVE):
        return Reply.private(token_card(row, note=texts.ALREADY_ENDED.format(id=row.id, state=row.state)))
    return Reply.public(token_card(row, f"Revoke token {row.id}?"))


async def revoke_clicked(ctx: Context, interaction: Interaction) -> Reply:
    row, done = await lifecycle.revoke(ctx, await lifecycle.load(ctx, interaction.args[0]))
    note = (texts.REVOKED if done else texts.ALREADY_ENDED).format(id=row.id, name=row.name,
                                                                  state=row.state)
    return Reply.update(token_card(row, f"Token {row.id} {row.state}", note))


async def renew_clicked(ctx: Context, interaction: Interaction) -> Reply:
    """The reminder's "Create a replacement": a new pending token like the old one, for the
    clicker, told privately."""
    old = await lifecycle.load(ctx, interaction.args[0])
    row = await lifecycle.create(ctx, old.name, old.description, old.lifetime,
                                 interaction.reply_to)
    ctx.audit_params["replaces"] = old.id
    return Reply.private(token_card(row, f"Data-access token {row.id} replaces {old.id}",
                                    texts.HOW_TO_DOWNLOAD.format(id=row.id)))


TOKEN_ID = Arg("id", "the token's number from `token list`",
               convert=lambda v: positive_int(v.lstrip("#")))
DAMAGED = "run `token list` for the tokens."
COMMANDS = (
    CommandSpec("data-access enable", "Turn on data-access tokens and the Delta Sharing endpoint.",
                enable_command, permission="token.write", menu=False),
    CommandSpec("data-access disable", "Turn data access off and delete every token (asks first).",
                disable_command, permission="token.write", menu=False),
    CommandSpec("data-access refresh", "Take fresh snapshots of the shared tables now.",
                refresh_command, permission="token.write", menu=False),
    CommandSpec(
        "token create", "Create a data-access token for the Delta Sharing endpoint (pending).",
        create_command, permission="token.write",
        args=(Arg("name", "a name or the email of whom it is for", kind="option"),
              Arg("description", "what it is for", kind="option", required=False),
              Arg("expires", "1m|3m|6m|1y", kind="option", convert=parse_lifetime)),
        examples=('token create name=bi@example.com description="Power BI" expires=3m',),
        menu=False),
    CommandSpec(
        "token download", "Get a pending token's Delta Sharing profile: a private one-time link.",
        download_command, permission="token.write", args=(TOKEN_ID,),
        examples=("token download 12",), menu=False),
    CommandSpec(
        "token list", "Data-access tokens, newest first: search and filter by state.",
        list_command, permission="token.read",
        args=(Arg("search", "part of a name, description or creator", kind="rest", required=False),
              Arg("status", "pending|active|revoked|expired", kind="option", required=False,
                  convert=parse_status)),
        examples=("token list", "token list powerbi status=active"), menu=False),
    CommandSpec("token revoke", "Revoke a data-access token (asks first).", revoke_command,
                permission="token.write", args=(TOKEN_ID,), examples=("token revoke 12",),
                menu=False),
)
ACTIONS = (
    ActionSpec("token.revoke", revoke_clicked, permission="token.write", params=(an_id,),
               damaged=DAMAGED),
    ActionSpec("token.renew", renew_clicked, permission="token.write", params=(an_id,),
               damaged=DAMAGED),
    ActionSpec("token.more", more_clicked, permission="token.read", params=(an_id,), fields=2,
               damaged=DAMAGED),
    ActionSpec("data-access.disable", disable_clicked, permission="token.write",
               damaged="run `data-access disable` again."),
)
