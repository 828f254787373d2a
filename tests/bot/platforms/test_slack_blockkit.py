"""The Block Kit renderer: every message re-parses through slack_sdk.models within Slack's limits,
and oversized cards truncate or page instead of failing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from cards.blockkit import (
    LINK_PREFIX,
    MODAL,
    decode_form,
    encode_form,
    render,
    render_modal,
)
from cards.model import (
    Button,
    Card,
    Choice,
    ChoiceInput,
    Confirm,
    Context,
    Divider,
    Field,
    Fields,
    Table,
    Text,
    TextInput,
)


def check(blocks: list[dict[str, Any]], limit: int = 50) -> None:
    """What Slack would check: block count, and every block rebuilt and validated by the SDK."""
    assert 1 <= len(blocks) <= limit
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        assert parsed.to_dict() == block
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000


def everything() -> Card:
    return Card("Assignment #7", tone="good", sections=[
        Text("*Alex* granted `Actioner` to _sam_"), Fields((Field("Scope", "London"), Field("By", "alex"))),
        Divider(), Table(("name", "os"), (("PC-0001", "Windows 11"),), caption="Devices",
                         more=Button("More", "devices.more:PC-0001", "PC-0001")),
        Context("ref abc123"),
    ], buttons=[Button("Revoke", "role.revoke:7", "7", style="danger",
                       confirm=Confirm("Revoke this role?", "sam loses Actioner.", "Revoke", "Keep")),
                Button("Download CSV", "audit.csv", url="https://deskhand.example/downloads/t")])


def test_every_card_shape_builds_through_the_sdk_models() -> None:
    message = render(everything())
    check(message.blocks)
    kinds = [b["type"] for b in message.blocks]
    assert kinds == ["header", "section", "section", "divider", "section", "actions", "context", "actions"]
    assert message.blocks[0]["text"]["text"].startswith(":white_check_mark: Assignment #7")
    revoke, link = message.blocks[-1]["elements"]
    assert revoke["style"] == "danger" and revoke["confirm"]["style"] == "danger"
    assert revoke["confirm"]["deny"]["text"] == "Keep" and revoke["value"] == "7"
    assert link["url"].endswith("/downloads/t") and link["action_id"] == LINK_PREFIX + "audit.csv"
    assert "value" not in link
    assert message.text.startswith("Assignment #7") and "PC-0001" in message.text


def test_user_text_is_escaped_so_it_cannot_ping_or_link() -> None:
    message = render(Card("<!channel>", [Text("device <!everyone> & <https://evil|click>")]))
    body = json.dumps(message.blocks)
    assert "<!everyone>" not in body and "&lt;!everyone&gt; &amp; &lt;https://evil|click&gt;" in body
    assert "&lt;!channel&gt;" in message.text


def test_a_huge_card_truncates_and_pages_instead_of_failing() -> None:
    rows = tuple((f"PC-{i:05d}", "x" * 80, "Windows 11 23H2") for i in range(5000))
    huge = Card("T" * 400, sections=[
        Text("word " * 4000),  # 20,000 characters: split over several sections
        Fields(tuple(Field(f"f{i}", "v" * 3000) for i in range(25))),
        Table(("name", "notes", "os"), rows, caption="All devices",
              more=Button("More", "devices.more:x", "x")),
        *[Text(f"paragraph {i}") for i in range(80)],
    ], buttons=[Button(f"B{i}", f"b.{i}:1", str(i)) for i in range(30)])
    message = render(huge)
    check(message.blocks)
    assert len(message.blocks) == 50
    assert len(message.blocks[0]["text"]["text"]) == 150
    assert len(message.text) <= 3000
    body = json.dumps(message.blocks)
    assert "did not fit in one Slack message" in body  # the paragraphs past the budget
    assert "Showing " in body and " of 5000 rows." in body  # the table was cut, its More kept
    assert any(e.get("action_id") == "devices.more:x" for b in message.blocks for e in b.get("elements", []))
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert len([e for e in buttons if e["action_id"].startswith("b.")]) == 30  # two rows of actions


def test_buttons_that_slack_cannot_carry_are_dropped_not_corrupted() -> None:
    message = render(Card("x", buttons=[Button("Big", "big:1", "v" * 2001), Button("Ok", "ok:1", "1"),
                                        Button("Long id", "i" * 300, "1")]))
    check(message.blocks)
    ids = [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert ids == ["ok:1"]


def test_form_buttons_carry_their_modal_and_the_modal_validates() -> None:
    choices = (Choice("a", "Policy"), Choice("b", "Other"))
    card = Card("Deny request 12", [Text("Why?"), TextInput("reason", "Reason", "be kind", True, True, 300),
                                    ChoiceInput("code", "Code", choices)],
                buttons=[Button("Deny", "approval.deny:12", "12", style="danger")])
    message = render(card)
    check(message.blocks)
    actions = message.blocks[-1]
    assert actions["block_id"].startswith(MODAL)
    assert "Deny asks for: Reason, Code" in json.dumps(message.blocks)
    assert not any(b["type"] == "input" for b in message.blocks)
    form = decode_form(actions["elements"][0]["value"])
    assert form is not None and form.value == "12" and form.submit == "Deny"
    assert [f.id for f in form.inputs] == ["reason", "code"]
    view = render_modal(form, json.dumps({"a": "approval.deny:12"}))
    assert View(**view).to_dict() == view
    reason, code = view["blocks"]
    assert reason["element"]["multiline"] is True and reason["element"]["max_length"] == 300
    assert reason["optional"] is False and code["optional"] is True
    assert [o["value"] for o in code["element"]["options"]] == ["a", "b"]


def test_a_button_that_ignores_the_inputs_stays_a_plain_button() -> None:
    card = Card("Run 7", [TextInput("code", "One-time code")],
                buttons=[Button("Send code", "run.code:7", "7"),
                         Button("Cancel", "run.cancel:7", "7", form=False)])
    message = render(card)
    check(message.blocks)
    form_row, plain_row = [b for b in message.blocks if b["type"] == "actions"]
    assert form_row["block_id"].startswith(MODAL) and not plain_row.get("block_id", "").startswith(MODAL)
    assert [e["action_id"] for e in plain_row["elements"]] == ["run.cancel:7"]
    assert plain_row["elements"][0]["value"] == "7"
    assert "Send code asks for: One-time code" in json.dumps(message.blocks)


def test_a_form_too_big_for_a_button_asks_inline_instead() -> None:
    choices = tuple(Choice(f"value-{i:03d}-" + "v" * 100, f"label {i}") for i in range(40))
    card = Card("Pick", [ChoiceInput("pick", "Pick one", choices, True)],
                buttons=[Button("Go", "go:1", "1")])
    assert encode_form(card, card.buttons[0]) is None
    message = render(card)
    check(message.blocks)
    assert [b["type"] for b in message.blocks] == ["header", "input", "actions"]
    assert message.blocks[-1]["elements"][0]["value"] == "1"


@pytest.mark.parametrize("title", ["", "x" * 200])
def test_titles_of_any_length_render(title: str) -> None:
    check(render(Card(title)).blocks)


def test_code_in_deskhands_own_table_cells_loses_its_backticks_in_the_monospace_table() -> None:
    blocks = render(Card("What you can do", [
        Table(("command", "what it does"), (("settings set", "Use `settings set`"),), markdown=True),
        Table(("name", "note"), (("PC-1", "`raw` data"),))])).blocks
    check(blocks)
    help_table, data_table = (b["text"]["text"] for b in blocks if b["type"] == "section")
    # A code block shows backticks as typed; its cells are monospace already.
    assert "settings set  Use settings set" in help_table and "`" not in help_table.strip("`")
    assert "PC-1  `raw` data" in data_table
