"""Tokenise chat text into words and key=value pairs, tolerant of what chat clients insert.

Slack, Teams and phones turn "quotes" into curly quotes and `--` into long dashes;
both are folded back before splitting. Any input produces tokens or a ParseError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FOLD = str.maketrans(
    {
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
        "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u200b": "",
    }
)
_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_.-]{0,39})=(.*)$", re.S)
MAX_INPUT = 4000


class ParseError(ValueError):
    """Input that cannot be read as a command; the message says what was wrong."""


@dataclass
class Tokens:
    words: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)


def normalise(text: str) -> str:
    text = text.translate(_FOLD)
    # A chat client may turn a leading "--flag" into an em dash; undo the common case.
    return text.strip()


def split_words(text: str) -> list[str]:
    """Split on whitespace, honouring "double" and 'single' quotes and backslash escapes."""
    words: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    in_word = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and i + 1 < len(text) and text[i + 1] in (quote, "\\"):
                buf.append(text[i + 1])
                i += 2
                continue
            if ch == quote:
                quote = None
            else:
                buf.append(ch)
        elif ch in "\"'":
            quote = ch
            in_word = True
        elif ch.isspace():
            if in_word:
                words.append("".join(buf))
                buf, in_word = [], False
        else:
            buf.append(ch)
            in_word = True
        i += 1
    if quote:
        raise ParseError(f"a {quote} quote is never closed; close it or remove it")
    if in_word:
        words.append("".join(buf))
    return words


def tokenize(text: str) -> Tokens:
    if len(text) > MAX_INPUT:
        raise ParseError(f"the command is {len(text)} characters long; the limit is {MAX_INPUT}")
    tokens = Tokens()
    for word in split_words(normalise(text)):
        match = _KEY.match(word)
        if match:
            key = match.group(1).lower()
            if key in tokens.options:
                raise ParseError(f"`{key}=` is given twice; give it once")
            tokens.options[key] = match.group(2)
        else:
            tokens.words.append(word)
    return tokens
