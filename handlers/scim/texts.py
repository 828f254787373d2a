"""What the SCIM server and `deskhand scim-token` say (one voice: what was wrong, what is allowed)."""

from __future__ import annotations

UNAUTHORIZED = ("missing or wrong bearer token: send `Authorization: Bearer <token>` with the "
                "token `deskhand scim-token create|rotate --tenant <slug>` printed")
TOO_LARGE = "the request body is over {limit} bytes; send fewer members per request"
NOT_JSON = "the request body is not a JSON object"
NOT_FOUND_USER = "there is no user {id} in this directory"
NOT_FOUND_GROUP = "there is no group {id} in this directory"
NOT_FOUND_PATH = "there is no SCIM endpoint {path}"
USER_NAME_TAKEN = "the userName {value} already belongs to user {id}"
EMAIL_TAKEN = "the email {value} already belongs to user {id}"
GROUP_TAKEN = "the group name {value} already belongs to group {id}"
CONFLICT = "another request changed this directory at the same time; send it again"
CHANGED = ("the resource has changed since the version in If-Match (it is now {version}): "
           "read it again, then send the change")
NO_EMAIL = ("a user needs an email address: a userName or an emails value with an @ "
            "(deskhand links chat accounts by email)")
NOT_A_MEMBER = "member {value} is not a user of this directory"
BAD_INTEGER = "{name} must be a whole number, not {value!r}"
FILTER_TOO_LONG = "the filter is over {limit} characters"
FILTER_ONLY = ("only `eq` comparisons joined by `and` are supported, on {attrs}; "
               "for example: {example}")
FILTER_VALUE = "the filter compares {attr} with {value!r}; compare it with a quoted string"
BAD_ATTRIBUTES = "attributes and excludedAttributes name attributes of the resource: {detail}"
METHOD = "{method} is not allowed here; this endpoint answers {allowed}"
INTERNAL = "something went wrong on deskhand's side (ref {ref}); the request can be sent again"

CLI_CREATED = ("SCIM token for tenant {tenant} (shown once, stored hashed; put it in the IdP's "
               "Secret Token / API Token field):\n{secret}\nSCIM base URL: {url}")
CLI_ROTATED = ("new SCIM token for tenant {tenant} (the old one stopped working now; shown once):"
               "\n{secret}\nSCIM base URL: {url}")
CLI_EXISTS = ("tenant {tenant} already has a SCIM token (since {since:%Y-%m-%d}); "
              "`deskhand scim-token rotate --tenant {tenant}` replaces it")
CLI_NONE = "tenant {tenant} has no SCIM token yet: `deskhand scim-token create --tenant {tenant}`"
CLI_NO_TENANT = "there is no tenant `{tenant}`"
