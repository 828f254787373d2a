"""Signing in to the production console in headless Chromium: a link, the console, the refusals.

A link opens the console for its one person; the same link again, an expired link and a forged
cookie all land on a refusal; signing out, and a sign-out from the command line while the page
is open, end the session.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import BrowserContext, Page, expect
from sqlalchemy import update

from bot import console_signin
from storage.console import ConsoleToken
from storage.directory import DirectoryRepo
from tests.bot.platforms.test_console_signin import EMAIL, new_link
from tests.bot.test_console_browser import card, run
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


async def new_page(context: BrowserContext, errors: list[str]) -> Page:
    page = await context.new_page()
    # Refusals answer 401/403 on purpose; anything else logged as an error is a fault.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "status of 40" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


async def open_link(page: Page, url: str) -> None:
    await page.goto(url)
    await expect(page.get_by_test_id("signin")).to_contain_text("The link works once")
    await page.get_by_test_id("signin-button").click()


async def test_sign_in_with_a_link_and_every_refusal(console_server: LiveServer,
                                                     chromium: BrowserContext) -> None:
    errors: list[str] = []
    page = await new_page(chromium, errors)
    await page.goto(f"{console_server.url}/console")
    await expect(page.get_by_test_id("signin")).to_contain_text("single-use link")
    await expect(page.get_by_test_id("persona")).to_have_count(0)

    link = await new_link(console_server)
    await open_link(page, link)
    await expect(page).to_have_url(f"{console_server.url}/console")
    await expect(page.get_by_test_id("connection")).to_have_text(f"Connected as {EMAIL}")
    await expect(page.get_by_test_id("account-text")).to_contain_text("Alex Admin")
    await expect(page.get_by_test_id("persona-list")).to_be_hidden()
    await run(page, "whoami")
    await expect(card(page, "You are Alex Admin").last).to_be_visible()

    # The same link again, in another tab: used.
    again = await new_page(chromium, errors)
    await open_link(again, link)
    await expect(again.get_by_test_id("signin")).to_contain_text("already used")
    await again.close()

    # deskhand console-logout (here: its function) while the page is open ends the session.
    async with console_server.runtime.db.uow() as uow:
        person = await uow.repo(DirectoryRepo).principal_by_email(console_server.runtime.tenant_id, EMAIL)
        assert person is not None
        await console_signin.sign_out_everywhere(uow, person, by="cli")
        await uow.commit()
    await page.get_by_test_id("command-input").fill("help")
    await page.get_by_test_id("command-input").press("Enter")
    await expect(page.get_by_test_id("notice").last).to_contain_text("session has ended")
    await expect(page.get_by_test_id("command-input")).to_be_disabled()

    # A fresh link signs in again; the Sign out button ends it.
    await open_link(page, await new_link(console_server))
    await expect(page.get_by_test_id("connection")).to_have_text(f"Connected as {EMAIL}")
    await page.get_by_test_id("sign-out").click()
    await expect(page.get_by_test_id("signin")).to_contain_text("single-use link")

    # An expired link.
    expired = await new_link(console_server)
    async with console_server.runtime.db.uow() as uow:
        await uow.session.execute(update(ConsoleToken).where(ConsoleToken.used_at.is_(None))
                                  .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        await uow.commit()
    await open_link(page, expired)
    await expect(page.get_by_test_id("signin")).to_contain_text("has expired")

    # A forged cookie.
    await chromium.clear_cookies()
    await chromium.add_cookies([{"name": "deskhand-console", "value": secrets.token_urlsafe(32),
                                 "url": console_server.url}])
    await page.goto(f"{console_server.url}/console")
    await expect(page.get_by_test_id("signin")).to_contain_text("single-use link")
    assert errors == []
