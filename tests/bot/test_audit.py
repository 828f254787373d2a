"""Audit rows for allowed and denied commands, written by the real router, secrets redacted."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.audit import REDACTED, redact
from bot.identity import to_principal
from bot.model import Actor, MessageRef, Platform, PlatformIdentity, ReplyTarget
from bot.runtime import Runtime
from cards.model import Card
from handlers.audit.commands import export_csv
from storage.audit import AuditEvent, AuditRepo
from storage.directory import DirectoryRepo

REPLY_TO = ReplyTarget("console", "room")


@dataclass
class ChatRoom:
    """Stands in for the chat platform: keeps what was posted."""

    platform: Platform = "console"
    posted: list[Card] = field(default_factory=list)

    async def post(self, target: ReplyTarget, card: Card, *, private_to: Actor | None = None) -> MessageRef:
        self.posted.append(card)
        return MessageRef("console", target.channel, str(len(self.posted)))

    async def update(self, ref: MessageRef, card: Card) -> None:
        self.posted[int(ref.message_id) - 1] = card


async def actor(rt: Runtime, email: str, *, active: bool | None = None) -> Actor:
    async with rt.db.uow() as uow:
        row = await uow.repo(DirectoryRepo).principal_by_email(rt.tenant_id, email)
        assert row is not None
        if active is not None:
            row.active = active
            await uow.commit()
        return Actor(to_principal(row), PlatformIdentity("slack", "T0001", f"U{row.id}", row.display_name))


async def events(rt: Runtime, correlation_id: str) -> Sequence[AuditEvent]:
    async with rt.db.uow() as uow:
        found = await uow.repo(AuditRepo).query(rt.tenant_id, limit=1000)
    return sorted((e for e in found if e.correlation_id == correlation_id), key=lambda e: e.id)


async def say(rt: Runtime, who: Actor, text: str, cid: str) -> Card:
    reply = await rt.router.handle_text(text, who, REPLY_TO, ChatRoom(), correlation_id=cid)
    return reply.cards[0]


async def test_allowed_command_is_audited(runtime: Runtime) -> None:
    alex = await actor(runtime, "alex.admin@example.com")
    card = await say(runtime, alex, "why me device.lock PC-0001", "cid-allowed")
    assert card.title == "Alex Admin: device.lock on PC-0001 is allowed"
    [row] = await events(runtime, "cid-allowed")
    assert (row.kind, row.action, row.outcome, row.target) == ("command", "why", "ok", "PC-0001")
    assert row.actor_email == "alex.admin@example.com" and row.actor_principal_id == alex.principal.id
    assert row.platform_identity == f"slack:T0001:U{alex.principal.id}"
    assert row.params == {"user": "me", "permission": "device.lock", "device": "PC-0001"}


async def test_denied_command_is_audited_with_the_reason_and_secrets_redacted(runtime: Runtime) -> None:
    nina = await actor(runtime, "nina.new@example.com")
    card = await say(runtime, nina, "devices token=xoxb-1234-5678-abcdefgh password=hunter2", "cid-denied")
    assert card.title == "Not allowed" and "device.read" in card.fallback_text()
    [row] = await events(runtime, "cid-denied")
    assert (row.kind, row.action, row.outcome) == ("denial", "devices", "denied")
    assert row.actor_email == "nina.new@example.com"
    assert row.platform_identity == f"slack:T0001:U{nina.principal.id}"
    assert row.detail == "denied: no role held grants device.read"
    assert row.params == {"text": f"devices token={REDACTED} password={REDACTED}"}
    async with runtime.db.uow() as uow:
        exported = await export_csv(uow, runtime.tenant_id, {})
    assert "xoxb-1234" not in exported and "hunter2" not in exported


async def test_denial_inside_a_handler_leaves_both_rows(runtime: Runtime) -> None:
    riley = await actor(runtime, "riley.remote@example.com")
    card = await say(runtime, riley, "why alex.admin@example.com rbac.admin", "cid-inner")
    assert card.title == "Not allowed"
    denial, command = await events(runtime, "cid-inner")
    assert (denial.kind, denial.action, denial.outcome) == ("denial", "audit.read", "denied")
    assert denial.detail.startswith("denied: no role held grants audit.read")
    assert (command.kind, command.action, command.outcome) == ("command", "why", "denied")


async def test_deactivated_account_is_denied_and_audited(runtime: Runtime) -> None:
    alex = await actor(runtime, "alex.admin@example.com", active=False)
    card = await say(runtime, alex, "devices", "cid-inactive")
    assert card.title == "Not allowed"
    [row] = await events(runtime, "cid-inactive")
    assert row.outcome == "denied" and row.detail == "denied: the account is deactivated in the directory"


async def test_secrets_in_allowed_command_params_are_redacted(runtime: Runtime) -> None:
    alex = await actor(runtime, "alex.admin@example.com")
    await say(runtime, alex, "help xoxb-999-secretvalue", "cid-help")
    [row] = await events(runtime, "cid-help")
    assert row.outcome == "refused" and row.params == {"command": REDACTED}
    assert redact({"api_key": "abc", "nested": {"Authorization": "Bearer abc.def"},
                   "list": ["Bearer zzz", 3], "n": 5}) == {
        "api_key": REDACTED, "nested": {"Authorization": REDACTED}, "list": [REDACTED, 3], "n": 5}
    # Only what JSON holds is stored: a parsed `since=1h`, a set, an object become text.
    since = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)
    assert redact({"since": since, "ids": {7}, "what": object}) == {
        "since": "2026-12-06T09:30:00+00:00", "ids": [7], "what": "<class 'object'>"}


async def test_csv_export_leaves_empty_cells_empty_writes_params_as_json_and_guards_formulas(
        runtime: Runtime) -> None:
    alex = await actor(runtime, "alex.admin@example.com")
    await say(runtime, alex, "why me device.lock", "cid-csv")  # no device: no target, a None param
    async with runtime.db.uow() as uow:
        await uow.repo(AuditRepo).append(AuditEvent(
            tenant_id=runtime.tenant_id, kind="external", action="probe", outcome="ok",
            correlation_id="cid-csv-formula", actor_email=None, target="=HYPERLINK(\"x\")",
            params={"nested": {"a": 1}, "none": None}, detail="-1+1"))
        await uow.commit()
        exported = await export_csv(uow, runtime.tenant_id, {})
    rows = {r["correlation_id"]: r for r in csv.DictReader(io.StringIO(exported))}
    why, probe = rows["cid-csv"], rows["cid-csv-formula"]
    assert why["target"] == "" and why["detail"] == ""
    assert json.loads(why["params"]) == {"user": "me", "permission": "device.lock", "device": None}
    assert probe["actor_email"] == "" and probe["platform_identity"] == ""
    assert probe["target"] == "'=HYPERLINK(\"x\")" and probe["detail"] == "'-1+1"
    assert json.loads(probe["params"]) == {"nested": {"a": 1}, "none": None}
    assert "'" not in "".join(v for r in rows.values() for k, v in r.items()
                             if k not in ("target", "detail", "params"))


async def test_a_revoked_assignments_number_is_never_shown_again_and_the_trail_names_it(
        runtime: Runtime) -> None:
    alex = await actor(runtime, "alex.admin@example.com")
    shown = []
    for n in range(3):  # the demo: grant, revoke, grant again, ... each was "#7"
        card = await say(runtime, alex, "role grant Auditor to nina.new@example.com", f"cid-g{n}")
        [number] = [f.value for s in card.sections for f in getattr(s, "items", ())
                    if f.label == "Assignment"]
        [granted] = await events(runtime, f"cid-g{n}")
        assert f"#{granted.params['assignment']}" == number
        revoked = await say(runtime, alex, f"role revoke {number}", f"cid-r{n}")
        assert revoked.title == f"Assignment {number} revoked"
        shown.append(number)
    assert len(set(shown)) == 3



async def test_rows_recorded_together_share_a_commit_and_each_is_written(runtime: Runtime) -> None:
    """`record` returns once its row is committed; rows arriving while a write is in flight go
    together in the next one (group commit), none lost."""
    from sqlalchemy import event

    commits: list[int] = []
    event.listen(runtime.db.engine.sync_engine, "commit", lambda _conn: commits.append(1))
    await asyncio.gather(*(runtime.audit.record(
        runtime.tenant_id, "command", "whoami", "ok", actor_label=f"worker-{n}",
        correlation_id="cid-group") for n in range(30)))
    written = await events(runtime, "cid-group")
    assert sorted(e.actor_email or "" for e in written) == sorted(f"worker-{n}" for n in range(30))
    assert len(commits) < 30
