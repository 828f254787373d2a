"""Logging set-up with a filter that strips anything token-shaped before it is written."""

from __future__ import annotations

import logging

from bot.audit import redact_text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


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


def configure(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()
