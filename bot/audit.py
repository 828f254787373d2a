"""Append-only audit trail: every command, decision, denial and external call outcome.

`Audit.record` returns once its row is committed, so a request's answer is never sent for a
command whose audit row could not be written (the person is told something went wrong, with a
reference). Rows that arrive while a write is in flight are written together in the next one
(group commit): under load a command's row costs a share of a commit, not a commit of its own.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from bot.batching import GroupCommit, each_alone_if_need_be
from bot.model import Actor
from storage.audit import AuditEvent, AuditRepo, event_row, insert_events
from storage.db import Database
from storage.uow import UnitOfWork

_SECRET_KEY = re.compile(
    r"(secret|token|password|passwd|passcode|key|authori[sz]ation|cookie|code_verifier|tenant_code)",
    re.I)
_SECRET_VALUE = re.compile(
    r"(xox[abprs]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|Bearer\s+\S+|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_.-]+)")
# `password=hunter2` typed in chat: the raw text of a denied command is kept, so redact pairs too.
_SECRET_PAIR = re.compile(
    r"""([\w.-]*(?:secret|token|password|passwd|passcode|key|authori[sz]ation|cookie|tenant_code)"""
    r"""[\w.-]*=)("[^"]*"?|'[^']*'?|\S+)""", re.I)
REDACTED = "[redacted]"


def redact_text(text: str) -> str:
    return _SECRET_PAIR.sub(rf"\g<1>{REDACTED}", _SECRET_VALUE.sub(REDACTED, text))


def redact(params: dict[str, Any] | None) -> dict[str, Any]:
    """Drop secret-looking keys and token-looking values before anything is stored, and keep
    only what JSON can hold (a parsed `since=1h` is a datetime: it is stored as ISO text)."""
    clean: dict[str, Any] = {}
    for key, value in (params or {}).items():
        key = str(key)
        if _SECRET_KEY.search(key):
            clean[key] = REDACTED
        elif isinstance(value, dict):
            clean[key] = redact(value)
        elif isinstance(value, list | tuple | set | frozenset):
            clean[key] = [_plain(v, 200) for v in value][:50]
        else:
            clean[key] = _plain(value, 500)
    return clean


def _plain(value: Any, limit: int) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return redact_text(str(value))[:limit]


def make_row(
    tenant_id: int, kind: str, action: str, outcome: str, *, correlation_id: str,
    actor: Actor | None = None, actor_label: str | None = None, target: str | None = None,
    params: dict[str, Any] | None = None, detail: str = "",
) -> dict[str, Any]:
    return event_row({
        "tenant_id": tenant_id, "kind": kind, "action": action, "outcome": outcome,
        "correlation_id": correlation_id,
        "actor_email": actor.principal.email if actor else actor_label,
        "actor_principal_id": actor.principal.id if actor else None,
        "platform_identity": str(actor.identity) if actor else None,
        "target": target, "params": redact(params), "detail": redact_text(detail)[:2000]})


def make_event(tenant_id: int, kind: str, action: str, outcome: str, **kw: Any) -> AuditEvent:
    return AuditEvent(**make_row(tenant_id, kind, action, outcome, **kw))


class Audit:
    """Writes events in their own short transaction (grouped with those arriving meanwhile), so a
    failed action still leaves a trail; `add` writes one inside a caller's unit of work."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._rows: GroupCommit[dict[str, Any], Exception | None] = GroupCommit(self._write)

    async def record(self, tenant_id: int, kind: str, action: str, outcome: str, **kw: Any) -> None:
        failed = await self._rows.add(make_row(tenant_id, kind, action, outcome, **kw))
        if failed is not None:
            raise failed

    async def _write(self, rows: list[dict[str, Any]]) -> list[Exception | None]:
        return await each_alone_if_need_be(rows, self._insert)

    async def _insert(self, rows: list[dict[str, Any]]) -> None:
        # A lone row is one statement: on PostgreSQL it commits in autocommit, without the BEGIN
        # and COMMIT round trips (a group is written in one transaction, all or nothing).
        engine = self._db.autocommit if len(rows) == 1 else self._db.engine
        async with engine.begin() as conn:
            await insert_events(conn, rows)

    @staticmethod
    async def add(uow: UnitOfWork, tenant_id: int, kind: str, action: str, outcome: str,
                  **kw: Any) -> None:
        """Inside a caller's unit of work: the event commits or rolls back with the change."""
        await uow.repo(AuditRepo).append(make_row(tenant_id, kind, action, outcome, **kw))
