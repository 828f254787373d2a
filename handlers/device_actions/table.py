"""The device actions as data: one entry per `device <word>` command and one runner per Workspace
ONE action. Adding an action is an entry in ACTIONS (and its runner in RUNNERS, its texts in
texts.py); the command, its help, its permission check, its buttons and its audit come from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from handlers.device_actions import texts
from handlers.device_actions.recovery import reveal
from handlers.device_actions.sending import Outcome, Runner, Send
from integrations.workspace_one.actions import Action
from integrations.workspace_one.client import Command

TEXT_LIMIT = 500
PASSCODE_LENGTH = (4, 16)


def _text(what: str, name: str) -> Callable[[str], str]:
    def convert(value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError(texts.TEXT_EMPTY.format(what=what, name=name))
        if len(text) > TEXT_LIMIT:
            raise ValueError(texts.TEXT_TOO_LONG.format(what=f"a {what}", limit=TEXT_LIMIT,
                                                        size=len(text)))
        return text
    return convert


def parse_passcode(value: str) -> str:
    low, high = PASSCODE_LENGTH
    if not low <= len(value) <= high or any(c.isspace() for c in value):
        raise ValueError(texts.PASSCODE_BAD.format(low=low, high=high, size=len(value)))
    return value


parse_message = _text("message", "message")
parse_note = _text("note", "note")


@dataclass(frozen=True)
class Input:
    """The one value an action takes: `name=` on the command line, a text box on a card."""

    name: str
    help: str
    label: str
    convert: Callable[[str], str]
    secret: bool = False  # a passcode: never shown back, redacted in the audit (bot/audit.py)
    multiline: bool = False


@dataclass(frozen=True)
class DeviceAction:
    """`device <word> <device> [for ...] [<input>=...]`.

    `plain` is what Workspace ONE is asked without the input, `with_input` what it is asked when
    the input is given; an action with only `with_input` requires the input."""

    word: str
    permission: str
    plain: Action | None = None
    with_input: Action | None = None
    input: Input | None = None
    note_after: bool = True  # the tenant's device_note_after_action applies
    secret: bool = False  # the answer holds a secret: only asked where a private place exists
    examples: tuple[str, ...] = ()

    def ws1(self, value: str | None) -> Action:
        chosen = self.with_input if value else self.plain
        assert chosen is not None, f"device {self.word} needs its {self.input and self.input.name}"
        return chosen

    @property
    def variants(self) -> tuple[Action, ...]:
        return tuple(a for a in (self.plain, self.with_input) if a is not None)


def _command(command: Command) -> Runner:
    async def run(s: Send) -> Outcome:
        await s.client.command(s.target, command, cid=s.cid)
        return Outcome()
    return run


async def _find(s: Send) -> Outcome:
    await s.client.find_device(s.target, cid=s.cid)
    return Outcome()


async def _message(s: Send) -> Outcome:
    await s.client.send_message(s.target, s.value, cid=s.cid)
    return Outcome()


async def _change_passcode(s: Send) -> Outcome:
    await s.client.change_passcode(s.target, s.value, cid=s.cid)
    return Outcome()


async def _log(s: Send) -> Outcome:
    await s.client.request_device_log(s.target, cid=s.cid)
    return Outcome()


async def _note(s: Send) -> Outcome:
    # Workspace ONE shows deskhand's API account as the author: the note names the person.
    await s.client.add_note(s.target, texts.NOTE_BY.format(text=s.value, person=s.person, at=s.at),
                            cid=s.cid)
    return Outcome()


RUNNERS: dict[Action, Runner] = {
    Action.LOCK: _command(Command.LOCK), Action.SYNC: _command(Command.SYNC),
    Action.SOFT_RESET: _command(Command.SOFT_RESET),
    Action.CLEAR_PASSCODE: _command(Command.CLEAR_PASSCODE),
    Action.CHANGE_PASSCODE: _change_passcode, Action.FIND: _find, Action.LOG: _log,
    Action.MESSAGE: _message, Action.NOTE: _note, Action.RECOVERY_KEY: reveal,
}


MESSAGE = Input("message", texts.MESSAGE_HELP, "Message to show on the device", parse_message,
                multiline=True)
NOTE = Input("note", texts.NOTE_HELP, "Note", parse_note, multiline=True)
PASSCODE = Input("passcode", texts.PASSCODE_HELP, "New passcode", parse_passcode, secret=True)

# In the order the device card offers them. Wipes (device.wipe, device.enterprise_wipe) are not
# here: they need a typed confirmation and an approval (their own flow).
ACTIONS: tuple[DeviceAction, ...] = (
    DeviceAction("lock", "device.lock", Action.LOCK),
    DeviceAction("sync", "device.sync", Action.SYNC),
    DeviceAction("soft-reset", "device.soft_reset", Action.SOFT_RESET),
    DeviceAction("find", "device.find", Action.FIND,
                 examples=("device find IPH-0001", "device find AND-0001 for INC0012345")),
    DeviceAction("message", "device.message", with_input=Action.MESSAGE, input=MESSAGE, examples=(
        'device message PC-0001 message="Please restart before 5pm"',
        'device message PC-0001 for ann@example.com message="Call the desk"')),
    DeviceAction("passcode", "device.passcode", Action.CLEAR_PASSCODE, Action.CHANGE_PASSCODE,
                 PASSCODE, examples=("device passcode IPH-0001",
                                     "device passcode AND-0001 passcode=482913")),
    DeviceAction("log", "device.log", Action.LOG),
    DeviceAction("recovery-key", "device.recovery_key", Action.RECOVERY_KEY, secret=True,
                 examples=("device recovery-key PC-0001",)),
    DeviceAction("add", "device.add", with_input=Action.NOTE, input=NOTE, note_after=False,
                 examples=('device add PC-0001 note="Screen replaced under warranty"',)),
)
BY_WORD: dict[str, DeviceAction] = {a.word: a for a in ACTIONS}
WITH_INPUT = tuple(a.word for a in ACTIONS if a.input is not None)
PLAIN = tuple(a.word for a in ACTIONS if a.plain is not None)
PERMISSIONS = tuple(dict.fromkeys(a.permission for a in ACTIONS))
