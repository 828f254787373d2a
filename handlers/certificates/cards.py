"""The certificates' cards: the list, the activation question, the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cards.model import Button, Card, Field, Fields, Table, Text
from cards.model import Context as Small
from handlers.certificates import texts
from handlers.certificates.keys import rollover_point
from storage.certificates import IdpCertificate


def day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def list_card(rows: Sequence[IdpCertificate], now: datetime, cid: str) -> Card:
    table = tuple((r.state, r.thumbprint, r.subject, day(r.not_before),
                   f"{day(r.not_after)} ({max(0, (r.not_after - now).days)} days)") for r in rows)
    return Card(texts.LIST_TITLE, [
        Table(("state", "thumbprint", "subject", "not before", "expires"), table,
              caption="" if table else texts.LIST_NONE),
        Text(texts.LIST_HOW), Small(f"ref {cid}")])


def about(row: IdpCertificate) -> Fields:
    items = [Field("Thumbprint (SHA-1)", row.thumbprint), Field("Subject", row.subject),
             Field("State", row.state), Field("Not before", day(row.not_before)),
             Field("Expires", day(row.not_after)),
             Field("New one made after", day(rollover_point(row.not_before, row.not_after)))]
    if row.activated_by:
        items.append(Field("Activated", f"{day(row.activated_at)} by {row.activated_by}"))
    return Fields(tuple(items))


def confirm_card(row: IdpCertificate, vendor: str, client: str, cid: str) -> Card:
    title = texts.CONFIRM_TITLE.format(thumbprint=row.thumbprint)
    text = texts.CONFIRM_TEXT.format(vendor=vendor, client=client, thumbprint=row.thumbprint)
    return Card(title, [about(row), Text(text), Small(f"ref {cid}")],
                [Button(texts.CONFIRM_BUTTON, f"cert.activate:{row.id}", str(row.id),
                        style="primary", form=False)], tone="warning")


def activated_card(row: IdpCertificate, vendor: str, replaced: str | None, cid: str) -> Card:
    text = texts.ACTIVATED_TEXT.format(vendor=vendor)
    if replaced:
        text += texts.REPLACED.format(old=replaced)
    return Card(texts.ACTIVATED_TITLE.format(thumbprint=row.thumbprint),
                [about(row), Text(text), Small(f"ref {cid}")], tone="good")
