"""`deskhand audit export|archive` (wired into bot/cli.py): the trail as CSV, or its old rows moved
out of the database into a file (handlers/audit/archive.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.settings import CoreSettings, section
from bot.startup import StartupError, require_schema
from handlers.audit import archive, texts
from handlers.audit.commands import export_csv
from handlers.audit.config import AuditConfig
from handlers.common import parse_since
from storage.db import Database
from storage.tenants import TenantRepo

COMMANDS = ("audit",)
WHEN = "30m, 12h, 400d, 60w or an ISO date (UTC unless it says otherwise)"


def add_parsers(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="audit log")
    actions = audit.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write the audit log as CSV")
    export.add_argument("--user")
    export.add_argument("--device")
    export.add_argument("--since", help="30m, 12h, 7d, 2w or an ISO date")
    export.add_argument("-o", "--output", help="file to write (default: standard output)")
    moved = actions.add_parser(
        "archive", help="move the rows older than a cutoff into a file, then prune them")
    moved.add_argument("--before", required=True, help=f"the cutoff: {WHEN}; at least "
                       "DESKHAND_AUDIT_KEEP_DAYS ago")
    moved.add_argument("--to", required=True, type=Path,
                       help="the file to write (never overwritten); a .sha256 file goes beside it")
    moved.add_argument("--format", choices=["jsonl", "csv"],
                       help="JSON lines (exact) or CSV (for spreadsheets); default: by --to's "
                       "suffix, JSON lines unless .csv")
    moved.add_argument("--tenant", help="only this tenant's rows (default: every tenant's)")


def run(args: argparse.Namespace, settings: CoreSettings) -> int:
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: CoreSettings) -> int:
    db = Database(settings.database_url)
    try:
        schema = await require_schema(db.engine)
        if args.action == "archive":
            if schema.ahead:  # a newer release may have added columns this export would drop
                raise StartupError(texts.SCHEMA_AHEAD.format(db=schema.database, code=schema.code))
            print(await _archive(db, args, section(settings, AuditConfig).audit_keep_days))
            return 0
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).ensure(settings.tenant, settings.tenant_name)
            since = parse_since(args.since) if args.since else None
            body = await export_csv(uow, tenant.id, {
                "actor_email": args.user.lower() if args.user else None, "target": args.device,
                "since": since.isoformat() if since else None})
            await uow.commit()
    finally:
        await db.dispose()
    if args.output:
        await asyncio.to_thread(Path(args.output).write_text, body)
    else:
        sys.stdout.write(body)
    return 0


async def _archive(db: Database, args: argparse.Namespace, keep_days: int) -> str:
    cutoff = archive.cutoff_of(parse_since(args.before), keep_days)
    tenant_id, scope = None, texts.ALL_TENANTS
    if args.tenant:
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).by_slug(args.tenant)
            if tenant is None:
                known = ", ".join(sorted((await uow.repo(TenantRepo).slugs()).values()))
                raise archive.ArchiveError(texts.NO_TENANT.format(slug=args.tenant, known=known))
            tenant_id, scope = tenant.id, f"tenant {tenant.slug}"
    path = args.to.resolve()
    out = archive.ArchiveFile(path, args.format or ("csv" if path.suffix == ".csv" else "jsonl"))
    done = await archive.archive(db, cutoff, out, tenant_id, scope)
    if not done.rows:
        return texts.NOTHING.format(cutoff=cutoff, scope=scope)
    return texts.DONE.format(rows=done.rows, cutoff=cutoff, scope=scope, last_id=done.last_id,
                             path=path, archival=done.archival, sha256=done.sha256,
                             sidecar=out.sidecar)
