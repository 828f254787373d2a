"""The remote-session card: links for the supporter (private), the hand-over for the end user."""

from __future__ import annotations

from datetime import datetime

from cards.model import Button, Card, Confirm, Field, Fields, Section, Text
from cards.model import Context as Small
from storage.remote import RemoteSession

QUICKSUPPORT = ("TeamViewer QuickSupport, which runs without installation or admin rights")


def when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def session_card(row: RemoteSession, checked: str | None = None) -> Card:
    about = [Field("Device", row.device_name), Field("Session code", row.code or "-"),
             Field("Started by", row.requester_email), Field("Valid until", when(row.valid_until))]
    if row.ticket or row.end_customer:
        about.append(Field("For", ", ".join(x for x in (row.ticket, row.end_customer) if x)))
    if row.note:
        about.append(Field("Note", row.note))
    small = [checked] if checked else []
    if row.state != "open":
        about.append(Field("Ended", f"{row.end_state} ({when(row.closed_at)})"))
        said = [Text(checked)] if checked else []  # e.g. that it was closed before this click
        return Card(f"Remote session on {row.device_name}: {row.state}",
                    [Fields(tuple(about)), *said, Small(f"ref {row.correlation_id}")], tone="info")
    if row.full_client is False:
        handover = (f"*{row.device_name} does not have the TeamViewer full client.* QuickSupport "
                    f"route: the user opens {row.end_customer_link}, which downloads {QUICKSUPPORT}, "
                    f"and joins with session code `{row.code}`.")
    else:
        handover = (f"*Hand this to the user:* the link {row.end_customer_link} or session code "
                    f"`{row.code}`.")
        if row.full_client is None:
            handover += (f" Could not check whether {row.device_name} has the full client; without "
                         f"it the same link gives {QUICKSUPPORT}.")
    sections: list[Section] = [
        Fields(tuple(about)), Text(handover),
        Text("*Only you see this card:* join from the browser or the TeamViewer app."),
        Small(" ".join([*small, f"ref {row.correlation_id}"]))]
    ref = str(row.id)
    buttons = [Button("Open in browser", "remote.web", url=row.webclient_link, style="primary"),
               Button("Open in TeamViewer", "remote.app", url=row.supporter_link),
               Button("Refresh status", f"remote.refresh:{ref}", ref),
               Button("Close session", f"remote.close:{ref}", ref, style="danger",
                      confirm=Confirm("Close this session?",
                                      f"{row.code} on {row.device_name} ends for everyone.",
                                      "Close session"))]
    return Card(f"Remote session on {row.device_name}", sections, buttons, tone="good")


