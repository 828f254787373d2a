"""`identity list|link|unlink`: which chat accounts act as which person, set by hand.

An account normally links itself on its first command, by the email its platform reports
(bot/identity.py). Administrators (`rbac.admin`) fix what that cannot: a guest or external
account without an email, two addresses naming two people, someone whose chat email differs
from the directory's. Links never cross tenants. The router audits each command with its
account and person (ctx.target, ctx.audit_params).
"""

from __future__ import annotations

import re

from bot.context import Context, Reply
from bot.errors import NotFound, UserError
from bot.model import Command, PlatformIdentity
from bot.registry import Arg, CommandSpec
from bot.tenancy import (
    KINDS,
    SLACK_ORG,
    SLACK_TEAM,
    TEAMS_TENANT,
    OrgUnknown,
    Refused,
    account_tenant,
)
from cards.model import Card, Table, Text
from cards.model import Context as Small
from handlers.identity import texts
from storage.directory import DirectoryRepo
from storage.people import PeopleRepo

LIST_LIMIT = 200
_ACCOUNT = re.compile(r"(slack|teams|console):([A-Za-z0-9._-]{1,100}):([A-Za-z0-9._:-]{1,200})")
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,30})(?:\|[^>]*)?>")  # Slack's escaped @someone


def parse_account(ctx: Context, value: str) -> PlatformIdentity:
    """`slack:T…:U…`, `teams:<tenant>:<object id>`, or a Slack mention in the asker's workspace."""
    value = value.strip()
    mention = _MENTION.fullmatch(value)
    me = ctx.actor.identity
    if mention and me.platform == "slack":
        return PlatformIdentity("slack", me.platform_tenant, mention.group(1))
    match = _ACCOUNT.fullmatch(value)
    if match is None:
        raise UserError(texts.BAD_ACCOUNT.format(value=value[:80]), title="Not a chat account")
    platform, tenant, user = match.groups()
    if platform == "console":
        raise UserError(texts.CONSOLE_ACCOUNT, title="Not linked by hand")
    if platform == "slack" and not re.fullmatch(r"[TE][A-Z0-9]{2,30}", tenant):
        raise UserError(texts.BAD_ACCOUNT.format(value=value[:80]), title="Not a chat account")
    if platform == "teams":
        ours = ctx.runtime.settings.teams_tenant_id
        if ours and ctx.runtime.settings.teams_app_type == "SingleTenant" and tenant != ours:
            raise UserError(texts.WRONG_TEAMS_TENANT.format(value=value[:80], tenant=tenant,
                                                            ours=ours), title="Other Teams tenant")
    return PlatformIdentity(platform, tenant, user)  # type: ignore[arg-type]


async def require_own_workspace(ctx: Context, account: PlatformIdentity) -> None:
    """The account's requests must come to this tenant, told as the door tells it (its Slack
    workspace's Enterprise Grid org included, bot/tenancy.account_tenant): a link to an account
    whose requests go to another tenant would only lock its person out there."""
    found = await account_tenant(ctx.runtime, account)
    if found == ctx.tenant_id:
        return
    if isinstance(found, OrgUnknown):
        raise UserError(found.text, title="Org not known yet")
    team = account.platform_tenant
    kind = TEAMS_TENANT if account.platform == "teams" else \
        SLACK_ORG if team.startswith("E") else SLACK_TEAM
    belongs = texts.BELONGS_NOWHERE if isinstance(found, Refused) else texts.BELONGS_ELSEWHERE
    raise UserError(texts.OTHER_WORKSPACE.format(
        account=account, workspace=f"{KINDS[kind].what} {team}", belongs=belongs),
        title="Other tenant")


async def identity_list(ctx: Context, cmd: Command) -> Reply:
    email = cmd.args.get("email")
    async with ctx.runtime.db.uow() as uow:
        person = None
        if email:
            person = await uow.repo(DirectoryRepo).principal_by_email(ctx.tenant_id, email)
            if person is None:
                raise NotFound(texts.UNKNOWN_PERSON.format(email=email), title="Unknown person")
            ctx.target = person.email
        links = await uow.repo(PeopleRepo).links(ctx.tenant_id, person.id if person else None,
                                                 LIST_LIMIT + 1)
    rows = tuple((f"{i.platform}:{i.platform_tenant}:{i.platform_user_id}", i.display or "-",
                  p.email + ("" if p.active else " (deactivated)"), f"{i.linked_at:%Y-%m-%d}")
                 for i, p in links[:LIST_LIMIT])
    title = texts.LIST_PERSON_TITLE.format(email=person.email) if person else texts.LIST_TITLE
    sections: list = [Table(columns=("account", "shown as", "person", "linked"), rows=rows,
                            caption="" if rows else texts.LIST_NONE)]
    if person is not None and not person.active:
        sections.append(Text(texts.DEACTIVATED_NOTE.format(email=person.email)))
    if len(links) > LIST_LIMIT:
        sections.append(Small(texts.LIST_MORE.format(limit=LIST_LIMIT)))
    sections.append(Small(texts.LIST_HINT))
    return Reply.private(Card(title=title, sections=sections))


