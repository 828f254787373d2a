"""One tenant's inventory sync, and the scheduled job that runs it for every tenant.

A sync holds the tenant's lease (`job_claims`, so `devices sync` and the job on any replica never
run one tenant twice at once), then takes each configured source in turn: for the source that
decides groups, its groups' members first (held as one map), then its devices in batches of the
configured size, each batch its own transaction that also renews the lease (a sync that lost its
lease stops before writing another batch) and stages its devices' groups. What waits for the
source's end, in one transaction: moving devices between management groups, and its "not
reported" count. Devices are retired only after a run in which every source answered. So a
source that fails mid-way leaves what it reported merged (devices added or updated, their last
report) and nothing half-applied: no device moved group, none retired; the other sources still
sync (docs/inventory.md, "Runs, failures and replicas").
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.audit import Audit
from bot.errors import UserError
from bot.model import new_correlation_id
from handlers.instructions.vendor import NAME as TACHYON
from handlers.inventory import texts
from handlers.inventory.config import InventoryConfig, InventorySettings
from handlers.inventory.sources import LABELS, Source, batches, configured, open_source
from integrations.http import VendorError
from storage.base import utcnow
from storage.claims import ClaimRepo
from storage.inventory import InventoryRepo, Renamed
from storage.inventory_records import Group
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.inventory")
JOB = "inventory.sync"
NOTES = 5  # devices not kept (or shortened) named in the report, per source
LEASE = timedelta(minutes=30)  # renewed with every batch; a dead holder's lapses after this
ANALYZE_AFTER = 1000  # devices a sync adds before the planner's statistics are first refreshed


class LeaseLost(Exception):
    """Another sync holds this tenant's lease now (this one paused past it): stop writing."""


@dataclass
class Growth:
    """When a sync refreshes the planner's statistics: each time the devices it added double,
    from ANALYZE_AFTER. A first sync of 100,000 devices does it 7 times; an hourly one, never.
    PostgreSQL without statistics plans a batch's lookups as scans of tables it believes
    small: seconds a batch, rising with every batch (storage/inventory.InventoryRepo.analyze)."""

    added: int = 0
    due: int = ANALYZE_AFTER

    def add(self, n: int) -> bool:
        """Count `n` more devices; True when the statistics are due."""
        self.added += n
        if self.added < self.due:
            return False
        self.due = 2 * self.added
        return True


@dataclass(frozen=True)
class Lease:
    """The tenant's sync lease, renewed inside each batch's transaction: a batch commits only
    while its sync holds the lease, however long the whole source takes."""

    key: str
    holder: str

    async def renew(self, uow: UnitOfWork) -> None:
        if not await uow.repo(ClaimRepo).claim_lease(JOB, self.key, self.holder, LEASE):
            raise LeaseLost()


@dataclass
class SourceReport:
    name: str
    seen: int = 0
    added: int = 0
    updated: int = 0
    moved: int = 0
    unseen: int = 0  # devices this source reported before and not in this run
    renamed: list[Renamed] = field(default_factory=list)  # its groups renamed at the vendor
    skipped: int = 0  # devices it reported that could not be kept (no name, an id too long)
    shortened: int = 0  # kept with a name cut or a fact left out (storage/inventory.fit)
    notes: list[str] = field(default_factory=list)  # the first few of those, with why
    failed: str = ""

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)


@dataclass
class Report:
    sources: list[SourceReport] = field(default_factory=list)
    retired: int = 0
    busy: bool = False  # another sync of this tenant was running
    retire_skipped: bool = False  # a source failed, so nobody was retired

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if s.failed]


async def run_sync(runtime: Runtime, tenant_id: int, *, now: datetime | None = None,
                   cid: str | None = None) -> Report:
    claims = runtime.scheduler.claims
    lease = Lease(str(tenant_id), claims.one_off())
    if not await claims.lease(JOB, LEASE, lease.key, lease.holder):
        return Report(busy=True)
    try:
        return await _sync(runtime, tenant_id, now or utcnow(), cid or new_correlation_id(), lease)
    finally:
        await claims.release(JOB, lease.key, lease.holder)


async def _sync(runtime: Runtime, tenant_id: int, run_at: datetime, cid: str,
                lease: Lease) -> Report:
    config = runtime.config(InventoryConfig)
    async with runtime.db.uow() as uow:
        settings = await InventorySettings.read(uow, tenant_id)
    report, growth = Report(), Growth()
    for name in await configured(runtime, tenant_id):
        part = SourceReport(name)
        report.sources.append(part)
        try:
            await _one(runtime, tenant_id, name, config, settings, run_at, cid, part, lease,
                       growth)
        except LeaseLost:
            log.warning("inventory sync of tenant %s lost its lease during %s (ref %s)",
                        tenant_id, name, cid)
            part.failed = texts.LEASE_LOST.format(ref=cid)
            break  # the sync that holds the lease now does the rest
        except (VendorError, UserError) as exc:
            part.failed = f"{exc} (ref {getattr(exc, 'correlation_id', cid)})"
        except Exception:
            log.exception("inventory sync of %s for tenant %s failed (ref %s)", name, tenant_id, cid)
            part.failed = f"the sync failed on deskhand's side (ref {cid})"
        if part.failed:  # its batches stay merged; what waits for its end was not applied
            part.moved = part.unseen = 0
            part.renamed = []
    if not report.sources:
        return report
    if report.failed:
        report.retire_skipped = True
    else:
        with contextlib.suppress(LeaseLost):  # the sync holding the lease now retires instead
            async with runtime.db.uow() as uow:
                await lease.renew(uow)
                report.retired = await uow.repo(InventoryRepo).retire(
                    tenant_id, run_at - timedelta(days=settings.inventory_retire_days), run_at)
                await uow.commit()
    log.info("inventory sync tenant %s: %s; %d retired", tenant_id, "; ".join(
        f"{s.name} {'failed' if s.failed else f'+{s.added} ~{s.updated} >{s.moved}'}"
        for s in report.sources), report.retired)
    return report


