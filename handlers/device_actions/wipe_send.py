"""Sending an approved wipe to Workspace ONE exactly once, and settling what a crash left.

The row moves approved -> sending by compare-and-set before Workspace ONE is called: of any
number of decisions, sweeps and replicas, only the one that moved it sends. Then sent, failed
(Workspace ONE refused; its message and the reference are kept) or unknown (the command may or
may not have arrived). A row found in `sending` after DESKHAND_STUCK_AFTER belonged to a process
that died mid-call: it becomes unknown and is never sent again automatically. A row approved
but never claimed (the process died right after the decision) was never sent: the sweep sends
it while the approval is fresh, else ends it as failed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot import places
from bot.audit import Audit
from bot.card_copies import refresh
from bot.errors import UserError
from bot.model import new_correlation_id
from bot.sweeps import Sweep
from cards.model import Card, Section, Text
from cards.model import Context as Small
from handlers.device_actions import wipe_texts as texts
from handlers.device_actions.service import workspace_one
from handlers.device_actions.wipes import (
    APPROVED,
    CONFIRMING,
    EXPIRED,
    FAILED,
    SENDING,
    SENT,
    SUBJECTS,
    UNKNOWN,
    WIPES,
    audit_params,
)
from handlers.devices import DeviceSettings
from integrations.http import VendorError
from integrations.workspace_one.client import By, WorkspaceOneClient
from integrations.workspace_one.client import Command as WS1Command
from integrations.workspace_one.models import Device as WS1Device
from storage.device_wipes import DeviceWipe, DeviceWipeRepo
from storage.devices import DeviceRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.device_actions")
COMMANDS = {"wipe": WS1Command.DEVICE_WIPE, "enterprise-wipe": WS1Command.ENTERPRISE_WIPE}
FRESH = timedelta(hours=1)  # an approved, never-claimed wipe older than this is not sent


def send_later(runtime: Runtime, tenant_id: int, wipe_id: int) -> None:
    """Send after the decision's answer is out (a Teams invoke has a few seconds)."""
    runtime.dispatch.later.spawn(send(runtime, tenant_id, wipe_id))


async def _get(runtime: Runtime, tenant_id: int, wipe_id: int) -> DeviceWipe | None:
    async with runtime.db.uow() as uow:
        return await uow.repo(DeviceWipeRepo).get(tenant_id, wipe_id)


async def send(runtime: Runtime, tenant: int, wipe_id: int) -> None:
    cid = new_correlation_id()
    async with runtime.db.uow() as uow:
        claimed = await WIPES.move(uow, tenant, wipe_id, APPROVED, SENDING, correlation_id=cid)
        await uow.commit()
    if not claimed:
        return  # another click, replica or sweep is sending it, or it has moved on
    row = await _get(runtime, tenant, wipe_id)
    assert row is not None
    name = texts.NAMES[row.kind]
    client: WorkspaceOneClient | None = None
    target: WS1Device | None = None
    try:
        client = await workspace_one(runtime, tenant)
        target = await client.device(By.ID, row.ws1_id, cid=cid)
        if target is None:
            outcome, message = FAILED, texts.GONE.format(ws1_id=row.ws1_id)
        elif not await _same_device(runtime, row, target):
            outcome, message = FAILED, texts.NOT_THE_SAME.format(ws1_id=row.ws1_id,
                                                                 device=row.device_name)
        else:
            await client.command(target, COMMANDS[row.kind], cid=cid)
            outcome, message = SENT, ""
    except VendorError as exc:
        outcome, message = (UNKNOWN if exc.maybe_applied else FAILED), exc.message
    except UserError as exc:  # Workspace ONE is no longer set up
        outcome, message = FAILED, str(exc)
    async with runtime.db.uow() as uow:
        await WIPES.move(uow, tenant, wipe_id, SENDING, outcome, error=message[:1000],
                         sent_at=datetime.now(UTC) if outcome == SENT else None)
        await Audit.add(uow, tenant, "external", f"ws1.{row.kind}",
                        {SENT: "ok", FAILED: "failed", UNKNOWN: "unknown"}[outcome],
                        actor_label=row.requester_email, correlation_id=cid, target=row.device_name,
                        params={**audit_params(row), "approved_by": row.decided_by}, detail=message)
        await uow.commit()
    noted = await _note(runtime, client, row, target, cid) \
        if outcome == SENT and client is not None and target is not None else ""
    await _finish(runtime, row, outcome, message, noted, cid, name)


