"""Append-only audit trail: every command, decision, denial and external call outcome.

A chat request run from the inbox holds the events that only describe the request itself (the
command or click, its outcome, a denial: `HELD_KINDS`) and the inbox writes them in the
transaction that finishes the request (bot/inbox.py): one commit instead of two per command. What
the request did to other systems or decided (`external` vendor calls, `decision`s on approvals and
wipes, and every other kind) is written at once, so a worker that dies after acting still leaves
the trail of what it did; the request itself is then reported as unfinished.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

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


@dataclass
class Held:
    """The events of one request, for its caller to write in its own transaction."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    open: bool = True


HELD_KINDS = frozenset({"command", "interaction", "denial"})  # about the request, nothing more
_HELD: ContextVar[Held | None] = ContextVar("deskhand_audit_held", default=None)


@contextmanager
def held() -> Iterator[Held]:
    """Hold what `Audit.record` is given of `HELD_KINDS` in this context until the block ends.

    Tasks started inside see the same Held (contextvars are copied): what they record before the
    block ends is held too, what they record after it is written at once (`open` is False then),
    so no event is ever dropped."""
    holding = Held()
    token = _HELD.set(holding)
    try:
        yield holding
    finally:
        holding.open = False
        _HELD.reset(token)


class Audit:
    """Writes events in their own short transaction, so a failed action still leaves a trail;
    inside `held()`, hands them to the holder (the inbox writes them with the request's finish)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, tenant_id: int, kind: str, action: str, outcome: str, **kw: Any) -> None:
        row = make_row(tenant_id, kind, action, outcome, **kw)
        holding = _HELD.get()
        if holding is not None and holding.open and kind in HELD_KINDS:
            holding.rows.append(row)
            return
        async with self._db.engine.begin() as conn:
            await insert_events(conn, [row])

    @staticmethod
    async def add(uow: UnitOfWork, tenant_id: int, kind: str, action: str, outcome: str,
                  **kw: Any) -> None:
        """Inside a caller's unit of work: the event commits or rolls back with the change."""
        await uow.repo(AuditRepo).append(make_row(tenant_id, kind, action, outcome, **kw))
