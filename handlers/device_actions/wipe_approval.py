"""A wipe as the subject of an approval request (bot/approvals.Subject), one per kind.

The decider must hold that kind's approve permission (`device.wipe.approve` or
`device.enterprise_wipe.approve`) over the device's management group as it is now; four-eyes,
expiry and every copy of the card come from bot/approvals.py. Deciding moves the row
awaiting_approval -> approved | denied | expired | cancelled (its requester was
deactivated) in the request's transaction, audited there as
`ws1.<kind>`; an approved wipe is handed to the sender after the commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.approvals import APPROVED, CANCELLED, DENIED, EXPIRED
from bot.audit import Audit
from bot.rbac import DeviceScope
from cards.model import Card
from handlers.device_actions import wipe_texts as texts
from handlers.device_actions.wipe_cards import wipe_card
from handlers.device_actions.wipe_send import send_later
from handlers.device_actions.wipes import (
    APPROVE,
    AWAITING,
    SUBJECTS,
    WIPES,
    audit_params,
    current_group,
)
from storage.device_wipes import DeviceWipe, DeviceWipeRepo
from storage.uow import UnitOfWork
from storage.workflow import ApprovalRepo

if TYPE_CHECKING:
    from bot.context import Context
    from bot.runtime import Runtime

ENDS = {APPROVED: APPROVED, DENIED: DENIED, EXPIRED: EXPIRED, CANCELLED: CANCELLED}


class WipeSubject:
    def __init__(self, wipe_kind: str) -> None:
        self.wipe_kind = wipe_kind  # "wipe" | "enterprise-wipe"
        self.kind = SUBJECTS[wipe_kind]
        self.approve_permission = APPROVE[wipe_kind]
        self.when_approved = texts.WHEN_APPROVED

    def label(self, subject_id: int) -> str:
        return texts.SUBJECT_LABEL.format(name=texts.NAMES[self.wipe_kind], id=subject_id)

    async def _row(self, runtime: Runtime, tenant_id: int, subject_id: int) -> DeviceWipe | None:
        async with runtime.db.uow() as uow:
            row = await uow.repo(DeviceWipeRepo).get(tenant_id, subject_id)
        return row if row is not None and row.kind == self.wipe_kind else None

    async def cards(self, runtime: Runtime, tenant_id: int,
                    subject_id: int) -> Mapping[str, Card] | None:
        row = await self._row(runtime, tenant_id, subject_id)
        if row is None:
            return None
        async with runtime.db.uow() as uow:
            request = await uow.repo(ApprovalRepo).for_subject(self.kind, subject_id)
        return {audience: wipe_card(row, request, audience) for audience in ("approvers", "requester")}

    async def _scope(self, ctx: Context, subject_id: int) -> DeviceScope | None:
        row = await self._row(ctx.runtime, ctx.tenant_id, subject_id)
        if row is None:
            return None
        ctx.target = row.device_name
        ctx.audit_params["wipe"] = row.id
        return DeviceScope(row.device_name, await current_group(ctx.runtime, row))

    async def check_decider(self, ctx: Context, subject_id: int, verb: str) -> None:
        scope = await self._scope(ctx, subject_id)
        if scope is not None:  # a wipe that is gone: the decision's compare-and-set fails
            await ctx.require(self.approve_permission,
                              f"{verb} {self.label(subject_id).lower()} of {scope.name}", device=scope)

    async def may_decide(self, ctx: Context, subject_id: int) -> bool:
        scope = await self._scope(ctx, subject_id)
        return scope is not None and ctx.decide(self.approve_permission, scope).allowed

    async def decided(self, uow: UnitOfWork, tenant_id: int, subject_id: int, outcome: str,
                      by: str, reason: str) -> bool:
        if outcome not in ENDS:
            raise ValueError(f"a wipe's approval does not end as {outcome!r}")
        row = await uow.repo(DeviceWipeRepo).get(tenant_id, subject_id)
        if row is None or row.kind != self.wipe_kind:
            return False
        error = "" if outcome == APPROVED else (
            f"Denied by {by}" + (f": {reason}" if reason else ".") if outcome == DENIED else reason)
        moved = await WIPES.move(uow, tenant_id, subject_id, AWAITING, ENDS[outcome],
                                 decided_at=datetime.now(UTC), decided_by=by, error=error[:1000])
        if moved:
            await Audit.add(uow, tenant_id, "decision", f"ws1.{self.wipe_kind}", outcome,
                            actor_label=by, correlation_id=row.correlation_id,
                            target=row.device_name, params=audit_params(row), detail=reason)
        return moved

    async def after(self, runtime: Runtime, tenant_id: int, subject_id: int, outcome: str) -> None:
        if outcome == APPROVED:
            send_later(runtime, tenant_id, subject_id)

    async def place(self, runtime: Runtime, tenant_id: int,
                    subject_id: int) -> dict[str, Any] | None:
        row = await self._row(runtime, tenant_id, subject_id)
        return row.reply_to if row else None


SUBJECT_LIST = (WipeSubject("wipe"), WipeSubject("enterprise-wipe"))
