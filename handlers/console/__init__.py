"""`console`: a private, single-use sign-in link to the web console (production), and the job
that forgets spent links and sessions. The sign-in itself is core: bot/console_signin.py."""

from __future__ import annotations

from bot.capability import Capability

CAPABILITY = Capability(name="console", work="handlers.console.work:WORK")
