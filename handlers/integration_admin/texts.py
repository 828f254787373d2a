"""Everything `integrations ...` says to people, in one place."""

from __future__ import annotations

LIST_TITLE = "Integrations of this workspace"
LIST_FOOT = ("Change with `integrations set <name> key=value ...`, check with "
             "`integrations test [name]`. Secrets are only said to be set or not set.")
NO_INTEGRATIONS = "This deskhand has no vendor integrations."
STATUS_READY = "configured"
STATUS_NEEDS = "incomplete: needs {needs}"
STATUS_NONE = "not set up"
STATUS_TROUBLE = "cannot be used: {trouble}"
SOURCES = {"tenant record": "this workspace's own configuration",
           "deployment default": "the deployment's DESKHAND_* configuration",
           "not set up": "none"}
UPDATED_BY = "last changed by {who}"

UNKNOWN_TITLE = "Unknown integration"
UNKNOWN = "There is no integration `{name}`. Integrations: {names}."
NOTHING_TITLE = "Nothing to set"
NOTHING = ("Give at least one `key=value`, e.g. `integrations set {name} {key}=...`. "
           "Keys of {name}: {keys}.")
REFUSED_TITLE = "Check the values"
REFUSED = "Nothing was changed. {reasons}."
PUBLIC_TITLE = "Secrets only in a private chat"
PUBLIC = ("Nothing was changed: {keys} {verb} secret, and this conversation is not private. Set "
          "secrets in a direct message to deskhand, a Slack slash command or the console. What "
          "you typed here was visible to others: replace that secret at the vendor.")
SET_TITLE = "{title} configuration changed"
SET_SOURCE = ("This workspace now uses its own {title} configuration (not the deployment's "
              "DESKHAND_* settings).")
SET_NEEDS = "It is not complete yet: it still needs {needs}."
SET_NEXT = "Check it with `integrations test {name}`; it applies from the next command on."
UNSET_TITLE = "{title} configuration removed"
UNSET_ALL = "This workspace's own {title} configuration is gone. {fallback}"
FALLBACK_DEFAULT = "It uses the deployment's DESKHAND_* configuration again."
FALLBACK_NONE = "{title} is not set up here any more."
UNSET_KEYS = "Removed {keys}; their defaults apply."
NO_RECORD_TITLE = "Nothing to remove"
NO_RECORD = "This workspace has no {title} configuration of its own."
TEST_TITLE = "Integration check"
TEST_MARKS = {"ok": "ok", "problem": "PROBLEM", "off": "off"}
TEST_FOOT = "{problems} problem(s) found."

SUMMARY_LIST = "The vendor integrations of this workspace and where their configuration comes from."
SUMMARY_SET = "Set an integration's configuration for this workspace (secrets are kept encrypted)."
SUMMARY_UNSET = "Remove keys of an integration's configuration, or all of it."
SUMMARY_TEST = "Test the connection to one integration, or all of them."
