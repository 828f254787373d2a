"""Link a chat account to a directory principal: stored link first, then the email.

An account links by the email its platform reports (Slack's profile email; Teams' email and
UPN), within the tenant the chat workspace belongs to. Nothing links on a guess: no email, an
email nobody in the directory has, or addresses naming two different people are refused with a
text saying which, and an administrator can link the account by hand (`identity link`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from bot.model import Actor, PlatformIdentity, Principal
from storage.db import Database
from storage.directory import DirectoryRepo, PrincipalRow

# What the platform says about the account: one address, several (Teams: email and UPN), none.
EmailLookup = Callable[[], Awaitable[str | Sequence[str] | None]]

NO_ACCESS = (
    "I don't know you yet: your chat account isn't linked to anyone in the directory. "
    "Ask your deskhand administrator to add your email to the directory (SCIM from Okta or "
    "Entra) and give you a role; then try again."
)
NO_EMAIL = (
    "I don't know you yet: {platform} did not tell deskhand an email for your chat account "
    "(a guest or external account, or the app lacks the permission to read emails), so it "
    "cannot be linked to anyone in the directory. Ask your deskhand administrator to link it "
    "by hand (`identity link {account} to <your email>`)."
)
AMBIGUOUS = (
    "I can't tell who you are: the addresses {platform} reports for your chat account ({emails}) "
    "belong to different people in the directory, so deskhand links it to nobody. Ask your "
    "deskhand administrator to link it by hand (`identity link {account} to <your email>`)."
)
LINKED_ELSEWHERE = (
    "I don't know you here: your chat account is linked to a person of another deskhand tenant "
    "(it was linked before this workspace was connected to this one). Ask your deskhand "
    "administrator to run `deskhand tenant map` for this workspace again, which moves such "
    "links; then try again."
)
DEACTIVATED = (
    "Your account ({email}) is deactivated in the directory, so deskhand does nothing for you. "
    "If this is a mistake, ask your deskhand administrator or your identity team."
)
PLATFORMS = {"slack": "Slack", "teams": "Teams", "console": "the console", "cli": "the CLI"}


@dataclass(frozen=True)
class Unlinked:
    """Why a chat account resolved to nobody: `reason` for the audit row, `text` for the person."""

    reason: str  # no_account | other_tenant | no_email | unknown_email | ambiguous
    text: str
    emails: tuple[str, ...] = ()


def to_principal(row: PrincipalRow) -> Principal:
    return Principal(row.id, row.tenant_id, row.email, row.display_name, row.active)


async def resolve_actor(
    db: Database, tenant_id: int, identity: PlatformIdentity,
    email_lookup: EmailLookup | None = None,
) -> Actor | None:
    """The principal behind a chat account, linking it by email on first sight; None if unknown."""
    found = await identify(db, tenant_id, identity, email_lookup)
    return found if isinstance(found, Actor) else None


async def identify(db: Database, tenant_id: int, identity: PlatformIdentity,
                   email_lookup: EmailLookup | None = None,
                   org: str | None = None) -> Actor | Unlinked:
    """As resolve_actor, saying why nobody was found. An inactive principal is still returned:
    the caller refuses them with their own text (bot/dispatch.py). `org`: the Enterprise Grid
    org the request carried ("" for none), kept with the link (bot/tenancy.account_tenant)."""
    try:
        return await _resolve(db, tenant_id, identity, email_lookup, org)
    except IntegrityError:  # a concurrent request linked the same account first: use its link
        return await _resolve(db, tenant_id, identity, None, None)


def _addresses(found: str | Sequence[str] | None) -> tuple[str, ...]:
    values = [found] if isinstance(found, str) else list(found or ())
    seen: dict[str, None] = {}
    for value in values:
        if value and value.strip():
            seen.setdefault(value.strip().lower(), None)
    return tuple(seen)


async def _resolve(db: Database, tenant_id: int, identity: PlatformIdentity,
                   email_lookup: EmailLookup | None, org: str | None) -> Actor | Unlinked:
    platform = PLATFORMS.get(identity.platform, identity.platform)
    async with db.uow() as uow:
        directory = uow.repo(DirectoryRepo)
        found = await directory.linked(identity.platform, identity.platform_tenant,
                                       identity.user_id)
        if found is not None:
            link, row = found
            if org is not None and link.platform_org != org:  # once per account and org
                link.platform_org = org
                await uow.commit()
            if row.tenant_id == tenant_id:
                return Actor(to_principal(row), identity)
            # Linked in another tenant: never taken over here; `deskhand tenant map` moves it.
            return Unlinked("other_tenant", LINKED_ELSEWHERE)
        if email_lookup is None or not identity.user_id:
            # a platform that looks nobody up, or an anonymous guest
            return Unlinked("no_account", NO_ACCESS)
        emails = _addresses(await email_lookup())
        if not emails:
            return Unlinked("no_email", NO_EMAIL.format(platform=platform, account=identity))
        rows: dict[int, PrincipalRow] = {}
        for email in emails:
            match = await directory.principal_by_email(tenant_id, email)
            if match is not None:
                rows[match.id] = match
        if not rows:
            return Unlinked("unknown_email", NO_ACCESS, emails)
        if len(rows) > 1:
            return Unlinked("ambiguous", AMBIGUOUS.format(
                platform=platform, emails=", ".join(emails), account=identity), emails)
        [row] = rows.values()
        await directory.link_identity(tenant_id, row.id, identity.platform,
                                      identity.platform_tenant, identity.user_id,
                                      identity.display, org)
        await uow.commit()
        return Actor(to_principal(row), identity)