async def _one(runtime: Runtime, tenant_id: int, name: str, config: InventoryConfig,
               settings: InventorySettings, run_at: datetime, cid: str, part: SourceReport,
               lease: Lease, growth: Growth) -> None:
    source = await open_source(runtime, tenant_id, name, config, cid)
    if source is None:
        raise UserError(f"{LABELS[name]} is not set up for this workspace.")
    size = config.inventory_batch_size
    grouping = settings.inventory_group_source == name
    # The source that decides groups is asked for them first, so each batch stages its devices'
    # groups as it is written (no second pass over the grouped devices); they move at the end.
    groups, unread = None, None
    if grouping:
        try:
            groups = await _group_map(runtime, source, lease)
        except LeaseLost:
            raise
        except Exception as exc:  # its devices still merge (groups untouched); then it fails
            unread = exc
    async for batch in batches(source.devices(), size):
        async with runtime.db.uow() as uow:
            await lease.renew(uow)
            repo = uow.repo(InventoryRepo)
            merged = await repo.merge_page(tenant_id, name, batch, run_at, groups)
            if growth.add(merged.added):
                await repo.analyze()
            await uow.commit()
        part.seen += len(batch)
        part.added += merged.added
        part.updated += merged.updated
        if merged.skipped or merged.shortened:
            _unfit(part, merged.skipped, merged.shortened, tenant_id, cid)
    if unread is not None:
        raise unread
    async with runtime.db.uow() as uow:
        await lease.renew(uow)
        repo = uow.repo(InventoryRepo)
        if grouping:
            await repo.clear_groups(tenant_id, name, run_at)
            applied = await repo.apply_groups(tenant_id, name, run_at, settings.group_mapping(),
                                              tachyon=name == TACHYON)
            part.moved, part.renamed = applied.moved, applied.renamed
            for r in applied.renamed:  # role scopes changed with the name: on the record
                if r.taken:  # said by every sync until someone resolves it: logged, not audited
                    log.warning("inventory sync of %s for tenant %s: group %r renamed %r at the "
                                "vendor, a name another group has (ref %s)", name, tenant_id,
                                r.old, r.new, cid)
                    continue
                await Audit.add(uow, tenant_id, "inventory", "group.rename", "ok",
                                correlation_id=cid, actor_label=name, target=r.old,
                                params={"to": r.new, "scopes": r.scopes})
        part.unseen = await repo.unseen(tenant_id, name, run_at)
        await uow.commit()


async def _group_map(runtime: Runtime, source: Source, lease: Lease) -> dict[str, Group]:
    """Each vendor id's group, in the source's order (a device in several keeps the first): one
    entry per grouped device, about 100 bytes each, for as long as the source's run. Nothing is
    written meanwhile, so the lease is only kept alive: renewed every tenth of it."""
    found: dict[str, Group] = {}
    renewed = time.monotonic()
    async for group, ref, ids in source.groups():
        staged = (group[:200], ref)  # one tuple per group, shared by its members
        for external_id in ids:
            found.setdefault(external_id.strip(), staged)
        if time.monotonic() - renewed >= LEASE.total_seconds() / 10:
            async with runtime.db.uow() as uow:
                await lease.renew(uow)
                await uow.commit()
            renewed = time.monotonic()
    return found


def _unfit(part: SourceReport, skipped: tuple[str, ...], shortened: tuple[str, ...],
           tenant_id: int, cid: str) -> None:
    """Devices a vendor reported that the columns could not hold as they were: logged and
    counted for the report, never dropped unsaid."""
    part.skipped += len(skipped)
    part.shortened += len(shortened)
    part.notes.extend([*skipped, *shortened][:max(0, NOTES - len(part.notes))])
    log.warning("inventory sync of %s for tenant %s: %d device(s) not kept, %d shortened: %s "
                "(ref %s)", part.name, tenant_id, len(skipped), len(shortened),
                "; ".join([*skipped, *shortened][:50]), cid)


# --- the scheduled job ----------------------------------------------------------------------

async def tenants(runtime: Runtime) -> list[int]:
    """Tenants with at least one source set up."""
    found: set[int] = set()
    for name in LABELS:
        if name in runtime.tenant_clients.declared:
            found.update(await runtime.tenant_clients.tenants_with(name))
    return sorted(found)


async def sync_due(runtime: Runtime) -> datetime | None:
    """When a period begins: each tenant whose period began since its last sync is synced once,
    on one replica (a once-only claim per tenant and period), whatever the number of replicas;
    the claims of past periods are pruned. Returns when the next period begins (the job sleeps
    until then, bot/capability.Job's `idle`)."""
    seconds = runtime.config(InventoryConfig).inventory_sync_seconds
    now = utcnow()
    # Claims of periods before the last are never asked again (a period's key only grows);
    # with the schedule off, none is. A lease left by a replica that died mid-sync goes too.
    horizon = now - timedelta(seconds=2 * seconds)
    for job in (f"{JOB}.due", JOB):
        await runtime.scheduler.claims.prune(job, horizon)
    if not seconds:
        return None
    slot = int(now.timestamp()) // seconds
    for tenant_id in await tenants(runtime):
        if await runtime.scheduler.claims.once(f"{JOB}.due", f"{tenant_id}:{slot}"):
            await run_sync(runtime, tenant_id)
    return datetime.fromtimestamp((slot + 1) * seconds, UTC)
