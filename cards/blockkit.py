"""Render a Card as Slack Block Kit through slack_sdk.models, so the SDK checks Slack's limits.

Overflow never fails: long text splits across sections or is cut with a mark, tables become
monospace sections, and whatever passes the 50-block budget is summarised in a context line.
Every text from the card, plain_text included (a header is where a typed `<!channel>` used to
land), is escaped (&, <, >) here, so user text can never mention, link or ping.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from cards.model import (
    INLINE_CODE,
    Button,
    Card,
    Choice,
    ChoiceInput,
    Context,
    Divider,
    Fields,
    Mentions,
    Section,
    Table,
    Text,
    TextInput,
    truncate,
)

log = logging.getLogger("deskhand.blockkit")

MAX_BLOCKS = 50
SECTION_TEXT = 3000
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,30}")
FIELD_TEXT = 2000
MAX_FIELDS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
MAX_ACTIONS = 25
FALLBACK_TEXT = 3000
CELL = 32  # widest table column, in characters
LINK_PREFIX = "deskhand.link:"  # link buttons still send block_actions; these are only acked
MODAL = "deskhand.modal"  # block_id prefix of buttons that open a form; the modal's callback_id
TONE_ICON = {"info": "", "good": ":white_check_mark: ", "warning": ":warning: ", "attention": ":no_entry: "}


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the fallback every message carries (notifications, screen readers)
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class ModalForm:
    """What a form button needs to open its modal, carried in the button's value."""

    title: str
    submit: str
    value: str
    inputs: tuple[TextInput | ChoiceInput, ...]


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """Escape for mrkdwn and shorten so the escaped form is at most `limit` characters."""
    out = escape(text)
    if len(out) <= limit:
        return out
    cut = limit - 1
    while cut > 0 and len(escape(text[:cut])) > limit - 1:
        cut -= max(1, len(escape(text[:cut])) - (limit - 1))
    return escape(text[:cut]) + "\u2026"


def _chunks(lines: list[str], limit: int) -> list[str]:
    """Pack escaped lines into texts of at most `limit` characters; cut lines that alone overflow."""
    out: list[str] = []
    current = ""
    for line in lines:
        if len(line) > limit:
            line = line[: limit - 1] + "\u2026"
        if current and len(current) + 1 + len(line) > limit:
            out.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        out.append(current)
    return out


def _text_blocks(text: str, room: int) -> list[Block]:
    parts = _chunks(escape(text).split("\n"), SECTION_TEXT)
    if len(parts) > room:
        parts = parts[:room]
        parts[-1] = parts[-1][: SECTION_TEXT - 1] + "\u2026"
    return [SectionBlock(text=MarkdownTextObject(text=p)) for p in parts if p.strip()]


def _table_blocks(table: Table, room: int) -> tuple[list[Block], int]:
    """Monospace sections, the column header repeated in each; returns (blocks, rows shown)."""
    if room <= 0:
        return [], 0
    cols = len(table.columns)
    rows = [tuple(r[:cols]) + ("",) * (cols - len(r)) for r in table.rows]
    if table.markdown:  # a code block shows markup as typed: `code` is already monospace here
        rows = [tuple(INLINE_CODE.sub(r"\1", c) if "`" in c else c for c in r) for r in rows]
    widths = [min(CELL, max([len(c), *(len(r[i]) for r in rows)])) for i, c in enumerate(table.columns)]

    def line(cells: tuple[str, ...]) -> str:
        text = "  ".join(truncate(c.replace("\n", " "), w).ljust(w)
                         for c, w in zip(cells, widths, strict=True))
        return escape(text.rstrip().replace("```", "'''"))

    head = line(tuple(table.columns))[:1000]
    caption = f"*{fit(table.caption, 300)}*\n" if table.caption else ""
    pages: list[list[str]] = [[]]
    used = shown = 0
    for row in rows:
        limit = SECTION_TEXT - 8 - len(head) - (len(caption) if len(pages) == 1 else 0)
        text = line(row)[: SECTION_TEXT - 8 - len(head) - len(caption)]
        if pages[-1] and used + len(text) + 1 > limit:
            if len(pages) >= room:
                break
            pages.append([])
            used = 0
        pages[-1].append(text)
        used += len(text) + 1
        shown += 1
    return [_code(caption if i == 0 else "", head, page) for i, page in enumerate(pages)], shown


def _code(caption: str, head: str, body: list[str]) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=caption + "```" + "\n".join([head, *body]) + "```"))


