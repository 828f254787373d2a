"""Render a neutral Card as an Adaptive Card 1.5 for Teams, and read clicks back.

Buttons are `Action.Execute` (Teams sends an `adaptiveCard/action` invoke and shows the card
the bot answers with) with an `Action.Submit` fallback for clients without Universal Actions.
Teams has no native confirm dialog, so a button with `confirm` becomes an `Action.ShowCard`
holding the question and the real button: nothing runs until that second click, and clicking
the first button again closes the question (the "cancel"). Teams renders markdown in every text
block and fact: link syntax in them is broken (`unlinked`), so user text cannot become a link.

The output is the core card only (no `msteams` keys) so it validates against the official
schema; the Teams adapter adds its own hints. Limits are met by truncating and dropping rows
with a visible note, never by failing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from cards.model import (
    INLINE_CODE,
    Button,
    Card,
    ChoiceInput,
    Context,
    Divider,
    Fields,
    Mentions,
    Table,
    Text,
    TextInput,
    truncate,
)

CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
VERSION = "1.5"
ACTION_KEY = "deskhand.action"  # keys in Action data; namespaced so input ids never collide
VALUE_KEY = "deskhand.value"
# Teams refuses bot messages over 100 KB (counted in UTF-16) and advises staying under 80 KB.
MAX_CARD_BYTES = 80_000
PRIMARY_ACTIONS = 5  # later buttons go to the overflow menu (`mode: secondary`, AC 1.5)
MAX_ACTIONS = 20
TONE_COLOR = {"good": "good", "warning": "warning", "attention": "attention"}
ACTION_STYLE = {"primary": "positive", "danger": "destructive"}

_BOLD = re.compile(r"(?<![*\w])\*(?![\s*])([^*\n]+?)(?<!\s)\*(?![*\w])")


@dataclass(frozen=True)
class Limits:
    text: int = 5000
    cell: int = 500
    fact: int = 1000
    rows: int = 100
    facts: int = 50
    choices: int = 100

    def smaller(self) -> Limits:
        # A quarter off each step: keeps as much as fits without many render passes.
        return Limits(text=max(200, self.text * 3 // 4), cell=max(40, self.cell * 3 // 4),
                      fact=max(80, self.fact * 3 // 4), rows=max(1, self.rows * 3 // 4),
                      facts=max(5, self.facts * 3 // 4), choices=max(5, self.choices * 3 // 4))


def markdown(text: str) -> str:
    """The neutral light markdown in Teams' subset: **bold**, _italic_, paragraphs.

    Adaptive Cards have no inline code, so `code` is shown in quotes.
    """
    text = INLINE_CODE.sub(lambda m: f'"{m.group(1)}"', text)
    text = _BOLD.sub(lambda m: f"**{m.group(1)}**", text)
    return text.replace("\r\n", "\n").replace("\n", "\n\n")


def card_size(content: dict[str, Any]) -> int:
    """Bytes as Teams counts them (UTF-16) for the serialized card."""
    return len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-16-le"))


def action_data(button: Button) -> dict[str, str]:
    return {ACTION_KEY: button.action_id, VALUE_KEY: button.value}


_LINK = re.compile(r"\](?=[(:])")


def unlinked(text: str) -> str:
    """Text Teams' markdown cannot turn into a link: a zero-width space splits `](` and `]:`,
    so a name typed as `[open](https://evil)` shows as typed (bare URLs stay visible as URLs)."""
    return _LINK.sub("]\u200b", text)


def _text(text: str, **props: Any) -> dict[str, Any]:
    """Every TextBlock of every card is made here, so every text passes `unlinked`."""
    return {"type": "TextBlock", "text": unlinked(text), "wrap": True, **props}


def _execute(button: Button, title: str) -> dict[str, Any]:
    data = action_data(button)
    action: dict[str, Any] = {"type": "Action.Execute", "title": title, "verb": button.action_id,
                              "data": data}
    fallback: dict[str, Any] = {"type": "Action.Submit", "title": title, "data": data}
    if button.style in ACTION_STYLE:
        action["style"] = fallback["style"] = ACTION_STYLE[button.style]
    action["fallback"] = fallback
    return action


def render_action(button: Button, secondary: bool = False) -> dict[str, Any]:
    label = truncate(button.label, 60)
    if button.url:
        action: dict[str, Any] = {"type": "Action.OpenUrl", "title": label, "url": button.url}
    elif button.confirm:
        c = button.confirm
        action = {"type": "Action.ShowCard", "title": label, "card": {
            "type": "AdaptiveCard",
            "body": [_text(truncate(c.title, 200), weight="bolder"),
                     _text(markdown(truncate(c.text, 1000))),
                     _text(f"{truncate(c.deny, 40)}: click \u201c{label}\u201d again to close this.",
                           isSubtle=True, size="small")],
            "actions": [_execute(button, truncate(c.confirm, 60))],
        }}
        if button.style in ACTION_STYLE:
            action["style"] = ACTION_STYLE[button.style]
    else:
        action = _execute(button, label)
    if secondary:
        action["mode"] = "secondary"
    return action


def _action_set(buttons: list[Button]) -> dict[str, Any]:
    kept = buttons[:MAX_ACTIONS]
    return {"type": "ActionSet", "actions": [render_action(b, secondary=i >= PRIMARY_ACTIONS)
                                             for i, b in enumerate(kept)]}


def _cell(text: str, header: bool = False, light: bool = False) -> dict[str, Any]:
    """A cell; `light` ones are deskhand's light markdown (a Table's `markdown`), put in Teams'
    subset like a Text, so `code` is quoted rather than shown with its backticks."""
    block = _text(text, weight="bolder") if header else _text(markdown(text) if light else text)
    return {"type": "TableCell", "items": [block]}


def _table(section: Table, limits: Limits) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if section.caption:
        out.append(_text(markdown(truncate(section.caption, limits.text)), weight="bolder"))
    if section.columns:
        width = len(section.columns)
        header = {"type": "TableRow", "cells": [_cell(truncate(c, limits.cell), True)
                                               for c in section.columns]}
        rows = [{"type": "TableRow", "cells": [
            _cell(truncate(row[i] if i < len(row) else "", limits.cell), light=section.markdown)
            for i in range(width)]}
            for row in section.rows[: limits.rows]]
        out.append({"type": "Table", "columns": [{"width": 1} for _ in range(width)],
                    "rows": [header, *rows], "firstRowAsHeader": True})
    dropped = len(section.rows) - limits.rows
    if dropped > 0:
        out.append(_text(f"{dropped} more row{'s' if dropped > 1 else ''} not shown: the card "
                         "would be too big for Teams. Narrow the search to see them.",
                         isSubtle=True, size="small", color="warning"))
    if section.more is not None:
        out.append(_action_set([section.more]))
    return out


def _at(name: str) -> str:
    return "<at>" + re.sub(r"[<>]", "", name) + "</at>"


def _entities(card: Card) -> list[dict[str, Any]]:
    """Teams notifies a person only when the `<at>` text matches an entity naming their id."""
    return [{"type": "mention", "text": _at(m.name), "mentioned": {"id": m.user_id, "name": m.name}}
            for s in card.sections if isinstance(s, Mentions) for m in s.people]


def _section(section: object, limits: Limits) -> list[dict[str, Any]]:
    if isinstance(section, Mentions):
        return [_text(markdown(truncate(section.lead, limits.text)) + " "
                      + ", ".join(_at(m.name) for m in section.people))]
    if isinstance(section, Text):
        return [_text(markdown(truncate(section.text, limits.text)))]
    if isinstance(section, Context):
        return [_text(markdown(truncate(section.text, limits.text)), isSubtle=True, size="small")]
    if isinstance(section, Fields):
        facts = [{"title": unlinked(truncate(f.label, 100)),
                  "value": unlinked(markdown(truncate(f.value, limits.fact)))}
                 for f in section.items[: limits.facts]]
        return [{"type": "FactSet", "facts": facts}] if facts else []
    if isinstance(section, Table):
        return _table(section, limits)
    if isinstance(section, TextInput):
        text: dict[str, Any] = {"type": "Input.Text", "id": section.id,
                                "label": truncate(section.label, 200),
                                "isMultiline": section.multiline, "maxLength": section.max_length}
        if section.placeholder:
            text["placeholder"] = truncate(section.placeholder, 200)
        if section.required:
            text["isRequired"] = True
            text["errorMessage"] = f"{truncate(section.label, 100)} is required."
        return [text]
    if isinstance(section, ChoiceInput):
        choice: dict[str, Any] = {
            "type": "Input.ChoiceSet", "id": section.id, "label": truncate(section.label, 200),
            "style": "compact",
            "choices": [{"title": truncate(c.label, 200), "value": c.value}
                        for c in section.choices[: limits.choices]]}
        if section.required:
            choice["isRequired"] = True
            choice["errorMessage"] = f"Choose {truncate(section.label, 100).lower()}."
        return [choice]
    return []


def _render(card: Card, limits: Limits) -> dict[str, Any]:
    title = _text(truncate(card.title, 300), size="medium", weight="bolder", style="heading")
    if card.tone in TONE_COLOR:
        title["color"] = TONE_COLOR[card.tone]
    body: list[dict[str, Any]] = [title]
    separate = False
    for section in card.sections:
        if isinstance(section, Divider):
            separate = True
            continue
        elements = _section(section, limits)
        if elements and separate:
            elements[0]["separator"] = True
            separate = False
        body.extend(elements)
    if card.buttons:
        body.append(_action_set(card.buttons))
    content: dict[str, Any] = {"type": "AdaptiveCard", "version": VERSION, "body": body,
                               "fallbackText": card.fallback_text(1000)}
    if entities := _entities(card):
        content["msteams"] = {"entities": entities}  # Teams' extension of the card
    return content


def render(card: Card, max_bytes: int = MAX_CARD_BYTES) -> dict[str, Any]:
    """The Adaptive Card for `card`, shrunk step by step until it fits `max_bytes`."""
    limits = Limits()
    for _ in range(20):
        content = _render(card, limits)
        if card_size(content) <= max_bytes:
            return content
        limits = limits.smaller()
    # Still too big (hundreds of fields or buttons): plain text is always small enough.
    return _render(replace(card, sections=[Text(card.fallback_text(1500))], buttons=[]), Limits())


def attachment(card: Card) -> dict[str, Any]:
    return {"contentType": CONTENT_TYPE, "content": render(card)}


def parse_action(data: object) -> tuple[str, str, dict[str, str]] | None:
    """(action_id, value, inputs) from Action.Execute/Submit data, or None if it isn't ours."""
    if not isinstance(data, dict):
        return None
    action_id = data.get(ACTION_KEY)
    if not isinstance(action_id, str) or not action_id:
        return None
    value = data.get(VALUE_KEY, "")
    inputs = {str(k)[:100]: str(v)[:3000] for k, v in data.items()
              if k not in (ACTION_KEY, VALUE_KEY) and isinstance(v, str | int | float | bool)}
    return action_id[:255], str(value)[:2000], inputs
