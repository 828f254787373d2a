"""The parser and argument binding: any text gives a command or a readable error, nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import bootstrap
from bot.parser import MAX_INPUT, ParseError, normalise, split_words, tokenize
from bot.registry import CommandSpec, UnknownCommand, UsageError, bind

REGISTRY = bootstrap.commands()


# Pieces chat users (and chat clients) actually produce, mixed with arbitrary text.
VOCAB = [
    *REGISTRY.commands, *REGISTRY.groups(), "to", "ann@example.com", "PC-0042", "me",
    "device.lock", "groups=London", "devices=PC-1,PC-2", "sets=", "since=7d", "since=99999999999d",
    "since=2026-13-45", "since=1e9w", "user=", "perms=device.read", "=", "==", "a=b=c", "#12", "0",
    "-5", "9" * 5000, "\u201cquoted words\u201d", "\u2018single\u2019", "\u2014force", "\u2013x",
    '"', "'", "\\", '"unbalanced', "it's", "\u00a0", "\u200b", "\x00", "\x1b[31m", "\r\n", "\t",
    "\U0001f600", "\u0661\u0662", "\u00df", "\u0130", "   ",
]
piece = st.one_of(st.sampled_from(VOCAB), st.text(max_size=12))
chat_text = st.one_of(
    st.text(),
    st.lists(piece, max_size=12).map(" ".join),
    st.lists(piece, max_size=6).map("".join),
    st.builds(lambda w, k, v: f"{w} {k}={v}", st.sampled_from(sorted(REGISTRY.commands)),
              st.text(min_size=1, max_size=8), st.text(max_size=8)),
)


def parse(text: str) -> tuple[CommandSpec, dict[str, Any]]:
    """The router's path from text to arguments."""
    tokens = tokenize(text)
    spec, rest = REGISTRY.resolve(tokens.words or ["help"])
    return spec, bind(spec, rest, tokens)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chat_text)
@example("x" * (MAX_INPUT + 1))
@example("role grant \u201cEndpoint Standard\u201d to ann@example.com groups=\u201cNew York\u201d")
@example("audit since=99999999999d")
@example("role revoke #" + "9" * 4000)
def test_any_text_parses_or_fails_readably(text: str) -> None:
    try:
        spec, args = parse(text)
    except UnknownCommand as exc:
        assert all(s in REGISTRY.commands or s in REGISTRY.groups() for s in exc.suggestions)
    except UsageError as exc:
        assert exc.problem and exc.spec.usage
    except ParseError as exc:
        assert str(exc)
    else:
        assert spec.name in REGISTRY.commands
        assert set(args) == {a.name for a in spec.args}


def test_quotes_and_escapes_group_words() -> None:
    assert split_words('role grant "Endpoint Standard" to \'Ann Lee\'') == [
        "role", "grant", "Endpoint Standard", "to", "Ann Lee"]
    assert split_words(r'say "a \"quoted\" word" ""') == ["say", 'a "quoted" word', ""]
    with pytest.raises(ParseError, match="a \" quote is never closed"):
        tokenize('devices "London')


def test_key_value_options() -> None:
    tokens = tokenize('devices pc Group="New York" since=7d')
    assert tokens.words == ["devices", "pc"]
    assert tokens.options == {"group": "New York", "since": "7d"}
    with pytest.raises(ParseError, match="`since=` is given twice; give it once"):
        tokenize("audit since=1d since=2d")
    # An email is a word, not an option, and `=` inside a value is kept.
    assert tokenize("why ann@example.com device.lock").words[1] == "ann@example.com"
    assert tokenize("x filter=a=b").options == {"filter": "a=b"}


def test_curly_quotes_long_dashes_and_odd_spaces_are_folded() -> None:
    assert normalise("\u201cNew York\u201d \u2014 \u2018x\u2019\u00a0y\u200b") == '"New York" - \'x\' y'
    spec, args = parse("role grant \u201cEndpoint Standard\u201d to ann@example.com "
                       "groups=\u201cLondon,New York\u201d")
    assert spec.name == "role grant"
    assert args["role"] == "Endpoint Standard" and args["to"] == "ann@example.com"
    assert args["groups"] == ["London", "New York"]
    assert tokenize("devices \u2013\u2013all").words == ["devices", "--all"]


def test_unknown_command_suggests_close_names() -> None:
    with pytest.raises(UnknownCommand) as exc:
        parse("devics London")
    assert exc.value.word == "devics" and "devices" in exc.value.suggestions
    with pytest.raises(UnknownCommand) as sub:
        parse("role grnt Auditor to ann@example.com")
    assert sub.value.word == "role grnt"
    assert "role grant" in sub.value.suggestions
    assert {"grant", "revoke", "list"} <= set(sub.value.subcommands)


def test_usage_errors_name_the_problem() -> None:
    cases = {
        "role grant Auditor": "missing to <to>",
        "role grant Auditor to": "`to` must be followed by the to",
        "role grant Auditor to ann@example.com colour=red":
            "`colour=` is not an option here (options: groups=, devices=, sets=)",
        "role revoke twelve": "assignment: `twelve` is not a whole number",
        "role revoke 0": "assignment: must be 1 or more",
        "why me": "missing <permission>",
        "whoami now": "unexpected `now`",
        "audit since=yesterday": "since: `yesterday` is not a time; use 30m, 12h, 7d, 2w or 2026-11-01",
        "role grant Auditor to ann@example.com groups=,": (
            "groups: give at least one name, separated by commas"),
        "role create Night perms=": "perms is empty",
    }
    for text, problem in cases.items():
        with pytest.raises(UsageError) as exc:
            parse(text)
        assert exc.value.problem == problem, text
        assert exc.value.spec.usage.startswith(exc.value.spec.name)


def test_commands_resolve_case_insensitively_with_their_arguments() -> None:
    spec, args = parse("ROLE Revoke #12")
    assert spec.name == "role revoke" and args == {"assignment": 12}
    spec, args = parse("")
    assert spec.name == "help" and args == {"command": None}
    spec, args = parse("help role grant")
    assert args == {"command": "role grant"}
