"""`deskhand scim-token create|rotate [--tenant SLUG]` (wired into bot/cli.py): the bearer token a
tenant's IdP provisions with, printed once."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.settings import CoreSettings
from bot.startup import require_schema
from handlers.scim import PREFIX, texts, tokens
from storage.db import Database
from storage.tenants import TenantRepo

COMMANDS = ("scim-token",)


def add_parsers(sub: argparse._SubParsersAction) -> None:
    scim = sub.add_parser("scim-token", help="the bearer token Okta or Entra provisions with")
    scim.add_argument("action", choices=["create", "rotate"],
                      help="create the tenant's first token, or replace it (the old one stops)")
    scim.add_argument("--tenant", help="the tenant's slug (default: DESKHAND_TENANT)")


def run(args: argparse.Namespace, settings: CoreSettings) -> int:
    return asyncio.run(_run(args.action, args.tenant or settings.tenant, settings))


async def _run(action: str, tenant: str, settings: CoreSettings) -> int:
    db = Database(settings.database_url)
    try:
        await require_schema(db.engine)
        async with db.uow() as uow:
            if tenant == settings.tenant:  # the deployment's own tenant exists from the start
                await uow.repo(TenantRepo).ensure(settings.tenant, settings.tenant_name)
            try:
                secret = await tokens.issue(uow, tenant, rotate=action == "rotate")
            except tokens.TokenRefused as exc:
                print(f"deskhand: {exc}", file=sys.stderr)
                return 1
            await uow.commit()
    finally:
        await db.dispose()
    said = texts.CLI_ROTATED if action == "rotate" else texts.CLI_CREATED
    print(said.format(tenant=tenant, secret=secret, url=settings.public_url.rstrip("/") + PREFIX))
    return 0
