"""`settings show|set`: every installed capability's per-tenant settings, with their ranges;
`channel set admin`: where certificate expiry reminders go on each platform."""

from __future__ import annotations

from bot.capability import Capability

CAPABILITY = Capability(name="settings", work="handlers.settings.work:WORK")
