"""Everything the device actions say to people, in one place."""

from __future__ import annotations

NOT_CONFIGURED_TITLE = "Workspace ONE is not set up"
NOT_CONFIGURED = ("Workspace ONE is not set up for this workspace. An administrator runs "
                  "`integrations set workspace-one url=... tenant_code=... username=... "
                  "password=...` (or client_id= and client_secret= for OAuth); the deployment's "
                  "own tenant may use DESKHAND_WS1_URL, DESKHAND_WS1_TENANT_CODE and "
                  "DESKHAND_WS1_USERNAME and _PASSWORD (or _CLIENT_ID and _CLIENT_SECRET).")
SIGNED_IN = "Workspace ONE accepts deskhand's sign-in and lists {total} devices."
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
