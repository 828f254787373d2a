"""Everything the identity capability says to people, in one place."""

from __future__ import annotations

ACCOUNT_FORMAT = ("a chat account is written `slack:<team id>:<user id>` (e.g. "
                  "`slack:T0123ABCD:U0456EFGH`) or `teams:<Entra tenant id>:<Entra object id>`; "
                  "in Slack, `@someone` works too")
BAD_ACCOUNT = "`{value}` is not a chat account: " + ACCOUNT_FORMAT + "."
CONSOLE_ACCOUNT = ("Console accounts are linked by deskhand itself when a person signs in; only "
                   "Slack and Teams accounts are linked by hand.")
WRONG_TEAMS_TENANT = ("`{value}` is in Entra tenant {tenant}, but this deskhand's Teams app "
                      "serves tenant {ours} only.")
OTHER_TENANT = "That chat account belongs to another deskhand tenant, so it cannot be linked here."
OTHER_WORKSPACE = ("`{account}` is in {workspace}, which {belongs}, so it cannot be linked here: "
                   "its requests are never this tenant's.")
BELONGS_ELSEWHERE = "belongs to another deskhand tenant"
BELONGS_NOWHERE = "is not connected to a deskhand tenant (`deskhand tenant map`)"
UNKNOWN_PERSON = "Nobody with the email {email} is in the directory; `identity list` shows who is."
NOT_LINKED = "`{account}` is not linked to anyone here; `identity list` shows the links."
LINKED_TITLE = "{account} linked to {email}"
LINKED = "Commands and clicks from that chat account now act as {name} ({email})."
MOVED = "It was linked to {before} until now."
SAME = "It was linked to {email} already; nothing changed."
UNLINKED_TITLE = "{account} unlinked"
UNLINKED = ("It no longer acts as {email}. On its next command deskhand links it again by the "
            "email its platform reports, if that email is in the directory.")
LIST_TITLE = "Chat accounts linked to people"
LIST_PERSON_TITLE = "Chat accounts of {email}"
LIST_NONE = "No chat account is linked yet: accounts link themselves on their first command."
LIST_HINT = "`identity link <account> to <email>` links one by hand; `identity unlink <account>` removes one."
LIST_MORE = "Only the first {limit} are shown: name a person (`identity list <email>`)."
DEACTIVATED_NOTE = "{email} is deactivated: deskhand refuses them on every account."
