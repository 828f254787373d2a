"""Which device actions apply to which platform: pure data and one function.

Sources: integrations.md section 3 says where it is explicit (BitLocker keys on Windows,
FileVault keys on macOS; wipes' platform parameters); the rest follows the platforms the
Workspace ONE console offers each action on (UNCERTAIN in detail: Workspace ONE answers a
command a platform does not support with an error, which the client reports plainly).
"""

from __future__ import annotations

from enum import StrEnum

from integrations.workspace_one.models import Platform

ANDROID, IOS, MACOS, LINUX, WINDOWS = (Platform.ANDROID, Platform.IOS, Platform.MACOS,
                                       Platform.LINUX, Platform.WINDOWS)
EVERY = frozenset(Platform)


class Action(StrEnum):
    LOCK = "lock"
    SYNC = "sync"
    SOFT_RESET = "soft-reset"
    ENTERPRISE_WIPE = "enterprise-wipe"
    DEVICE_WIPE = "wipe"
    CLEAR_PASSCODE = "clear-passcode"
    CHANGE_PASSCODE = "change-passcode"
    FIND = "find"
    LOG = "log"
    MESSAGE = "message"
    RECOVERY_KEY = "recovery-key"
    NOTE = "note"


APPLIES: dict[Action, frozenset[Platform]] = {
    Action.LOCK: frozenset({ANDROID, IOS, MACOS, WINDOWS}),
    Action.SYNC: EVERY,
    Action.SOFT_RESET: EVERY,
    Action.ENTERPRISE_WIPE: EVERY,
    Action.DEVICE_WIPE: frozenset({ANDROID, IOS, MACOS, WINDOWS}),
    Action.CLEAR_PASSCODE: frozenset({ANDROID, IOS}),
    Action.CHANGE_PASSCODE: frozenset({ANDROID}),
    Action.FIND: frozenset({ANDROID, IOS}),
    Action.LOG: frozenset({ANDROID, IOS, MACOS, WINDOWS}),
    Action.MESSAGE: frozenset({ANDROID, IOS, MACOS, WINDOWS}),
    Action.RECOVERY_KEY: frozenset({MACOS, WINDOWS}),  # FileVault, BitLocker
    Action.NOTE: EVERY,
}
ORDER = tuple(Platform)  # how platforms are listed to people


def applies(action: Action, platform: Platform | None) -> bool:
    """Whether `action` can be sent to a device of `platform` (an unknown platform: no)."""
    return platform is not None and platform in APPLIES[action]


def platforms_for(action: Action) -> list[Platform]:
    """The platforms `action` applies to, in a stable order, to name them in a refusal."""
    return [p for p in ORDER if p in APPLIES[action]]


def actions_for(platform: Platform | None) -> list[Action]:
    """Every action that applies to `platform`, in declaration order (a device card's buttons)."""
    return [a for a in Action if applies(a, platform)]
