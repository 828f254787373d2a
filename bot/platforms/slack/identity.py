"""Slack user -> email, for linking a Slack account to its principal (bot/identity.py).

users.info only shows `profile.email` with the users:read.email scope; a missing email (scope,
guest, Slack Connect user) means "unmapped", never a match.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.identity import EmailLookup
from bot.model import PlatformIdentity
from bot.platforms.slack.clients import SlackClients
from bot.tenancy import Workspace

log = logging.getLogger("deskhand.slack")


class SlackIdentity:
    def __init__(self, clients: SlackClients) -> None:
        self.clients = clients
        self._warned_scope = False

    def lookup(self, identity: PlatformIdentity, where: Workspace) -> EmailLookup:
        """Asked with the token of the person's own workspace (its own installation's, where it
        has one): another workspace's installation does not know the user."""
        own = where.actor() or where

        async def email() -> str | None:
            return await self.email(await self.clients.of(own.keys()), identity.user_id)
        return email

    async def email(self, client: AsyncWebClient, user_id: str) -> str | None:
        try:
            response = await client.users_info(user=user_id)
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
