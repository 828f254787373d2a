"""One tenant's inventory sync, and the scheduled job that runs it for every tenant.

A sync holds the tenant's lease (`job_claims`, so `devices sync` and the job on any replica never
run one tenant twice at once), then takes each configured source in turn in its own transaction:
its devices page by page (merged and upserted a page at a time: bounded memory), then, for the
source that decides groups, its groups; one commit at the end. A source that fails rolls back
whole and is reported; the others still sync. Devices are retired only after a run in which
every source answered: a vendor that is down for a week must not retire its whole fleet.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.audit import Audit
from bot.errors import UserError
from bot.model import new_correlation_id
from handlers.instructions.vendor import NAME as TACHYON
from handlers.inventory.config import InventoryConfig, InventorySettings
from handlers.inventory.sources import LABELS, configured, open_source
from integrations.http import VendorError
from storage.base import utcnow
from storage.inventory import InventoryRepo, Renamed

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.inventory")
JOB = "inventory.sync"
NOTES = 5  # devices not kept (or shortened) named in the report, per source
LEASE = timedelta(minutes=30)  # renewed between sources; a dead holder's lapses after this


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
    holder, key = claims.one_off(), str(tenant_id)
    if not await claims.lease(JOB, LEASE, key, holder):
        return Report(busy=True)
    try:
        return await _sync(runtime, tenant_id, now or utcnow(), cid or new_correlation_id(),
                           lambda: claims.lease(JOB, LEASE, key, holder))
    finally:
        await claims.release(JOB, key, holder)


async def _sync(runtime: Runtime, tenant_id: int, run_at: datetime, cid: str,
                renew: Callable[[], Awaitable[bool]]) -> Report:
    config = runtime.config(InventoryConfig)
    async with runtime.db.uow() as uow:
        settings = await InventorySettings.read(uow, tenant_id)
    report = Report()
    for name in await configured(runtime, tenant_id):
        part = SourceReport(name)
        report.sources.append(part)
        try:
            await _one(runtime, tenant_id, name, config, settings, run_at, cid, part)
        except (VendorError, UserError) as exc:
            part.failed = f"{exc} (ref {getattr(exc, 'correlation_id', cid)})"
        except Exception:
            log.exception("inventory sync of %s for tenant %s failed (ref %s)", name, tenant_id, cid)
            part.failed = f"the sync failed on deskhand's side (ref {cid})"
        if part.failed:
            part.seen = part.added = part.updated = part.moved = 0  # rolled back: none of it
            part.renamed, part.notes = [], []
            part.skipped = part.shortened = 0
        await renew()
    if not report.sources:
        return report
    if report.failed:
        report.retire_skipped = True
    else:
        async with runtime.db.uow() as uow:
            report.retired = await uow.repo(InventoryRepo).retire(
                tenant_id, run_at - timedelta(days=settings.inventory_retire_days), run_at)
            await uow.commit()
    log.info("inventory sync tenant %s: %s; %d retired", tenant_id, "; ".join(
        f"{s.name} {'failed' if s.failed else f'+{s.added} ~{s.updated} >{s.moved}'}"
        for s in report.sources), report.retired)
    return report


async def _one(runtime: Runtime, tenant_id: int, name: str, config: InventoryConfig,
               settings: InventorySettings, run_at: datetime, cid: str, part: SourceReport) -> None:
    source = await open_source(runtime, tenant_id, name, config, cid)
    if source is None:
        raise UserError(f"{LABELS[name]} is not set up for this workspace.")
    async with runtime.db.uow() as uow:
        repo = uow.repo(InventoryRepo)
        async for page in source.devices():
            merged = await repo.merge_page(tenant_id, name, page, run_at)
            part.seen += len(page)
            part.added += merged.added
            part.updated += merged.updated
            if merged.skipped or merged.shortened:
                _unfit(part, merged.skipped, merged.shortened, tenant_id, cid)
        if settings.inventory_group_source == name:
            async for group, ref, ids in source.groups():
                await repo.set_group(tenant_id, name, group, ref, ids, run_at)
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


async def sync_due(runtime: Runtime) -> None:
    """Every minute: each tenant whose period began since its last sync is synced once, on one
    replica (a once-only claim per tenant and period), whatever the number of replicas."""
    seconds = runtime.config(InventoryConfig).inventory_sync_seconds
    if not seconds:
        return
    slot = int(utcnow().timestamp()) // seconds
    for tenant_id in await tenants(runtime):
        if await runtime.scheduler.claims.once(f"{JOB}.due", f"{tenant_id}:{slot}"):
            await run_sync(runtime, tenant_id)
