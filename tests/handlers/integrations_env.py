"""Helpers of the per-tenant integration tests: deskhand whose own tenant (acme) has Workspace
ONE from DESKHAND_WS1_*, a second tenant in the same database, its people, and commands through
the router (the simulators and their account come from ws1_env)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bot.demo import seed
from bot.identity import to_principal
from bot.model import Actor, PlatformIdentity, ReplyTarget
from bot.rbac import ensure_system_roles
from cards.model import Card
from integrations.workspace_one.simulator import WorkspaceOneSimulator
from storage.directory import DirectoryRepo
from storage.tenants import TenantRepo
from tests.bot.test_audit import ChatRoom
from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server
from tests.handlers.ws1_env import FAST, aim, fleet, ws1_settings

ALEX, SAM = "alex.admin@example.com", "sam.standard@example.com"
CONSOLE = ReplyTarget("console", "console")


@asynccontextmanager
async def deskhand(tmp_path: Path, ws1_url: str, **extra: Any) -> AsyncIterator[LiveServer]:
    """deskhand (tenant acme) whose DESKHAND_WS1_* point at `ws1_url`; quick retries. No
    simulator is seeded: each test seeds the ones it uses for the tenants it uses (seed_sim)."""
    port = free_port()
    runner, server = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}",
        **ws1_settings(ws1_url), **extra))
    server.runtime.tenant_clients.tune("workspace-one", policy=FAST)
    try:
        yield server
    finally:
        await runner.cleanup()


async def seed_sim(sim: WorkspaceOneSimulator, server: LiveServer, tenant_id: int) -> str:
    """The simulator manages the tenant's fleet; returns a Windows device's name."""
    await aim(server, sim, tenant_id)
    return next(d.name for d in await fleet(server, tenant_id) if d.name.startswith("PC-"))


async def other_tenant(server: LiveServer, slug: str = "beta") -> int:
    """A second tenant in the same database, with the demo's people and fleet."""
    async with server.runtime.db.uow() as uow:
        tenant = await uow.repo(TenantRepo).ensure(slug, slug.title())
        await ensure_system_roles(uow, tenant.id)
        await seed(uow, tenant.id)
        await uow.commit()
    return tenant.id


async def person(server: LiveServer, tenant_id: int, email: str) -> Actor:
    async with server.runtime.db.uow() as uow:
        row = await uow.repo(DirectoryRepo).principal_by_email(tenant_id, email)
    assert row is not None
    return Actor(to_principal(row), PlatformIdentity("console", str(tenant_id), str(row.id)))


async def say(server: LiveServer, who: Actor, text: str, where: ReplyTarget = CONSOLE) -> Card:
    """A command through the router, as the console's adapter hands it over."""
    reply = await server.runtime.router.handle_text(text, who, where, ChatRoom())
    return reply.cards[0]


def text_of(card: Card | dict[str, Any]) -> str:
    return card.fallback_text() if isinstance(card, Card) else json.dumps(card)

