"""Remote-session and TeamViewer-credential storage on SQLite and PostgreSQL: every state change
is a compare-and-set, an OAuth state is consumed once, a rotation loses to a newer version."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.workflow import IllegalMove
from handlers.remote.sessions import CLOSED, CLOSING, FAILED, OPEN, PENDING, SESSIONS
from storage.db import Database
from storage.directory import DirectoryRepo
from storage.remote import RemoteSession, RemoteSessionRepo, TeamViewerAuthRepo, TeamViewerOAuthState
from storage.tenants import TenantRepo


async def _tenant_and_person(db: Database) -> tuple[int, int]:
    async with db.uow() as uow:
        tenant = await uow.repo(TenantRepo).ensure("acme", "Acme")
        person = await uow.repo(DirectoryRepo).upsert_principal(tenant.id, "alex@example.com", "Alex")
        await uow.commit()
        return tenant.id, person.id


async def test_session_transitions_are_compare_and_set(database: Database) -> None:
    tenant, person = await _tenant_and_person(database)
    async with database.uow() as uow:
        row = await uow.repo(RemoteSessionRepo).add(RemoteSession(
            tenant_id=tenant, state="pending", device_name="PC-1", requester_id=person,
            requester_email="alex@example.com", correlation_id="c1"))
        await uow.commit()
    async with database.uow() as uow:
        assert await SESSIONS.move(uow, tenant, row.id, PENDING, OPEN, code="s12-345-678")
        assert not await SESSIONS.move(uow, tenant, row.id, PENDING, FAILED)
        assert not await SESSIONS.move(uow, tenant + 1, row.id, OPEN, CLOSED)  # another tenant's
        with pytest.raises(IllegalMove):  # not a declared move: a bug, never a silent no-op
            await SESSIONS.move(uow, tenant, row.id, PENDING, CLOSED)
        await uow.commit()

    async def claim() -> bool:
        async with database.uow() as uow:
            won = await SESSIONS.move(uow, tenant, row.id, OPEN, CLOSING)
            await uow.commit()
            return won

    # Two clicks on Close at once: exactly one moves the row on.
    assert sorted(await asyncio.gather(claim(), claim())) == [False, True]
    async with database.uow() as uow:
        sessions = uow.repo(RemoteSessionRepo)
        found = await sessions.by_code(tenant, "s12-345-678")
        assert found is not None and found.state == "closing"
        assert [r.id for r in await sessions.open_for(tenant, person)] == [row.id]
        # TeamViewer may reuse a code long after; the newest row is the one meant.
        again = await sessions.add(RemoteSession(
            tenant_id=tenant, state="open", code="s12-345-678", device_name="PC-2",
            requester_id=person, requester_email="alex@example.com", correlation_id="c2"))
        await uow.commit()
        newest = await sessions.by_code(tenant, "s12-345-678")
        assert newest is not None and newest.id == again.id


async def test_oauth_state_is_single_use_and_rotation_checks_the_version(database: Database) -> None:
    tenant, person = await _tenant_and_person(database)
    later = datetime.now(UTC) + timedelta(minutes=10)
    async with database.uow() as uow:
        await uow.repo(TeamViewerAuthRepo).add_state(TeamViewerOAuthState(
            state_hash="h" * 64, tenant_id=tenant, principal_id=person, verifier="sealed",
            expires_at=later))
        await uow.commit()
    async with database.uow() as uow:
        assert await uow.repo(TeamViewerAuthRepo).take_state(tenant + 1, "h" * 64) is None  # other tenant
        taken = await uow.repo(TeamViewerAuthRepo).take_state(tenant, "h" * 64)
        await uow.commit()
    assert taken is not None and taken.principal_id == person
    async with database.uow() as uow:
        assert await uow.repo(TeamViewerAuthRepo).take_state(tenant, "h" * 64) is None
        await uow.repo(TeamViewerAuthRepo).connect(tenant, "a1", "r1", later, "alex@example.com")
        await uow.commit()
    async with database.uow() as uow:
        assert await uow.repo(TeamViewerAuthRepo).rotate(tenant, 1, "a2", "r2", later)
        assert not await uow.repo(TeamViewerAuthRepo).rotate(tenant, 1, "a3", "r3", later)  # stale version
        await uow.commit()
    async with database.uow() as uow:
        row = await uow.repo(TeamViewerAuthRepo).credential(tenant)
        assert row is not None and (row.version, row.refresh_token) == (2, "r2")
        await uow.repo(TeamViewerAuthRepo).connect(tenant, "a4", "r4", later, "alex@example.com")
        await uow.commit()
    async with database.uow() as uow:
        row = await uow.repo(TeamViewerAuthRepo).credential(tenant)
        assert row is not None and (row.version, row.access_token) == (3, "a4")
