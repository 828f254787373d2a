"""Revealing a BitLocker or FileVault recovery key: to the requester only, never kept.

The key goes into the answer's card and nowhere else: not into the audit row (which says who
saw the key of which device, and how many keys), not into the note on the device, not into a
log line. Where the answer goes is flow.py's part: only a private place (console private
message, Slack ephemeral, the Teams 1:1 chat), and the request is refused before the key is
fetched when there is none.
"""

from __future__ import annotations

from cards.model import Field, Fields, Section, Text
from handlers.device_actions import texts
from handlers.device_actions.sending import Outcome, Send
from integrations.http import VendorError
from integrations.workspace_one.models import Platform

KINDS = {Platform.WINDOWS: "BitLocker", Platform.MACOS: "FileVault"}


async def reveal(s: Send) -> Outcome:
    kind = KINDS.get(s.target.platform) if s.target.platform else None
    try:
        keys = await s.client.recovery_keys(s.target, cid=s.cid)
    except VendorError as exc:
        if exc.status != 404:  # 404: Workspace ONE holds no key for it (FileVault says so)
            raise
        keys = []
    device = s.target.name or s.target.serial
    if not keys:
        return Outcome((Text(texts.NO_KEY.format(kind=kind or "", device=device)),),
                       {"kind": kind, "found": 0})
    sections: list[Section] = [Text(texts.DONE["recovery-key"])]
    for key in keys:
        items = [Field("Type", key.kind)]
        if key.volume:
            items.append(Field("Volume", key.volume))
        if key.key_id:
            items.append(Field("Key id", key.key_id))
        items.append(Field("Recovery key", f"`{key.key}`"))
        sections.append(Fields(tuple(items)))
    return Outcome(tuple(sections), {"kind": keys[0].kind, "found": len(keys)})
