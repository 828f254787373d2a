"""The token workflow and lifetimes: pending -> active -> revoked | expired.

A token's bearer secret is made when its creator opens the one-time download (not before), and
only its SHA-256 is kept. Until then the row holds the hash of a random value nobody ever sees,
so the unique column is filled and no bearer string can match a pending token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from bot.workflow import Workflow
from storage.tokens import DataAccessToken

PENDING, ACTIVE, REVOKED, EXPIRED = "pending", "active", "revoked", "expired"
STATES = (PENDING, ACTIVE, REVOKED, EXPIRED)
TOKENS = Workflow("data-access token", DataAccessToken, {
    PENDING: (ACTIVE, REVOKED, EXPIRED),
    ACTIVE: (REVOKED, EXPIRED),
})
LIFETIMES = {"1m": timedelta(days=30), "3m": timedelta(days=91), "6m": timedelta(days=182),
             "1y": timedelta(days=365)}
SECRET_PREFIX = "dhds_"


def now() -> datetime:
    return datetime.now(UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def unusable_hash() -> str:
    """A pending token's placeholder: the hash of a value that is thrown away at once."""
    return digest("unissued:" + secrets.token_urlsafe(32))


def usable(row: DataAccessToken, at: datetime | None = None) -> bool:
    return row.state == ACTIVE and row.expires_at > (at or now())
