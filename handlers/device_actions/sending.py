"""What an action's runner gets and gives back (the shapes table.py and recovery.py share)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from cards.model import Section
from integrations.workspace_one.client import WorkspaceOneClient
from integrations.workspace_one.models import Device as WS1Device


@dataclass(frozen=True)
class Send:
    """What a runner gets: the client, the Workspace ONE device, the input, who asked."""

    client: WorkspaceOneClient
    target: WS1Device
    value: str
    cid: str
    person: str
    at: str  # "YYYY-MM-DD HH:MM" (UTC), for texts that name the moment


@dataclass(frozen=True)
class Outcome:
    """What a runner adds to the answer: sections for the card, plain facts for the audit row
    (never a secret: a recovery key goes in the sections only)."""

    sections: tuple[Section, ...] = ()
    audit: Mapping[str, object] = field(default_factory=dict)


Runner = Callable[[Send], Awaitable[Outcome]]
