"""`deskhand db|groups|console-link|console-logout|rbac` (wired into bot/cli.py): the schema, and
the commands that change the deployment's tenant in one unit of work."""

from __future__ import annotations

import argparse
import asyncio
import re
from typing import Any

from bot import console_signin, rbac_cli, startup
from bot.audit import Audit
from bot.model import new_correlation_id
from bot.settings import CoreSettings
from storage import migrate
from storage.db import Database
from storage.devices import DeviceRepo
from storage.directory import DirectoryRepo
from storage.tenants import TenantRepo

COMMANDS = ("db", "groups", "console-link", "console-logout", *rbac_cli.COMMANDS)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade", "current"])

    groups = sub.add_parser("groups", help="management groups and their 1E management groups")
    gsub = groups.add_subparsers(dest="action", required=True)
    gsub.add_parser("list", help="list groups, their device counts and 1E links")
    link = gsub.add_parser("link", help="send `group:NAME` runs to 1E as this 1E management group")
    link.add_argument("name")
    link.add_argument("--tachyon-id", required=True, help="the management group's id in 1E")
    unlink = gsub.add_parser("unlink", help="send `group:NAME` runs as a device list again")
    unlink.add_argument("name")

    link = sub.add_parser("console-link", help="a single-use sign-in link to the web console")
    link.add_argument("email")
    logout = sub.add_parser("console-logout", help="end a person's console sessions and links")
    logout.add_argument("email")

    rbac_cli.add_parsers(sub)  # its run() works inside _offline's unit of work


def run(args: argparse.Namespace, settings: CoreSettings) -> int:
    return asyncio.run(_offline(args, settings))


async def _offline(args: argparse.Namespace, settings: CoreSettings) -> int:
    db = Database(settings.database_url)
    try:
        if args.cmd == "db":
            if args.action == "upgrade":
                await migrate.upgrade(db.engine)  # SchemaAhead from an older release: exit 2
            schema = await migrate.state(db.engine)
            print(f"schema revision: {schema.database} (code expects {schema.code})"
                  + (f"; {startup.newer_schema(schema)}" if schema.ahead else ""))
            return 0
        await startup.require_schema(db.engine)
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).ensure(settings.tenant, settings.tenant_name)
            from bot.rbac import ensure_system_roles

            await ensure_system_roles(uow, tenant.id)
            if args.cmd == "rbac":
                await rbac_cli.run(uow, tenant.id, args)
            elif args.cmd == "groups":
                await _groups(uow, tenant.id, args)
            elif args.cmd in ("console-link", "console-logout"):
                await _console(uow, tenant.id, args, settings)
            await uow.commit()
        return 0
    finally:
        await db.dispose()


async def _console(uow: Any, tenant_id: int, args: argparse.Namespace,
                   settings: CoreSettings) -> None:
    person = await uow.repo(DirectoryRepo).principal_by_email(tenant_id, args.email.strip().lower())
    if person is None:
        raise ValueError(f"nobody with the email {args.email} is in the directory")
    if args.cmd == "console-logout":
        ended = await console_signin.sign_out_everywhere(uow, person, by="cli")
        print(f"{person.email}: {ended} console session(s) and link(s) ended")
        return
    if not settings.console_on or not settings.console_signs_in:
        raise ValueError("console sign-in links are for production with the console on "
                         "(DESKHAND_CONSOLE_ENABLED=true); in demo/dev mode anyone picks a persona")
    try:
        link = await console_signin.issue_link(uow, person, settings.public_url,
                                               settings.console_link_minutes, by="cli")
    except console_signin.SignInRefused as exc:
        raise ValueError(str(exc)) from None
    print(f"{link.url}\n  for {person.email} only: it signs in one browser, once, until "
          f"{link.expires_at:%H:%M} UTC. Do not send it through a shared channel.")


async def _groups(uow: Any, tenant_id: int, args: argparse.Namespace) -> None:
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
