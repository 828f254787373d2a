"""User text can never mention, ping or link: every renderer escapes every card field.

Cards are built here from hostile strings in every field the model has (titles, texts, field
labels and values, table captions, columns and cells, context, button labels and confirm texts,
input labels, placeholders and choices); each renderer's output is searched for markup that
would act. The real paths are checked in tests/bot/platforms/test_escaping_paths.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cards import adaptive, blockkit, console
from cards.model import (
    Button,
    Card,
    Choice,
    ChoiceInput,
    Confirm,
    Context,
    Field,
    Fields,
    Table,
    Text,
    TextInput,
)

HOSTILE = ["<!channel>", "<!here>", "<!subteam^S0123|ops>", "<@U0123>", "<#C0123>",
           "<https://evil.example|click>", "<mailto:x@evil.example|mail>", "[open](https://evil.example)",
           "[ref]: https://evil.example", "&lt;!channel&gt;", "<at>Alex</at>", "<script>x</script>"]
hostile = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=8), min_size=1, max_size=3).map(" ".join)


@st.composite
def cards(draw: Any) -> Card:
    t = lambda: draw(hostile)  # noqa: E731
    sections = [
        Text(t()), Context(t()), Fields((Field(t(), t()), Field(t(), t()))),
        Table((t(), t()), ((t(), t()), (t(), t())), caption=t(), more=Button(t(), "x.more:1", "1")),
    ]
    if draw(st.booleans()):
        sections += [TextInput("reason", t(), placeholder=t()),
                     ChoiceInput("pick", t(), (Choice("a", t()), Choice("b", t())))]
    buttons = [Button(t(), "x.go:1", "1", confirm=Confirm(t(), t(), t(), t())),
               Button(t(), "x.link", url="https://deskhand.example.com/downloads/abc")]
    return Card(t(), sections, buttons)


def strings(node: Any, skip: tuple[str, ...] = ()) -> Iterator[str]:
    """Every string value in rendered JSON, but for the keys in `skip` (URLs, ids, data)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in skip:
                yield from strings(value, skip)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value, skip)


@settings(max_examples=150, deadline=None)
@given(cards())
def test_block_kit_escapes_every_field(card: Card) -> None:
    message = blockkit.render(card)
    for text in [message.text, *strings(message.blocks, skip=("url", "action_id", "value"))]:
        assert "<" not in text and ">" not in text, text
        assert text.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "").count("&") == 0, text
    form = next((b for b in card.buttons if not b.url), None)
    if card.inputs and form is not None:
        decoded = blockkit.decode_form(blockkit.encode_form(card, form) or "")
        if decoded is not None:
            view = blockkit.render_modal(decoded, "{}")
            assert all("<" not in s for s in strings(view, skip=("private_metadata",)))


def markdown_texts(node: Any) -> Iterator[str]:
    """What Teams renders as markdown: TextBlock texts and facts (action titles, input labels
    and the fallback text are plain)."""
    if isinstance(node, dict):
        if node.get("type") == "TextBlock":
            yield node["text"]
        if node.get("type") == "FactSet":
            for fact in node["facts"]:
                yield fact["title"]
                yield fact["value"]
        for value in node.values():
            yield from markdown_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from markdown_texts(value)


@settings(max_examples=150, deadline=None)
@given(cards())
def test_adaptive_cards_break_every_link(card: Card) -> None:
    texts = list(markdown_texts(adaptive.render(card)))
    assert texts
    for text in texts:
        assert "](" not in text and "]:" not in text, text


def test_the_console_draws_card_text_as_text_never_as_html() -> None:
    """The console's JSON carries text as typed; its page inserts it as text nodes only."""
    card = Card("<script>alert(1)</script>", [Text("<img src=x onerror=alert(1)>")])
    assert console.render(card)["title"] == "<script>alert(1)</script>"
    script = (Path(__file__).parents[2] / "bot/platforms/console/static/console.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser"):
        assert sink not in script, sink
    assert json.dumps(console.render(card))  # plain JSON, nothing pre-rendered
