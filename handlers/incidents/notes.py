"""Work notes: any command or click run `for` an incident leaves a note on that incident.

A listener of the core's `command.finished` (bot/events.py), so no capability writes notes of
its own: the incident number comes from the bound arguments (`for <email|incident>` binds
(email, ticket) as `user-or-incident`; the instructions' `for` binds `incident`) or from what a
click's handler added to the audit trail (`incident`, and `as_command`, the typed equivalent).
It runs after the answer is out; a note that cannot be written is logged and audited, never
shown as the command failing. Commands the person may not run at all never reach a handler,
so nobody can write notes through commands they hold no right to.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.audit import redact_text
from bot.errors import UserError
from bot.events import Finished
from handlers.incidents import texts
from handlers.incidents.service import NotConfigured, servicenow
from integrations.http import VendorError

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.incidents")
AUDIT_ACTION = "servicenow.work_note"
MESSAGE_LIMIT = 500


def incident_of(params: dict[str, Any]) -> str | None:
    """The incident number a command or click was run for; None when there is none (or it is a
    request or change number: only incidents take these notes)."""
    pair = params.get("user-or-incident")
    ticket = pair[1] if isinstance(pair, tuple | list) and len(pair) == 2 else None
    for value in (ticket, params.get("incident")):
        if isinstance(value, str) and value.upper().startswith("INC"):
            return value.upper()
    return None


def note_text(finished: Finished) -> str:
    if finished.kind == "command":
        command = finished.text
    else:
        command = str(finished.params.get("as_command") or texts.CLICKED.format(label=finished.name))
    outcome = texts.OUTCOMES.get(finished.outcome, finished.outcome)
    if finished.message:
        outcome += f" ({finished.message[:MESSAGE_LIMIT]})"
    return texts.NOTE.format(person=finished.actor.principal.email,
                             command=redact_text(command)[:500], outcome=outcome,
                             ref=finished.correlation_id,
                             at=finished.at.strftime("%Y-%m-%d %H:%M:%S"))


async def write_note(runtime: Runtime, finished: Finished) -> None:
    number = incident_of(finished.params)
    if number is None:
        return
    cid = finished.correlation_id
    problem = ""
    try:
        client = await servicenow(runtime, finished.tenant_id)
        incident = await client.incident(number, cid=cid)
        if incident is None:
            problem = texts.UNKNOWN.format(number=number)
            log.warning("work note on %s not written: ServiceNow has no such incident (ref %s)",
                        number, cid)
        else:
            await client.add_work_note(incident.sys_id, note_text(finished), cid=cid)
    except NotConfigured:
        return
    except VendorError as exc:
        problem = exc.message
        log.warning("work note on %s not written: %s answered %s (%s; ref %s)", number,
                    exc.vendor, exc.status or "nothing", exc.code, cid)
    except UserError as exc:  # a tenant record deskhand cannot use (e.g. its key changed)
        problem = str(exc)
        log.warning("work note on %s not written: %s (ref %s)", number, exc, cid)
    await runtime.audit.record(
        finished.tenant_id, "external", AUDIT_ACTION, "failed" if problem else "ok",
        actor=finished.actor, correlation_id=cid, target=number,
        params={"command": finished.name, "outcome": finished.outcome}, detail=problem)
