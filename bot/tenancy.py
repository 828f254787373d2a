"""Which tenant a chat request belongs to: the tenant its workspace maps to (docs/tenants.md).

Each Slack workspace (team id T...), Slack Enterprise Grid org (E...) and Microsoft 365 tenant
(the Entra tenant id Teams reports) maps to one deskhand tenant (`deskhand tenant map`,
storage/tenants.ChatWorkspace). A Slack request carrying a mapped org goes to the org's
tenant, else to its workspace's. While no workspace of a platform is mapped at all, every
workspace of that platform belongs to the deployment's own tenant (DESKHAND_TENANT): a
single-tenant deployment and the demo need no mapping. Once one is, an unmapped workspace is
refused. DESKHAND_TEAMS_TENANT_ID names the deployment tenant's own Microsoft 365 tenant, a
mapping of its own.

The mapping is read at every request (one indexed query), so a change made by the CLI is seen
by every process at its next request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage.db import Database
from storage.tenants import WorkspaceRepo

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
    """Where a chat request came through, as its platform names it."""

    platform: str  # slack | teams
    team: str  # the Slack team id, or the Entra tenant id for Teams
    org: str = ""  # the Slack Enterprise Grid org id, when the request carries one

    def ids(self) -> list[tuple[str, str]]:
        """Its (kind, id) pairs, the one that decides first."""
        if self.platform == "teams":
            return [(TEAMS_TENANT, self.team.lower())]
        return [(SLACK_ORG, self.org.upper()), (SLACK_TEAM, self.team.upper())]

    def keys(self) -> dict[str, str]:
        """What a reply target or a posted message keeps of it (the Slack token follows it)."""
        return {k: v for k, v in (("team", self.team), ("org", self.org)) if v}


@dataclass(frozen=True)
class Unmapped:
    """A request from a workspace no tenant owns, while others are mapped: refused."""

    workspace: Workspace

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


Door = Workspace | int  # the workspace a request came through, or (console) its person's tenant


async def tenant_of(runtime: Runtime, door: Door) -> int | Unmapped:
    """The tenant a request belongs to; Unmapped when its workspace is refused."""
    if isinstance(door, int):
        return door
    home_teams = runtime.settings.teams_tenant_id.strip().lower()
    async with runtime.db.uow() as uow:
        repo = uow.repo(WorkspaceRepo)
        ids = door.ids()
        found = {row.kind: row.tenant_id for row in await repo.matching(door.platform, ids)}
        for kind, _ in ids:  # an org's mapping wins over its workspace's
            if kind in found:
                return found[kind]
        if door.platform == "teams" and home_teams:
            return runtime.tenant_id if door.team.lower() == home_teams else Unmapped(door)
        if not await repo.any_of(door.platform):
            return runtime.tenant_id
    return Unmapped(door)


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
