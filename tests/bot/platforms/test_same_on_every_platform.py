"""One scenario on the console, Slack and Teams: the same cards, buttons, updates and denials.

Each run starts one deskhand with Slack (against a fake Web API) and Teams (auth on, JWTs minted
against the test's own OpenID metadata) both configured, plus the console, and drives it through
one platform's real protocol. The neutral outcomes must match the expected ones and every other
platform's that ran in this session.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.context import Context, Reply
from bot.model import Command
from bot.registry import CommandSpec
from bot.runtime import Runtime
from cards.model import Card, Text
from storage.audit import AuditRepo
from storage.directory import DirectoryRepo
from storage.rbac import RbacRepo
from tests.bot.platforms._drivers import (
    ConsoleDriver,
    Driver,
    Outcome,
    SlackDriver,
    TeamsDriver,
)
from tests.fakes.bot_connector import FakeBotFramework
from tests.fakes.slack_api import SlackEnv, slack_env

ADMIN, NEWCOMER = "alex.admin@example.com", "nina.new@example.com"
SEEN: dict[str, list[Outcome]] = {}  # platform -> its transcript, compared across platforms


@contextlib.asynccontextmanager
async def deskhand(tmp_path: Path) -> AsyncIterator[tuple[SlackEnv, FakeBotFramework]]:
    """One server: console on (dev mode), Slack configured, Teams with Bot Framework auth on."""
    fake = FakeBotFramework().start()
    try:
        async with slack_env(tmp_path, **fake.settings()) as env:
            yield env, fake
    finally:
        fake.stop()
    assert not fake.card_problems, "every Adaptive Card deskhand sent must validate"


@contextlib.asynccontextmanager
async def driver_for(platform: str, env: SlackEnv, fake: FakeBotFramework) -> AsyncIterator[Driver]:
    if platform == "console":
        async with aiohttp.ClientSession() as http:
            console = ConsoleDriver(env.server, http)
            try:
                yield console
            finally:
                await console.close()
    elif platform == "slack":
        yield SlackDriver(env)
    else:
        status, _ = await fake.send(env.server.url, fake.activity("message_personal"), token=None)
        assert status == 401, "Teams auth must be on: an activity without a token is refused"
        teams = TeamsDriver(fake, env.server.url)
        await teams.install()
        yield teams


@pytest.mark.parametrize("platform", ["console", "slack", "teams"])
async def test_help_grant_revoke_and_denial(platform: str, tmp_path: Path) -> None:
    async with deskhand(tmp_path) as (env, fake), driver_for(platform, env, fake) as bot:
        help_card = await bot.say(ADMIN, "help")
        assert help_card.title == "What you can do" and help_card.private
        assert help_card.text.startswith("What you can do\nHi Alex Admin.") and not help_card.buttons
        assert all(c in help_card.everything for c in ("role grant", "role revoke", "devices", "whoami"))

        granted = await bot.say(ADMIN, "role grant Auditor to nina.new@example.com")
        assert granted.title == "Auditor granted to nina.new@example.com" and not granted.private
        assert "Granted by: alex.admin@example.com" in granted.text
        [revoke] = granted.buttons
        assert (revoke.label, revoke.confirm) == ("Revoke", "Revoke")
        assert revoke.action_id.startswith("role.revoke:")

        revoked = await bot.click(ADMIN, granted, revoke)
        assert revoked.ref == granted.ref, "the click updates that card, not a new one"
        assert revoked.title == "Auditor revoked" and revoked.buttons == () and not revoked.private
        assert f"Assignment #{revoke.action_id.split(':')[1]} was revoked." in revoked.text

        denied = await bot.say(NEWCOMER, "devices")
        assert denied.title == "Not allowed" and denied.private and not denied.buttons
        assert "device.read" in denied.text

        rt = env.server.runtime
        async with rt.db.uow() as uow:
            nina = await uow.repo(DirectoryRepo).principal_by_email(rt.tenant_id, NEWCOMER)
            assert nina is not None
            held = [r.name for a, r in await uow.repo(RbacRepo).assignments(rt.tenant_id)
                    if a.principal_id == nina.id]
            events = list(await uow.repo(AuditRepo).query(rt.tenant_id, limit=1000))
        assert held == [], "the revoke really removed the assignment"
        denials = [e for e in events if (e.kind, e.action, e.outcome) == ("denial", "devices", "denied")]
        assert [e.actor_email for e in denials] == [NEWCOMER]
        assert (denials[0].platform_identity or "").startswith(f"{platform}:")
        clicks = [e for e in events if e.kind == "interaction" and e.action == "role.revoke"]
        assert [(e.outcome, (e.platform_identity or "").split(":")[0]) for e in clicks] == [("ok", platform)]

    transcript = [help_card, granted, revoked, denied]
    for other, seen in SEEN.items():
        assert transcript == seen, f"{platform} differs from {other}"
    SEEN[platform] = transcript


async def _bug(ctx: Context, cmd: Command) -> Reply:
    raise RuntimeError("a handler with a bug")


async def _undrawable(ctx: Context, cmd: Command) -> Reply:
    return Reply.private(Card("Half a card", [Text(None)]))  # type: ignore[arg-type]


async def _refuse_audit_rows(rt: Runtime) -> None:
    """The audit store fails (a full disk, a lost permission): every new row is refused."""
    async with rt.db.engine.begin() as conn:
        await conn.execute(text("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events "
                                "BEGIN SELECT RAISE(ABORT, 'audit store unavailable'); END"))


@pytest.mark.parametrize("platform", ["console", "slack", "teams"])
async def test_every_failure_still_answers_with_a_reference(
        platform: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A handler that raises, a card no renderer can draw and an audit writer that fails: the
    person gets "Something went wrong on our side" with a reference, and the log one ERROR line
    with the traceback and that reference. A parsed time in the arguments is no failure."""
    async with deskhand(tmp_path) as (env, fake), driver_for(platform, env, fake) as bot:
        rt = env.server.runtime
        audit = await bot.say(ADMIN, "audit since=1h")
        assert audit.title == "Audit log" and audit.private

        rt.registry.add(CommandSpec("bug", "A handler that raises.", _bug))
        rt.registry.add(CommandSpec("undrawable", "A card no renderer can draw.", _undrawable))
        caplog.clear()
        answers = [await bot.say(ADMIN, "bug"), await bot.say(ADMIN, "undrawable")]
        await _refuse_audit_rows(rt)
        answers.append(await bot.say(ADMIN, "whoami"))  # runs, then its audit row is refused
        for answer in answers:
            assert answer.title == "Something went wrong on our side" and answer.private
            found = re.search(r"ref ([0-9a-f]{16})", answer.everything)
            assert found, answer.everything
            logged = [r for r in caplog.records if r.levelno == logging.ERROR
                      and found.group(1) in r.getMessage()]
            assert len(logged) == 1 and logged[0].exc_info is not None, [r.getMessage() for r in logged]
