"""Commands and buttons are declared once here; help, argument errors, button parsing and both app
manifests read this. Capabilities fill it through bot/capability.install."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.parser import ParseError, Tokens

if TYPE_CHECKING:
    from bot.approvals import Subject
    from bot.context import Context, Reply
    from bot.events import ListenerFn
    from bot.model import Command, Interaction
    from bot.reminders import ReminderSource
    from bot.tenant_settings import TenantSection

ArgKind = Literal["positional", "rest", "option", "marker", "options"]  # options: any key=value
CommandHandler = Callable[["Context", "Command"], Awaitable["Reply"]]
ActionHandler = Callable[["Context", "Interaction"], Awaitable["Reply"]]
# (runtime, signed payload) -> (file name, content type, body); raises PermissionError.
DownloadHandler = Callable[[Any, dict[str, Any]], Awaitable[tuple[str, str, bytes]]]


@dataclass(frozen=True)
class Arg:
    name: str
    help: str
    kind: ArgKind = "positional"
    required: bool = True
    marker: str | None = None  # for kind="marker": the word that introduces the value ("on", "for")
    choices: tuple[str, ...] = ()
    convert: Callable[[str], Any] | None = None  # raises ValueError with the reason

    def usage(self) -> str:
        if self.kind == "option":
            text = f"{self.name}=<{self.help_word()}>"
        elif self.kind == "marker":
            text = f"{self.marker} <{self.name}>"
        elif self.kind == "rest":
            text = f"<{self.name}...>"
        elif self.kind == "options":
            text = "<name>=<value> ..."
        else:
            text = f"<{self.name}>"
        return text if self.required else f"[{text}]"

    def help_word(self) -> str:
        return "|".join(self.choices) if self.choices else self.name


@dataclass(frozen=True)
class CommandSpec:
    name: str
    summary: str
    handler: CommandHandler
    permission: str | tuple[str, ...] | None = None  # None: anyone; a tuple: any one of them
    args: tuple[Arg, ...] = ()
    examples: tuple[str, ...] = ()
    menu: bool = True  # offered in Teams' command menu, which holds only 10 (bot/manifests.py)

    @property
    def usage(self) -> str:
        return " ".join([self.name, *(a.usage() for a in self.args)])

    @property
    def group(self) -> str:
        return self.name.split(" ", 1)[0]


Param = Callable[[str], Any]  # one part of a button's action id -> its value; ValueError if bad
MAX_ID_DIGITS = 18  # every id fits a signed 64-bit column


def an_id(value: str) -> int:
    """A row id carried by a button: 1 to 18 digits."""
    if not value.isdigit() or len(value) > MAX_ID_DIGITS:
        raise ValueError(f"{value[:40]!r} is not an id")
    return int(value)


def one_of(*choices: str) -> Param:
    def choose(value: str) -> str:
        if value not in choices:
            raise ValueError(f"{value[:40]!r} is not one of {', '.join(choices)}")
        return value
    return choose


def text(value: str) -> str:
    return value


@dataclass(frozen=True)
class ActionSpec:
    """A button (or form) family: `prefix:part:part`. The router parses the parts with `params`
    and the value's `fields` (separated by \x1f) before the handler runs; a click that does
    not parse is answered "This button is damaged; <damaged>". The last `optional` params may
    be left off (the handler gets None for them): a part added later, so that buttons drawn
    before it keep working."""

    prefix: str
    handler: ActionHandler
    permission: str | tuple[str, ...] | None = None
    params: tuple[Param, ...] = ()
    optional: int = 0
    fields: int = 0
    damaged: str = "run the command again for a fresh card."


class UsageError(ParseError):
    def __init__(self, spec: CommandSpec, problem: str) -> None:
        super().__init__(problem)
        self.spec = spec
        self.problem = problem


class UnknownCommand(ParseError):
    def __init__(self, word: str, suggestions: list[str], subcommands: list[str]) -> None:
        self.word = word
        self.suggestions = suggestions
        self.subcommands = subcommands
        super().__init__(word)


@dataclass
class Registry:
    commands: dict[str, CommandSpec] = field(default_factory=dict)
    actions: dict[str, ActionSpec] = field(default_factory=dict)
    downloads: dict[str, DownloadHandler] = field(default_factory=dict)
    subjects: dict[str, Subject] = field(default_factory=dict)  # approval/card subjects by kind
    sections: list[type[TenantSection]] = field(default_factory=list)  # per-tenant settings
    reminders: list[ReminderSource] = field(default_factory=list)  # swept by bot/reminders.py
    listeners: dict[str, list[ListenerFn]] = field(default_factory=dict)  # bot/events.py

    def subject(self, kind: str) -> Subject:
        found = self.subjects.get(kind)
        if found is None:
            raise LookupError(f"no capability declares the subject {kind!r}")
        return found

    def add_subject(self, subject: Subject) -> None:
        if subject.kind in self.subjects:
            raise ValueError(f"subject {subject.kind!r} is declared twice")
        self.subjects[subject.kind] = subject

    def add_reminder(self, source: ReminderSource) -> None:
        if any(r.kind == source.kind for r in self.reminders):
            raise ValueError(f"reminder source {source.kind!r} is declared twice")
        self.reminders.append(source)

    def add_listener(self, event: str, listener: ListenerFn) -> None:
        self.listeners.setdefault(event, []).append(listener)

    def add_section(self, section: type[TenantSection]) -> None:
        clash = {k for s in self.sections for k in s.model_fields} & set(section.model_fields)
        if clash:
            raise ValueError(f"tenant settings declared twice: {', '.join(sorted(clash))}")
        self.sections.append(section)

    def add(self, spec: CommandSpec) -> CommandSpec:
        if spec.name in self.commands:
            raise ValueError(f"command {spec.name!r} is declared twice")
        self.commands[spec.name] = spec
        return spec

    def add_action(self, spec: ActionSpec) -> None:
        if spec.prefix in self.actions:
            raise ValueError(f"action {spec.prefix!r} is declared twice")
        self.actions[spec.prefix] = spec

    def add_download(self, kind: str, handler: DownloadHandler) -> None:
        if kind in self.downloads:
            raise ValueError(f"download {kind!r} is declared twice")
        self.downloads[kind] = handler

    def groups(self) -> list[str]:
        return sorted({s.group for s in self.commands.values()})

    def resolve(self, words: list[str]) -> tuple[CommandSpec, list[str]]:
        """Longest command name that prefixes the words; the rest are its arguments."""
        lowered = [w.lower() for w in words]
        for size in (3, 2, 1):
            name = " ".join(lowered[:size])
            if len(lowered) >= size and name in self.commands:
                return self.commands[name], words[size:]
        first = lowered[0] if lowered else ""
        subs = sorted(n.split(" ", 1)[1] for n in self.commands if n.startswith(first + " "))
        names = sorted({*self.commands, *self.groups()})
        guess = " ".join(lowered[:2])
        # The closest names to the first two words or to the first word alone, best first, so
        # `devics London` finds `devices` even beside many `device <action>` commands.
        score = {n: max(difflib.SequenceMatcher(None, guess, n).ratio(),
                        difflib.SequenceMatcher(None, first, n).ratio()) for n in names}
        suggestions = sorted((n for n in names if score[n] >= 0.6), key=lambda n: (-score[n], n))
        raise UnknownCommand(" ".join(words[:2]) if subs else first, suggestions[:3], subs)

    def knows(self, word: str) -> bool:
        """Whether `word` is a command's name or the first word of some (a group)."""
        word = word.lower()
        return any(n == word or n.startswith(word + " ") for n in self.commands)

    def action_for(self, action_id: str) -> ActionSpec | None:
        return self.actions.get(action_id.split(":", 1)[0])


