"""Logging set-up: plain text or JSON lines (DESKHAND_LOG_FORMAT), the request being handled on
every line it causes, and nothing token-shaped written.

The dispatch path (bot/dispatch.py, the inbox in bot/inbox.py) opens a `request` scope; every
line logged inside it, in that task and the tasks it starts, carries the request's correlation
id (the `ref` the person is shown, and the audit row's), tenant, platform and command. JSON
lines hold them as fields; text lines add `[ref <id>]` when a request is in scope.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from bot.audit import redact_text

LogFormat = Literal["text", "json"]
FIELDS = ("correlation_id", "tenant", "platform", "command")
_request: ContextVar[dict[str, str] | None] = ContextVar("deskhand_request", default=None)


@contextmanager
def request(**fields: str | None) -> Iterator[None]:
    """Name the request being handled (FIELDS) on every line logged inside; nested scopes add to
    or replace the outer one's fields, and the outer ones come back on leaving."""
    merged = {**(_request.get() or {}), **{k: v for k, v in fields.items() if v}}
    token = _request.set(merged)
    try:
        yield
    finally:
        _request.reset(token)


def name(**fields: str) -> None:
    """A field learnt while handling the request: the tenant once its workspace is resolved, the
    command once the router has read it (e.g. `rbac grant` where dispatch saw `rbac`)."""
    current = _request.get()
    if current is not None:
        current.update(fields)


def current() -> dict[str, str]:
    """The fields of the request in scope ({} outside one)."""
    return dict(_request.get() or {})


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        cid = current().get("correlation_id")
        if not cid:
            return line
        first, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{first} [ref {cid}]{newline}{rest}"

    def formatException(self, ei: Any) -> str:
        # An exception's message can quote what a vendor or a person sent.
        return redact_text(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a traceback is one `exception` field, never extra lines."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **current(),
        }
        if record.exc_info:
            line["exception"] = redact_text(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = redact_text(record.exc_text)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


# Libraries whose INFO lines repeat with every request or tick; deskhand logs what matters itself.
QUIET = {
    "aiohttp.access": logging.WARNING,
    "apscheduler": logging.WARNING,
    # Alembic logs two INFO lines per schema check, and /readyz checks on every probe.
    "alembic": logging.WARNING,
    # httpx logs every request at INFO: four per 1E poll of every active run. integrations/http.py
    # logs each call at DEBUG instead, without its query string.
    "httpx": logging.WARNING,
}


def quiet_libraries() -> None:
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)


def configure(level: str, fmt: LogFormat = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()
