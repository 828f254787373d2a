"""What the reminder tests share: rows of tokens and certificates, a started runtime, and the
console messages a person received."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.bootstrap import attach_platforms, build_runtime
from bot.demo import seed
from bot.runtime import Runtime
from storage.certificates import IdpCertificate
from storage.directory import DirectoryRepo
from storage.reminders import ReminderClaim
from storage.tokens import DataAccessToken
from tests.conftest import make_settings

T0 = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)  # the tests' clock starts here
ALEX = "alex.admin@example.com"
SAM = "sam.standard@example.com"


@contextlib.asynccontextmanager
async def started(url: str, *, upgrade: bool = True, **settings: Any) -> AsyncIterator[Runtime]:
    """A runtime on `url` with the demo personas and its platforms (the console in dev mode)."""
    rt = build_runtime(make_settings(url, **settings))
    attach_platforms(rt)
    await rt.start(upgrade=upgrade)
    async with rt.db.uow() as uow:
        await seed(uow, rt.tenant_id, devices=1)
        await uow.commit()
    try:
        yield rt
    finally:
        await rt.stop()


async def principal_id(rt: Runtime, email: str) -> int:
    async with rt.db.uow() as uow:
        row = await uow.repo(DirectoryRepo).principal_by_email(rt.tenant_id, email)
    assert row is not None
    return row.id


async def link(rt: Runtime, email: str, platform: str, platform_tenant: str, user_id: str) -> None:
    pid = await principal_id(rt, email)
    async with rt.db.uow() as uow:
        await uow.repo(DirectoryRepo).link_identity(rt.tenant_id, pid, platform, platform_tenant,
                                                    user_id, email)
        await uow.commit()


async def add_token(rt: Runtime, name: str, expires_at: datetime, *, state: str = "active",
                    by: str = ALEX) -> int:
    pid = await principal_id(rt, by)
    async with rt.db.uow() as uow:
        row = DataAccessToken(tenant_id=rt.tenant_id, name=name, description="", state=state,
                              lifetime="1m", secret_hash=uuid.uuid4().hex * 2,
                              created_by_id=pid, created_by_email=by,
                              created_at=expires_at - timedelta(days=30), expires_at=expires_at)
        uow.session.add(row)
        await uow.commit()
        return row.id


async def add_certificate(rt: Runtime, thumbprint: str, not_after: datetime, *,
                          state: str = "active") -> int:
    async with rt.db.uow() as uow:
        row = IdpCertificate(tenant_id=rt.tenant_id, thumbprint=thumbprint, subject="CN=deskhand",
                             state=state, not_before=not_after - timedelta(days=365),
                             not_after=not_after, certificate_pem="-", private_key="-")
        uow.session.add(row)
        await uow.commit()
        return row.id


async def claims(rt: Runtime) -> list[tuple[str, int, int]]:
    async with rt.db.uow() as uow:
        rows = (await uow.session.execute(ReminderClaim.__table__.select())).all()
    return sorted((r.kind, r.subject_id, r.days) for r in rows)


async def console_inbox(rt: Runtime, email: str) -> list[dict[str, Any]]:
    """The console's private messages to a person, oldest first (what their page would show)."""
    hub = rt.messenger("console")
    assert hub is not None
    pid = await principal_id(rt, email)
    socket = object()
    history: list[dict[str, Any]] = hub.join(socket, "console", pid)  # type: ignore[attr-defined]
    hub.leave(socket)  # type: ignore[attr-defined]
    return [m["card"] for m in history if m["private"] and m["kind"] == "card"]
