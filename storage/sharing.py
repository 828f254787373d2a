"""What the Delta Sharing endpoint publishes of a tenant: chosen columns of its audit events,
remote sessions and instruction runs, read in keyset batches for the parquet snapshots.

Only columns safe to hand to a data consumer are listed: no session links, no instruction
parameters or payloads (they may hold one-time codes), no places or leases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Boolean, Column, Integer, String, Table, Text, select
from sqlalchemy.types import TypeEngine

from storage.audit import AuditEvent
from storage.base import Base, Repo, UTCDateTime
from storage.instructions import InstructionRun
from storage.remote import RemoteSession

DATASETS: dict[str, tuple[type[Base], tuple[str, ...]]] = {
    "audit_events": (AuditEvent, (
        "id", "at", "correlation_id", "kind", "action", "outcome", "actor_email",
        "platform_identity", "target", "params", "detail")),
    "remote_sessions": (RemoteSession, (
        "id", "state", "code", "device_name", "requester_email", "end_customer", "ticket", "note",
        "full_client", "valid_until", "created_at", "state_since", "closed_at", "closed_by",
        "end_state")),
    "instruction_runs": (InstructionRun, (
        "id", "state", "definition_name", "kind", "instruction_set", "target_label",
        "target_count", "target_group", "incident", "requester_email", "approval_required",
        "sent_count", "received_count", "outstanding_count", "error_count", "answers_stored",
        "outcome", "created_at", "approved_at", "sent_at", "finished_at", "finished_by")),
}


def _kind(sql_type: TypeEngine[Any]) -> str:
    """The Delta type of a column: long, boolean, timestamp or string (JSON is written as text)."""
    if isinstance(sql_type, UTCDateTime):
        return "timestamp"
    if isinstance(sql_type, Boolean):
        return "boolean"
    if isinstance(sql_type, Integer):  # BigInteger and the SQLite variant included
        return "long"
    if isinstance(sql_type, String | Text):
        return "string"
    return "json"


def columns(dataset: str) -> list[tuple[str, str]]:
    """(name, kind) of each published column, in order; kind is long|boolean|timestamp|string|json."""
    table, names = DATASETS[dataset]
    cols = cast(Table, table.__table__).c
    return [(name, _kind(cast(Column[Any], cols[name]).type)) for name in names]


class SharingRepo(Repo):
    async def batch(self, dataset: str, tenant_id: int, after_id: int,
                    limit: int) -> Sequence[tuple[Any, ...]]:
        """The next rows of the tenant's dataset by id, as tuples in `columns` order."""
        table, names = DATASETS[dataset]
        cols = cast(Table, table.__table__).c
        q = (select(*(cols[n] for n in names))
             .where(cols.tenant_id == tenant_id, cols.id > after_id)
             .order_by(cols.id).limit(limit))
        return [tuple(r) for r in (await self.s.execute(q)).all()]
