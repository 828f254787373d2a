"""Render a Card as JSON for the local web console (the browser draws it)."""

from __future__ import annotations

from typing import Any

from cards.model import (
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

MAX_TEXT = 12000
MAX_ROWS = 100


def render_button(button: Button) -> dict[str, Any]:
    out: dict[str, Any] = {
        "label": button.label, "action_id": button.action_id, "value": button.value,
        "style": button.style,
    }
    if button.url:
        out["url"] = button.url
    if button.confirm:
        c = button.confirm
        out["confirm"] = {"title": c.title, "text": c.text, "confirm": c.confirm, "deny": c.deny}
    return out


def render(card: Card) -> dict[str, Any]:
    sections: list[dict[str, Any]] = []
    for s in card.sections:
        if isinstance(s, Text):
            sections.append({"type": "text", "text": truncate(s.text, MAX_TEXT)})
        elif isinstance(s, Context):
            sections.append({"type": "context", "text": truncate(s.text, MAX_TEXT)})
        elif isinstance(s, Mentions):
            sections.append({"type": "text", "text": truncate(s.plain, MAX_TEXT)})
        elif isinstance(s, Fields):
            sections.append({"type": "fields",
                             "items": [{"label": f.label, "value": f.value} for f in s.items]})
        elif isinstance(s, Table):
            sections.append({
                "type": "table", "caption": s.caption, "columns": list(s.columns),
                "rows": [list(r) for r in s.rows[:MAX_ROWS]],
                "more": render_button(s.more) if s.more else None, "markdown": s.markdown,
            })
        elif isinstance(s, Divider):
            sections.append({"type": "divider"})
        elif isinstance(s, TextInput):
            sections.append({"type": "text_input", "id": s.id, "label": s.label,
                             "placeholder": s.placeholder, "multiline": s.multiline,
                             "required": s.required, "max_length": s.max_length})
        elif isinstance(s, ChoiceInput):
            sections.append({"type": "choice_input", "id": s.id, "label": s.label,
                             "required": s.required,
                             "choices": [{"value": c.value, "label": c.label} for c in s.choices]})
    return {
        "title": card.title, "tone": card.tone, "sections": sections,
        "buttons": [render_button(b) for b in card.buttons],
        "fallback": card.fallback_text(),
    }
