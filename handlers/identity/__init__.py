"""Which chat accounts act as which person: `identity list|link|unlink` (commands.py).

Accounts link themselves by email on their first command (bot/identity.py); deactivation and
its effects are bot/people.py; `deskhand directory import` fills the directory from a CSV.
"""

from __future__ import annotations

from bot.capability import Capability

CAPABILITY = Capability(name="identity", work="handlers.identity.work:WORK")