def button_element(b: Button, *, value: str | None = None) -> ButtonElement | None:
    """A Block Kit button, or None (logged) when it cannot be carried without breaking it."""
    value = b.value if value is None else value
    action_id = (LINK_PREFIX + b.action_id)[:ACTION_ID] if b.url else b.action_id
    if len(action_id) > ACTION_ID or len(value) > BUTTON_VALUE or (b.url and len(b.url) > 3000):
        log.warning("button %r dropped: action_id, value or url is over Slack's limit", b.label)
        return None
    confirm = None
    if b.confirm:
        confirm = ConfirmObject(
            title=fit(b.confirm.title, 100), text=PlainTextObject(text=fit(b.confirm.text, 300)),
            confirm=fit(b.confirm.confirm, 30), deny=fit(b.confirm.deny, 30),
            style="danger" if b.style == "danger" else None)
    return ButtonElement(
        text=PlainTextObject(text=fit(b.label, BUTTON_TEXT), emoji=True), action_id=action_id,
        url=b.url, value=None if b.url else (value or None),
        style=None if b.style == "default" else b.style, confirm=confirm)


def _actions(elements: list[ButtonElement], block_id: str | None = None) -> list[Block]:
    """Rows of at most 25 buttons; a given block_id gets a suffix, as block ids must be unique."""
    return [ActionsBlock(elements=elements[i : i + MAX_ACTIONS],
                         block_id=f"{block_id}:{i}" if block_id else None)
            for i in range(0, len(elements), MAX_ACTIONS)]


def input_block(field: TextInput | ChoiceInput) -> InputBlock:
    label = PlainTextObject(text=fit(field.label, 2000) or field.id)
    fid = field.id[:ACTION_ID]
    choices = [c for c in getattr(field, "choices", ()) if len(c.value) <= 150][:100]
    if isinstance(field, ChoiceInput) and choices:
        select = StaticSelectElement(action_id=fid, placeholder=PlainTextObject(text="Choose\u2026"),
                                     options=[Option(value=c.value, label=fit(c.label, 75))
                                              for c in choices])
        return InputBlock(block_id=fid, label=label, element=select, optional=not field.required)
    placeholder = getattr(field, "placeholder", "")
    text = PlainTextInputElement(
        action_id=fid, multiline=getattr(field, "multiline", False),
        max_length=min(getattr(field, "max_length", 3000), 3000),
        placeholder=PlainTextObject(text=fit(placeholder, 150)) if placeholder else None)
    return InputBlock(block_id=fid, label=label, element=text, optional=not field.required)


def encode_form(card: Card, button: Button) -> str | None:
    """The modal a form button opens, as its value; None if it cannot fit Slack's 2000 characters."""
    for label_len, keep_placeholder in ((200, True), (60, False)):
        spec = []
        for f in card.inputs:
            item: dict[str, Any] = {"id": f.id, "l": truncate(f.label, label_len), "r": int(f.required)}
            if isinstance(f, ChoiceInput):
                item["c"] = [[c.value, truncate(c.label, 40)] for c in f.choices]
            else:
                item.update(m=int(f.multiline), x=f.max_length)
                if keep_placeholder and f.placeholder:
                    item["p"] = truncate(f.placeholder, 150)
            spec.append(item)
        encoded = json.dumps({"t": truncate(card.title, 24), "s": truncate(button.label, 24),
                              "v": button.value, "i": spec}, separators=(",", ":"))
        if len(encoded) <= BUTTON_VALUE:
            return encoded
    return None


def decode_form(value: str) -> ModalForm | None:
    try:
        data = json.loads(value)
        inputs: list[TextInput | ChoiceInput] = []
        for f in data["i"]:
            if "c" in f:
                inputs.append(ChoiceInput(str(f["id"]), str(f["l"]),
                                          tuple(Choice(str(v), str(lb)) for v, lb in f["c"]), bool(f["r"])))
            else:
                inputs.append(TextInput(str(f["id"]), str(f["l"]), str(f.get("p", "")), bool(f["m"]),
                                        bool(f["r"]), int(f["x"])))
        return ModalForm(str(data["t"]), str(data["s"]), str(data["v"]), tuple(inputs))
    except (ValueError, KeyError, TypeError):
        return None


def render_modal(form: ModalForm, private_metadata: str) -> dict[str, Any]:
    view = View(type="modal", callback_id=MODAL, title=fit(form.title or "deskhand", 24),
                submit=fit(form.submit or "Submit", 24), close="Cancel",
                private_metadata=private_metadata, blocks=[input_block(f) for f in form.inputs[:100]])
    return view.to_dict()


