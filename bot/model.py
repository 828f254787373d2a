"""The neutral model every handler sees. No Slack or Teams type ever crosses this line."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

Platform = Literal["console", "slack", "teams", "cli"]
Visibility = Literal["public", "private"]


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class Principal:
    """A directory user; RBAC decides on this, never on a chat account."""

    id: int
    tenant_id: int
    email: str
    display_name: str
    active: bool = True


@dataclass(frozen=True)
class PlatformIdentity:
    platform: Platform
    platform_tenant: str
    user_id: str
    display: str = ""

    def __str__(self) -> str:
        return f"{self.platform}:{self.platform_tenant}:{self.user_id}"


@dataclass(frozen=True)
class Actor:
    """The principal plus the chat account that spoke."""

    principal: Principal
    identity: PlatformIdentity

    @property
    def tenant_id(self) -> int:
        return self.principal.tenant_id


Recipient = Actor | PlatformIdentity  # who a private reply is for; an identity if nobody known


def own_account(recipient: Recipient, platform: Platform) -> str | None:
    """The recipient's user id on `platform` when that is the account that spoke; else None."""
    identity = recipient.identity if isinstance(recipient, Actor) else recipient
    return identity.user_id if identity.platform == platform else None


@dataclass(frozen=True)
class MessageRef:
    """Where a posted card lives so it can be updated later.

    `channel` is the Slack channel, the Teams conversation id or the console room;
    `message_id` is the Slack ts, the Teams activity id or the console message id.
    `extra` carries what a platform needs beyond that (a Teams conversation reference).
    """

    platform: Platform
    channel: str
    message_id: str
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class ReplyTarget:
    """Where the answer to a command goes: the conversation it came from.

    `extra` carries what a platform needs to post there: a Slack `response_url`, a Teams
    conversation reference, and which workspace it is in (Slack `team`/`org`, or `tenant` for
    a channel named in a tenant's settings), so a post goes with that workspace's bot token or
    among that tenant's Teams conversations (docs/tenants.md).
    """

    platform: Platform
    channel: str
    thread: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Command:
    name: str
    args: dict[str, Any]
    raw: str
    actor: Actor
    reply_to: ReplyTarget
    correlation_id: str = field(default_factory=new_correlation_id)


@dataclass
class Interaction:
    """A button click or form submission on a card we posted.

    `value` is opaque and small; handlers must re-derive every authorization fact
    from the database, never from the value.
    """

    action_id: str
    value: str
    actor: Actor
    message: MessageRef | None
    reply_to: ReplyTarget
    inputs: dict[str, str] = field(default_factory=dict)
    correlation_id: str = field(default_factory=new_correlation_id)
    args: tuple[Any, ...] = ()  # the action id's parts after the prefix, parsed as declared
    fields: tuple[str, ...] = ()  # the value's \x1f-separated fields, as declared
