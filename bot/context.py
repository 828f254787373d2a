"""What a handler gets: the runtime's services, the caller's grants, and a way to say no."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.model import Actor, Visibility
from bot.rbac import Decision, DeviceScope, Grant, decide
from cards.model import Card

if TYPE_CHECKING:
    from bot.messaging import Messenger
    from bot.runtime import Runtime


class UserError(Exception):
    """A problem the person can fix; the message is shown as is, the outcome is audited."""

    def __init__(self, message: str, title: str = "That didn't work") -> None:
        super().__init__(message)
        self.title = title


class Denied(UserError):
    def __init__(self, decision: Decision, what: str) -> None:
        super().__init__(f"You may not {what}: {decision.explain()}.", title="Not allowed")
        self.decision = decision


@dataclass
class Reply:
    cards: list[Card]
    visibility: Visibility = "public"
    replace: bool = False  # for a click: update the clicked card in place

    @classmethod
    def public(cls, card: Card) -> Reply:
        return cls([card])

    @classmethod
    def private(cls, card: Card) -> Reply:
        return cls([card], visibility="private")

    @classmethod
    def update(cls, card: Card) -> Reply:
        return cls([card], replace=True)


@dataclass
class Context:
    runtime: Runtime
    actor: Actor
    messenger: Messenger
    grants: list[Grant]
    correlation_id: str
    target: str | None = None  # what the audit row names as the target
    audit_params: dict[str, object] = field(default_factory=dict)

    @property
    def tenant_id(self) -> int:
        return self.actor.tenant_id

    def decide(self, permission: str, device: DeviceScope | None = None,
               instruction_set: str | None = None) -> Decision:
        return decide(self.grants, permission, active=self.actor.principal.active,
                      device=device, instruction_set=instruction_set)

    async def require(self, permission: str, what: str, device: DeviceScope | None = None,
                      instruction_set: str | None = None) -> Decision:
        """Allow or raise Denied; every denial is audited with its explanation."""
        decision = self.decide(permission, device, instruction_set)
        if not decision.allowed:
            await self.runtime.audit.record(
                self.tenant_id, "denial", permission, "denied", actor=self.actor,
                correlation_id=self.correlation_id,
                target=device.name if device else self.target, detail=decision.explain())
            raise Denied(decision, what)
        return decision
