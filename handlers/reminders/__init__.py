"""Expiry reminders: data-access tokens to their creator, the IdP certificate to its admins.

The engine is bot/reminders.py; this package declares the two sources, their settings
(`reminder_days`, the admin channel of each platform) and the sweep job.
"""

from __future__ import annotations

from bot.capability import Capability, Job
from bot.reminders import ReminderSettings
from handlers.reminders.job import SWEEP_SECONDS, run_sweep
from handlers.reminders.sources import CertificateSource, TokenSource

CAPABILITY = Capability(
    name="reminders",
    tenant_settings=ReminderSettings,
    reminders=(TokenSource(), CertificateSource()),
    jobs=(Job("reminders.sweep", SWEEP_SECONDS, run_sweep),),
)
