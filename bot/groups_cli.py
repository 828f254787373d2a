"""`deskhand groups list|link|unlink` (wired into bot/cli.py): management groups and the 1E
management group each one's `group:` runs go to."""

from __future__ import annotations

import argparse
import re
from typing import Any

from bot.audit import Audit
from bot.model import new_correlation_id
from storage.devices import DeviceRepo


def add_parsers(sub: argparse._SubParsersAction) -> None:
    groups = sub.add_parser("groups", help="management groups and their 1E management groups")
    gsub = groups.add_subparsers(dest="action", required=True)
    gsub.add_parser("list", help="list groups, their device counts and 1E links")
    link = gsub.add_parser("link", help="send `group:NAME` runs to 1E as this 1E management group")
    link.add_argument("name")
    link.add_argument("--tachyon-id", required=True, help="the management group's id in 1E")
    unlink = gsub.add_parser("unlink", help="send `group:NAME` runs as a device list again")
    unlink.add_argument("name")


async def run(uow: Any, tenant_id: int, args: argparse.Namespace) -> None:
    """One `groups` action in the unit of work `bot/cli.py` opened for the tenant."""
    groups = await uow.repo(DeviceRepo).groups(tenant_id)
    if args.action == "list":
        counts = await uow.repo(DeviceRepo).group_counts(tenant_id)
        for g in groups:
            print(f"{g.name}: {counts.get(g.id, 0)} devices; "
                  + (f"1E management group {g.tachyon_id}" if g.tachyon_id else "not linked to 1E"))
        return
    group = next((g for g in groups if g.name.lower() == args.name.strip().lower()), None)
    if group is None:
        raise ValueError(f"there is no management group {args.name!r}; groups: "
                         + ", ".join(g.name for g in groups))
    tachyon_id = args.tachyon_id.strip() if args.action == "link" else None
    if args.action == "link" and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", tachyon_id or ""):
        raise ValueError("--tachyon-id takes the 1E management group's id: 1-64 letters, digits, "
                         "dots, dashes or underscores")
    group.tachyon_id = tachyon_id
    await Audit.add(uow, tenant_id, "command", f"groups {args.action}", "ok",
                    correlation_id=new_correlation_id(), actor_label="cli", target=group.name,
                    params={"tachyon_id": tachyon_id})
    print(f"group {group.name}: " + (f"`group:` runs go to 1E as management group {tachyon_id}"
                                     if tachyon_id else "`group:` runs go to 1E as a device list"))
