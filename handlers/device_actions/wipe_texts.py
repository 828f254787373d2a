"""Everything the wipes say to people, in one place (the device actions' voice)."""

from __future__ import annotations

# by kind ("wipe" | "enterprise-wipe")
NAMES = {"wipe": "Wipe", "enterprise-wipe": "Enterprise wipe"}
WHAT_IT_DOES = {
    "wipe": ("A device wipe *resets {device} to factory settings*: every app, file and setting on "
             "it is erased and cannot be recovered, and it leaves management."),
    "enterprise-wipe": ("An enterprise wipe *removes corporate data and management from {device}*: "
                        "the work apps, their data, the profiles and the Workspace ONE enrollment "
                        "go; personal data stays."),
}
SUMMARIES = {
    "wipe": "Factory-reset a managed device (typed confirmation, then an approver's approval).",
    "enterprise-wipe": "Remove corporate data and management from a device (typed confirmation, "
                       "then an approval).",
}
COMMAND_VERB = {"wipe": "device wipe", "enterprise-wipe": "device enterprise-wipe"}
WHAT = "{name} {device}"  # what a denial says the person tried

# the confirmation card
CONFIRM_TITLE = "{name} {device}?"
CONFIRM_NEXT = ("To go on, type the device's name below and press *Request wipe*. An approver "
                "(someone other than you) must then approve it before Workspace ONE gets the "
                "command. Nothing is sent until then.")
CONFIRM_INPUT = "Type the device name to confirm"
CONFIRM_PLACEHOLDER = "the device name, as shown above"
CONFIRM_BUTTON = "Request wipe"
CONFIRM_MINUTES = 30  # a confirmation card older than this is refused: ask again
MISMATCH_TITLE = "The name does not match"
MISMATCH = ("You typed `{typed}`, which is not this device's name. Type `{device}` (any casing) "
            "and press Request wipe again; nothing was requested.")
EMPTY = ("Type the device's name, `{device}`, in the box and press Request wipe again; nothing "
         "was requested.")
NOT_YOURS = "Only {email}, who asked for wipe {id}, may confirm it."
ALREADY = "Wipe {id} of {device} is already past its confirmation: it is {state}."
ALREADY_TITLE = "Already confirmed"
STALE_TITLE = "Confirmation expired"
STALE = ("This confirmation is more than {minutes} minutes old, so it no longer counts. Run "
         "`{command} {device}` again if the wipe is still needed.")
UNKNOWN_WIPE_TITLE = "Unknown wipe"
UNKNOWN_WIPE = "There is no wipe request {id}."

# the request card (approvers' and requester's copies)
CARD_TITLE = {"approvers": "Approval needed: {name} {device}", "requester": "{name} {device}"}
ALWAYS_APPROVED = "Wipes always need an approver's approval, whatever the tenant's approval setting."
ACTION_LABEL = {"wipe": "Device wipe (factory reset)",
                "enterprise-wipe": "Enterprise wipe (corporate data and management)"}
LABELS = {
    "confirming": "waiting for the typed confirmation",
    "awaiting_approval": "waiting for approval",
    "approved": "approved, about to be sent",
    "sending": "being sent to Workspace ONE",
    "sent": "sent to Workspace ONE",
    "failed": "failed",
    "unknown": "unknown: check Workspace ONE",
    "denied": "denied",
    "cancelled": "cancelled: the requester was deactivated",
    "expired": "expired",
}
WHEN_APPROVED = "Workspace ONE gets the wipe command now."
SUBJECT_LABEL = "{name} {id}"

# sending
SENT_TITLE = "{name} sent: {device}"
SENT = "Workspace ONE accepted the {name_lower} command for {device}; it runs when the device checks in."
FAILED_TITLE = "{name} not sent: {device}"
FAILED = "Workspace ONE did not take the {name_lower} command for {device}: {reason}"
UNKNOWN_TITLE = "{name} of {device}: check Workspace ONE"
GONE = "Workspace ONE no longer knows this device (id {ws1_id}); nothing was sent."
NOT_THE_SAME = ("Workspace ONE id {ws1_id} no longer names {device} (its name and serial number "
                "differ now), so nothing was sent. Ask for the wipe again.")
INTERRUPTED = ("deskhand was interrupted while sending the {name_lower} command to Workspace ONE, "
               "so it cannot tell whether the command arrived. It is never sent again "
               "automatically: look at {device} in the Workspace ONE console (its commands and "
               "events) before asking again.")
NEVER_SENT = ("deskhand was interrupted before sending it and the approval is too old to act on "
              "now; nothing was sent. Ask again if it is still needed.")
NOTE = "{at} UTC: {name} by {person} through deskhand{purpose}, approved by {approver}."
NOTE_ADDED = "A note was added to the device in Workspace ONE."
NOTE_FAILED = "The wipe was sent, but the note on the device could not be added: {reason}"