def bind(spec: CommandSpec, rest: list[str], tokens: Tokens) -> dict[str, Any]:
    """Fit the words and key=value pairs to the declared arguments."""
    args: dict[str, Any] = {}
    markers = {a.marker.lower(): a for a in spec.args if a.kind == "marker" and a.marker}
    positional = [a for a in spec.args if a.kind in ("positional", "rest")]
    options = {a.name.lower(): a for a in spec.args if a.kind == "option"}
    catch_all = next((a for a in spec.args if a.kind == "options"), None)
    pos_index = 0
    i = 0
    while i < len(rest):
        word = rest[i]
        marker = markers.get(word.lower())
        if marker is not None and marker.name not in args:
            j = i + 1
            while j < len(rest) and rest[j].lower() not in markers:
                j += 1
            if j == i + 1:
                raise UsageError(spec, f"`{word}` must be followed by the {marker.name}")
            args[marker.name] = " ".join(rest[i + 1 : j])
            i = j
            continue
        if pos_index >= len(positional):
            raise UsageError(spec, f"unexpected `{word}`")
        arg = positional[pos_index]
        if arg.kind == "rest":
            args[arg.name] = (args[arg.name] + " " + word) if arg.name in args else word
        else:
            args[arg.name] = word
            pos_index += 1
        i += 1
    for key, value in tokens.options.items():
        option = options.get(key)
        if option is None and catch_all is not None:  # e.g. an instruction's own parameters
            args.setdefault(catch_all.name, {})[key] = value
            continue
        if option is None:
            allowed = ", ".join(f"{k}=" for k in options) or "none"
            raise UsageError(spec, f"`{key}=` is not an option here (options: {allowed})")
        args[option.name] = value
    for arg in spec.args:
        if arg.kind == "options":
            args.setdefault(arg.name, {})
            continue
        if arg.name not in args:
            if arg.required:
                raise UsageError(spec, f"missing {arg.usage().strip('[]')}")
            args[arg.name] = None
            continue
        args[arg.name] = _convert(spec, arg, args[arg.name])
    return args


def _convert(spec: CommandSpec, arg: Arg, value: str) -> Any:
    if value == "":
        raise UsageError(spec, f"{arg.name} is empty")
    if arg.choices and value.lower() not in arg.choices:
        raise UsageError(spec, f"{arg.name} must be one of {', '.join(arg.choices)}, not `{value}`")
    if arg.choices:
        return value.lower()
    if arg.convert is None:
        return value
    try:
        return arg.convert(value)
    except ValueError as exc:
        raise UsageError(spec, f"{arg.name}: {exc}") from None


def csv_list(value: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise ValueError("give at least one name, separated by commas")
    return items


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"`{value}` is not a whole number") from None
    if number < 1:
        raise ValueError("must be 1 or more")
    return number
