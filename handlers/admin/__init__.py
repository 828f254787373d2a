"""Who is who and who may do what: `whoami`, `why`, `role list|grant|bind-group|revoke|create`."""

from __future__ import annotations

from bot.capability import Capability

CAPABILITY = Capability(name="admin", work="handlers.admin.work:WORK")
