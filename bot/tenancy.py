"""Which tenant a chat request belongs to: the tenant its workspace maps to (docs/tenants.md).

Each Slack workspace (team id T...), Slack Enterprise Grid org (E...) and Microsoft 365 tenant
(the Entra tenant id Teams reports) maps to one deskhand tenant (`deskhand tenant map`,
storage/tenants.ChatWorkspace). A Slack request carrying a mapped org goes to the org's
tenant, else to its workspace's. While no workspace of a platform was ever mapped, every
workspace of that platform belongs to the deployment's own tenant (DESKHAND_TENANT): a
single-tenant deployment and the demo need no mapping. Once one was, an unmapped workspace is
refused, also after the last mapping is removed (storage/tenants.MappedPlatform). In a shared
Slack channel, a person whose own workspace belongs to another tenant (or to none) than the
request's is refused too (Foreign). DESKHAND_TEAMS_TENANT_ID names the deployment tenant's own
Microsoft 365 tenant, a mapping of its own.

Each process caches which tenant a workspace belongs to (bot/access_cache.py); any change to a
mapping moves the access version, so a change made by the CLI is seen by every process at its
next request.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.model import PlatformIdentity
from storage.db import Database
from storage.people import PeopleRepo
from storage.tenants import WorkspaceRepo
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import Runtime

SLACK_TEAM, SLACK_ORG, TEAMS_TENANT = "slack-team", "slack-org", "teams-tenant"


@dataclass(frozen=True)
class Kind:
    platform: str
    option: str  # the CLI option that names one
    what: str  # how people call it
    shape: re.Pattern[str]
    allowed: str  # what a valid id looks like, for the refusal


KINDS = {
    SLACK_TEAM: Kind("slack", "--slack-team", "Slack workspace", re.compile(r"T[A-Z0-9]{2,30}"),
                     "a Slack team id: T followed by capital letters and digits, e.g. T024BE7LD"),
    SLACK_ORG: Kind("slack", "--slack-org", "Slack Enterprise Grid org",
                    re.compile(r"E[A-Z0-9]{2,30}"),
                    "a Slack Enterprise Grid org id: E followed by capital letters and digits, "
                    "e.g. E0AS553RN"),
    TEAMS_TENANT: Kind("teams", "--teams-tenant", "Microsoft 365 tenant",
                       re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
                       "an Entra (Azure AD) tenant id: a GUID such as "
                       "72f988bf-86f1-41af-91ab-2d7cd011db47"),
}
FOREIGN = (
    "Your Slack workspace ({theirs}) is not connected to the deskhand tenant of this one "
    "({here}), so deskhand does nothing for you here. Use deskhand from your own workspace."
)
ORG_UNKNOWN = (
    "deskhand cannot tell yet which Enterprise Grid org Slack workspace {team} belongs to, and "
    "an org is connected to another deskhand tenant. Once someone of that workspace has used "
    "deskhand there, its org is known; or connect the workspace itself (`deskhand tenant map`)."
)
UNMAPPED = (
    "This {what} ({ids}) is not connected to a deskhand tenant, so deskhand does nothing here. "
    "An administrator can connect it with `deskhand tenant map <tenant> {option} {id}`."
)


def normalized(kind: str, value: str) -> str:
    """A workspace id as stored and compared (Slack ids upper-case, Entra GUIDs lower-case);
    ValueError saying what is allowed when it is not one."""
    spec = KINDS[kind]
    text = value.strip()
    text = text.lower() if kind == TEAMS_TENANT else text.upper()
    if not spec.shape.fullmatch(text):
        raise ValueError(f"{value.strip()[:100]!r} is not {spec.allowed}")
    return text


@dataclass(frozen=True)
class Workspace:
    """Where a chat request came through, as its platform names it, and (Slack) the workspace
    and org of the person who acted, when Slack says they are another's (a shared channel)."""

    platform: str  # slack | teams
    team: str  # the Slack team id, or the Entra tenant id for Teams
    org: str = ""  # the Slack Enterprise Grid org id, when the request carries one
    actor_team: str = ""  # the acting person's own Slack workspace, when Slack names it
    actor_org: str = ""  # their Enterprise Grid org, when Slack names it

    def ids(self) -> list[tuple[str, str]]:
        """Its (kind, id) pairs, the one that decides first."""
        if self.platform == "teams":
            return [(TEAMS_TENANT, self.team.lower())]
        return [(SLACK_ORG, self.org.upper()), (SLACK_TEAM, self.team.upper())]

    def keys(self) -> dict[str, str]:
        """What a reply target or a posted message keeps of it (the Slack token follows it)."""
        return {k: v for k, v in (("team", self.team), ("org", self.org)) if v}

    def actor(self) -> Workspace | None:
        """The acting person's own workspace where it is not this one (a Slack Connect or
        org-shared channel); None where they act in their own."""
        team = self.actor_team or self.team
        org = self.actor_org or (self.org if team == self.team else "")
        if (team, org) == (self.team, self.org) or not (self.actor_team or self.actor_org):
            return None
        return Workspace(self.platform, team, org)


