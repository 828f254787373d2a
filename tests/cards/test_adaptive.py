"""Adaptive Card 1.5 renderer: every card validates against the official schema and fits Teams.

The schema is read in place (tests/fakes/schemas.py: DESKHAND_SHARED_SCHEMAS, default
../shared/schemas); a missing schema skips these tests with the reason, or fails them when CI=true.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cards.adaptive import (
    ACTION_KEY,
    MAX_CARD_BYTES,
    VALUE_KEY,
    attachment,
    card_size,
    markdown,
    parse_action,
    render,
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
    Section,
    Table,
    Text,
    TextInput,
)
from tests.fakes.bot_connector import card_errors, validator_or_skip


@pytest.fixture(scope="module")
def validator() -> Any:
    return validator_or_skip()


def keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in keys(v)}
    return set()


def actions(content: dict[str, Any]) -> list[dict[str, Any]]:
    return [a for el in content["body"] if el["type"] == "ActionSet" for a in el["actions"]]


REVOKE = Button("Revoke", "role.revoke:7", "7", style="danger",
                confirm=Confirm("Revoke this role?", "Sam loses *Auditor*.", "Revoke", "Keep"))
EXAMPLES = {
    "message": Card("Done", [Text("The *role* is `granted`.\nSecond line")], tone="good"),
    "fields and context": Card("Device PC-0042", [
        Fields((Field("OS", "Windows 11"), Field("Owner", "sam@example.com"))), Divider(),
        Context("ref 0123abcd")], tone="warning"),
    "table with more": Card("Devices", [Table(
        ("name", "group", "os"), tuple((f"PC-{i:04d}", "London", "Windows") for i in range(10)),
        caption="Devices in London", more=Button("More", "devices.more:PC-0010", "PC-0010\x1f\x1f"))]),
    "help table": Card("What you can do", [Table(
        ("command", "what it does"), (("settings set", "Change settings: `settings set k=v`."),),
        markdown=True)]),
    "empty table": Card("Devices", [Table(("name",), (), caption="No devices match.")]),
    "ragged rows": Card("Odd", [Table(("a", "b", "c"), (("1",), ("1", "2", "3", "4")))]),
    "inputs": Card("Deny request", [
        TextInput("reason", "Reason", placeholder="Why?", multiline=True, required=True),
        ChoiceInput("scope", "Scope", (Choice("london", "London"), Choice("ny", "New York")),
                    required=True)], buttons=[Button("Deny", "approval.deny:3", "3", style="danger")]),
    "buttons": Card("Granted", [Text("ok")], buttons=[
        REVOKE, Button("Approve", "approval.approve:1", "1", style="primary"),
        Button("Download CSV", "audit.csv", url="https://deskhand.example/downloads/abc.def")]),
    "overflow": Card("Many", buttons=[Button(f"B{i}", f"x:{i}") for i in range(25)]),
    "attention": Card("Not allowed", [Text("You may not run `devices`.")], tone="attention"),
}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_examples_validate(name: str, validator: Any) -> None:
    content = render(EXAMPLES[name])
    assert card_errors(content, validator) == []
    assert content["version"] == "1.5" and content["type"] == "AdaptiveCard"
    assert "msteams" not in keys(content), "the core card stays free of Teams-only keys"
    json.dumps(content)


def test_buttons_are_execute_with_submit_fallback() -> None:
    content = render(EXAMPLES["buttons"])
    revoke, approve, csv = actions(content)
    assert approve["type"] == "Action.Execute" and approve["verb"] == "approval.approve:1"
    assert approve["data"] == {ACTION_KEY: "approval.approve:1", VALUE_KEY: "1"}
    assert approve["style"] == "positive"
    assert approve["fallback"] == {"type": "Action.Submit", "title": "Approve",
                                   "data": approve["data"], "style": "positive"}
    # Teams has no confirm dialog: the question opens first, the real button is inside it
    assert revoke["type"] == "Action.ShowCard" and revoke["style"] == "destructive"
    inner = revoke["card"]
    assert "Revoke this role?" in inner["body"][0]["text"]
    assert "**Auditor**" in inner["body"][1]["text"]
    (go,) = inner["actions"]
    assert go["type"] == "Action.Execute" and go["verb"] == "role.revoke:7" and go["title"] == "Revoke"
    assert csv == {"type": "Action.OpenUrl", "title": "Download CSV",
                   "url": "https://deskhand.example/downloads/abc.def"}


def test_many_buttons_overflow_and_are_capped() -> None:
    acts = actions(render(EXAMPLES["overflow"]))
    assert len(acts) == 20
    assert [a.get("mode") for a in acts[:5]] == [None] * 5
    assert {a.get("mode") for a in acts[5:]} == {"secondary"}


def test_table_paging_and_header() -> None:
    content = render(EXAMPLES["table with more"])
    table = next(el for el in content["body"] if el["type"] == "Table")
    assert table["firstRowAsHeader"] and len(table["columns"]) == 3 and len(table["rows"]) == 11
    assert table["rows"][0]["cells"][0]["items"][0]["text"] == "name"
    (more,) = actions(content)
    assert more["verb"] == "devices.more:PC-0010" and more["data"][VALUE_KEY] == "PC-0010\x1f\x1f"


def test_a_huge_table_is_cut_with_a_note_and_fits(validator: Any) -> None:
    rows = tuple((f"PC-{i:04d}", "x" * 300, "y" * 300, "z" * 100) for i in range(400))
    content = render(Card("Big", [Table(("a", "b", "c", "d"), rows)]))
    assert card_size(content) <= MAX_CARD_BYTES
    table = next(el for el in content["body"] if el["type"] == "Table")
    shown = len(table["rows"]) - 1
    assert 10 < shown < 400
    note = content["body"][-1]["text"]
    assert note.startswith(f"{400 - shown} more rows not shown")
    assert card_errors(content, validator) == []


def test_an_impossible_card_falls_back_to_text_and_fits(validator: Any) -> None:
    fields: list[Section] = [Fields(tuple(Field(f"f{i}-{j}", "v" * 900) for j in range(50)))
                             for i in range(60)]
    card = Card("Everything", fields, buttons=[Button("b" * 100, f"x:{i}", "v" * 2000)
                                               for i in range(20)])
    content = render(card)
    assert card_size(content) <= MAX_CARD_BYTES
    assert content["body"][0]["text"] == "Everything"
    assert card_errors(content, validator) == []


def test_long_text_is_truncated_with_a_mark() -> None:
    content = render(Card("T", [Text("a" * 20000)]))
    assert content["body"][1]["text"].endswith("\u2026") and len(content["body"][1]["text"]) <= 5000


def test_markdown_subset() -> None:
    assert markdown("*bold* and _it_ and `help`") == '**bold** and _it_ and "help"'
    assert markdown("2 * 3 * 4") == "2 * 3 * 4"
    assert markdown("a\nb") == "a\n\nb"


def test_code_in_deskhands_own_table_cells_is_quoted_and_data_cells_stay_as_they_are() -> None:
    content = render(Card("What you can do", [
        Table(("command", "what it does"), (("settings set", "Change settings: `settings set k=v`."),),
              markdown=True),
        Table(("name", "note"), (("PC-1", "`raw` *data*"),))]))
    cells = [cell["items"][0]["text"] for el in content["body"] if el["type"] == "Table"
             for row in el["rows"][1:] for cell in row["cells"]]
    # Adaptive Cards have no inline code: quoted, as in every Text; data is left alone.
    assert cells == ["settings set", 'Change settings: "settings set k=v".', "PC-1", "`raw` *data*"]


def test_parse_action_reads_back_what_render_wrote() -> None:
    act = actions(render(EXAMPLES["inputs"]))[0]
    data = {**act["data"], "reason": "not needed", "scope": "london"}
    assert parse_action(data) == ("approval.deny:3", "3", {"reason": "not needed", "scope": "london"})
    assert parse_action({"msteams": {"type": "messageBack"}}) is None
    assert parse_action("approval.deny:3") is None
    assert parse_action({ACTION_KEY: ""}) is None


def test_attachment_content_type() -> None:
    att = attachment(EXAMPLES["message"])
    assert att["contentType"] == "application/vnd.microsoft.card.adaptive"


_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=300)
_button = st.builds(Button, label=_text, action_id=st.text(min_size=1, max_size=80),
                    value=_text, style=st.sampled_from(["default", "primary", "danger"]),
                    confirm=st.none() | st.builds(Confirm, _text, _text, _text, _text),
                    url=st.none() | st.just("https://deskhand.example/downloads/t.s"))
_section = st.one_of(
    st.builds(Text, _text), st.builds(Context, _text), st.just(Divider()),
    st.builds(Fields, st.lists(st.builds(Field, _text, _text), max_size=8).map(tuple)),
    st.builds(Table, st.lists(_text, min_size=1, max_size=5).map(tuple),
              st.lists(st.lists(_text, max_size=6).map(tuple), max_size=30).map(tuple),
              _text, st.none() | _button),
    st.builds(TextInput, st.text(min_size=1, max_size=20), _text, _text, st.booleans(),
              st.booleans()),
    st.builds(ChoiceInput, st.text(min_size=1, max_size=20), _text,
              st.lists(st.builds(Choice, _text, _text), max_size=10).map(tuple), st.booleans()))
_card = st.builds(Card, title=_text, sections=st.lists(_section, max_size=12),
                  buttons=st.lists(_button, max_size=8),
                  tone=st.sampled_from(["info", "good", "warning", "attention"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(card=_card)
def test_any_card_validates_and_fits(card: Card) -> None:
    validator = validator_or_skip()
    content = render(card)
    assert card_errors(content, validator) == []
    assert card_size(content) <= MAX_CARD_BYTES


def test_missing_schema_folder_skips_outside_ci_and_fails_in_ci(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKHAND_SHARED_SCHEMAS", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="DESKHAND_SHARED_SCHEMAS"):
        validator_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"adaptive-card-1\.5\.json"):
        validator_or_skip()
