"""Chat links a new mapping leaves in the wrong tenant, moved out by `deskhand tenant map|unmap`.

A chat account links to a person of the tenant its requests go to (bot/identity.py). While a
workspace was unmapped its accounts linked in the deployment's own tenant (or, before an
Enterprise Grid org was mapped, in its workspace's tenant); once it is mapped elsewhere those
links would keep its people out, since a link is never taken over by another tenant on a
request. So every map and unmap looks at the links of the accounts of that workspace (of an
org: of the workspaces its accounts were seen in) and removes those held by a tenant other than
the one their requests now go to: each account then links itself again there by email on its
next command, or an administrator of that tenant links it by hand. Links of a workspace that
is now refused stay (they are not used, and serve again if it is mapped back to their tenant),
and so do links whose tenant cannot be told (OrgUnknown).
"""

from __future__ import annotations

from bot.tenancy import KINDS, SLACK_ORG, resolve_account
from storage.directory import ChatIdentity
from storage.people import PeopleRepo
from storage.uow import UnitOfWork


async def stale_links(uow: UnitOfWork, kind: str, external: str, home: int,
                      home_teams: str = "") -> list[ChatIdentity]:
    """The links of that workspace's accounts held by a tenant their requests no longer go to."""
    people = uow.repo(PeopleRepo)
    platform = KINDS[kind].platform
    if kind == SLACK_ORG:  # its accounts, and every account of a workspace seen in it
        links = await people.workspace_links(platform, [external], org=external)
        teams = {link.platform_tenant for link in links}
        links = await people.workspace_links(platform, sorted(teams | {external}), org=external)
    else:
        links = await people.workspace_links(platform, [external])
    found = []
    for link in links:
        now = await resolve_account(uow, link.platform, link.platform_tenant, link.platform_org,
                                    home, home_teams)
        if isinstance(now, int) and now != link.tenant_id:
            found.append(link)
    return found


async def remove(uow: UnitOfWork, links: list[ChatIdentity]) -> dict[int, list[str]]:
    """Remove the links; the accounts removed, by the tenant that held them."""
    people = uow.repo(PeopleRepo)
    removed: dict[int, list[str]] = {}
    for link in links:
        await people.unlink(link.id)
        removed.setdefault(link.tenant_id, []).append(
            f"{link.platform}:{link.platform_tenant}:{link.platform_user_id}")
    return removed
