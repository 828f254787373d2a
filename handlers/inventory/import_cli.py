"""`deskhand devices import devices.csv [--tenant SLUG] [--dry-run] [--retire-missing]` (wired
into bot/cli.py): devices for fleets no vendor reports.

Reads and checks the whole file (handlers/inventory/import_file.py); a file that cannot be read
or has bad rows is refused with exit code 2 and nothing is written. Else imports it in one
transaction (handlers/inventory/importer.py), holding the tenant's inventory lease so no sync
runs meanwhile, audits it, and prints what it did, or would do with --dry-run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bot.audit import Audit
from bot.model import new_correlation_id
from bot.scheduler import Claims
from bot.settings import CoreSettings
from bot.startup import require_schema
from bot.text_files import Unreadable, read_text
from handlers.inventory import importer, texts
from handlers.inventory.import_file import BadFile, Row, parse
from handlers.inventory.sync import JOB, LEASE
from storage.base import utcnow
from storage.db import Database
from storage.tenants import TenantRepo

COMMANDS = ("devices",)
BAD_FILE = 2  # the exit code of a file refused whole


def add_parsers(sub: argparse._SubParsersAction) -> None:
    devices = sub.add_parser("devices", help="the device inventory")
    dsub = devices.add_subparsers(dest="action", required=True)
    imp = dsub.add_parser("import", help="add or update devices from a CSV file, for fleets no "
                                         "vendor reports (columns: " + texts.IMPORT_COLUMNS + ")")
    imp.add_argument("file", help="CSV UTF-8: " + texts.IMPORT_COLUMNS)
    imp.add_argument("--tenant", help="the tenant's slug (default: DESKHAND_TENANT)")
    imp.add_argument("--dry-run", action="store_true", help="say what would change; write nothing")
    imp.add_argument("--retire-missing", action="store_true",
                     help="devices an earlier import listed and this file does not are no longer "
                          "imported; those no vendor reports are retired")


def run(args: argparse.Namespace, settings: CoreSettings) -> int:
    try:
        rows, bad = parse(read_text(args.file))
    except (Unreadable, BadFile) as exc:
        said = f"{exc}" if isinstance(exc, Unreadable) else f"{args.file}: {exc}"  # names it
        print(f"deskhand: {said}; nothing was imported", file=sys.stderr)
        return BAD_FILE
    if bad:
        print("deskhand: " + texts.IMPORT_BAD_ROWS.format(file=args.file, n=len(bad)),
              file=sys.stderr)
        for row in bad:
            print(f"  line {row.line}: {row.reason}", file=sys.stderr)
        return BAD_FILE
    return asyncio.run(_import(args, settings, rows))


async def _import(args: argparse.Namespace, settings: CoreSettings, rows: list[Row]) -> int:
    db = Database(settings.database_url)
    slug = args.tenant or settings.tenant
    try:
        await require_schema(db.engine)
        async with db.uow() as uow:
            tenants = uow.repo(TenantRepo)
            tenant = (await tenants.ensure(slug, settings.tenant_name) if slug == settings.tenant
                      else await tenants.by_slug(slug))
            if tenant is None:
                raise ValueError(f"there is no tenant {slug!r}")
            tenant_id = tenant.id
            if args.dry_run:
                out = await importer.apply(uow, tenant_id, rows, utcnow(),
                                           retire_missing=args.retire_missing)
                await uow.rollback()  # a dry run writes nothing, not even the tenant
            else:
                await uow.commit()
        if not args.dry_run:
            out = await _locked(db, tenant_id, slug, rows, args)
    finally:
        await db.dispose()
    print((texts.IMPORT_DRY if args.dry_run else texts.IMPORT_DONE).format(
        tenant=slug, summary=out.summary(args.dry_run)))
    for note in out.notes():
        print(f"  {note}")
    return 0


async def _locked(db: Database, tenant_id: int, slug: str, rows: list[Row],
                  args: argparse.Namespace) -> importer.Outcome:
    """The import under the tenant's inventory lease (a sync's changes and the file's never
    interleave), in one transaction with its audit row."""
    claims = Claims(db, f"cli-{os.getpid()}")
    holder = claims.one_off()
    if not await claims.lease(JOB, LEASE, str(tenant_id), holder):
        raise ValueError(texts.IMPORT_BUSY.format(tenant=slug))
    try:
        async with db.uow() as uow:
            out = await importer.apply(uow, tenant_id, rows, utcnow(),
                                       retire_missing=args.retire_missing)
            await Audit.add(uow, tenant_id, "inventory", "devices.import", "ok",
                            correlation_id=new_correlation_id(), actor_label="cli",
                            target=Path(args.file).name[:200],
                            params={**out.counts(), "retire_missing": args.retire_missing})
            await uow.commit()
        return out
    finally:
        await claims.release(JOB, str(tenant_id), holder)
