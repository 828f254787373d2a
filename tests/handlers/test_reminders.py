"""Expiry reminders on a controllable clock: each mark once, only the latest mark when late,
once across a restart, on SQLite and PostgreSQL; delivered as console private messages."""

from __future__ import annotations

from datetime import timedelta

from bot.reminders import latest_mark, sweep
from storage.tenants import SettingsRepo
from tests.conftest import LiveServer
from tests.handlers.reminders_kit import (
    ALEX,
    SAM,
    T0,
    add_certificate,
    add_token,
    claims,
    console_inbox,
    started,
)
from tests.handlers.test_remote import console

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def titles(cards: list[dict[str, object]]) -> list[object]:
    return [c["title"] for c in cards]


def test_latest_mark_is_the_smallest_mark_passed() -> None:
    marks = [14, 7, 3, 1]
    assert latest_mark(T0 + 15 * DAY, T0, marks) is None
    assert latest_mark(T0 + 14 * DAY, T0, marks) == 14
    assert latest_mark(T0 + 2.5 * DAY, T0, marks) == 3
    assert latest_mark(T0 + HOUR, T0, marks) == 1
    assert latest_mark(T0 - HOUR, T0, marks) is None  # expired: nothing to remind


async def test_a_token_is_reminded_at_14_7_3_and_1_days_once_each_across_a_restart(
        db_url: str) -> None:
    async with started(db_url) as rt:
        token = await add_token(rt, "finance-export", T0 + 30 * DAY)
        sources = rt.registry.reminders
        assert await sweep(rt, sources, now=T0) == 0
        assert await sweep(rt, sources, now=T0 + 16 * DAY + HOUR) == 1  # 13.96 days left
        assert await sweep(rt, sources, now=T0 + 16 * DAY + 2 * HOUR) == 0
        [card] = await console_inbox(rt, ALEX)
        assert card["title"] == "Your data-access token finance-export expires in 14 days"
        assert card["buttons"][0]["action_id"] == f"token.renew:{token}"  # type: ignore[index]
        assert card["buttons"][0]["label"] == "Create a replacement"  # type: ignore[index]
        assert await sweep(rt, sources, now=T0 + 23 * DAY + HOUR) == 1
    async with started(db_url, upgrade=False) as rt:  # a restart: the claims are in the database
        sources = rt.registry.reminders
        assert await sweep(rt, sources, now=T0 + 23 * DAY + 3 * HOUR) == 0
        assert await sweep(rt, sources, now=T0 + 27 * DAY + HOUR) == 1
        assert await sweep(rt, sources, now=T0 + 29 * DAY + HOUR) == 1
        assert await sweep(rt, sources, now=T0 + 29 * DAY + 5 * HOUR) == 0
        assert titles(await console_inbox(rt, ALEX)) == [
            "Your data-access token finance-export expires in 3 days",
            "Your data-access token finance-export expires in 1 day"]
        assert await claims(rt) == [("token", token, d) for d in (1, 3, 7, 14)]


async def test_a_late_sweep_posts_only_the_latest_mark_passed(db_url: str) -> None:
    async with started(db_url) as rt:
        token = await add_token(rt, "late", T0 + 30 * DAY)
        sources = rt.registry.reminders
        assert await sweep(rt, sources, now=T0) == 0
        # deskhand was down from day 0 to day 28: the 14-, 7- and 3-day marks all passed
        assert await sweep(rt, sources, now=T0 + 28 * DAY) == 1
        assert titles(await console_inbox(rt, ALEX)) == [
            "Your data-access token late expires in 3 days"]
        assert await sweep(rt, sources, now=T0 + 29 * DAY + HOUR) == 1
        assert await claims(rt) == [("token", token, 1), ("token", token, 3)]


async def test_the_first_sweep_catches_up_with_the_latest_mark_only(db_url: str) -> None:
    async with started(db_url) as rt:
        soon = await add_token(rt, "soon", T0 + 5 * DAY)
        await add_token(rt, "later", T0 + 20 * DAY)
        await add_token(rt, "revoked", T0 + 2 * DAY, state="revoked")
        await add_token(rt, "expired", T0 - DAY, state="expired")
        assert await sweep(rt, rt.registry.reminders, now=T0) == 1
        assert await claims(rt) == [("token", soon, 7)]


async def test_the_thresholds_are_the_tenants_setting(db_url: str) -> None:
    async with started(db_url) as rt:
        token = await add_token(rt, "custom", T0 + 30 * DAY)
        async with rt.db.uow() as uow:
            await uow.repo(SettingsRepo).put(rt.tenant_id, {"reminder_days": [21, 2]}, by="test")
            await uow.commit()
        sources = rt.registry.reminders
        assert await sweep(rt, sources, now=T0) == 0
        assert await sweep(rt, sources, now=T0 + 8 * DAY) == 0  # 22 days left
        assert await sweep(rt, sources, now=T0 + 16 * DAY) == 1  # 14 left: the 21-day mark only
        assert await sweep(rt, sources, now=T0 + 9 * DAY) == 0  # a slower clock changes nothing
        assert await sweep(rt, sources, now=T0 + 28 * DAY + HOUR) == 1
        assert await claims(rt) == [("token", token, 2), ("token", token, 21)]
        cards = await console_inbox(rt, ALEX)
        assert titles(cards) == ["Your data-access token custom expires in 21 days",
                                 "Your data-access token custom expires in 2 days"]
        assert "21, 2 days before expiry" in str(cards[0]["fallback"])


async def test_the_active_certificate_goes_to_each_certificate_admin_privately_without_a_channel(
        db_url: str) -> None:
    async with started(db_url) as rt:
        cert = await add_certificate(rt, "AB" * 20, T0 + 10 * DAY)
        await add_certificate(rt, "CD" * 20, T0 + 365 * DAY, state="available")
        await add_certificate(rt, "EF" * 20, T0 + 2 * DAY, state="retired")
        assert await sweep(rt, rt.registry.reminders, now=T0) == 1
        [card] = await console_inbox(rt, ALEX)  # Alex is a Full Administrator
        assert card["title"] == "deskhand's identity-provider certificate expires in 14 days"
        assert f"`cert activate {'CD' * 20}`" in card["fallback"]  # type: ignore[operator]
        assert await console_inbox(rt, SAM) == []  # no certificate.write
        assert await claims(rt) == [("certificate", cert, 14)]


async def test_the_console_has_no_admin_channel_and_shows_a_reminder_live(server: LiveServer) -> None:
    rt = server.runtime
    async with console(server, ALEX) as alex:
        refused = await alex.say("channel set admin here")
        assert refused["card"]["title"] == "No channels here"
        assert "privately" in refused["card"]["fallback"]
        await add_token(rt, "live", T0 + 3 * DAY)
        assert await sweep(rt, rt.registry.reminders, now=T0) == 1
        pushed = await alex.next()
    assert pushed["private"] is True
    assert pushed["card"]["title"] == "Your data-access token live expires in 3 days"
