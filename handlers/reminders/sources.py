"""The reminder sources: data-access tokens (to their creator) and the IdP certificate (to the
admin channel, or to each certificate admin privately where a platform has none)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot.model import ReplyTarget
from bot.reminders import (
    CHANNEL_PLATFORMS,
    Person,
    ReminderSettings,
    holders,
    people,
    tell_personally,
)
from cards.model import Button, Card, Context, Field, Fields, Mention, Mentions, Section, Text
from handlers.reminders import texts
from storage.reminders import Expiring, ReminderRepo
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.reminders")
CERT_ADMINS = "certificate.write"  # who is mentioned: they can activate the next certificate


def _context(settings: ReminderSettings) -> Context:
    return Context(texts.CONTEXT.format(marks=", ".join(map(str, settings.reminder_days))))


class TokenSource:
    kind = "token"

    async def crossing(self, uow: UnitOfWork, tenant_id: int, since: datetime | None,
                       now: datetime, days: Sequence[int]) -> list[Expiring]:
        return await uow.repo(ReminderRepo).tokens_crossing(tenant_id, since, now, days)

    def card(self, token: Expiring, days: int, settings: ReminderSettings) -> Card:
        return Card(texts.TOKEN_TITLE.format(name=token.name, left=texts.days_left(days)), [
            Text(texts.TOKEN_TEXT.format(when=texts.when(token.expires_at))),
            Fields((Field("Token", f"{token.id}"), Field("Name", token.name),
                    Field("Expires", texts.when(token.expires_at)))),
            _context(settings),
        ], [Button(texts.TOKEN_RENEW, f"token.renew:{token.id}", style="primary", form=False)],
            tone="warning")

    async def remind(self, runtime: Runtime, subject: Expiring, days: int,
                     settings: ReminderSettings) -> int:
        if subject.owner_id is None:
            return 0  # its creator left the directory
        async with runtime.db.uow() as uow:
            found = await people(uow, [subject.owner_id])
        card = self.card(subject, days, settings)
        return sum([await tell_personally(runtime, p, card) for p in found])


class CertificateSource:
    kind = "certificate"

    async def crossing(self, uow: UnitOfWork, tenant_id: int, since: datetime | None,
                       now: datetime, days: Sequence[int]) -> list[Expiring]:
        return await uow.repo(ReminderRepo).certificates_crossing(tenant_id, since, now, days)

    def card(self, cert: Expiring, days: int, successor: str | None, settings: ReminderSettings,
             mentions: Sequence[Mention] = ()) -> Card:
        expiry = texts.CERT_TEXT.format(thumbprint=cert.name, when=texts.when(cert.expires_at))
        step = texts.CERT_NEXT.format(thumbprint=successor) if successor else texts.CERT_NO_NEXT
        sections: list[Section] = [Text(expiry), Text(step)]
        if mentions:
            sections.insert(0, Mentions(texts.CERT_LEAD, tuple(mentions)))
        return Card(texts.CERT_TITLE.format(left=texts.days_left(days)),
                    [*sections, _context(settings)], tone="warning")

    async def remind(self, runtime: Runtime, subject: Expiring, days: int,
                     settings: ReminderSettings) -> int:
        async with runtime.db.uow() as uow:
            admins = await holders(uow, subject.tenant_id, CERT_ADMINS)
            successor = await uow.repo(ReminderRepo).successor(subject.tenant_id)
        reached = 0
        in_channel: set[str] = set()
        for platform in CHANNEL_PLATFORMS:
            channel, messenger = settings.admin_channel(platform), runtime.messenger(platform)
            if not channel or messenger is None:
                continue
            mentions = [Mention(p.name, a.user_id) for p in admins if (a := p.on(platform))]
            try:
                # the tenant's channel: its Slack token, among its Teams conversations
                where = ReplyTarget(platform, channel,  # type: ignore[arg-type]
                                    extra={"tenant": subject.tenant_id})
                await messenger.post(where, self.card(subject, days, successor, settings, mentions))
            except Exception as exc:  # the bot left the channel: its admins are told privately
                log.warning("the certificate reminder could not be posted in the %s admin "
                            "channel: %s", platform, type(exc).__name__)
                continue
            in_channel.add(platform)
            reached += 1
        card = self.card(subject, days, successor, settings)
        for person in admins:  # where no admin channel took it: each admin privately
            rest = tuple(a for a in person.accounts if a.platform not in in_channel)
            reached += await tell_personally(runtime, Person(person.principal_id, person.name, rest),
                                             card)
        return reached
