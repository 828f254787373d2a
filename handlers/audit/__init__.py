"""`audit`: read the append-only trail in chat, filtered, paged, and as CSV through a signed link;
`deskhand audit export|archive` on the server."""

from __future__ import annotations

from bot.capability import Capability
from handlers.audit.config import AuditConfig

CAPABILITY = Capability(name="audit", work="handlers.audit.work:WORK", config=AuditConfig)