async def identity_link(ctx: Context, cmd: Command) -> Reply:
    account = parse_account(ctx, cmd.args["account"])
    email = cmd.args["to"].strip().lower()
    ctx.target, ctx.audit_params["account"] = email, str(account)
    await require_own_workspace(ctx, account)
    async with ctx.runtime.db.uow() as uow:
        directory = uow.repo(DirectoryRepo)
        person = await directory.principal_by_email(ctx.tenant_id, email)
        if person is None:
            raise NotFound(texts.UNKNOWN_PERSON.format(email=email), title="Unknown person")
        existing = await directory.identity(account.platform, account.platform_tenant,
                                            account.user_id)
        if existing is not None and existing.tenant_id != ctx.tenant_id:
            raise UserError(texts.OTHER_TENANT, title="Other tenant")
        before = await directory.principal(existing.principal_id) if existing else None
        if before is not None and before.id == person.id:
            return Reply.private(Card(title=texts.LINKED_TITLE.format(account=account, email=email),
                                      sections=[Text(texts.SAME.format(email=email))]))
        await directory.link_identity(ctx.tenant_id, person.id, account.platform,
                                      account.platform_tenant, account.user_id)
        await uow.commit()
    if before is not None:
        ctx.audit_params["was"] = before.email
    sections: list = [Text(texts.LINKED.format(name=person.display_name, email=email))]
    if before is not None:
        sections.append(Text(texts.MOVED.format(before=before.email)))
    if not person.active:
        sections.append(Text(texts.DEACTIVATED_NOTE.format(email=email)))
    return Reply.private(Card(title=texts.LINKED_TITLE.format(account=account, email=email),
                              sections=sections, tone="good"))


async def identity_unlink(ctx: Context, cmd: Command) -> Reply:
    account = parse_account(ctx, cmd.args["account"])
    ctx.audit_params["account"] = str(account)
    async with ctx.runtime.db.uow() as uow:
        directory = uow.repo(DirectoryRepo)
        existing = await directory.identity(account.platform, account.platform_tenant,
                                            account.user_id)
        if existing is None or existing.tenant_id != ctx.tenant_id:
            raise NotFound(texts.NOT_LINKED.format(account=account), title="Not linked")
        person = await directory.principal(existing.principal_id)
        await uow.repo(PeopleRepo).unlink(existing.id)
        await uow.commit()
    email = person.email if person else "?"
    ctx.target = email
    return Reply.private(Card(title=texts.UNLINKED_TITLE.format(account=account),
                              sections=[Text(texts.UNLINKED.format(email=email))]))


ACCOUNT = Arg("account", "the chat account: slack:<team>:<user> or teams:<tenant>:<object id>")
COMMANDS = (
    CommandSpec("identity list", "List the chat accounts linked to people.", identity_list,
                permission="rbac.admin", menu=False,
                args=(Arg("email", "only this person's accounts", required=False),),
                examples=("identity list", "identity list nina.new@example.com")),
    CommandSpec("identity link", "Link a chat account to a person by hand.", identity_link,
                permission="rbac.admin", menu=False,
                args=(ACCOUNT, Arg("to", "the person's email", kind="marker", marker="to")),
                examples=("identity link slack:T0001:U0GUEST to nina.new@example.com",
                          "identity link teams:72f988bf-86f1-41af-91ab-2d7cd011db47:"
                          "6a7b8c9d-0000-4000-8000-0000000000d4 to nina.new@example.com")),
    CommandSpec("identity unlink", "Remove a chat account's link to a person.", identity_unlink,
                permission="rbac.admin", menu=False, args=(ACCOUNT,),
                examples=("identity unlink slack:T0001:U0GUEST",)),
)
