"""The inventory sync's DESKHAND_* settings (deployment-wide) and its per-tenant settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from bot.tenant_settings import TenantSection

GroupSource = Literal["1e", "teamviewer", "workspace-one", "none"]


class InventoryConfig(BaseModel):
    inventory_sync_seconds: int = Field(3600, ge=0, le=7 * 86400, description=(
        "how often the scheduled device inventory sync runs, on one replica at a time "
        "(seconds); 0 turns the schedule off"))
    inventory_page_size: int = Field(500, ge=10, le=5000, description=(
        "devices asked of a vendor per page (TeamViewer's pages are its own 100)"))
    # Fewer, larger transactions cost less per device (bench/inventory.py); each holds SQLite's
    # write lock a moment longer. With the next batch read meanwhile: about what is in memory.
    inventory_batch_size: int = Field(2000, ge=10, le=20000, description=(
        "devices merged per transaction (and per renewal of the sync's lease), from as many "
        "vendor pages as that takes"))
    # 1E's filter is not documented (integrations/tachyon/inventory.py): `POST Devices`
    # filtered on this attribute == the group's field.
    inventory_1e_group_attribute: str = Field(
        "managementgroup", pattern=r"^[A-Za-z_]{1,64}$", description=(
            "the 1E device attribute a management group's members are filtered on"))
    inventory_1e_group_field: Literal["Id", "UsableId", "Name"] = Field("Id", description=(
        "the management group's field that attribute is compared with"))


class InventorySettings(TenantSection):
    """Per tenant: when an unreported device is retired, which source decides its group, and
    vendor group names mapped onto deskhand's (`London-Desktops` -> `London`)."""

    inventory_retire_days: int = Field(30, ge=1, le=3650)
    inventory_group_source: GroupSource = "1e"
    # `vendor group=deskhand group` pairs, set as `London-Desktops=London,NY Office=New York`.
    inventory_group_map: list[str] = Field(default_factory=list, max_length=500)

    @field_validator("inventory_group_map")
    @classmethod
    def _pairs(cls, value: list[str]) -> list[str]:
        out = []
        for pair in value:
            vendor, sep, ours = pair.partition("=")
            if not sep or not vendor.strip() or not ours.strip() or len(pair) > 400:
                raise ValueError("inventory_group_map takes `vendor group=deskhand group` pairs; "
                                 f"`{pair[:60]}` is not one")
            out.append(f"{vendor.strip()}={ours.strip()}")
        return out

    def group_mapping(self) -> dict[str, str]:
        """Vendor group name (lower-cased) -> deskhand group name."""
        return {v.lower(): o for v, _, o in (p.partition("=") for p in self.inventory_group_map)}