class Refused(ABC):
    """A request refused at the door: `text` for the person, `params` for the audit row."""

    outcome = ""
    tenant: int | None = None  # whose audit trail gets the denial; None: the deployment's own

    @property
    @abstractmethod
    def text(self) -> str: ...

    @abstractmethod
    def params(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Unmapped(Refused):
    """A request from a workspace no tenant owns, while others are (or were) mapped: refused."""

    workspace: Workspace
    outcome = "unmapped_workspace"

    @property
    def text(self) -> str:
        kind, value = next(((k, v) for k, v in reversed(self.workspace.ids()) if v),
                           (SLACK_TEAM, "?"))
        spec = KINDS[kind]
        ids = ", ".join(v for _, v in reversed(self.workspace.ids()) if v) or "?"
        return UNMAPPED.format(what=spec.what, ids=ids, option=spec.option, id=value)

    def params(self) -> dict[str, Any]:
        return {"platform": self.workspace.platform, "workspace": self.workspace.team,
                "org": self.workspace.org}


@dataclass(frozen=True)
class Foreign(Refused):
    """Someone whose own workspace belongs to another tenant (or to none) acting through this
    one, e.g. from another organisation in a Slack Connect channel: refused, so that they are
    never looked up, nor act, in the host's tenant."""

    workspace: Workspace
    tenant: int | None  # the host's: its audit trail gets the denial

    outcome = "foreign_actor"

    @property
    def text(self) -> str:
        actor = self.workspace.actor()
        theirs = ", ".join(v for v in (actor.team, actor.org) if v) if actor else "?"
        here = ", ".join(v for v in (self.workspace.team, self.workspace.org) if v) or "?"
        return FOREIGN.format(theirs=theirs, here=here)

    def params(self) -> dict[str, Any]:
        return {"platform": self.workspace.platform, "workspace": self.workspace.team,
                "org": self.workspace.org, "actor_workspace": self.workspace.actor_team,
                "actor_org": self.workspace.actor_org}


@dataclass(frozen=True)
class OrgUnknown(Refused):
    """A Slack workspace whose Enterprise Grid org deskhand has not seen, while an org is mapped
    to another tenant: which tenant its accounts belong to cannot be told yet."""

    team: str
    outcome = "org_unknown"

    @property
    def text(self) -> str:
        return ORG_UNKNOWN.format(team=self.team)

    def params(self) -> dict[str, Any]:
        return {"platform": "slack", "workspace": self.team}


Door = Workspace | int  # the workspace a request came through, or (console) its person's tenant


async def resolve(uow: UnitOfWork, where: Workspace, home: int,
                  home_teams: str = "") -> int | Unmapped:
    """The tenant a workspace belongs to, in an open unit of work: its org's mapping, else its
    own, else the deployment's own tenant (`home`) while the platform was never mapped."""
    repo = uow.repo(WorkspaceRepo)
    ids = where.ids()
    found = {row.kind: row.tenant_id for row in await repo.matching(where.platform, ids)}
    for kind, _ in ids:  # an org's mapping wins over its workspace's
        if kind in found:
            return found[kind]
    home_teams = home_teams.strip().lower()
    if where.platform == "teams" and home_teams:
        return home if where.team.lower() == home_teams else Unmapped(where)
    if not await repo.ever_mapped(where.platform):
        return home
    return Unmapped(where)


async def tenant_of(runtime: Runtime, door: Door) -> int | Refused:
    """The tenant a request belongs to; Refused when its workspace is unmapped, or the person
    acting comes from a workspace of another tenant (Foreign)."""
    if isinstance(door, int):
        return door
    if door.actor() is None:  # the person acts in their own workspace: the common case
        return await runtime.access.lookup("tenant", door, lambda: _tenant_of(runtime, door))
    return await _tenant_of(runtime, door)


async def _tenant_of(runtime: Runtime, door: Workspace) -> int | Refused:
    home, teams = runtime.tenant_id, runtime.settings.teams_tenant_id
    async with runtime.db.uow() as uow:
        tenant = await resolve(uow, door, home, teams)
        actor = door.actor()
        if actor is None or isinstance(tenant, Unmapped):
            return tenant
        if not actor.org:  # Slack did not say: the org their workspace was last seen in
            actor = replace(actor, org=await uow.repo(PeopleRepo).org_of_team(actor.team) or "")
        theirs = await resolve(uow, actor, home, teams)
    return tenant if theirs == tenant else Foreign(door, tenant)


async def account_tenant(runtime: Runtime, account: PlatformIdentity) -> int | Refused:
    """The tenant a chat account's requests go to, told as the door tells it (`resolve`)."""
    async with runtime.db.uow() as uow:
        return await resolve_account(uow, account.platform, account.platform_tenant, None,
                                     runtime.tenant_id, runtime.settings.teams_tenant_id)


async def resolve_account(uow: UnitOfWork, platform: str, team: str, org: str | None,
                          home: int, home_teams: str = "") -> int | Refused:
    """The tenant the requests of an account in workspace `team` go to. A Slack workspace's
    Enterprise Grid org (`org`, else as its accounts' links last saw it) decides first; when
    no request of the workspace said, and an org is mapped to another tenant than the
    workspace's own mapping says, which wins cannot be told: OrgUnknown."""
    if platform == "teams":
        return await resolve(uow, Workspace("teams", team), home, home_teams)
    if team.upper().startswith("E"):  # an org-wide install names the org alone
        return await resolve(uow, Workspace("slack", "", team), home)
    if org is None:
        org = await uow.repo(PeopleRepo).org_of_team(team)
    tenant = await resolve(uow, Workspace("slack", team, org or ""), home)
    if org is None:
        orgs = [r for r in await uow.repo(WorkspaceRepo).all() if r.kind == SLACK_ORG]
        if any(r.tenant_id != tenant for r in orgs):
            return OrgUnknown(team)
    return tenant


async def sealed_slack_token(db: Database, where: dict[str, Any]) -> str | None:
    """The sealed bot token for a Slack target: its workspace's (or org's) own where the
    request named a mapped workspace, else its tenant's where it names only a tenant (a channel
    from the tenant's settings); None: the deployment's token."""
    team, org, tenant = where.get("team"), where.get("org"), where.get("tenant")
    if not (team or org or isinstance(tenant, int)):
        return None
    async with db.uow() as uow:
        repo = uow.repo(WorkspaceRepo)
        if team or org:
            ids = Workspace("slack", str(team or ""), str(org or "")).ids()
            rows = {r.kind: r for r in await repo.matching("slack", ids)}
            for kind, _ in ids:
                if kind in rows and rows[kind].bot_token:
                    return rows[kind].bot_token
            if rows:
                return None  # mapped without a token of its own: the deployment's installation
        return await repo.token_of_tenant(tenant) if isinstance(tenant, int) else None
