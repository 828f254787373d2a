"""`deskhand directory import people.csv [--tenant SLUG] [--dry-run]` (wired into bot/cli.py).

Reads the whole file, refuses it with every bad row by line, else imports it in one
transaction (bot/directory_import.py) and prints what it did, or would do with --dry-run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot import directory_import
from bot.audit import Audit
from bot.model import new_correlation_id
from bot.settings import CoreSettings
from bot.startup import require_schema
from bot.text_files import read_text
from storage.db import Database
from storage.tenants import TenantRepo

COMMANDS = ("directory",)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    directory = sub.add_parser("directory", help="the directory of people, without an IdP")
    dsub = directory.add_subparsers(dest="action", required=True)
    imp = dsub.add_parser("import", help="create or update people and their directory groups "
                                         "from a CSV file with the columns email, name, groups")
    imp.add_argument("file", help="CSV: email, name, groups (semicolon-separated)")
    imp.add_argument("--tenant", help="the tenant's slug (default: DESKHAND_TENANT)")
    imp.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")


def run(args: argparse.Namespace, settings: CoreSettings) -> int:
    rows, bad = directory_import.parse(read_text(args.file))  # BadFile is a ValueError: said plainly
    if bad:
        print(f"deskhand: {args.file} has {len(bad)} bad row(s); nothing was imported:",
              file=sys.stderr)
        for row in bad:
            print(f"  line {row.line}: {row.reason}", file=sys.stderr)
        return 1
    return asyncio.run(_import(args, settings, rows))


async def _import(args: argparse.Namespace, settings: CoreSettings,
                  rows: list[directory_import.Row]) -> int:
    db = Database(settings.database_url)
    try:
        await require_schema(db.engine)
        async with db.uow() as uow:
            slug = args.tenant or settings.tenant
            tenants = uow.repo(TenantRepo)
            tenant = (await tenants.ensure(slug, settings.tenant_name) if slug == settings.tenant
                      else await tenants.by_slug(slug))
            if tenant is None:
                raise ValueError(f"there is no tenant {slug!r}")
            out = await directory_import.apply(uow, tenant.id, rows)
            if args.dry_run:
                await uow.rollback()
            else:
                await Audit.add(uow, tenant.id, "directory", "directory.import", "ok",
                                correlation_id=new_correlation_id(), actor_label="cli",
                                target=Path(args.file).name[:200], params=out.counts())
                await uow.commit()
    finally:
        await db.dispose()
    for line in out.lines:
        print(f"  {line}")
    if args.dry_run:
        print(f"dry run for tenant {slug}: {out.summary()}; nothing was written")
    else:
        print(f"imported into tenant {slug}: " + out.summary().replace(" to create", " created")
              .replace(" to update", " updated").replace(" to add", " added")
              .replace(" to remove", " removed"))
    return 0