async def _same_device(runtime: Runtime, row: DeviceWipe, target: WS1Device) -> bool:
    """Whether the Workspace ONE id still names the device that was confirmed: by name or by
    serial number (an id is only unique within one Workspace ONE, and the tenant's Workspace
    ONE may have been changed since the wipe was asked for)."""
    serial = ""
    if row.device_id is not None:
        async with runtime.db.uow() as uow:
            device = await uow.repo(DeviceRepo).by_id(row.tenant_id, row.device_id)
        serial = (device.serial or "") if device else ""
    return target.name.casefold() == row.device_name.casefold() or bool(
        serial and target.serial and target.serial.casefold() == serial.casefold())


async def _note(runtime: Runtime, client: WorkspaceOneClient, row: DeviceWipe,
                target: WS1Device, cid: str) -> str:
    """The note after a sent wipe when the tenant wants one; what the requester is told of it."""
    async with runtime.db.uow() as uow:
        wanted = (await DeviceSettings.read(uow, row.tenant_id)).device_note_after_action
    if not wanted:
        return ""
    purpose = row.for_email or row.ticket
    text = texts.NOTE.format(at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
                             name=texts.NAMES[row.kind], person=row.requester_email,
                             purpose=f" for {purpose}" if purpose else "",
                             approver=row.decided_by or "-")
    try:
        await client.add_note(target, text, cid=cid)
    except VendorError as exc:  # the wipe went: say so, do not fail it
        return texts.NOTE_FAILED.format(reason=exc.message)
    return texts.NOTE_ADDED


async def _finish(runtime: Runtime, row: DeviceWipe, outcome: str, message: str, noted: str,
                  cid: str, name: str) -> None:
    """Every copy redrawn; the requester told privately where they asked."""
    await refresh(runtime, row.tenant_id, SUBJECTS[row.kind], row.id)
    words = {"name": name, "name_lower": name.lower(), "device": row.device_name}
    if outcome == SENT:
        title, body = texts.SENT_TITLE.format(**words), texts.SENT.format(**words)
    elif outcome == FAILED:
        title, body = texts.FAILED_TITLE.format(**words), texts.FAILED.format(**words, reason=message)
    else:
        title, body = texts.UNKNOWN_TITLE.format(**words), message
    sections: list[Section] = [Text(body), *([Small(noted)] if noted else []),
                               Small(f"wipe {row.id} | ref {cid}")]
    await places.tell(runtime, row.reply_to, Card(
        title, sections, tone="good" if outcome == SENT else "attention"))


async def settle(runtime: Runtime, row: DeviceWipe, age: timedelta) -> None:
    """A row a crash left in `sending` (unknown, never resent) or `approved` (never claimed),
    or one asked for and never confirmed (expired once its confirmation card is too old)."""
    if row.state == CONFIRMING:
        if age >= timedelta(minutes=texts.CONFIRM_MINUTES):
            async with runtime.db.uow() as uow:
                await WIPES.move(uow, row.tenant_id, row.id, CONFIRMING, EXPIRED)
                await uow.commit()
        return
    if row.state == APPROVED:
        if age < FRESH:
            await send(runtime, row.tenant_id, row.id)
            return
        await _end(runtime, row, APPROVED, FAILED, texts.NEVER_SENT)
        return
    name = texts.NAMES[row.kind]
    await _end(runtime, row, SENDING, UNKNOWN,
               texts.INTERRUPTED.format(name_lower=name.lower(), device=row.device_name))


async def _end(runtime: Runtime, row: DeviceWipe, expected: str, to: str, message: str) -> None:
    cid = new_correlation_id()
    async with runtime.db.uow() as uow:
        if not await WIPES.move(uow, row.tenant_id, row.id, expected, to, error=message):
            return  # it finished meanwhile, or another replica settled it
        await Audit.add(uow, row.tenant_id, "external", f"ws1.{row.kind}",
                        "unknown" if to == UNKNOWN else "failed", actor_label="deskhand",
                        correlation_id=cid, target=row.device_name,
                        params={**audit_params(row), "swept_from": expected}, detail=message)
        await uow.commit()
    log.warning("wipe %s: found %s after an interruption; now %s", row.id, expected, to)
    await _finish(runtime, row, to, message, "", cid, texts.NAMES[row.kind])


SWEEP = Sweep(WIPES, (SENDING, APPROVED, CONFIRMING), settle)
