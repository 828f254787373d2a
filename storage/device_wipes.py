"""Wipes and enterprise wipes of managed devices: one row per request, from the typed
confirmation to Workspace ONE's answer.

confirming -> awaiting_approval -> approved -> sending -> sent | failed | unknown, or denied /
expired on the way (the workflow is declared in handlers/device_actions/wipes.py). The row, not
the card, carries every fact a click needs: the buttons name only its id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, Repo, utcnow


class DeviceWipe(Base):
    __tablename__ = "device_wipes"
    # AUTOINCREMENT on SQLite: wipe 7 in the audit trail and on old cards never names another.
    __table_args__ = (Index("ix_device_wipes_state_since", "state", "state_since"),
                      {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(24))
    state_since: Mapped[datetime] = mapped_column(default=utcnow)  # set by every move
    kind: Mapped[str] = mapped_column(String(24))  # "wipe" | "enterprise-wipe"
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), default=None)
    device_name: Mapped[str] = mapped_column(String(200))
    device_group: Mapped[str | None] = mapped_column(String(200), default=None)  # at request time
    ws1_id: Mapped[int] = mapped_column(Integer)  # the Workspace ONE device the person confirmed
    platform: Mapped[str] = mapped_column(String(40), default="")
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("principals.id", ondelete="SET NULL"), index=True, default=None)
    requester_email: Mapped[str] = mapped_column(String(320))
    for_email: Mapped[str | None] = mapped_column(String(320), default=None)
    ticket: Mapped[str | None] = mapped_column(String(64), default=None)
    # Where the requester asked (bot/places.py), to tell them what became of it.
    reply_to: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decided_by: Mapped[str | None] = mapped_column(String(320), default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(String(1000), default="")  # the vendor's words, or why not
    correlation_id: Mapped[str] = mapped_column(String(32))  # the request's, then the send's


class DeviceWipeRepo(Repo):
    """The wipe rows of a tenant; state changes go through the workflow's compare-and-set."""

    async def add(self, row: DeviceWipe) -> DeviceWipe:
        self.s.add(row)
        await self.s.flush()
        return row

    async def get(self, tenant_id: int, wipe_id: int) -> DeviceWipe | None:
        row = await self.s.get(DeviceWipe, wipe_id, populate_existing=True)
        return row if row is not None and row.tenant_id == tenant_id else None
