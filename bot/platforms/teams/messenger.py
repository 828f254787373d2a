"""Post and update cards in Teams, now or long after the turn (proactive messages).

Every call goes through a stored ConversationReference (MessageRef.extra["reference"], or the
database by conversation id) and CloudAdapter.continue_conversation, so handlers, background
jobs and late replies all use one path, paced and retried per conversation.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)

from bot.adapter import PlatformRefused, Supports
from bot.model import Actor, MessageRef, Platform, PlatformIdentity, Recipient, ReplyTarget, own_account
from bot.platforms.teams.delivery import connector_of
from cards.adaptive import CONTENT_TYPE, render
from cards.model import Card, Table, truncate
from storage.directory import DirectoryRepo

if TYPE_CHECKING:
    from bot.platforms.teams.adapter import TeamsAdapter


def card_activity(card: Card) -> Activity:
    content = render(card)
    if any(isinstance(s, Table) for s in card.sections):  # Teams-only hint: tables need room
        content = {**content, "msteams": {**content.get("msteams", {}), "width": "Full"}}
    return Activity(type=ActivityTypes.message, summary=truncate(card.title, 200),
                    attachments=[Attachment(content_type=CONTENT_TYPE, content=content)])


def _addressed(activity: Activity, reference: dict[str, Any]) -> Activity:
    return TurnContext.apply_conversation_reference(
        activity, ConversationReference().deserialize(reference))


class NoConversation(PlatformRefused):
    """deskhand has no stored reference for that conversation (not installed there)."""


class TeamsMessenger:
    platform: Platform = "teams"
    # No ephemeral messages (private answers go to the 1:1 chat), no file uploads by a bot into
    # channels without Graph permissions, no modals: inputs ride on the Adaptive Card itself.
    supports = Supports(ephemeral=False, uploads=False, modals=False, updates=True)

    def __init__(self, teams: TeamsAdapter) -> None:
        self.teams = teams

    async def _aad_of(self, recipient: Recipient) -> tuple[str, str] | None:
        """The person's Teams account: (their Microsoft 365 tenant, their Entra object id)."""
        identity = recipient.identity if isinstance(recipient, Actor) else recipient
        if own_account(recipient, "teams"):
            return identity.platform_tenant, identity.user_id
        if not isinstance(recipient, Actor):
            return None
        async with self.teams.rt.db.uow() as uow:
            links = await uow.repo(DirectoryRepo).identities_of(recipient.principal.id)
        return next(((i.platform_tenant, i.platform_user_id) for i in links
                     if i.platform == "teams"), None)

    async def _stored(self, target: ReplyTarget | MessageRef) -> dict[str, Any] | None:
        """The reference a target carries, else the stored one of its conversation in its tenant
        (a channel from a tenant's settings names the tenant; else the deployment's)."""
        tenant = target.extra.get("tenant")
        return target.extra.get("reference") or await self.teams.conversations.reference(
            target.channel, tenant if isinstance(tenant, int) else self.teams.rt.tenant_id)

    async def private_place(self, target: ReplyTarget, person: Recipient) -> ReplyTarget | None:
        # Teams has no ephemeral messages: a private answer goes to the person's 1:1 chat.
        reference = await self._stored(target)
        if reference is not None and reference["conversation"].get("conversationType") in (
                None, "personal"):
            return dataclasses.replace(target, extra={**target.extra, "reference": reference})
        account = await self._aad_of(person)
        personal = await self.teams.conversations.personal_reference(*account) if account else None
        if personal is None:
            return None
        return ReplyTarget("teams", personal["conversation"]["id"], extra={"reference": personal})

    async def _reference(self, target: ReplyTarget, private_to: Recipient | None) -> dict[str, Any]:
        if private_to is not None:
            # No 1:1 chat with deskhand yet: a private answer stays where it was asked.
            target = await self.private_place(target, private_to) or target
        reference = await self._stored(target)
        if reference is None:
            raise NoConversation(f"deskhand is not installed in Teams conversation {target.channel}")
        return dict(reference)

    async def post(self, target: ReplyTarget, card: Card, *,
                   private_to: Recipient | None = None) -> MessageRef:
        reference = await self._reference(target, private_to)
        conversation_id = reference["conversation"]["id"]
        activity = _addressed(card_activity(card), reference)

        async def send(ctx: TurnContext) -> Any:
            return await self.teams.delivery.call(
                "post card", lambda: connector_of(ctx).conversations.send_to_conversation(
                    conversation_id, activity), pace=conversation_id)

        sent = await self.teams.with_turn(reference, send)
        return MessageRef("teams", conversation_id, (sent.id or "") if sent else "",
                          extra={"reference": reference})

    async def post_personal(self, account: PlatformIdentity, card: Card) -> MessageRef:
        """A proactive message in the 1:1 chat: the stored one, else one created through the
        connector of the person's Microsoft 365 tenant (the app must be installed for them)."""
        reference = await self.teams.conversations.personal_reference(
            account.platform_tenant, account.user_id) \
            or await self._new_personal(account)
        return await self.post(ReplyTarget("teams", reference["conversation"]["id"],
                                           extra={"reference": reference}), card)

    async def _new_personal(self, account: PlatformIdentity) -> dict[str, Any]:
        known = await self.teams.conversations.any_reference(account.platform_tenant)
        if known is None:
            raise NoConversation("deskhand has no Teams conversation in that Microsoft 365 tenant")
        parameters = ConversationParameters(
            is_group=False, bot=ChannelAccount().deserialize(known["bot"]),
            members=[ChannelAccount(id=account.user_id, aad_object_id=account.user_id)],
            tenant_id=account.platform_tenant,
            channel_data={"tenant": {"id": account.platform_tenant}})

        async def create(ctx: TurnContext) -> Any:
            return await self.teams.delivery.call(
                "create 1:1 chat", lambda: connector_of(ctx).conversations.create_conversation(
                    parameters), pace=account.user_id)

        created = await self.teams.with_turn(known, create)
        reference = {**known, "conversation": {"id": created.id, "conversationType": "personal",
                                               "tenantId": account.platform_tenant},
                     "user": {"id": account.user_id, "aadObjectId": account.user_id}}
        await self.teams.conversations.remember_personal(account.user_id, account.platform_tenant,
                                                        reference)
        return reference

    async def update(self, ref: MessageRef, card: Card) -> None:
        reference = await self._stored(ref)
        if reference is None:
            raise NoConversation(f"deskhand is not installed in Teams conversation {ref.channel}")
        activity = _addressed(card_activity(card), reference)
        activity.id = ref.message_id

        async def send(ctx: TurnContext) -> Any:
            return await self.teams.delivery.call(
                "update card", lambda: connector_of(ctx).conversations.update_activity(
                    ref.channel, ref.message_id, activity), pace=ref.channel)

        await self.teams.with_turn(reference, send)

    async def upload(self, target: ReplyTarget, name: str, body: bytes, *, title: str = "",
                     comment: str = "") -> None:
        raise NotImplementedError("deskhand offers files in Teams as signed download links")

    async def typing(self, ctx: TurnContext, reference: dict[str, Any]) -> None:
        """The immediate "working on it" signal, in a turn that is already open."""
        conversation_id = reference["conversation"]["id"]
        activity = _addressed(Activity(type=ActivityTypes.typing), reference)
        await self.teams.delivery.call(
            "typing", lambda: connector_of(ctx).conversations.send_to_conversation(
                conversation_id, activity), pace=conversation_id)
