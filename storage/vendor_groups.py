"""Management groups that are a vendor's groups: found again by the vendor's group id
(`management_groups.vendor`, `vendor_ref`), renamed with it, with the role scopes naming them
(docs/inventory.md#management-groups). The inventory sync's apply_groups uses it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, update

from storage.base import Repo
from storage.devices import ManagementGroup
from storage.rbac import RbacRepo


@dataclass(frozen=True)
class Renamed:
    """A management group its vendor renamed."""

    old: str
    new: str
    taken: bool  # another deskhand group has the new name: this one kept the old
    scopes: int  # role assignments whose scope now names the new name


class VendorGroupRepo(Repo):
    async def group_id(self, tenant_id: int, source: str, name: str | None, ref: str | None,
                        tachyon: bool, renamed: list[Renamed]) -> int | None:
        """The deskhand group for the vendor's group `name` (id `ref`, None when unknown or
        mapped): the one that follows `ref`, renamed when the vendor renamed it; else the one of
        that name (made when new), from now on following `ref`."""
        if not name:
            return None
        name = name[:200]
        if ref:
            found = await self._followed(tenant_id, source, ref, tachyon)
            if found is not None:
                if found[1] != name:
                    await self._rename(tenant_id, found[0], found[1], name, renamed)
                return found[0]
        await self.s.execute(self.insert(ManagementGroup).values(
            tenant_id=tenant_id, name=name, description="", vendor=source if ref else None,
            vendor_ref=ref, tachyon_id=ref if tachyon else None,
        ).on_conflict_do_nothing(index_elements=["tenant_id", "name"]))
        group_id, vendor, tachyon_id = (await self.s.execute(select(
            ManagementGroup.id, ManagementGroup.vendor, ManagementGroup.tachyon_id).where(
            ManagementGroup.tenant_id == tenant_id, ManagementGroup.name == name))).one()
        if ref and vendor is None:
            # A group made by hand, by the demo or by an import: from now on it is this vendor
            # group, found by its id. A group that follows another vendor's group (or another
            # group of this vendor) is never re-pointed: else one vendor's admin could name a
            # group after it, rename it away and take its name, and so its role scopes, for a
            # group of their own.
            await self.s.execute(update(ManagementGroup).where(ManagementGroup.id == group_id).values(
                vendor=source, vendor_ref=ref,
                tachyon_id=tachyon_id or (ref if tachyon else None)))
        return int(group_id)

    async def _followed(self, tenant_id: int, source: str, ref: str,
                        tachyon: bool) -> tuple[int, str] | None:
        """The group that is this vendor group: followed by its id, or (1E) linked to it by
        hand with `groups link`."""
        found = (await self.s.execute(select(ManagementGroup.id, ManagementGroup.name).where(
            ManagementGroup.tenant_id == tenant_id, ManagementGroup.vendor == source,
            ManagementGroup.vendor_ref == ref).order_by(ManagementGroup.id).limit(1))).first()
        if found is None and tachyon:
            found = (await self.s.execute(select(ManagementGroup.id, ManagementGroup.name).where(
                ManagementGroup.tenant_id == tenant_id, ManagementGroup.tachyon_id == ref,
            ).order_by(ManagementGroup.id).limit(1))).first()
            if found is not None:
                await self.s.execute(update(ManagementGroup).where(
                    ManagementGroup.id == found[0]).values(vendor=source, vendor_ref=ref))
        return (int(found[0]), str(found[1])) if found is not None else None

    async def _rename(self, tenant_id: int, group_id: int, old: str, new: str,
                      renamed: list[Renamed]) -> None:
        """The vendor renamed the group: so does deskhand, with the role scopes naming it. A
        name another deskhand group has is not taken (the group keeps its own)."""
        taken = (await self.s.execute(select(ManagementGroup.id).where(
            ManagementGroup.tenant_id == tenant_id, ManagementGroup.id != group_id,
            func.lower(ManagementGroup.name) == new.lower()).limit(1))).first() is not None
        if taken:
            renamed.append(Renamed(old, new, taken=True, scopes=0))
            return
        await self.s.execute(update(ManagementGroup).where(ManagementGroup.id == group_id)
                             .values(name=new))
        scopes = await RbacRepo(self.s).rename_device_group(tenant_id, old, new)
        renamed.append(Renamed(old, new, taken=False, scopes=scopes))
