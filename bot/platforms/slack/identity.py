"""Slack user -> principal: the stored chat_identities link first, else users.info's email.

users.info only shows `profile.email` with the users:read.email scope; a missing email (scope,
guest, Slack Connect user) means "unmapped", never a match.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import IntegrityError

from bot.identity import resolve_actor
from bot.model import Actor, PlatformIdentity

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.slack")


class SlackIdentity:
    def __init__(self, runtime: Runtime, client: AsyncWebClient) -> None:
        self.rt = runtime
        self.client = client
        self._warned_scope = False

    def identity(self, team_id: str | None, user_id: str, display: str = "") -> PlatformIdentity:
        # One runtime tenant for now: every workspace (team_id) maps to runtime.tenant_id.
        return PlatformIdentity("slack", team_id or "-", user_id, display)

    async def actor(self, identity: PlatformIdentity) -> Actor | None:
        async def lookup() -> str | None:
            return await self.email(identity.user_id)

        try:
            return await resolve_actor(self.rt.db, self.rt.tenant_id, identity, lookup)
        except IntegrityError:  # a concurrent request linked the same account first
            return await resolve_actor(self.rt.db, self.rt.tenant_id, identity)

    async def email(self, user_id: str) -> str | None:
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "unknown"
            if error == "missing_scope":
                log.error("users.info refused (missing_scope): add the users:read and "
                          "users:read.email bot scopes and reinstall the app")
            else:
                log.warning("users.info for %s failed: %s", user_id, error)
            return None
        user = response.get("user") or {}
        if user.get("deleted") or user.get("is_bot"):
            return None
        email = (user.get("profile") or {}).get("email")
        if not email and not self._warned_scope:
            self._warned_scope = True
            log.warning("users.info returned no email for %s; if nobody can be linked, add the "
                        "users:read.email scope and reinstall the app", user_id)
        return str(email).strip().lower() if email else None
