"""The incident card (with the buttons this person may use) and the incident list."""

from __future__ import annotations

from datetime import datetime

from bot.context import Context
from bot.rbac import DeviceScope
from cards.model import Button, Card, Field, Fields, Section, Table, Text
from cards.model import Context as Small
from handlers.incidents import texts
from handlers.incidents.lookup import Found
from integrations.servicenow.records import Incident, User

RUNS = ("instruction.run.question", "instruction.run.action")


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else texts.NOBODY


def _person(user: User | None, fallback: str) -> str:
    if user is None:
        return fallback or texts.NOBODY
    if user.name and user.email:
        return f"{user.name} <{user.email}>"
    return user.name or user.email or fallback or texts.NOBODY


def buttons(ctx: Context, found: Found, scope: DeviceScope) -> list[Button]:
    """The incident's quick actions on its device, only those this person may use there."""
    assert found.device is not None
    device, number = found.device.id, found.incident.number
    out = []
    if ctx.decide("remote.session", scope).allowed:
        out.append(Button(texts.REMOTE, f"remote.start:{device}:{number}", style="primary"))
    if any(ctx.decide(p, scope).allowed for p in RUNS):
        out.append(Button(texts.RUN, f"incident.run:{device}:{number}"))
    if ctx.decide("device.read", scope).allowed:
        # The device card's actions are then run for this incident (checked, noted on it).
        out.append(Button(texts.DEVICE_ACTIONS, f"device.card:{device}:{number}"))
    return out


def incident_card(ctx: Context, found: Found, scope: DeviceScope | None) -> Card:
    inc = found.incident
    device = found.device
    if device is not None:
        where = f" ({scope.group})" if scope and scope.group else ""
        shown = f"{device.name}{where}"
    else:
        shown = (found.ci.name if found.ci else inc.device_name) or texts.NOBODY
    items = (Field("Number", inc.number), Field("State", inc.state_label or texts.NOBODY),
             Field("Caller", _person(found.caller, inc.caller_name)), Field("Device", shown),
             Field("Assigned to", inc.assigned_to_name or texts.NOBODY),
             Field("Opened", when(inc.opened_at)))
    sections: list[Section] = [Fields(items)]
    if inc.description and inc.description != inc.short_description:
        sections.append(Text(inc.description[:1500]))
    drawn: list[Button] = []
    if device is not None and scope is not None:
        drawn = buttons(ctx, found, scope)
        if not drawn:
            sections.append(Small(texts.NO_BUTTONS.format(device=device.name,
                                                          group=scope.group or "(none)")))
    elif found.ci is not None:
        sections.append(Small(texts.DEVICE_UNKNOWN.format(ci=found.ci.name or inc.device_id)))
    else:
        sections.append(Small(texts.NO_DEVICE.format(field=inc.device_field)))
    sections.append(Small(f"ref {ctx.correlation_id}"))
    title = texts.CARD_TITLE.format(number=inc.number,
                                    summary=inc.short_description or texts.NO_SUMMARY)
    return Card(title[:150], sections, drawn, tone="info" if inc.open else "good")


def list_card(which: str, email: str, rows: list[Incident], cid: str) -> Card:
    table = tuple((i.number, i.state_label, i.short_description[:80], i.device_name or "-",
                   i.caller_name or "-", i.assigned_to_name or "-", when(i.updated_at))
                  for i in rows)
    caption = "" if table else texts.LIST_EMPTY[which].format(email=email)
    return Card(texts.LIST_TITLES[which], [
        Table(("number", "state", "short description", "device", "caller", "assigned to",
               "updated"), table, caption=caption),
        Small(f"{texts.LIST_HINT} · ref {cid}")])
