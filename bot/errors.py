"""What a handler raises when the person cannot have what they asked for.

Each class carries its own card title and audit outcome, so the router never has to guess
from a message what happened. Anything else a handler raises is a bug on our side and is
answered with "Something went wrong" and a reference (bot/dispatch.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from bot.rbac import Decision


# What the person reads when deskhand itself failed: the same title wherever it failed.
FAILED_TITLE = "Something went wrong on our side"
HANDLER_FAILED = ("Nothing was changed. Try again in a minute; if it keeps failing, give your "
                  "administrator this reference.")
ANSWER_FAILED = ("deskhand hit a problem while answering, so what you asked may or may not have "
                 "happened: check before you try again. If it keeps failing, give your "
                 "administrator this reference.")


class UserError(Exception):
    """A problem the person can fix; the message is shown as is, the outcome is audited."""

    title: str = "That didn't work"
    outcome: ClassVar[str] = "refused"

    def __init__(self, message: str, title: str | None = None) -> None:
        super().__init__(message)
        if title is not None:
            self.title = title


class Denied(UserError):
    """RBAC, four-eyes or ownership said no; audited as a denial."""

    title = "Not allowed"
    outcome = "denied"

    def __init__(self, message: str, title: str | None = None, *,
                 decision: Decision | None = None) -> None:
        super().__init__(message, title)
        self.decision = decision

    @classmethod
    def by(cls, decision: Decision, what: str) -> Denied:
        return cls(f"You may not {what}: {decision.explain()}.", decision=decision)


class NotFound(UserError):
    """The thing named does not exist (or not in this tenant)."""

    title = "Not found"


class Conflict(UserError):
    """The thing moved on while the person looked at it (decided, closed, cancelled)."""

    title = "Already done"


class DamagedButton(UserError):
    """A click whose action id or value does not parse: a tampered or truncated card."""

    def __init__(self, hint: str) -> None:
        super().__init__(f"This button is damaged; {hint}")
