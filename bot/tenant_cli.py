"""`deskhand tenant create|list|map|unmap` (wired into bot/cli.py): tenants, and which chat
workspaces belong to each (bot/tenancy.py, docs/tenants.md).

Every command is idempotent: creating a tenant that exists, mapping a workspace already mapped
there or unmapping one that is not changes nothing and says so. A workspace mapped to another
tenant is refused with that tenant's name. Changes are audited in the tenant's own audit trail.
A Slack bot token is read from a file (or standard input with `-`), sealed with the secret
key ring, and never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys

from bot import tenant_links
from bot.audit import Audit
from bot.model import new_correlation_id
from bot.rbac import ensure_system_roles
from bot.settings import CoreSettings
from bot.startup import require_schema, secret_box
from bot.tenancy import KINDS, SLACK_ORG, SLACK_TEAM, TEAMS_TENANT, normalized
from bot.text_files import read_text
from storage.db import Database
from storage.tenants import ChatWorkspace, Tenant, TenantRepo, WorkspaceRepo
from storage.uow import UnitOfWork

COMMANDS = ("tenant",)
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # as DESKHAND_TENANT
BOT_TOKEN = re.compile(r"xoxb-[A-Za-z0-9-]{10,250}")
OPTIONS = {kind: spec.option.removeprefix("--").replace("-", "_") for kind, spec in KINDS.items()}
PLATFORMS = {"slack": "Slack", "teams": "Teams"}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    tenant = sub.add_parser("tenant", help="tenants and the chat workspaces that belong to each")
    tsub = tenant.add_subparsers(dest="action", required=True)
    create = tsub.add_parser("create", help="create a tenant (nothing changes if it exists)")
    create.add_argument("slug", help="1-64 lower-case letters, digits and dashes")
    create.add_argument("--name", required=True, help="how people call it, e.g. 'Acme Corp'")
    tsub.add_parser("list", help="every tenant with its chat workspaces")
    for action, text in (("map", "connect a chat workspace to a tenant"),
                         ("unmap", "disconnect a chat workspace from a tenant")):
        parser = tsub.add_parser(action, help=text)
        parser.add_argument("slug", help="the tenant's slug")
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--slack-team", metavar="T...", help="a Slack workspace's team id")
        which.add_argument("--slack-org", metavar="E...", help="a Slack Enterprise Grid org's id")
        which.add_argument("--teams-tenant", metavar="GUID",
                           help="the Entra tenant id of a Microsoft 365 tenant using Teams")
        if action == "map":
            parser.add_argument("--bot-token-file", metavar="PATH",
                                help="the bot token (xoxb-...) of the workspace's own installation "
                                     "of the Slack app, in a file; `-` reads standard input")


def run(args: argparse.Namespace, settings: CoreSettings) -> int:
    token = _read_token(args) if args.action == "map" else None
    return asyncio.run(_run(args, settings, token))


def _read_token(args: argparse.Namespace) -> str | None:
    name = args.bot_token_file
    if name is None:
        return None
    if args.teams_tenant:
        raise ValueError("--bot-token-file is for Slack workspaces and orgs: Teams uses the "
                         "deployment's bot registration for every tenant")
    text = sys.stdin.read(4096) if name == "-" else read_text(name)
    token = text.strip()
    if not BOT_TOKEN.fullmatch(token):  # never echoed: it may be a real secret of another kind
        raise ValueError(f"{'standard input' if name == '-' else name} does not hold a Slack bot "
                         "token: one line starting with xoxb-")
    return token


async def _run(args: argparse.Namespace, settings: CoreSettings, token: str | None) -> int:
    db = Database(settings.database_url)
    try:
        await require_schema(db.engine)
        async with db.uow() as uow:
            await uow.repo(TenantRepo).ensure(settings.tenant, settings.tenant_name)
            if args.action == "create":
                lines = await _create(uow, args.slug, args.name)
            elif args.action == "list":
                lines = await _list(uow, settings)
            else:
                kind = next(k for k, option in OPTIONS.items() if getattr(args, option))
                external = normalized(kind, getattr(args, OPTIONS[kind]))
                tenant = await _tenant(uow, args.slug)
                if args.action == "map":
                    sealed = secret_box(settings).seal(token) if token is not None else None
                    lines = await _map(uow, tenant, kind, external, sealed)
                else:
                    lines = await _unmap(uow, tenant, kind, external, settings)
                lines += await _move_links(uow, tenant, kind, external, settings)
            await uow.commit()
    finally:
        await db.dispose()
    for line in lines:
        print(line)
    return 0


async def _tenant(uow: UnitOfWork, slug: str) -> Tenant:
    tenant = await uow.repo(TenantRepo).by_slug(slug.strip())
    if tenant is None:
        known = ", ".join(t.slug for t in await uow.repo(TenantRepo).all())
        raise ValueError(f"there is no tenant {slug.strip()!r} (tenants: {known}); create it with "
                         f"`deskhand tenant create {slug.strip()} --name ...`")
    return tenant


async def _audit(uow: UnitOfWork, tenant: Tenant, action: str, target: str,
                 params: dict[str, object]) -> None:
    await Audit.add(uow, tenant.id, "command", f"tenant {action}", "ok",
                    correlation_id=new_correlation_id(), actor_label="cli", target=target,
                    params=params)


async def _create(uow: UnitOfWork, slug: str, name: str) -> list[str]:
    slug, name = slug.strip(), " ".join(name.split())
    if not SLUG.fullmatch(slug):
        raise ValueError(f"{slug[:100]!r} is not a tenant slug: 1-64 lower-case letters, digits "
                         "and dashes, starting with a letter or digit")
    if not 1 <= len(name) <= 200:
        raise ValueError("--name takes 1-200 characters")
    repo = uow.repo(TenantRepo)
    tenant = await repo.by_slug(slug)
    if tenant is not None:
        if tenant.name == name:
            return [f"tenant {slug} ({name}) exists already; nothing changed"]
        old, tenant.name = tenant.name, name
        await _audit(uow, tenant, "rename", slug, {"from": old, "to": name})
        return [f"tenant {slug} exists already; renamed from {old!r} to {name!r}"]
    tenant = await repo.ensure(slug, name)
    await ensure_system_roles(uow, tenant.id)
    await _audit(uow, tenant, "create", slug, {"name": name})
    return [f"created tenant {slug} ({name}). Next: connect its chat workspaces with "
            f"`deskhand tenant map {slug} --slack-team T... | --slack-org E... | "
            "--teams-tenant GUID`, and give it a first administrator with "
            "`deskhand rbac bootstrap-admin` (DESKHAND_TENANT names the tenant it acts in)"]


def _named(row: ChatWorkspace) -> str:
    return f"{KINDS[row.kind].what} {row.external_id}"


async def _list(uow: UnitOfWork, settings: CoreSettings) -> list[str]:
    tenants = await uow.repo(TenantRepo).all()
    rows = await uow.repo(WorkspaceRepo).all()
    lines = []
    for tenant in tenants:
        own = " (this deployment's own tenant, DESKHAND_TENANT)" if tenant.slug == settings.tenant \
            else ""
        lines.append(f"{tenant.slug}: {tenant.name}{own}")
        mine = [r for r in rows if r.tenant_id == tenant.id]
        if own and settings.teams_tenant_id.strip():
            lines.append(f"  {KINDS[TEAMS_TENANT].what} {settings.teams_tenant_id.strip()} "
                         "(DESKHAND_TEAMS_TENANT_ID)")
        for row in mine:
            lines.append(f"  {_named(row)}" + (" (its own bot token)" if row.bot_token else ""))
        if not mine and not (own and settings.teams_tenant_id.strip()):
            lines.append("  no chat workspace mapped")
    for platform, label in PLATFORMS.items():
        mapped = await uow.repo(WorkspaceRepo).ever_mapped(platform) or (
            platform == "teams" and bool(settings.teams_tenant_id.strip()))
        lines.append(f"{label}: " + ("a workspace mapped to no tenant is refused" if mapped else
                                     f"nothing is mapped, so every workspace belongs to "
                                     f"{settings.tenant}"))
    return lines


async def _map(uow: UnitOfWork, tenant: Tenant, kind: str, external: str,
               sealed: str | None) -> list[str]:
    spec = KINDS[kind]
    repo = uow.repo(WorkspaceRepo)
    row = await repo.get(spec.platform, kind, external)
    what = f"{spec.what} {external}"
    if row is not None and row.tenant_id != tenant.id:
        other = await uow.repo(TenantRepo).get(row.tenant_id)
        slug = other.slug if other is not None else f"#{row.tenant_id}"
        raise ValueError(f"{what} is already mapped to tenant {slug}; unmap it there first: "
                         f"`deskhand tenant unmap {slug} {spec.option} {external}`")
    if row is not None:
        if sealed is None:
            return [f"{what} is mapped to tenant {tenant.slug} already; nothing changed"]
        row.bot_token = sealed
        await _audit(uow, tenant, "map", what, {"kind": kind, "id": external,
                                                "installation": "its own"})
        return [f"{what} is mapped to tenant {tenant.slug} already; its bot token was replaced"]
    first = await repo.mark_mapped(spec.platform, "cli")
    await repo.add(ChatWorkspace(tenant_id=tenant.id, platform=spec.platform, kind=kind,
                                 external_id=external, bot_token=sealed, created_by="cli"))
    params: dict[str, object] = {"kind": kind, "id": external}
    if spec.platform == "slack":  # whose installation of the app serves it
        params["installation"] = "its own" if sealed is not None else "the deployment's"
    await _audit(uow, tenant, "map", what, params)
    lines = [f"mapped {what} to tenant {tenant.slug}"
             + (" with its own bot token" if sealed is not None else "")]
    if first:
        lines.append(f"  this is the first {PLATFORMS[spec.platform]} mapping: from now on a "
                     f"{PLATFORMS[spec.platform]} workspace mapped to no tenant is refused")
    if kind == SLACK_ORG:
        lines.append("  every workspace of the org belongs to it, whatever a workspace's own "
                     "mapping says")
    elif kind == SLACK_TEAM and sealed is None:
        lines.append("  it is served with DESKHAND_SLACK_BOT_TOKEN; give --bot-token-file when "
                     "it has its own installation of the app")
    return lines


async def _unmap(uow: UnitOfWork, tenant: Tenant, kind: str, external: str,
                 settings: CoreSettings) -> list[str]:
    spec = KINDS[kind]
    repo = uow.repo(WorkspaceRepo)
    row = await repo.get(spec.platform, kind, external)
    what = f"{spec.what} {external}"
    if row is None:
        return [f"{what} is not mapped; nothing changed"]
    if row.tenant_id != tenant.id:
        other = await uow.repo(TenantRepo).get(row.tenant_id)
        slug = other.slug if other is not None else f"#{row.tenant_id}"
        raise ValueError(f"{what} is mapped to tenant {slug}, not {tenant.slug}")
    await repo.delete(row.id)
    await _audit(uow, tenant, "unmap", what, {"kind": kind, "id": external})
    lines = [f"unmapped {what} from tenant {tenant.slug}"
             + ("; its bot token is forgotten" if row.bot_token else "")]
    home_teams = spec.platform == "teams" and settings.teams_tenant_id.strip()
    if not await repo.any_of(spec.platform) and not home_teams:
        lines.append(f"  no {PLATFORMS[spec.platform]} workspace is mapped any more; a "
                     f"{PLATFORMS[spec.platform]} workspace mapped to no tenant stays refused "
                     f"(map the ones {settings.tenant} serves to it)")
    return lines


async def _move_links(uow: UnitOfWork, tenant: Tenant, kind: str, external: str,
                      settings: CoreSettings) -> list[str]:
    """Remove the chat links of the workspace's accounts that a tenant their requests no longer
    go to holds (bot/tenant_links.py), audited in that tenant's trail; the lines saying so."""
    home = await uow.repo(TenantRepo).ensure(settings.tenant, settings.tenant_name)
    stale = await tenant_links.stale_links(uow, kind, external, home.id, settings.teams_tenant_id)
    removed = await tenant_links.remove(uow, stale)
    what = f"{KINDS[kind].what} {external}"
    lines = []
    for holder_id, accounts in removed.items():
        holder = await uow.repo(TenantRepo).get(holder_id)
        slug = holder.slug if holder is not None else f"#{holder_id}"
        await Audit.add(uow, holder_id, "command", "identity unlink", "ok",
                        correlation_id=new_correlation_id(), actor_label="cli", target=what,
                        params={"count": len(accounts), "accounts": accounts[:100],
                                "reason": f"their requests go to tenant {tenant.slug} now"})
        lines.append(f"  removed {len(accounts)} chat link(s) of tenant {slug} for accounts of "
                     f"{what}, whose requests no longer go there; each links itself again by "
                     "email on its next command (or an administrator runs `identity link`)")
    return lines
