"""The SCIM resources deskhand serves (scim2-models), with the tolerance Okta and Entra need.

- Emails are kept as the IdP sends them: pydantic's EmailStr refuses the reserved domains IdPs
  use in tests and sandboxes (`okta.local`), and deskhand only needs an @ to link by email.
- Remove ops may carry a value list (Entra's member removal), and a path filter that matches
  nothing creates the entry it describes (Entra's `emails[type eq "work"].value` on a new user).
"""

from __future__ import annotations

from typing import Any, ClassVar

import scim2_models as scim

ENTERPRISE = str(scim.EnterpriseUser.__schema__)
MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


class Email(scim.Email):
    value: str | None = None


class User(scim.User):
    emails: list[Email] | None = None  # type: ignore[assignment]
    Emails: ClassVar[type[scim.ComplexAttribute]] = Email


UserResource: Any = User[scim.EnterpriseUser]  # type: ignore[misc]
Group = scim.Group
# Subscripted once: scim2-models builds a new class on every subscript (milliseconds a request).
UserPatch: Any = scim.PatchOp[UserResource]
GroupPatch: Any = scim.PatchOp[Group]

POLICY = scim.ScimPolicy(
    remove_value_as_filter=scim.ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=scim.ScimPolicy.UnmatchedPathFilter.create,
)

MAX_RESULTS = 200

CONFIG = scim.ServiceProviderConfig(
    patch=scim.Patch(supported=True),
    bulk=scim.Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=scim.Filter(supported=True, max_results=MAX_RESULTS),
    change_password=scim.ChangePassword(supported=False),
    sort=scim.Sort(supported=False),
    etag=scim.ETag(supported=True),  # meta.version, If-Match, If-None-Match (versions.py)
    authentication_schemes=[scim.AuthenticationScheme(
        type=scim.AuthenticationScheme.Type.oauthbearertoken, name="Bearer token", primary=True,
        description="The tenant's token from `deskhand scim-token create --tenant <slug>`")],
)

PROVIDER = scim.ScimProvider(
    models=[User, scim.EnterpriseUser, Group],
    resource_types=[scim.ResourceType.from_resource(UserResource),
                    scim.ResourceType.from_resource(Group)],
    config=CONFIG,
    policy=POLICY,
)


def without_ms_schema(body: dict[str, Any]) -> dict[str, Any]:
    """Entra adds its own group schema URI, which names no attribute: leave it out."""
    schemas = body.get("schemas")
    if isinstance(schemas, list):
        body = {**body, "schemas": [s for s in schemas if not (isinstance(s, str)
                                                               and s.lower() == MS_GROUP.lower())]}
    return body
