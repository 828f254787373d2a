"""Expiry reminders: data-access tokens to their creator, the IdP certificate to its admins.

The engine is bot/reminders.py; this package declares the two sources, their settings
(`reminder_days`, the admin channel of each platform) and the sweep job.
"""

from __future__ import annotations

from bot.capability import Capability
from bot.tenant_settings import ReminderSettings

CAPABILITY = Capability(name="reminders", work="handlers.reminders.work:WORK",
                        tenant_settings=ReminderSettings)
