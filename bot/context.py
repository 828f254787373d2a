"""What a handler gets (the runtime, the caller's grants, a way to say no) and what it returns."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.errors import Denied
from bot.model import Actor, Visibility
from bot.rbac import Decision, DeviceScope, Grant, decide
from cards.model import Card

if TYPE_CHECKING:
    from bot.adapter import Messenger
    from bot.runtime import Runtime

Later = Callable[[], Coroutine[Any, Any, None]]  # work for after the answer


@dataclass
class Reply:
    cards: list[Card]
    visibility: Visibility = "public"
    replace: bool = False  # for a click: update the clicked card in place
    later: list[Later] = field(default_factory=list)  # run once the answer is out (bot/dispatch.py)

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
    deferred: list[Later] = field(default_factory=list)

    @property
    def tenant_id(self) -> int:
        return self.actor.tenant_id

    def defer(self, work: Later) -> None:
        """Do `work` after the person has the answer (e.g. redraw the card's other copies)."""
        self.deferred.append(work)

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
            raise Denied.by(decision, what)
        return decision
