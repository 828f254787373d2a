"""Data-access tokens through chat on the console, Slack and Teams: create (pending), the private
one-time profile download that turns the token active, list, revoke with confirmation, and
`data-access disable` deleting every token. The profile's secret is nowhere but in the file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from handlers.tokens import lifecycle
from storage.audit import AuditEvent
from storage.tokens import DataAccessToken
from tests.bot.platforms._drivers import Outcome, Shown
from tests.bot.platforms.test_same_on_every_platform import ADMIN, NEWCOMER, deskhand, driver_for


def link_of(card: Outcome) -> str:
    [button] = card.buttons
    url = button.raw.get("url")
    assert isinstance(url, str) and "/sharing/profile/" in url, button.raw
    return url


async def fetch_profile(url: str) -> tuple[int, bytes]:
    """Open the link as a browser does: the page first, then its one button (a POST)."""
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as page:
            assert page.status == 200 and "<form method=post" in await page.text()
            assert page.headers["Cache-Control"] == "no-store"
        async with http.post(url, headers={"Origin": url.split("/sharing/")[0]}) as r:
            return r.status, await r.read()


@pytest.mark.parametrize("platform", ["console", "slack", "teams"])
async def test_token_lifecycle_through_chat(platform: str, tmp_path: Path) -> None:
    async with deskhand(tmp_path) as (env, fake), driver_for(platform, env, fake) as bot:
        rt = env.server.runtime
        off = await bot.say(ADMIN, "token create name=bi@example.com expires=3m")
        assert off.title == "Data access is off" and off.private
        assert (await bot.say(ADMIN, "data-access enable")).title == "Data access is on"

        wrong = await bot.say(ADMIN, "token create name=bi@example.com expires=2m")
        assert wrong.private and "1m, 3m, 6m or 1y" in wrong.text and "`expires=2m`" in wrong.text
        denied = await bot.say(NEWCOMER, "token list")
        assert denied.title == "Not allowed" and "token.read" in denied.text

        created = await bot.say(ADMIN, 'token create name=bi@example.com description="Power BI '
                                       'dashboards" expires=3m')
        token_id = int(created.title.split()[2])
        assert created.title == f"Data-access token {token_id} created" and not created.private
        assert "State: pending" in created.text and "Lifetime: 3m" in created.text
        assert [b.label for b in created.buttons] == ["Revoke"]

        download = await bot.say(ADMIN, f"token download {token_id}")
        assert download.private and download.title == f"Download token {token_id}'s profile"
        url = link_of(download)
        status, body = await fetch_profile(url)
        assert status == 200, body
        profile = json.loads(body)
        assert set(profile) == {"shareCredentialsVersion", "endpoint", "bearerToken", "expirationTime"}
        assert profile["shareCredentialsVersion"] == 1
        assert profile["endpoint"] == f"{env.server.url}/sharing/"
        secret = profile["bearerToken"]
        again, _ = await fetch_profile(url)
        assert again == 410, "the link gives the file out once"
        twice = await bot.say(ADMIN, f"token download {token_id}")
        assert twice.title == "Already downloaded"

        listed = await bot.say(ADMIN, "token list power status=active")
        assert listed.private and "bi@example.com" in listed.everything
        assert "bi@example.com" not in (await bot.say(ADMIN, "token list status=revoked")).everything

        ask = await bot.say(ADMIN, f"token revoke {token_id}")
        [revoke] = ask.buttons
        assert ask.title == f"Revoke token {token_id}?" and revoke.confirm == "Revoke"
        revoked = await bot.click(ADMIN, ask, revoke)
        assert revoked.title == f"Token {token_id} revoked"
        assert [b.label for b in revoked.buttons] == ["Create a replacement"]

        async with rt.db.uow() as uow:
            [row] = (await uow.session.execute(select(DataAccessToken))).scalars().all()
            events = (await uow.session.execute(select(AuditEvent))).scalars().all()
        assert row.state == "revoked" and row.activated_at is not None
        assert row.revoked_by == ADMIN and secret not in row.secret_hash
        trail = json.dumps([[e.action, e.outcome, e.target, e.params, e.detail] for e in events])
        assert secret not in trail and url.rsplit("/", 1)[1] not in trail
        assert "token.download" in trail

        ask = await bot.say(ADMIN, "data-access disable")
        [off_button] = ask.buttons
        assert off_button.confirm == "Turn off"
        done = await bot.click(ADMIN, ask, off_button)
        assert done.title == "Data access is off" and "1 token(s) were deleted" in done.text
        async with rt.db.uow() as uow:
            assert (await uow.session.execute(select(DataAccessToken))).scalars().all() == []


async def test_replacement_button_and_paging_on_the_console(tmp_path: Path) -> None:
    """`token.renew:<id>` (the reminder's "Create a replacement") makes a new pending token like
    the old one for the clicker, told privately; `token list` pages with "Older"."""
    async with deskhand(tmp_path) as (env, fake), driver_for("console", env, fake) as bot:
        await bot.say(ADMIN, "data-access enable")
        for n in range(11):
            await bot.say(ADMIN, f'token create name=feed{n}@example.com description="feed {n}" expires=1y')
        first = await bot.say(ADMIN, "token list feed")
        assert "feed10@example.com" in first.everything and "feed0@" not in first.everything
        [table] = [s for s in first.raw["card"]["sections"] if s.get("more")]
        more = table["more"]
        page2 = await bot.click(ADMIN, first, Shown(more["label"], more["action_id"], None, more))
        assert "feed0@example.com" in page2.everything and "feed10@" not in page2.everything

        ask = await bot.say(ADMIN, "token revoke 1")
        revoked = await bot.click(ADMIN, ask, ask.buttons[0])
        [renew] = revoked.buttons
        assert renew.action_id == "token.renew:1"
        client = bot.clients[ADMIN]  # type: ignore[attr-defined]
        await client.click(revoked.raw, renew.raw)
        told = await client.next()
        assert told["private"] and told["card"]["title"] == "Data-access token 12 replaces 1"
        assert "token download 12" in told["card"]["fallback"]
        async with env.server.runtime.db.uow() as uow:
            row = await uow.session.get(DataAccessToken, 12)
        assert row is not None and (row.name, row.description, row.lifetime, row.state) == (
            "feed0@example.com", "feed 0", "1y", "pending")


async def test_expiry_job_moves_tokens_whose_time_is_up(tmp_path: Path) -> None:
    async with deskhand(tmp_path) as (env, fake), driver_for("console", env, fake) as bot:
        rt = env.server.runtime
        await bot.say(ADMIN, "data-access enable")
        refreshed = await bot.say(ADMIN, "data-access refresh")
        assert refreshed.title == "Shared data refreshed" and refreshed.private
        assert all(t in refreshed.everything for t in ("audit_events", "remote_sessions",
                                                       "instruction_runs"))
        await bot.say(ADMIN, "token create name=a@example.com expires=1m")
        await bot.say(ADMIN, "token create name=b@example.com expires=1m")
        async with rt.db.uow() as uow:
            row = await uow.session.get(DataAccessToken, 1)
            assert row is not None
            row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
            await uow.commit()
        assert await lifecycle.expire(rt.db) == 1
        async with rt.db.uow() as uow:
            states = [(r.id, r.state) for r in (await uow.session.execute(
                select(DataAccessToken).order_by(DataAccessToken.id))).scalars()]
        assert states == [(1, "expired"), (2, "pending")]
