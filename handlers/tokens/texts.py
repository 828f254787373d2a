"""Everything the tokens capability says to people, in one place."""

from __future__ import annotations

LIFETIMES_TEXT = "1m, 3m, 6m or 1y"
BAD_LIFETIME = "`expires={value}` is not a lifetime deskhand offers; use " + LIFETIMES_TEXT + "."
BAD_STATUS = "`status={value}` is not a token state; use pending, active, revoked or expired."
OFF = ("Data access is off in this workspace, so no token can be created or used. "
       "`data-access enable` turns it on.")
ON_ALREADY = "Data access is on already."
OFF_ALREADY = "Data access is off already; there are no tokens."
ENABLED = ("Data access is on: `token create name=... description=... expires=1m|3m|6m|1y` "
           "makes a token for the Delta Sharing endpoint at {endpoint}.")
DISABLE_ASK = ("Turning data access off deletes every data-access token of this workspace "
               "({count} now): whoever reads data with one is cut off at once. This cannot be undone.")
DISABLED = ("Data access is off. {count} token(s) were deleted; the Delta Sharing endpoint refuses "
            "every token.")
UNKNOWN = "There is no token {id} here; `token list` shows the tokens."
NOT_CREATOR = ("Only whoever created token {id} ({creator}) can download its profile: the file "
               "holds the secret and is sent to them alone.")
NOT_PENDING = ("Token {id} is {state}: its profile file was downloaded already or it cannot be "
               "used any more. Each token's profile is downloaded once; create a replacement instead.")
NOWHERE_PRIVATE = ("A token's download link must reach you alone, and this conversation is shared. "
                   "Open a 1:1 chat with deskhand and type `token download {id}` there.")
DOWNLOAD = ("This link is for you alone: it works once, within {minutes} minutes. Opening it "
            "makes token {id} active and gives you its Delta Sharing profile file; keep that file "
            "like a password. Do not forward the link.")
HOW_TO_DOWNLOAD = "Get its profile file with `token download {id}` (the link comes to you privately)."
REVOKE_ASK = "Whoever reads data with token {id} ({name}) is cut off at once."
REVOKED = "Token {id} ({name}) is revoked: the Delta Sharing endpoint refuses it from now on."
ALREADY_ENDED = "Token {id} was already {state}."
NO_TOKENS = "No token matches."
OWNER_DEACTIVATED = "its creator was deactivated in the directory"
LIST_HINT = "`token revoke <id>` revokes one; `token download <id>` gets a pending one's profile."
REFRESHED = "Readers get these versions from their next query on."

# The one-time profile page (opened in a browser).
PAGE_TITLE = "Your Delta Sharing profile"
PAGE_ASK = ("Download the profile file of data-access token {id}. The link works once: "
            "the file holds the token's secret, which deskhand does not keep.")
LINK_INVALID = ("This download link is not valid or has expired. Ask deskhand for a new one with "
                "`token download <id>`.")
LINK_USED = ("This download link was used already, or its token is no longer pending: each profile "
             "file is given out once. Create a replacement token if the file was lost.")
LINK_OFF = "Data access is off in this workspace."
LINK_FOREIGN = "That download came from another site."
