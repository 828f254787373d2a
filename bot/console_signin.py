"""Signing in to the console outside demo/dev mode: a single-use link opens a browser session.

A person asks for a link privately (the `console` chat command, or `deskhand console-link` for
the first administrator); opening it and pressing "Sign in" turns it into a session bound to
that one person, carried by a cookie. Every use of a session re-reads its row and the person,
so a sign-out (`deskhand console-logout`) or a deactivation ends it on every replica at once.
Tokens are 256-bit random; only their SHA-256 is stored (storage/console.py). A link and the
session it opens belong to its person's tenant: the console serves them in that tenant.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from bot.audit import Audit
from bot.model import Principal, new_correlation_id
from storage.console import ConsoleTokenRepo
from storage.db import Database
from storage.directory import DirectoryRepo, PrincipalRow
from storage.uow import UnitOfWork

log = logging.getLogger("deskhand.console")
SIGNIN_PATH = "/console/signin/"
TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
GET_A_LINK = "Type `console` to deskhand in Slack or Teams for a new sign-in link."
REFUSALS = {
    "unknown": "This sign-in link is not valid.",
    "used": "This sign-in link was already used: each link opens one browser once.",
    "expired": "This sign-in link has expired.",
    "revoked": "This sign-in link was cancelled by a sign-out.",
    "inactive": "Your account is deactivated, so you cannot sign in.",
}


class SignInRefused(Exception):
    """A link that opens nothing; `reason` is a key of REFUSALS."""

    def __init__(self, reason: str) -> None:
        super().__init__(REFUSALS[reason])
        self.reason = reason


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class Session:
    token: str  # the cookie's value: shown once, never stored
    principal: Principal
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _principal(row: PrincipalRow) -> Principal:
    return Principal(row.id, row.tenant_id, row.email, row.display_name, row.active)


async def issue_link(uow: UnitOfWork, person: PrincipalRow, public_url: str, minutes: int, *,
                     by: str) -> Link:
    """A new single-use link for `person`, audited as asked for `by`; the caller commits."""
    if not person.active:
        raise SignInRefused("inactive")
    token = secrets.token_urlsafe(32)
    expires = _now() + timedelta(minutes=minutes)
    await uow.repo(ConsoleTokenRepo).add(person.tenant_id, person.id, "link", _hash(token), expires)
    await Audit.add(uow, person.tenant_id, "signin", "console.link", "ok",
                    correlation_id=new_correlation_id(), actor_label=by, target=person.email,
                    params={"minutes": minutes})
    return Link(f"{public_url.rstrip('/')}{SIGNIN_PATH}{token}", expires)


async def redeem(db: Database, token: str, hours: int) -> Session:
    """Use a link once and open a session for its person; SignInRefused says why not."""
    async with db.uow() as uow:
        tokens = uow.repo(ConsoleTokenRepo)
        link = await tokens.find("link", _hash(token)) if TOKEN.fullmatch(token) else None
        person = await uow.repo(DirectoryRepo).principal(link.principal_id) if link else None
        if link is None or person is None or person.tenant_id != link.tenant_id:
            await _refuse(uow, "unknown", None)
        tenant_id = link.tenant_id
        now = _now()
        reason = ("revoked" if link.revoked_at else "used" if link.used_at else
                  "expired" if link.expires_at <= now else "inactive" if not person.active else
                  None if await tokens.use(link.id, now) else "used")  # another tab got there first
        if reason is not None:
            await _refuse(uow, reason, person)
        session = secrets.token_urlsafe(32)
        expires = now + timedelta(hours=hours)
        await tokens.add(tenant_id, person.id, "session", _hash(session), expires)
        await Audit.add(uow, tenant_id, "signin", "console.signin", "ok",
                        correlation_id=new_correlation_id(), actor_label=person.email,
                        target=person.email, params={"hours": hours})
        await uow.commit()
    return Session(session, _principal(person), expires)


async def _refuse(uow: UnitOfWork, reason: str, person: PrincipalRow | None) -> NoReturn:
    """One WARNING; an audit row when the link names somebody (a guessed one names nobody)."""
    log.warning("console sign-in refused: %s link%s", reason, f" of {person.email}" if person else "")
    if person is not None:
        await Audit.add(uow, person.tenant_id, "signin", "console.signin", "refused",
                        correlation_id=new_correlation_id(), actor_label=person.email,
                        target=person.email, detail=REFUSALS[reason])
        await uow.commit()
    raise SignInRefused(reason)


async def session_of(db: Database, cookie: str | None) -> Principal | None:
    """The person a session cookie signs in, while it is live and they are active; else None."""
    if not cookie or not TOKEN.fullmatch(cookie):
        return None
    async with db.uow() as uow:
        row = await uow.repo(ConsoleTokenRepo).find("session", _hash(cookie))
        if row is None or row.revoked_at or row.expires_at <= _now():
            return None
        person = await uow.repo(DirectoryRepo).principal(row.principal_id)
    ok = person is not None and person.active and person.tenant_id == row.tenant_id
    return _principal(person) if ok and person is not None else None


async def sign_out(db: Database, cookie: str) -> None:
    """End the one session this cookie carries (the console's Sign out button)."""
    if not TOKEN.fullmatch(cookie):
        return
    async with db.uow() as uow:
        tokens = uow.repo(ConsoleTokenRepo)
        row = await tokens.find("session", _hash(cookie))
        if row is not None and await tokens.revoke(row.tenant_id, _now(), row_id=row.id):
            person = await uow.repo(DirectoryRepo).principal(row.principal_id)
            await Audit.add(uow, row.tenant_id, "signin", "console.signout", "ok",
                            correlation_id=new_correlation_id(),
                            actor_label=person.email if person else None,
                            target=person.email if person else None)
            await uow.commit()


async def sign_out_everywhere(uow: UnitOfWork, person: PrincipalRow, *, by: str) -> int:
    """End every console session and unused link of `person`; the caller commits."""
    ended = await uow.repo(ConsoleTokenRepo).revoke(person.tenant_id, _now(), principal_id=person.id)
    await Audit.add(uow, person.tenant_id, "signin", "console.logout", "ok",
                    correlation_id=new_correlation_id(), actor_label=by, target=person.email,
                    params={"ended": ended})
    return ended


async def sweep(db: Database) -> int:
    """Forget links and sessions a day after they expired (the audit keeps the trail)."""
    async with db.uow() as uow:
        gone = await uow.repo(ConsoleTokenRepo).sweep(_now() - timedelta(days=1))
        await uow.commit()
    return gone

