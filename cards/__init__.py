"""Neutral card model and its renderers (console now; Block Kit and Adaptive Card beside it)."""

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

__all__ = [
    "Button", "Card", "Choice", "ChoiceInput", "Confirm", "Context", "Divider", "Field",
    "Fields", "Section", "Table", "Text", "TextInput",
]
