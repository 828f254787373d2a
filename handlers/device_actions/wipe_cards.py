"""The wipe cards: the typed confirmation, and the request card (approvers' and requester's
copies) redrawn from the rows at every move. Buttons carry the row's id only."""

from __future__ import annotations

from datetime import datetime

from bot.approvals import approval_text, decision_controls
from cards.model import Button, Card, Field, Fields, Section, Text, TextInput, Tone
from cards.model import Context as Small
from handlers.device_actions import wipe_texts as texts
from storage.device_wipes import DeviceWipe
from storage.workflow import PENDING, ApprovalRequest

CONFIRM_INPUT = "device_name"  # the form field the typed name arrives in
CONFIRM_PREFIX = "device.wipe-confirm"
TONES: dict[str, Tone] = {"confirming": "attention", "awaiting_approval": "warning",
                          "approved": "warning", "sending": "warning", "sent": "good"}


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _facts(row: DeviceWipe) -> list[Field]:
    items = [Field("Device", row.device_name), Field("Platform", row.platform or "-"),
             Field("Group", row.device_group or "-"), Field("Action", texts.ACTION_LABEL[row.kind]),
             Field("Requested by", row.requester_email)]
    if row.for_email or row.ticket:
        items.append(Field("For", row.for_email or row.ticket or ""))
    return items


def confirm_card(row: DeviceWipe) -> Card:
    """What a wipe does, the box to type the device's name in, and the form button."""
    name = texts.NAMES[row.kind]
    return Card(texts.CONFIRM_TITLE.format(name=name, device=row.device_name), [
        Text(texts.WHAT_IT_DOES[row.kind].format(device=row.device_name)),
        Fields(tuple(_facts(row))),
        Text(texts.CONFIRM_NEXT),
        TextInput(CONFIRM_INPUT, texts.CONFIRM_INPUT, placeholder=texts.CONFIRM_PLACEHOLDER,
                  required=True, max_length=200),
        Small(f"wipe {row.id} | ref {row.correlation_id}"),
    ], [Button(texts.CONFIRM_BUTTON, f"{CONFIRM_PREFIX}:{row.id}", str(row.id), "danger")],
        tone="attention")


def wipe_card(row: DeviceWipe, request: ApprovalRequest | None, audience: str) -> Card:
    """The request for `audience` "approvers" (reason, Approve and Deny while pending) or
    "requester"; both show where it stands."""
    name = texts.NAMES[row.kind]
    items = _facts(row)
    items.append(Field("State", texts.LABELS.get(row.state, row.state)))
    if request is not None:
        items.append(Field("Approval", approval_text(request)))
    if row.sent_at:
        items.append(Field("Sent", _when(row.sent_at)))
    sections: list[Section] = [Text(texts.WHAT_IT_DOES[row.kind].format(device=row.device_name)),
                               Fields(tuple(items))]
    if row.error:
        sections.append(Text(row.error))
    buttons: list[Button] = []
    if audience == "approvers" and request is not None and request.state == PENDING:
        reason, buttons = decision_controls(request)
        sections += [Small(texts.ALWAYS_APPROVED), reason]
    sections.append(Small(f"wipe {row.id} | ref {row.correlation_id}"))
    asking = audience == "approvers" and row.state == "awaiting_approval"
    title = texts.CARD_TITLE["approvers" if asking else "requester"].format(
        name=name, device=row.device_name)
    return Card(title, sections, buttons, tone=TONES.get(row.state, "attention"))
