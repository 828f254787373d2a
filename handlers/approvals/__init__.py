"""Approve/Deny on any approval card, and `approvals`: the requests waiting for a decision
(commands.py), with each tenant's approval settings (bot/tenant_settings.ApprovalSettings)."""

from __future__ import annotations

from bot.capability import Capability
from bot.tenant_settings import ApprovalSettings

CAPABILITY = Capability(name="approvals", work="handlers.approvals.work:WORK",
                        tenant_settings=ApprovalSettings)
