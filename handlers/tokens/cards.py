"""The token card: what a token is for, its state and lifetime; never its secret."""

from __future__ import annotations

from datetime import datetime

from cards.model import Button, Card, Confirm, Field, Fields, Section, Text, Tone
from handlers.tokens import texts
from handlers.tokens.states import ACTIVE, EXPIRED, PENDING, REVOKED
from storage.tokens import DataAccessToken

TONES: dict[str, Tone] = {PENDING: "info", ACTIVE: "good", REVOKED: "warning", EXPIRED: "warning"}


def day(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "-"


def revoke_button(row: DataAccessToken) -> Button:
    return Button("Revoke", f"token.revoke:{row.id}", str(row.id), style="danger",
                  confirm=Confirm(f"Revoke token {row.id}?",
                                  texts.REVOKE_ASK.format(id=row.id, name=row.name),
                                  "Revoke", "Keep"))


def renew_button(row: DataAccessToken) -> Button:
    return Button("Create a replacement", f"token.renew:{row.id}", str(row.id))


def token_card(row: DataAccessToken, title: str | None = None, note: str = "") -> Card:
    items = [Field("Name", row.name), Field("State", row.state),
             Field("Lifetime", row.lifetime), Field("Expires", day(row.expires_at)),
             Field("Created by", row.created_by_email)]
    if row.activated_at:
        items.append(Field("Activated", day(row.activated_at)))
    if row.revoked_at:
        items.append(Field("Revoked", f"{day(row.revoked_at)} by {row.revoked_by or '?'}"))
    sections: list[Section] = [Fields(tuple(items))]
    if row.description:
        sections.insert(0, Text(row.description))
    if note:
        sections.append(Text(note))
    buttons = [revoke_button(row)] if row.state in (PENDING, ACTIVE) else [renew_button(row)]
    return Card(title or f"Data-access token {row.id}", sections, buttons,
                tone=TONES.get(row.state, "info"))