def _mentions(section: Mentions) -> SectionBlock:
    """`<@U…>` for ids shaped like Slack's (a mention by id is the only ping a card makes)."""
    lead = fit(section.lead, 300)
    names, room = [], SECTION_TEXT - len(lead) - 20
    for m in section.people:
        name = f"<@{m.user_id}>" if SLACK_USER.fullmatch(m.user_id) else fit(m.name, 100)
        room -= len(name) + 2
        if room < 0:
            names.append("…")
            break
        names.append(name)
    return SectionBlock(text=MarkdownTextObject(text=lead + " " + ", ".join(names)))


def _section(section: Section, room: int, card: Card) -> list[Block]:
    if isinstance(section, Text):
        return _text_blocks(section.text, room)
    if isinstance(section, Mentions):
        return [_mentions(section)]
    if isinstance(section, Context):
        return [ContextBlock(elements=[MarkdownTextObject(text=fit(section.text, SECTION_TEXT))])]
    if isinstance(section, Divider):
        return [DividerBlock()]
    if isinstance(section, Fields):
        texts = [MarkdownTextObject(text=fit(f"*{f.label}*\n{f.value}", FIELD_TEXT)) for f in section.items]
        sections: list[Block] = [SectionBlock(fields=texts[i : i + MAX_FIELDS])
                                 for i in range(0, len(texts), MAX_FIELDS)]
        return sections[:room]
    if isinstance(section, Table):
        more = button_element(section.more) if section.more else None
        blocks, shown = _table_blocks(section, room - (1 if more else 0) - 1)
        if shown < len(section.rows):
            blocks.append(ContextBlock(elements=[MarkdownTextObject(
                text=f"Showing {shown} of {len(section.rows)} rows.")]))
        return blocks + (_actions([more]) if more else [])
    return []  # inputs: a modal asks for them (see render)


def render(card: Card) -> SlackMessage:
    """A message for chat.postMessage / chat.update / response_url: fallback text plus blocks."""
    text = fit(card.fallback_text(40_000), FALLBACK_TEXT)
    head: list[Block] = [HeaderBlock(text=PlainTextObject(
        text=fit(TONE_ICON[card.tone] + card.title, HEADER_TEXT) or "deskhand", emoji=True))]
    forms = {i: encode_form(card, b) for i, b in enumerate(card.buttons)
             if card.inputs and b.form and not b.url}
    inline_inputs = None in forms.values()  # too big for a modal button: ask in the message itself
    buttons: list[ButtonElement] = []
    form_buttons: list[ButtonElement] = []
    for i, b in enumerate(card.buttons):
        form = None if inline_inputs else forms.get(i)
        element = button_element(b, value=form) if form else button_element(b)
        if element is not None:
            (form_buttons if form else buttons).append(element)
    tail = (_actions(form_buttons, MODAL) + _actions(buttons))[:4]
    body: list[dict[str, Any]] = []
    skipped = 0
    room = MAX_BLOCKS - len(head) - len(tail) - 1  # keep one block for the "not shown" note
    sections = list(card.sections)
    if form_buttons and not inline_inputs:
        names = ", ".join(b.label for b in card.buttons if b.form and not b.url)
        sections.append(Context(f"{names} asks for: {', '.join(f.label for f in card.inputs)}"))
    for section in sections:
        left = room - len(body)
        if isinstance(section, TextInput | ChoiceInput) and not inline_inputs:
            continue  # the form button's modal asks for it
        if left <= 0:
            skipped += 1
            continue
        blocks = [input_block(section).to_dict()] if isinstance(section, TextInput | ChoiceInput) \
            else _safe(section, left, card)
        if len(blocks) > left:
            skipped += 1
            continue
        body.extend(blocks)
    if skipped:
        body.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"\u2026 {skipped} more part(s) did not fit in one Slack message.")]).to_dict())
    return SlackMessage(text=text or "deskhand",
                        blocks=[b.to_dict() for b in head] + body + [b.to_dict() for b in tail])


def _safe(section: Section, room: int, card: Card) -> list[dict[str, Any]]:
    """Build and validate one section; anything the SDK still refuses becomes a short note."""
    try:
        # to_dict runs the SDK's validation now, so one bad part cannot sink the card.
        return [block.to_dict() for block in _section(section, room, card)]
    except SlackObjectFormationError as exc:
        log.warning("part of card %r could not be rendered for Slack: %s", card.title, exc)
        return [ContextBlock(elements=[MarkdownTextObject(
            text="(part of this card could not be shown)")]).to_dict()]
