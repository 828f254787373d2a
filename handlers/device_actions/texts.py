"""Everything the device actions say to people, in one place."""

from __future__ import annotations

NOT_CONFIGURED_TITLE = "Workspace ONE is not set up"
NOT_CONFIGURED = ("Workspace ONE is not set up. An administrator sets DESKHAND_WS1_URL and "
                  "DESKHAND_WS1_TENANT_CODE, with DESKHAND_WS1_CLIENT_ID and _CLIENT_SECRET "
                  "(OAuth) or DESKHAND_WS1_USERNAME and _PASSWORD (Basic).")
NOT_MANAGED_TITLE = "Not managed by Workspace ONE"
NOT_MANAGED = "Workspace ONE does not manage {device} (looked up by serial number and name)."
NOT_APPLICABLE_TITLE = "Not available on this device"
NOT_APPLICABLE = ("{verb} is not available on {device}, a {platform} device. It applies to "
                  "{platforms} devices.")
UNKNOWN_PLATFORM = "a platform deskhand cannot act on"
WHAT = "{verb} {device}"  # what a denial says the person tried
DONE_TITLE = "{verb}: {device}"
DONE = {
    "lock": "Workspace ONE sent the lock command to {device}.",
    "sync": "Workspace ONE asked {device} to check in and sync.",
    "find": "Workspace ONE asked {device} to play its sound so it can be found.",
    "message": "Workspace ONE sent your message to {device}.",
}
VERBS = {"lock": "Lock", "sync": "Sync", "find": "Find device", "message": "Send a message"}
SUMMARIES = {
    "lock": "Lock a managed device through Workspace ONE.",
    "sync": "Make a managed device check in with Workspace ONE.",
    "find": "Make a phone or tablet play a sound so it can be found.",
    "message": "Send a push message to a managed device.",
}
NOTE = "{at} UTC: {verb} by {person} through deskhand{purpose}."
NOTE_ADDED = "A note was added to the device in Workspace ONE."
NOTE_FAILED = "The action was sent, but the note on the device could not be added: {reason}"
MESSAGE_HELP = "the text to show on the device"
MESSAGE_TOO_LONG = "a message may be at most {limit} characters; this one has {size}"
MESSAGE_EMPTY = "the message is empty; write message=\"...\""
