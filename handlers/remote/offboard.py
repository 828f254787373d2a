"""A deactivated person's open remote sessions are closed (bot/people's PERSON_DEACTIVATED).

Their supporter links must stop working with their account: each session they started that is
still open is closed at TeamViewer by the same compare-and-set moves as `remote close`
(open -> closing -> closed). A session TeamViewer no longer knows is closed here too; one
TeamViewer refuses to close stays open, is audited as failed and logged, so an administrator
can close it (the card's Close button or `remote close`, with `remote.manage`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.audit import Audit
from bot.errors import UserError
from bot.model import new_correlation_id
from bot.people import Deactivated
from handlers.remote.cards import when
from handlers.remote.connection import teamviewer
from handlers.remote.sessions import CLOSED, CLOSING, OPEN, SESSIONS
from integrations.http import Cause, VendorError
from storage.remote import RemoteSession

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.remote")
ACTION = "teamviewer.session.close"


async def close_sessions_of(runtime: Runtime, event: Deactivated) -> None:
    async with runtime.db.uow() as uow:
        rows = (await uow.session.execute(select(RemoteSession).where(
            RemoteSession.tenant_id == event.tenant_id, RemoteSession.state == OPEN,
            RemoteSession.requester_id == event.principal_id))).scalars().all()
    for row in rows:
        await _close(runtime, event, row)


async def _close(runtime: Runtime, event: Deactivated, row: RemoteSession) -> None:
    cid, end = new_correlation_id(), f"closed: {event.email} was deactivated"
    async with runtime.db.uow() as uow:
        if not await SESSIONS.move(uow, event.tenant_id, row.id, OPEN, CLOSING):
            return  # closed or being closed meanwhile
        await uow.commit()
    problem = ""
    try:
        tv = await teamviewer(runtime, event.tenant_id)
        if row.code:
            await tv.client.close_session(cid, row.code, description=(
                f"{row.description} | {end} at {when(datetime.now(UTC))}"))
    except VendorError as exc:
        if exc.cause is not Cause.NOT_FOUND:
            problem = exc.message
    except UserError as exc:  # TeamViewer is no longer set up for the tenant
        problem = str(exc)
    params = {"session": row.code, "end_state": end, "deactivated": event.email}
    async with runtime.db.uow() as uow:
        if problem:
            await SESSIONS.move(uow, event.tenant_id, row.id, CLOSING, OPEN)
        else:
            await SESSIONS.move(uow, event.tenant_id, row.id, CLOSING, CLOSED,
                                closed_at=datetime.now(UTC), closed_by=event.by[:320],
                                end_state=end[:300])
        await Audit.add(uow, event.tenant_id, "external", ACTION, "failed" if problem else "ok",
                        actor_label=event.by, correlation_id=cid, target=row.device_name,
                        params=params, detail=problem)
        await uow.commit()
    if problem:
        log.warning("remote session %s of deactivated %s left open: %s (ref %s)", row.code,
                    event.email, problem, cid)
