"""Chromium for the console's browser tests, and deskhand with the production console.

Never downloads a browser: it drives /usr/bin/chromium (or DESKHAND_CHROMIUM) through
Playwright's `executable_path`. Without Chromium a browser test skips locally and fails in CI.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, async_playwright, expect

from tests.conftest import LiveServer, free_port, make_settings, sqlite_url, start_server

CONSOLE = {"mode": "production", "console_enabled": True}  # the console signs people in
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    path = os.environ.get("DESKHAND_CHROMIUM", "/usr/bin/chromium")
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return path
    reason = (f"no Chromium at {path}: install Debian's `chromium` package "
              "or point DESKHAND_CHROMIUM at a Chromium binary")
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
async def chromium(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    executable = chromium_path()
    expect.set_options(timeout=10_000)
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=executable, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900}, color_scheme="light")
        try:
            yield context
        finally:
            await context.close()


@pytest.fixture
async def console_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """deskhand in production mode with the console on, demo-seeded, on a loopback port."""
    port = free_port()
    runner, server = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}", **CONSOLE))
    yield server
    await runner.cleanup()
