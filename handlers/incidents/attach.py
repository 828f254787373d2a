"""A run's results attached to its incident when the run completes, once, and a note saying so.

A listener of the instructions' `instruction.run.finished`. Only the driver that moved the run to
its end announces it, and a once-only claim (`job_claims`, keyed by tenant and run) is taken
right before the upload (after the incident lookup and the export, whose failures leave it for a
later announcement), so two processes or a repeated announcement never attach twice. The claim
is kept whatever happens next: a file whose upload may have reached ServiceNow is not sent again.
A failure is logged and audited; the export stays available on the run card.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.errors import NotFound
from handlers.incidents import texts
from handlers.incidents.config import ServiceNowConfig
from handlers.incidents.service import NAME, NotConfigured, servicenow
from handlers.instructions import exports
from handlers.instructions.states import COMPLETED, RunFinished
from integrations.http import VendorError
from storage.claims import ClaimRepo
from storage.instructions import InstructionRunRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from integrations.servicenow.client import ServiceNowClient
    from storage.instructions import InstructionRun

log = logging.getLogger("deskhand.incidents")
CLAIM = "incident.attach"
AUDIT_ACTION = "servicenow.attachment"


async def _claim(runtime: Runtime, event: RunFinished) -> bool:
    async with runtime.db.uow() as uow:
        won = await uow.repo(ClaimRepo).claim_once(CLAIM, f"{event.tenant_id}:{event.run_id}",
                                                   runtime.settings.replica)
        await uow.commit()
    return won


async def _upload(runtime: Runtime, client: ServiceNowClient, run: InstructionRun,
                  event: RunFinished, number: str) -> str | None:
    """Attach the export and add the note; the attached file's name, or None when another
    process attached it. Everything that may fail before the upload (the incident lookup, the
    export) comes before the claim, so such a failure does not use the claim up."""
    cid = run.correlation_id
    incident = await client.incident(number, cid=cid)
    if incident is None:
        raise NotFound(texts.UNKNOWN.format(number=number))
    config = await runtime.tenant_clients.config(event.tenant_id, NAME)
    fmt = config.servicenow_export_format if isinstance(config, ServiceNowConfig) else "csv"
    name, content_type, body = await exports.build(runtime, run, fmt)
    if not await _claim(runtime, event):
        return None
    await client.attach(incident.sys_id, name, body, content_type, cid=cid)
    try:
        await client.add_work_note(incident.sys_id, texts.ATTACHED_NOTE.format(
            run=run.id, instruction=run.definition_name, targets=run.target_label,
            person=run.requester_email, file=name), cid=cid)
    except VendorError as exc:  # the file is there: the missing note is only logged
        log.warning("run %s: attached to %s, but the work note failed: %s (ref %s)", run.id,
                    number, exc.code, cid)
    return name


async def attach_results(runtime: Runtime, event: RunFinished) -> None:
    number = (event.incident or "").upper()
    if event.state != COMPLETED or not number.startswith("INC"):
        return
    try:
        client = await servicenow(runtime, event.tenant_id)
    except NotConfigured:
        return
    async with runtime.db.uow() as uow:
        run = await uow.repo(InstructionRunRepo).get(event.tenant_id, event.run_id)
    if run is None:
        return
    problem, name = "", ""
    try:
        uploaded = await _upload(runtime, client, run, event, number)
        if uploaded is None:
            return
        name = uploaded
    except VendorError as exc:
        problem = exc.message
        log.warning("run %s: results not attached to %s: %s answered %s (%s; ref %s)", run.id,
                    number, exc.vendor, exc.status or "nothing", exc.code, run.correlation_id)
    except NotFound as exc:
        problem = str(exc)
        log.warning("run %s: results not attached: no incident %s (ref %s)", run.id, number,
                    run.correlation_id)
    await runtime.audit.record(
        event.tenant_id, "external", AUDIT_ACTION, "failed" if problem else "ok",
        actor_label="deskhand poller", correlation_id=run.correlation_id, target=number,
        params={"run": run.id, "file": name}, detail=problem)
