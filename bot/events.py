"""Events one capability announces and others listen to, without either importing the other.

A capability declares its listeners (`Capability.listeners`: an event name and a coroutine
taking the runtime and the event's payload); whoever announces calls `publish`. The core
announces one event itself: COMMAND_FINISHED after every command and click that reached its
handler, with what the audit trail records (`Finished`). The router hands it over as work for
after the answer (Reply.later), so a listener never slows the chat answer.

A listener's failure is logged with its traceback and does not stop the others: what it
reacts to has already happened.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bot.model import Actor
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.events")
COMMAND_FINISHED = "command.finished"
ListenerFn = Callable[["Runtime", Any], Awaitable[None]]


@dataclass(frozen=True)
class Listener:
    event: str
    run: ListenerFn


@dataclass(frozen=True)
class Finished:
    """A command or click that ran, as typed and as it ended.

    `outcome` is the audit outcome (ok, refused, denied, failed, error); `message` the plain text
    the person was shown when it did not succeed; `params` the bound arguments (for a click, the
    action id) together with what the handler added for the audit trail (ctx.audit_params)."""

    tenant_id: int
    actor: Actor
    kind: Literal["command", "interaction"]
    name: str  # the command's name or the button's prefix
    text: str  # as typed; for a click, its action id
    params: dict[str, Any]
    outcome: str
    message: str
    correlation_id: str
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


def listening(runtime: Runtime, event: str) -> bool:
    return bool(runtime.registry.listeners.get(event))


async def publish(runtime: Runtime, event: str, payload: Any) -> None:
    """Run every listener of `event`, one after the other; a failure is logged, not raised."""
    for listener in runtime.registry.listeners.get(event, ()):
        try:
            await listener(runtime, payload)
        except Exception:
            log.exception("a listener of %s failed", event)
