"""Everything the incidents capability says to people (and writes to ServiceNow), in one place."""

from __future__ import annotations

NOT_CONFIGURED_TITLE = "ServiceNow is not set up"
NOT_CONFIGURED = ("ServiceNow is not set up for this workspace. An administrator runs "
                  "`integrations set servicenow url=... username=... password=...` (or "
                  "client_id= and client_secret= for OAuth); the deployment's own tenant may use "
                  "DESKHAND_SERVICENOW_URL with DESKHAND_SERVICENOW_USERNAME and _PASSWORD (or "
                  "_CLIENT_ID and _CLIENT_SECRET).")
SIGNED_IN = "ServiceNow accepts deskhand's sign-in and lets it read incidents."
UNKNOWN_TITLE = "Unknown incident"
UNKNOWN = "ServiceNow has no incident {number} (or deskhand's user may not see it)."
NUMBER_HELP = "an incident number like INC0010023"
NOT_A_NUMBER = "`{value}` is not an incident number like INC0010023"

CARD_TITLE = "{number}: {summary}"
NO_SUMMARY = "(no short description)"
NOBODY = "-"
DEVICE_UNKNOWN = ("{ci} is not in deskhand's inventory (looked up by name and serial number), "
                  "so there are no device buttons.")
NO_DEVICE = "The incident names no device ({field} is empty), so there are no device buttons."
NO_BUTTONS = "You may not act on {device} from here (it is in group {group})."
REMOTE = "Remote"
RUN = "Run instruction"
DEVICE_ACTIONS = "Device actions"

LIST_TITLES = {"open": "Open incidents", "mine": "Your incidents"}
LIST_EMPTY = {"open": "No open incidents.",
              "mine": "No incident is assigned to you or was called in by you ({email})."}
LIST_HINT = "Open one with `incident <number>`."

PICK_TITLE = "Run an instruction on {device} for {number}"
PICK_TEXT = ("Pick an instruction you may run on {device}. Its results are attached to {number} "
             "when the run completes.")
PICK_NONE = "There is no instruction you may run on {device}."
PICK_LABEL = "Instruction"
PARAMS_LABEL = "Parameters (name=value, separated by spaces)"
PARAMS_HINT = "e.g. serviceName=Spooler"
RUN_BUTTON = "Run"
PICK_MISSING = "Pick an instruction first."
PARAMS_BAD = "The parameters could not be read: {problem}. Write them as name=value name=value."

# Written to the incident as work notes (ServiceNow shows them to agents only).
NOTE = "deskhand: {person} ran `{command}`: {outcome}.\nref {ref} · {at} UTC"
OUTCOMES = {"ok": "done", "refused": "refused", "denied": "not allowed", "failed": "failed",
            "error": "failed"}
CLICKED = "{label} (a button on a deskhand card)"
ATTACHED_NOTE = ("deskhand: the results of instruction run {run} ({instruction} on {targets}), "
                 "requested by {person}, are attached as {file}.")
