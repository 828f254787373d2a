"""Sessions a crash left pending (TeamViewer asked, no answer stored) or closing (the close was
claimed, never finished), settled with what TeamViewer says, and their requester told.

A pending row is first looked for in TeamViewer by its marker: a session nobody got the links
of is closed there (the person may already have asked again), then the row fails with the
reason. A closing row is closed in TeamViewer if it is still open there, else recorded closed.
While TeamViewer cannot be asked the row waits for the next sweep, at most GIVE_UP long.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import places
from bot.audit import Audit
from bot.model import new_correlation_id
from bot.sweeps import Sweep
from cards.model import Card, Text
from cards.model import Context as Small
from handlers.remote.cards import when
from handlers.remote.connection import teamviewer
from handlers.remote.sessions import CLOSED, CLOSING, FAILED, OPEN, PENDING, SESSIONS
from integrations.http import Cause, VendorError
from storage.remote import RemoteSession

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.teamviewer")
GIVE_UP = timedelta(hours=1)  # past this, a row TeamViewer could not be asked about ends anyway

DID_NOT_START = "Your remote session on {device} did not start"
INTERRUPTED = ("deskhand was interrupted while asking TeamViewer for it ({when}). {outcome} Run "
               "`remote {device}` again if you still need it.")
NOTHING_LEFT = "TeamViewer had not created it, so nothing is left open."
CLOSED_THERE = "The session TeamViewer had created ({code}) was closed, since nobody had its links."
UNCHECKED = "TeamViewer could not be asked whether it created the session: look in TeamViewer."
CLOSE_DONE = "Your remote session on {device} is closed"
CLOSE_TEXT = ("Closing session {code} was interrupted; deskhand finished it ({outcome}).")
CLOSE_FAILED = "Your remote session on {device} is still open"
CLOSE_FAILED_TEXT = ("Closing session {code} was interrupted and TeamViewer did not close it now: "
                     "{reason} Close it with `remote close {code}`.")


async def settle(runtime: Runtime, row: RemoteSession, age: timedelta) -> None:
    cid = new_correlation_id()
    if row.state == PENDING:
        await _pending(runtime, row, age, cid)
    elif row.state == CLOSING:
        await _closing(runtime, row, age, cid)


async def _pending(runtime: Runtime, row: RemoteSession, age: timedelta, cid: str) -> None:
    tv = await teamviewer(runtime, row.tenant_id)
    found, outcome = None, NOTHING_LEFT if tv.mode != "off" else UNCHECKED
    if tv.mode != "off":
        try:
            found = await tv.client.find_by_marker(cid, f"deskhand:{row.correlation_id}:{row.id}")
        except VendorError as exc:
            if age < GIVE_UP:
                log.info("remote session %s: TeamViewer could not be asked (%s); the next sweep "
                         "tries again", row.id, exc.code)
                return
            outcome = UNCHECKED
    end = "interrupted before TeamViewer answered"
    async with runtime.db.uow() as uow:
        # The code is kept, so a session left open by a crash right after this is still named.
        if not await SESSIONS.move(uow, row.tenant_id, row.id, PENDING, FAILED, end_state=end,
                                   code=found.code if found else None):
            return  # the request finished, or another replica settled it
        await uow.commit()
    if found is not None and found.open:
        try:
            await tv.client.close_session(cid, found.code)
            outcome = CLOSED_THERE.format(code=found.code)
        except VendorError as exc:
            outcome = f"TeamViewer did not close session {found.code}: {exc.message}"
    await _record(runtime, row, "teamviewer.session.sweep", "failed", cid,
                  {"session": found.code if found else None, "state": FAILED}, outcome)
    await places.tell(runtime, row.reply_to, Card(DID_NOT_START.format(device=row.device_name), [
        Text(INTERRUPTED.format(when=when(row.created_at), outcome=outcome, device=row.device_name)),
        Small(f"ref {cid}")], tone="warning"))


async def _closing(runtime: Runtime, row: RemoteSession, age: timedelta, cid: str) -> None:
    assert row.code is not None  # only an open session (which has its code) is ever closing
    tv = await teamviewer(runtime, row.tenant_id)
    try:
        live = await tv.client.get_session(cid, row.code)
        if live.open:
            await tv.client.close_session(cid, row.code)
        outcome = "closed in TeamViewer"
    except VendorError as exc:
        if exc.cause is Cause.NOT_FOUND:
            outcome = "already gone from TeamViewer"
        elif age < GIVE_UP:
            return  # asked again at the next sweep
        else:
            async with runtime.db.uow() as uow:
                reopened = await SESSIONS.move(uow, row.tenant_id, row.id, CLOSING, OPEN)
                await uow.commit()
            if reopened:
                await _record(runtime, row, "teamviewer.session.sweep", "failed", cid,
                              {"session": row.code, "state": OPEN}, exc.message)
                await places.tell(runtime, row.reply_to, Card(
                    CLOSE_FAILED.format(device=row.device_name),
                    [Text(CLOSE_FAILED_TEXT.format(code=row.code, reason=exc.message)),
                     Small(f"ref {cid}")], tone="warning"))
            return
    end = f"{outcome} after an interruption"
    async with runtime.db.uow() as uow:
        if not await SESSIONS.move(uow, row.tenant_id, row.id, CLOSING, CLOSED, end_state=end,
                                   closed_at=datetime.now(UTC)):
            return
        await uow.commit()
    await _record(runtime, row, "teamviewer.session.sweep", "ok", cid,
                  {"session": row.code, "state": CLOSED}, end)
    await places.tell(runtime, row.reply_to, Card(CLOSE_DONE.format(device=row.device_name), [
        Text(CLOSE_TEXT.format(code=row.code, outcome=outcome)), Small(f"ref {cid}")]))


async def _record(runtime: Runtime, row: RemoteSession, action: str, outcome: str, cid: str,
                  params: dict[str, object], detail: str) -> None:
    async with runtime.db.uow() as uow:
        await Audit.add(uow, row.tenant_id, "external", action, outcome, actor_label="deskhand",
                        correlation_id=cid, target=row.device_name,
                        params={"requester": row.requester_email, **params}, detail=detail)
        await uow.commit()


SWEEP = Sweep(SESSIONS, (PENDING, CLOSING), settle)
