"""`deskhand check [--tenant T] [--only NAME]`: test every integration of a tenant from the
command line, one line per finding; exit 0 when nothing is a problem, else 1 (wired into
bot/cli.py). The checks are those `integrations test` runs in chat (bot/tenant_clients.py)."""

from __future__ import annotations

import argparse
import asyncio

from bot import bootstrap
from bot.settings import CoreSettings
from storage.tenants import TenantRepo

COMMANDS = ("check",)
MARKS = {"ok": "ok     ", "problem": "PROBLEM", "off": "off    "}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    check = sub.add_parser("check", help="test the connection to each integration of a tenant")
    check.add_argument("--tenant", help="the tenant's slug (default: DESKHAND_TENANT)")
    check.add_argument("--only", action="append", default=[], metavar="NAME",
                       help="one integration (workspace-one, teamviewer, 1e, ...); repeatable")


def run(args: argparse.Namespace, settings: CoreSettings) -> int:
    return asyncio.run(check(settings, args.tenant, args.only))


async def check(settings: CoreSettings, tenant: str | None, only: list[str]) -> int:
    runtime = bootstrap.build_runtime(settings)
    runtime.run_jobs = False  # no scheduler, no inbox consumer: only the checks
    await runtime.start()
    try:
        tenant_id = runtime.tenant_id
        if tenant and tenant != settings.tenant:
            async with runtime.db.uow() as uow:
                found = await uow.repo(TenantRepo).by_slug(tenant)
            if found is None:
                print(f"deskhand: there is no tenant `{tenant}`")
                return 1
            tenant_id = found.id
        unknown = [n for n in only if n not in runtime.tenant_clients.declared]
        if unknown:
            print(f"deskhand: no integration {', '.join(unknown)}; integrations: "
                  f"{', '.join(runtime.tenant_clients.declared)}")
            return 1
        results = await runtime.tenant_clients.check(tenant_id, only or None)
    finally:
        await runtime.stop()
    problems = 0
    for integration, findings in results:
        for finding in findings:
            problems += finding.status == "problem"
            print(f"{MARKS[finding.status]} {integration.name}: {finding.text}")
    return 1 if problems else 0
