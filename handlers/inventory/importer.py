"""`deskhand devices import`: the checked rows of a file (handlers/inventory/import_file.py)
merged into the inventory as the source `import`, by the vendor sync's own merge.

Each row is one `device_sources` row (source `import`, the lower-cased name as its id), so a
device is matched by FQDN, name or serial exactly as a vendor's would be, fills only the facts
the device lacks, and shows "CSV import" among its sources. With a `group` column, each device
goes to the row's group (made when new; an empty cell means no group), except a device the
tenant's group source reports: that vendor decides its group. Devices in the last import are
never retired by the sync; a device an import no longer lists stays unless `--retire-missing`.
Runs in the caller's transaction: it commits, or rolls back for a dry run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from handlers.inventory import texts
from handlers.inventory.config import InventorySettings
from handlers.inventory.import_file import Row
from handlers.inventory.sources import LABELS
from storage.devices import DeviceRepo
from storage.inventory import IMPORT, InventoryRepo
from storage.inventory_records import Group, Seen
from storage.uow import UnitOfWork

PAGE = 500  # rows merged a statement batch at a time, as a vendor's page is


@dataclass
class Outcome:
    rows: int = 0
    added: int = 0  # new to the inventory (or back from retirement: same FQDN or serial)
    updated: int = 0  # facts filled in
    moved: int = 0  # management group changed
    new_groups: list[str] = field(default_factory=list)
    vendor_grouped: int = 0  # devices whose group the group source decides, not the file
    group_source: str = ""
    missing: int = 0  # imported before, not in this file
    retired: int = 0  # of those, retired now (--retire-missing)
    retire_missing: bool = False

    def summary(self, dry: bool) -> str:
        verbs = texts.IMPORT_VERBS_DRY if dry else texts.IMPORT_VERBS
        return texts.IMPORT_SUMMARY.format(
            added=self.added, updated=self.updated, moved=self.moved, groups=len(self.new_groups),
            unchanged=max(0, self.rows - self.added - self.updated), **verbs)

    def notes(self) -> list[str]:
        out = [texts.IMPORT_GROUPS_NEW.format(names=", ".join(self.new_groups))] \
            if self.new_groups else []
        if self.vendor_grouped:
            out.append(texts.IMPORT_GROUPS_VENDOR.format(n=self.vendor_grouped,
                                                         source=self.group_source))
        if self.missing and self.retire_missing:
            out.append(texts.IMPORT_MISSING_GONE.format(
                n=self.missing, retired=self.retired, were="was" if self.retired == 1 else "were"))
        elif self.missing:
            out.append(texts.IMPORT_MISSING_KEPT.format(n=self.missing))
        return out

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "added": self.added, "updated": self.updated,
                "moved": self.moved, "groups_created": len(self.new_groups),
                "missing": self.missing, "retired": self.retired}


async def apply(uow: UnitOfWork, tenant_id: int, rows: list[Row], run_at: datetime, *,
                retire_missing: bool = False) -> Outcome:
    repo = uow.repo(InventoryRepo)
    out = Outcome(rows=len(rows), retire_missing=retire_missing)
    grouped = bool(rows) and rows[0].group is not None
    groups = await _groups(uow, tenant_id, rows, out) if grouped else None
    for start in range(0, len(rows), PAGE):
        merged = await repo.merge_page(tenant_id, IMPORT, [
            Seen(r.name.lower(), r.name, fqdn=r.fqdn, serial=r.serial, os=r.os,
                 owner_email=r.owner) for r in rows[start:start + PAGE]], run_at, groups)
        out.added += merged.added
        out.updated += merged.updated
    if grouped:
        await _move(uow, tenant_id, run_at, out)
    out.missing = await repo.unseen(tenant_id, IMPORT, run_at)
    if retire_missing and out.missing:
        out.retired = await repo.forget(tenant_id, IMPORT, run_at, run_at)
    return out


async def _groups(uow: UnitOfWork, tenant_id: int, rows: list[Row], out: Outcome
                  ) -> dict[str, Group]:
    """Each row's group by its device's id in the file (the lower-cased name), named as deskhand
    already names it ("london" is London); a new one is made by `_move`."""
    known = {g.name.lower(): g.name for g in await uow.repo(DeviceRepo).groups(tenant_id)}
    staged: dict[str, Group] = {}
    for r in rows:
        if r.group:
            if r.group.lower() not in known:
                known[r.group.lower()] = r.group
                out.new_groups.append(r.group)
            staged[r.name.lower()] = (known[r.group.lower()], None)
    return staged


async def _move(uow: UnitOfWork, tenant_id: int, run_at: datetime, out: Outcome) -> None:
    """Each device to its row's group, by the sync's own steps for a source's groups."""
    repo = uow.repo(InventoryRepo)
    await repo.clear_groups(tenant_id, IMPORT, run_at)
    source = (await InventorySettings.read(uow, tenant_id)).inventory_group_source
    vendor = None if source == "none" else source
    out.moved = (await repo.apply_groups(tenant_id, IMPORT, run_at, {},
                                         unless_reported_by=vendor)).moved
    if vendor:
        out.group_source = LABELS[vendor]
        out.vendor_grouped = await repo.reported_by_both(tenant_id, IMPORT, vendor, run_at)
