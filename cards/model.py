"""A card is a title, a list of sections and a row of buttons, plus plain-text fallback.

Small on purpose: each renderer maps these few shapes to Block Kit, Adaptive Card 1.5
or console HTML and applies its own platform limits (truncate or page, never fail).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

INLINE_CODE = re.compile(r"`([^`\n]+)`")  # `code` in the light markdown, for every renderer
Style = Literal["default", "primary", "danger"]
Tone = Literal["info", "good", "warning", "attention"]


@dataclass(frozen=True)
class Confirm:
    """A second question before a dangerous click goes through."""

    title: str
    text: str
    confirm: str = "Yes"
    deny: str = "Cancel"


@dataclass(frozen=True)
class Button:
    label: str
    action_id: str  # "<registered prefix>:<anything>"; routed by the prefix
    value: str = ""  # opaque and small (Slack allows 2000 chars); never trusted for authz
    style: Style = "default"
    confirm: Confirm | None = None
    url: str | None = None  # a link button opens the url and sends no interaction
    form: bool = True  # sends the card's inputs (Slack asks for them in a modal); False: ignores them


@dataclass(frozen=True)
class Text:
    text: str  # light markdown: *bold*, _italic_, `code`, line breaks


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Fields:
    items: tuple[Field, ...]


@dataclass(frozen=True)
class Table:
    """Rows of a bigger result; `more` fetches the next page and replaces or appends."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    more: Button | None = None
    # Cells written by deskhand in the light markdown of Text (help's summaries); False: data
    # (device names, vendor answers) shown exactly as it is.
    markdown: bool = False


@dataclass(frozen=True)
class Context:
    text: str  # small grey print: correlation ids, timestamps, who did what


@dataclass(frozen=True)
class Divider:
    pass


@dataclass(frozen=True)
class Mention:
    name: str
    user_id: str  # the id on the card's platform: Slack U…/W…, a Teams Entra object id


@dataclass(frozen=True)
class Mentions:
    """People called to look (the platform notifies them), after a short lead text. The only
    way a card pings anyone: every other text is escaped by each renderer."""

    lead: str
    people: tuple[Mention, ...]

    @property
    def plain(self) -> str:
        return f"{self.lead} " + ", ".join(f"@{m.name}" for m in self.people)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class TextInput:
    id: str
    label: str
    placeholder: str = ""
    multiline: bool = False
    required: bool = False
    max_length: int = 500


@dataclass(frozen=True)
class ChoiceInput:
    id: str
    label: str
    choices: tuple[Choice, ...]
    required: bool = False


Section = Text | Fields | Table | Context | Divider | TextInput | ChoiceInput | Mentions


@dataclass
class Card:
    title: str
    sections: list[Section] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    tone: Tone = "info"

    def fallback_text(self, limit: int = 3000) -> str:
        """Plain text for notifications, screen readers and clients that show no cards."""
        lines = [self.title]
        for section in self.sections:
            if isinstance(section, Text | Context):
                lines.append(section.text)
            elif isinstance(section, Mentions):
                lines.append(section.plain)
            elif isinstance(section, Fields):
                lines.extend(f"{f.label}: {f.value}" for f in section.items)
            elif isinstance(section, Table):
                if section.caption:
                    lines.append(section.caption)
                lines.append(" | ".join(section.columns))
                lines.extend(" | ".join(row) for row in section.rows)
        text = "\n".join(line for line in lines if line)
        return text if len(text) <= limit else text[: limit - 1] + "\u2026"

    @property
    def inputs(self) -> list[TextInput | ChoiceInput]:
        return [s for s in self.sections if isinstance(s, TextInput | ChoiceInput)]


def truncate(text: str, limit: int) -> str:
    """Shorten to `limit` characters, marking the cut, so a renderer never exceeds a cap."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "\u2026"


def message_card(title: str, text: str, tone: Tone = "info", context: str = "") -> Card:
    sections: list[Section] = [Text(text)] if text else []
    if context:
        sections.append(Context(context))
    return Card(title=title, sections=sections, tone=tone)
