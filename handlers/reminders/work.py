"""What `reminders` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Job, Work
from handlers.reminders.job import SWEEP_SECONDS, run_sweep
from handlers.reminders.sources import CertificateSource, TokenSource

WORK = Work(
    reminders=(TokenSource(), CertificateSource()),
    jobs=(Job("reminders.sweep", SWEEP_SECONDS, run_sweep),),
)
