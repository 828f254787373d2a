"""The jobs that work per tenant go through every tenant, each by its own rows and settings:
sweeps of stuck rows, expiry reminders, run retention and the certificate rollover."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import reminders, sweeps
from bot.rbac import ensure_system_roles
from bot.runtime import Runtime
from bot.tenant_settings import ReminderSettings
from handlers.certificates.lifecycle import rollover
from handlers.device_actions.wipes import WIPES
from handlers.instructions.retention import purge
from storage.audit import AuditRepo
from storage.certificates import CertificateRepo
from storage.device_wipes import DeviceWipe
from storage.instructions import InstructionRun, InstructionRunRepo
from storage.reminders import Expiring
from storage.tenants import SettingsRepo, TenantRepo
from storage.uow import UnitOfWork

NOW = datetime.now(UTC)


async def beta(rt: Runtime) -> int:
    async with rt.db.uow() as uow:
        tenant = await uow.repo(TenantRepo).ensure("beta", "Beta")
        await ensure_system_roles(uow, tenant.id)
        await uow.commit()
        return tenant.id


async def test_a_sweep_settles_stuck_rows_of_every_tenant(runtime: Runtime) -> None:
    tenants = (runtime.tenant_id, await beta(runtime))
    async with runtime.db.uow() as uow:
        for tenant in tenants:
            uow.session.add(DeviceWipe(
                tenant_id=tenant, state="sending", state_since=NOW - timedelta(hours=1),
                kind="wipe", device_name=f"PC-{tenant}", ws1_id=1,
                requester_email="alex.admin@example.com", correlation_id=f"c{tenant}"))
        await uow.commit()
    settled: list[tuple[int, str]] = []

    async def settle(rt: Runtime, row: Any, sat: timedelta) -> None:
        settled.append((row.tenant_id, row.device_name))

    assert await sweeps.sweep(runtime, sweeps.Sweep(WIPES, ("sending",), settle)) == 2
    assert sorted(settled) == [(t, f"PC-{t}") for t in tenants]


class Recorded:
    """A reminder source with one subject per tenant, crossing its 7-day mark now."""

    kind = "token"

    def __init__(self) -> None:
        self.reminded: list[tuple[int, int]] = []

    async def crossing(self, uow: UnitOfWork, tenant_id: int, since: datetime | None,
                       now: datetime, days: Sequence[int]) -> list[Expiring]:
        return [Expiring(1000 + tenant_id, tenant_id, f"token of {tenant_id}",
                         now + timedelta(days=6, hours=23))]

    async def remind(self, runtime: Runtime, subject: Expiring, days: int,
                     settings: ReminderSettings) -> int:
        self.reminded.append((subject.tenant_id, days))
        return 1


async def test_reminders_go_out_in_every_tenant_by_its_own_marks(runtime: Runtime) -> None:
    home, other = runtime.tenant_id, await beta(runtime)
    async with runtime.db.uow() as uow:
        await uow.repo(SettingsRepo).put(other, {"reminder_days": [10, 5]}, "test")
        await uow.commit()
    source = Recorded()
    assert await reminders.sweep(runtime, [source], now=NOW) == 2
    assert sorted(source.reminded) == sorted([(home, 7), (other, 10)])
    assert await reminders.sweep(runtime, [source], now=NOW) == 0  # each claimed once


async def _old_run(uow: UnitOfWork, tenant: int) -> int:
    run = await uow.repo(InstructionRunRepo).add(InstructionRun(
        tenant_id=tenant, state="completed", definition_name="Q", definition_vendor_id=1,
        kind="question", target_label="PC-1", requester_email="alex.admin@example.com",
        correlation_id=f"old-{tenant}", created_at=NOW - timedelta(days=200),
        finished_at=NOW - timedelta(days=200)))
    return run.id


async def test_retention_purges_every_tenant_by_its_own_settings(runtime: Runtime) -> None:
    home, other = runtime.tenant_id, await beta(runtime)
    async with runtime.db.uow() as uow:
        await uow.repo(SettingsRepo).put(other, {"history_keep_months": 12}, "test")
        runs = {tenant: await _old_run(uow, tenant) for tenant in (home, other)}
        await uow.commit()
    assert await purge(runtime, NOW) == (0, 1)  # home keeps 3 months; beta a year
    async with runtime.db.uow() as uow:
        assert await uow.repo(InstructionRunRepo).get(home, runs[home]) is None
        assert await uow.repo(InstructionRunRepo).get(other, runs[other]) is not None
        purged = [e.tenant_id for e in await uow.repo(AuditRepo).query(home, limit=50)
                  if e.action == "retention.purge"]
    assert purged == [home]
    assert await purge(runtime, NOW + timedelta(days=400)) == (0, 1)  # now beta's too
    async with runtime.db.uow() as uow:
        assert [e.action for e in await uow.repo(AuditRepo).query(other, limit=50)
                if e.action == "retention.purge"] == ["retention.purge"]


async def test_every_tenant_gets_its_own_certificate(runtime: Runtime) -> None:
    home, other = runtime.tenant_id, await beta(runtime)
    await rollover(runtime)
    async with runtime.db.uow() as uow:
        mine = await uow.repo(CertificateRepo).current(home)
        theirs = await uow.repo(CertificateRepo).current(other)
    assert len(mine) == len(theirs) == 1
    assert theirs[0].subject.endswith(" beta") and mine[0].subject.endswith(" acme")
    assert mine[0].thumbprint != theirs[0].thumbprint
