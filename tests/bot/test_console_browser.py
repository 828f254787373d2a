"""The web console in Debian's headless Chromium: two personas, a confirmed click, live updates.

Chromium comes from tests/bot/conftest.py (the machine's own, never downloaded).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Locator, Page, expect

from bot.context import Context, Reply
from bot.model import Interaction, ReplyTarget
from bot.platforms.console.hub import ROOM
from bot.registry import ActionSpec, an_id
from cards.model import (
    Button,
    Card,
    Choice,
    ChoiceInput,
    Divider,
    Field,
    Fields,
    Table,
    Text,
    TextInput,
)
from cards.model import Context as Small
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/console.png")
ALEX = "alex.admin@example.com"
NINA = "nina.new@example.com"


async def open_console(context: BrowserContext, server: LiveServer, errors: list[str]) -> Page:
    page = await context.new_page()
    # A CSP violation or a script error shows up here; the console must have none.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{server.url}/console")
    await expect(page.get_by_test_id("persona").first).to_be_visible()
    return page


async def act_as(page: Page, email: str) -> None:
    await page.locator(f'[data-testid="persona"][data-email="{email}"]').click()
    await expect(page.get_by_test_id("connection")).to_have_text(f"Connected as {email}")
    await expect(page.get_by_test_id("current-persona")).to_contain_text(email)


async def run(page: Page, command: str) -> None:
    box = page.get_by_test_id("command-input")
    await box.fill(command)
    await box.press("Enter")
    await expect(page.get_by_test_id("said-text").last).to_have_text(command)


def card(page: Page, title: str) -> Locator:
    """Messages whose card title is exactly `title` (the newest is `.last`)."""
    heading = page.get_by_test_id("card-title").filter(has_text=re.compile(f"^{re.escape(title)}$"))
    return page.get_by_test_id("message").filter(has=heading)


def by_id(page: Page, message_id: str) -> Locator:
    return page.locator(f'[data-testid="message"][data-message-id="{message_id}"]')


async def test_console_two_personas_confirmed_click_and_paging(
        server: LiveServer, chromium: BrowserContext) -> None:
    errors: list[str] = []
    alex = await open_console(chromium, server, errors)
    await expect(alex.locator(f'[data-testid="persona"][data-email="{NINA}"]')).to_contain_text("no roles")
    await act_as(alex, ALEX)

    await run(alex, "help")
    help_card = card(alex, "What you can do").last
    await expect(help_card).to_contain_text("Hi Alex Admin")
    await expect(help_card).to_contain_text("role grant")
    await expect(help_card.get_by_test_id("private-badge")).to_have_text("Only visible to you")

    # Nina joins in a second tab before the grant, so she watches the public card change live.
    nina = await open_console(chromium, server, errors)
    await act_as(nina, NINA)

    await run(alex, f"role grant Auditor to {NINA}")
    granted = card(alex, f"Auditor granted to {NINA}").last
    await expect(granted.get_by_role("button", name="Revoke")).to_be_visible()
    message_id = await granted.get_attribute("data-message-id")
    assert message_id
    await expect(by_id(nina, message_id)).to_contain_text(f"Auditor granted to {NINA}")
    await expect(alex.locator(f'[data-testid="persona"][data-email="{NINA}"]')).to_contain_text("Auditor")

    # Keep: the dialog closes and nothing is sent.
    dialog = alex.get_by_test_id("confirm-dialog")
    await granted.get_by_role("button", name="Revoke").click()
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Revoke this role?")
    await expect(dialog).to_contain_text(f"{NINA} loses Auditor")
    await dialog.get_by_role("button", name="Keep").click()
    await expect(dialog).to_be_hidden()
    await run(alex, "whoami")
    await expect(card(alex, "You are Alex Admin").last).to_be_visible()
    await expect(by_id(alex, message_id).get_by_test_id("card-title")).to_have_text(
        f"Auditor granted to {NINA}")

    # Revoke for real: the same card, in both tabs, turns into the revoked card.
    await granted.get_by_role("button", name="Revoke").click()
    await dialog.get_by_role("button", name="Revoke").click()
    for page in (alex, nina):
        same = by_id(page, message_id)
        await expect(same.get_by_test_id("card-title")).to_have_text("Auditor revoked")
        await expect(same).to_contain_text("was revoked")
        await expect(same.get_by_role("button", name="Revoke")).to_have_count(0)
    await expect(card(alex, f"Auditor granted to {NINA}")).to_have_count(0)
    await expect(alex.locator(f'[data-testid="persona"][data-email="{NINA}"]')).to_contain_text("no roles")

    # Nina sees the room but not Alex's private replies; her help is short and devices is refused.
    await expect(card(nina, "What you can do")).to_have_count(0)
    await run(nina, "help")
    nina_help = card(nina, "What you can do").last
    await expect(nina_help).to_contain_text("Hi Nina New")
    await expect(nina_help).to_contain_text("whoami")
    await expect(nina_help).not_to_contain_text("role grant")
    await expect(nina_help).not_to_contain_text("devices")
    assert await nina_help.locator("tbody tr").count() <= 4
    await run(nina, "devices")
    denied = card(nina, "Not allowed").last
    await expect(denied).to_contain_text("You may not run devices")
    await expect(denied).to_contain_text("device.read")

    # Alex pages the device table in place with its More button.
    await run(alex, "devices")
    devices = card(alex, "Devices").last
    rows = devices.locator("tbody tr")
    await expect(rows).to_have_count(10)
    devices_id = await devices.get_attribute("data-message-id")
    last_on_first_page = await rows.last.locator("td").first.inner_text()
    await devices.get_by_test_id("table-more").click()
    paged = by_id(alex, devices_id or "")
    await expect(paged).to_contain_text(f"after {last_on_first_page}")
    first_on_second_page = await paged.locator("tbody tr").first.locator("td").first.inner_text()
    assert first_on_second_page > last_on_first_page
    await expect(card(alex, "Devices")).to_have_count(1)

    # Switching persona in the same tab swaps the private view.
    await act_as(alex, NINA)
    await expect(card(alex, "Not allowed").last).to_be_visible()
    await expect(card(alex, "Devices")).to_have_count(0)
    await act_as(alex, ALEX)
    await expect(card(alex, "Devices")).to_have_count(1)
    await alex.get_by_test_id("command-input").press("ArrowUp")
    await expect(alex.get_by_test_id("command-input")).to_have_value("devices")

    await alex.screenshot(path=str(SCREENSHOT))
    assert errors == []


async def echo_inputs(ctx: Context, interaction: Interaction) -> Reply:
    """A real action handler for the test: says back what the browser sent."""
    sent = " ".join(f"{k}={v}" for k, v in sorted(interaction.inputs.items()))
    return Reply.update(Card(title="Got it", tone="good",
                             sections=[Text(f"{sent} value={interaction.value}")]))


async def test_console_renders_every_section_safely_and_sends_inputs(
        server: LiveServer, chromium: BrowserContext) -> None:
    server.runtime.registry.add_action(ActionSpec("test.echo", echo_inputs, params=(an_id,)))
    errors: list[str] = []
    page = await open_console(chromium, server, errors)
    await act_as(page, ALEX)
    hostile = "<img src=x onerror=alert(1)> & <b>not bold</b>"
    await server.runtime.platforms["console"].hub.post(ReplyTarget("console", ROOM), Card(
        title="Every section <i>", tone="warning",
        sections=[
            Text(f"*bold* and _italic_ and `code` and device_read_only\n{hostile}"),
            Small("small print"),
            Fields((Field("Ticket", "INC-42"), Field("Owner", "<script>x</script>"))),
            Divider(),
            Table(columns=("name", "note"), rows=(("PC-1", "<em>raw</em>"),), caption="One row"),
            TextInput("reason", "Reason", placeholder="why?", required=True, max_length=50),
            ChoiceInput("when", "When", (Choice("now", "Right now"), Choice("later", "Later today"))),
        ],
        buttons=[Button("Submit", "test.echo:1", "v1", style="primary"),
                 Button("Bad link", "x", url="javascript:alert(1)"),
                 Button("Runbook", "y", url="https://example.com/runbook")]))

    posted = card(page, "Every section <i>").last
    await expect(posted.locator(".card")).to_have_class(re.compile("tone-warning"))
    body = posted.locator(".card-text")
    await expect(body.locator("strong")).to_have_text("bold")
    await expect(body.locator("em")).to_have_text("italic")
    await expect(body.locator("code")).to_have_text("code")
    await expect(body.locator("br")).to_have_count(1)
    await expect(body).to_contain_text("device_read_only")
    await expect(body).to_contain_text(hostile)
    await expect(posted.locator("img, script, b, i, table em")).to_have_count(0)
    await expect(posted.get_by_test_id("private-badge")).to_have_count(0)
    await expect(posted.locator(".card-context")).to_have_text("small print")
    await expect(posted.locator("dd")).to_have_text(["INC-42", "<script>x</script>"])
    await expect(posted.locator("hr")).to_have_count(1)
    await expect(posted.locator("caption")).to_have_text("One row")
    await expect(posted.locator("td").nth(1)).to_have_text("<em>raw</em>")
    link = posted.get_by_role("link", name=re.compile("^Runbook"))
    await expect(link).to_have_attribute("href", "https://example.com/runbook")
    await expect(link).to_have_attribute("target", "_blank")
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    await expect(posted.get_by_text("Bad link")).to_have_count(0)

    # A required input stops the click with a message; filled in, the inputs reach the handler.
    reason = posted.get_by_label("Reason")
    await expect(reason).to_have_attribute("maxlength", "50")
    await posted.get_by_role("button", name="Submit").click()
    await expect(posted).to_contain_text("Please fill this in first.")
    await expect(reason).to_be_focused()
    message_id = await posted.get_attribute("data-message-id")
    await reason.fill("printer on fire")
    await posted.get_by_label("When").select_option("later")
    await posted.get_by_role("button", name="Submit").click()
    same = by_id(page, message_id or "")
    await expect(same.get_by_test_id("card-title")).to_have_text("Got it")
    await expect(same).to_contain_text("reason=printer on fire when=later value=v1")
    await expect(same.locator(".card")).to_be_focused()

    # The server drops every socket: the page reconnects by itself and still works.
    await server.runtime.platforms["console"].hub.close()
    await run(page, "whoami")
    await expect(card(page, "You are Alex Admin").last).to_be_visible()
    await expect(page.get_by_test_id("connection")).to_have_text(f"Connected as {ALEX}")
    await expect(by_id(page, message_id or "")).to_contain_text("Got it")
    assert errors == []


async def test_console_shows_code_in_help_as_code_and_keeps_data_cells_as_typed(
        server: LiveServer, chromium: BrowserContext) -> None:
    errors: list[str] = []
    page = await open_console(chromium, server, errors)
    await act_as(page, ALEX)
    await run(page, "help")
    row = card(page, "What you can do").last.locator("tr").filter(has_text="Change settings")
    await expect(row.locator("td code")).to_have_text("settings set key=value ...")
    await expect(row.locator("td").nth(1)).to_have_text("Change settings: settings set key=value ....")

    hostile = "`<img src=x onerror=alert(1)>` and *<b>x</b>*"
    room = ReplyTarget("console", ROOM)
    await server.runtime.platforms["console"].hub.post(room, Card(title="Two tables", sections=[
        Table(("what",), ((hostile,),), markdown=True), Table(("data",), ((hostile,),))]))
    posted = card(page, "Two tables").last
    own, data = posted.locator("td").nth(0), posted.locator("td").nth(1)
    await expect(own.locator("code")).to_have_text("<img src=x onerror=alert(1)>")
    await expect(own.locator("strong")).to_have_text("<b>x</b>")
    await expect(data).to_have_text(hostile)
    await expect(posted.locator("img, b, td em")).to_have_count(0)
    assert errors == []
