"""`deskhand secrets rotate [--batch N]` (wired into bot/cli.py): every stored secret re-sealed
with the first key of the ring (bot/rekey.py), counts per table, audited; exit code 1 when a
stored secret opens with no key of the ring (listed by row, never by content)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot import bootstrap, rekey
from bot.audit import Audit
from bot.model import new_correlation_id
from bot.secrets import SecretBox
from bot.settings import CoreSettings
from bot.startup import StartupError, require_schema, secret_box
from storage.db import Database
from storage.tenants import TenantRepo

COMMANDS = ("secrets",)
COUNTS = ("{table}: {resealed} re-sealed with the first key, {current} already sealed with it, "
          "{moved} rewritten by deskhand meanwhile, {unreadable} unreadable")
DONE = ("every stored secret is sealed with the first key of the ring: the other keys can be "
        "removed once the longest signed link (DESKHAND_SHARING_URL_MINUTES) has expired")
UNREADABLE = ("deskhand: {count} row(s) hold a value that no key of the ring opens; they were "
              "left as they are: put the key that sealed them back in the ring and run this "
              "again, or set those secrets again (docs/security.md, \"Rotating the secret key\")")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    secrets = sub.add_parser("secrets", help="the secret key ring (DESKHAND_SECRET_KEYS)")
    ssub = secrets.add_subparsers(dest="action", required=True)
    rotate = ssub.add_parser("rotate", help="re-seal every stored secret with the first key of "
                                            "the ring; safe while deskhand runs")
    rotate.add_argument("--batch", type=int, default=rekey.BATCH,
                        help=f"rows per transaction (default: {rekey.BATCH})")


def run(args: argparse.Namespace, settings: CoreSettings) -> int:
    if not 1 <= args.batch <= 10_000:
        raise ValueError("--batch takes a number of rows from 1 to 10000")
    return asyncio.run(_rotate(settings, secret_box(settings), args.batch))


async def _rotate(settings: CoreSettings, box: SecretBox, batch: int) -> int:
    db = Database(settings.database_url)
    try:
        schema = await require_schema(db.engine)
        if schema.ahead:  # a newer release may seal columns this one does not know of
            raise StartupError(f"the database schema (revision {schema.database}) is newer than "
                               f"this deskhand ({schema.code}): run `deskhand secrets rotate` "
                               "with the release that migrated it")
        reports = await rekey.rotate(db.engine, box, bootstrap.sealed_columns(), batch)
        unreadable = [row for report in reports for row in report.unreadable]
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).ensure(settings.tenant, settings.tenant_name)
            await Audit.add(
                uow, tenant.id, "command", "secrets rotate", "failed" if unreadable else "ok",
                correlation_id=new_correlation_id(), actor_label="cli",
                params={"ring_size": len(settings.secret_ring), "tables": {
                    r.table: {"resealed": r.resealed, "current": r.current, "moved": r.moved,
                              "unreadable": len(r.unreadable)} for r in reports}},
                detail="; ".join(unreadable))
            await uow.commit()
    finally:
        await db.dispose()
    for report in reports:
        print(COUNTS.format(table=report.table, resealed=report.resealed, current=report.current,
                            moved=report.moved, unreadable=len(report.unreadable)))
    if unreadable:
        for row in unreadable:
            print(f"  cannot open {row}", file=sys.stderr)
        print(UNREADABLE.format(count=len(unreadable)), file=sys.stderr)
        return 1
    print(DONE)
    return 0
