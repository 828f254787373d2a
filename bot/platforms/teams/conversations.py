"""What an inbound activity tells us about its conversation, and the stored references.

A ConversationReference is captured from every activity (install, conversation update and each
message) because Teams can move a conversation to another `serviceUrl`; with it deskhand can
post to that chat or channel later without being spoken to first. References are kept in the
tenant the conversation's Microsoft 365 tenant maps to (bot/tenancy.py), and looked up there:
a channel named in one tenant's settings is never another tenant's conversation. A conversation
in a Microsoft 365 tenant no tenant owns is not kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes
from sqlalchemy.exc import IntegrityError

from bot.model import ReplyTarget
from bot.tenancy import Refused, Workspace, tenant_of
from storage.teams import TeamsConversationRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.teams")
CACHE_LIMIT = 10_000


def _data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    return data if isinstance(data, dict) else {}


def reference_json(activity: Activity) -> dict[str, Any]:
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None  # a conversation, not one message in it
    return dict(reference.serialize())


@dataclass(frozen=True)
class Inbound:
    """The facts of one inbound activity that outlive its turn."""

    reference: dict[str, Any]
    conversation_id: str
    conversation_type: str  # personal, groupChat or channel
    aad_tenant: str
    team_id: str | None
    channel_id: str | None
    user_mri: str  # 29:... the Teams user id the connector knows
    user_aad: str | None  # Entra object id; absent for anonymous users
    user_name: str
    reply_to_id: str | None  # the card a submit came from
    channel_data: dict[str, Any]

    @classmethod
    def of(cls, activity: Activity) -> Inbound:
        data = _data(activity)
        conversation = activity.conversation
        user = activity.from_property
        tenant = (data.get("tenant") or {}).get("id") or getattr(conversation, "tenant_id", "") or ""
        return cls(
            reference=reference_json(activity),
            conversation_id=conversation.id if conversation else "",
            # Unknown: treated as shared, so nothing private is sent there (fail closed).
            conversation_type=(getattr(conversation, "conversation_type", None) or "channel"),
            aad_tenant=str(tenant),
            team_id=(data.get("team") or {}).get("id"),
            channel_id=(data.get("channel") or {}).get("id"),
            user_mri=user.id if user else "",
            user_aad=getattr(user, "aad_object_id", None) if user else None,
            user_name=(user.name or "") if user else "",
            reply_to_id=activity.reply_to_id,
            channel_data=data,
        )

    def reply_target(self) -> ReplyTarget:
        return ReplyTarget("teams", self.conversation_id, extra={
            "reference": self.reference, "conversation_type": self.conversation_type,
            "team_id": self.team_id})


def _removed(activity: Activity) -> bool:
    if activity.type == ActivityTypes.installation_update:
        return (activity.action or "").startswith("remove")
    if activity.type == ActivityTypes.conversation_update and activity.recipient:
        return any(m.id == activity.recipient.id for m in activity.members_removed or [])
    return False


class ConversationStore:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        # skips writes that change nothing
        self._seen: dict[str, tuple[int, str, bool, str | None]] = {}

    async def tenant(self, aad_tenant: str) -> int | None:
        """The tenant a Microsoft 365 tenant belongs to; None when none does."""
        found = await tenant_of(self.rt, Workspace("teams", aad_tenant))
        return None if isinstance(found, Refused) else found

    async def capture(self, activity: Activity) -> None:
        if activity.conversation is None or not activity.conversation.id or not activity.service_url:
            return
        inbound = Inbound.of(activity)
        tenant = await self.tenant(inbound.aad_tenant)
        if tenant is None:
            return  # the turn is refused as unmapped (bot/dispatch.py); nothing to post there later
        installed = not _removed(activity)
        personal = inbound.conversation_type == "personal"
        user_aad = inbound.user_aad if personal else None
        key = (tenant, activity.service_url, installed, user_aad)
        lifecycle = activity.type in (ActivityTypes.installation_update,
                                      ActivityTypes.conversation_update)
        if not lifecycle and self._seen.get(inbound.conversation_id) == key:
            return  # installs and removals always write: another replica may have seen a removal
        rows = [(inbound.conversation_id, inbound.reference)]
        root = inbound.conversation_id.split(";messageid=", 1)[0]
        if root != inbound.conversation_id:  # a reply thread: remember the channel itself too
            rows.append((root, {**inbound.reference,
                                "conversation": {**inbound.reference["conversation"], "id": root}}))
        try:
            async with self.rt.db.uow() as uow:
                for conversation_id, reference in rows:
                    await uow.repo(TeamsConversationRepo).upsert(
                        tenant, conversation_id,
                        conversation_type=inbound.conversation_type,
                        aad_tenant_id=inbound.aad_tenant, team_id=inbound.team_id,
                        channel_id=inbound.channel_id, user_aad_id=user_aad,
                        service_url=activity.service_url, reference=reference, installed=installed)
                await uow.commit()
        except IntegrityError:  # a concurrent first activity stored it; the next one refreshes
            return
        if len(self._seen) > CACHE_LIMIT:
            self._seen.clear()
        self._seen[inbound.conversation_id] = key
        if not installed:
            log.info("deskhand was removed from Teams conversation %s", inbound.conversation_id[:60])

    async def reference(self, conversation_id: str, tenant_id: int) -> dict[str, Any] | None:
        """A conversation of that tenant, where deskhand is installed."""
        async with self.rt.db.uow() as uow:
            row = await uow.repo(TeamsConversationRepo).get(tenant_id, conversation_id)
        return dict(row.reference) if row is not None and row.installed else None

    async def remember_personal(self, user_aad: str, aad_tenant: str,
                                reference: dict[str, Any]) -> None:
        """Store a 1:1 chat deskhand created, so the next message goes there directly."""
        tenant = await self.tenant(aad_tenant)
        if tenant is None:
            return
        async with self.rt.db.uow() as uow:
            await uow.repo(TeamsConversationRepo).upsert(
                tenant, reference["conversation"]["id"], conversation_type="personal",
                aad_tenant_id=aad_tenant, user_aad_id=user_aad,
                service_url=reference["serviceUrl"], reference=reference, installed=True)
            await uow.commit()

    async def any_reference(self, aad_tenant: str) -> dict[str, Any] | None:
        tenant = await self.tenant(aad_tenant)
        if tenant is None:
            return None
        async with self.rt.db.uow() as uow:
            row = await uow.repo(TeamsConversationRepo).latest_in(tenant, aad_tenant)
        return dict(row.reference) if row is not None else None

    async def personal_reference(self, aad_tenant: str, user_aad: str) -> dict[str, Any] | None:
        """The 1:1 chat with a person of that Microsoft 365 tenant."""
        tenant = await self.tenant(aad_tenant)
        if tenant is None:
            return None
        async with self.rt.db.uow() as uow:
            row = await uow.repo(TeamsConversationRepo).personal(tenant, user_aad)
        return dict(row.reference) if row is not None else None
