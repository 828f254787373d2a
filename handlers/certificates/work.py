"""What `certificates` runs (bot/capability.Work)."""

from __future__ import annotations

from bot.capability import Job, Work
from bot.rekey import Sealed
from handlers.certificates import commands, downloads, lifecycle
from storage.certificates import IdpCertificate

WORK = Work(
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    downloads={downloads.KIND: downloads.download},
    permissions=("certificate.read", "certificate.write"),
    jobs=(Job("certificates.rollover", lifecycle.ROLLOVER_SECONDS, lifecycle.rollover),),
    sealed=(Sealed(IdpCertificate, text=("private_key",)),),
)
