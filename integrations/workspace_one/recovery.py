"""Reading BitLocker and FileVault recovery keys (integrations.md 3.6).

BitLocker: the device's drives, each drive's protectors, then each recovery key by its id.
FileVault: one call. The field names of these answers are UNCERTAIN, so they are read in any
casing and under the few names seen (`RecoveryKey`, `Key`, `RecoveryPassword`...), and a list
is taken whether it comes bare or wrapped in an object.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from integrations.workspace_one.models import RecoveryKey

Fetch = Callable[[str], Awaitable[Any]]  # GET a path below the API root -> its JSON (None: empty)
KEY_FIELDS = ("recoverykey", "recoverypassword", "key", "recovery_key", "value")
ID_FIELDS = ("recoverykeyid", "keyid", "id", "recovery_key_id", "protectorid")
VOLUME_FIELDS = ("volumeidentifier", "volumeid", "volume", "driveletter", "id")


def _get(row: Any, names: tuple[str, ...]) -> str:
    if not isinstance(row, dict):
        return ""
    lowered = {str(k).lower(): v for k, v in row.items()}
    for name in names:
        value = lowered.get(name)
        if isinstance(value, dict):  # a wrapped id
            value = value.get("Value")
        if value not in (None, ""):
            return str(value)
    return ""


def _rows(data: Any) -> list[dict[str, Any]]:
    """The list in an answer: the answer itself, or the first list-valued field of an object."""
    if isinstance(data, list):
        return [r for r in data if isinstance(r, dict)]
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, list):
                return [r for r in value if isinstance(r, dict)]
    return []


async def bitlocker_keys(fetch: Fetch, device_uuid: str) -> list[RecoveryKey]:
    keys: list[RecoveryKey] = []
    base = f"mdm/devices/{quote(device_uuid)}/bitlocker"
    for drive in _rows(await fetch(f"{base}/drives")):
        volume = _get(drive, VOLUME_FIELDS)
        if not volume:
            continue
        for protector in _rows(await fetch(f"{base}/drives/{quote(volume)}/protectors")):
            key_id = _get(protector, ID_FIELDS)
            if not key_id:
                continue
            key = _get(await fetch(f"{base}/recoveryKey/{quote(key_id)}"), KEY_FIELDS)
            if key:
                label = _get(drive, ("driveletter", "name")) or volume
                keys.append(RecoveryKey("BitLocker", key, volume=label, key_id=key_id))
    return keys


async def filevault_key(fetch: Fetch, device_uuid: str) -> RecoveryKey | None:
    data = await fetch(f"mdm/devices/{quote(device_uuid)}/security/recovery-key")
    key = _get(data, KEY_FIELDS)
    return RecoveryKey("FileVault", key, key_id=_get(data, ID_FIELDS)) if key else None
