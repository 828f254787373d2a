"""`audit`: read the append-only trail in chat, filtered, paged, and as CSV through a signed link;
`deskhand audit export|archive` on the server."""

from __future__ import annotations

from bot.capability import Capability
from handlers.audit import commands
from handlers.audit.config import AuditConfig

CAPABILITY = Capability(
    name="audit",
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    downloads={"audit.csv": commands.download_csv},
    permissions=("audit.read",),
    config=AuditConfig,
)
