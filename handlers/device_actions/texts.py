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

# Per Workspace ONE action: what it is called (titles, buttons, notes) and what a success says.
VERBS = {"lock": "Lock", "sync": "Sync", "find": "Find device", "message": "Send a message",
         "soft-reset": "Restart", "clear-passcode": "Clear passcode",
         "change-passcode": "Change passcode", "log": "Request the device log",
         "recovery-key": "Show the recovery key", "note": "Add a note", "wipe": "Wipe",
         "enterprise-wipe": "Enterprise wipe"}
# Per command word: what `help` says.
SUMMARIES = {
    "lock": "Lock a managed device through Workspace ONE.",
    "sync": "Make a managed device check in with Workspace ONE.",
    "find": "Make a phone or tablet play a sound so it can be found.",
    "message": "Send a push message to a managed device.",
    "soft-reset": "Restart (soft reset) a managed device.",
    "passcode": "Clear a phone's passcode, or set a new one with passcode= (Android).",
    "log": "Ask a managed device for its log (it appears in Workspace ONE).",
    "recovery-key": "Show a BitLocker or FileVault recovery key, to you only.",
    "add": "Add a note to a device in Workspace ONE.",
}
DONE = {
    "lock": "Workspace ONE sent the lock command to {device}.",
    "sync": "Workspace ONE asked {device} to check in and sync.",
    "find": "Workspace ONE asked {device} to play its sound so it can be found.",
    "message": "Workspace ONE sent your message to {device}.",
    "soft-reset": "Workspace ONE sent the restart command to {device}.",
    "clear-passcode": "Workspace ONE sent the command to clear the passcode of {device}.",
    "change-passcode": "Workspace ONE sent the new passcode to {device}. Give it to the user "
                       "over a trusted channel.",
    "log": "Workspace ONE asked {device} for its log; it appears on the device's page in "
           "Workspace ONE when the device sends it.",
    "recovery-key": "Only you can see this. Read it to the user; deskhand does not keep it.",
    "note": "The note was added to {device} in Workspace ONE.",
}
# A question before a card button sends something disruptive.
CONFIRM = {
    "lock": "Lock {device} now? Whoever uses it must unlock it again.",
    "soft-reset": "Restart {device} now? Unsaved work on it may be lost.",
    "clear-passcode": "Clear the passcode of {device}? Anyone holding it can then open it.",
    "recovery-key": "Show the recovery key of {device} to you only? The reveal is audited.",
}

NOTE = "{at} UTC: {verb} by {person} through deskhand{purpose}."
NOTE_BY = "{text} (added by {person} through deskhand, {at} UTC)"  # `device add`
NOTE_ADDED = "A note was added to the device in Workspace ONE."
NOTE_FAILED = "The action was sent, but the note on the device could not be added: {reason}"

MESSAGE_HELP = "the text to show on the device"
NOTE_HELP = "the note to add to the device"
PASSCODE_HELP = "a new passcode (Android); without it the passcode is cleared"
TEXT_TOO_LONG = "{what} may be at most {limit} characters; this one has {size}"
TEXT_EMPTY = "the {what} is empty; write {name}=\"...\""
PASSCODE_BAD = ("a passcode is {low} to {high} characters without spaces; this one has {size}"
                " characters")
INPUT_MISSING = "Write the {what} first, then press {button}."

# Recovery keys.
KEY_TITLE = "Recovery key: {device}"
NO_KEY = "Workspace ONE holds no {kind} recovery key for {device}."
NOWHERE_PRIVATE_TITLE = "Ask me in a private chat"
NOWHERE_PRIVATE = ("A recovery key is only shown in a chat nobody else reads, and deskhand has "
                   "no private chat with you here yet. Open a 1:1 chat with deskhand and ask "
                   "there.")
KEY_SENT = "The recovery key of {device} is in our private chat."

# `for <email>`: the end user must be the device's enrolled user (setting email_validation).
MISMATCH_TITLE = "Not the device's user"
MISMATCH = ("{email} is not the user enrolled on {device} in Workspace ONE, so nothing was "
            "sent. Check the device and the end user's email; an administrator can exempt an "
            "email with the setting email_validation_exceptions.")
NO_ENROLLED_USER = ("Workspace ONE names no enrolled user for {device}, so deskhand cannot check "
                    "that it belongs to {email}; nothing was sent. An administrator can fix the "
                    "device's enrollment in Workspace ONE, or exempt the email with the setting "
                    "email_validation_exceptions.")
# `for <incident>` reads the incident's caller: it needs incident.read over the device.
WHAT_TICKET = "act on {device} for {ticket}, which reads the incident (incident.read)"
# The device card opened from an incident: its buttons act for that incident.
FOR_TICKET = ("Actions from this card are run for {ticket}, as `device <action> {device} for "
              "{ticket}`.")

SECRET_IN_PUBLIC_TITLE = "Not here"
SECRET_IN_PUBLIC = ("Everyone in this conversation can read what you typed, so the {what} was not "
                    "used. Set it in a private chat with deskhand, a slash command, or the "
                    "device card's form; and choose a new one, since this one was seen.")

# The device card.
CARD_TITLE = "Device {device}"
NO_ACTIONS = "You may not run any device action on this device."
ACTIONS_HINT = "Actions you may run here:"
FORM_TITLE = "{verb}: {device}"
FORM_SEND = "Send"
FORM_ADD = "Add"
NEVER = "never"
