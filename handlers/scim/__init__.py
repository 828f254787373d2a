"""The SCIM 2.0 server at /scim/v2 that Okta and Microsoft Entra provision people and groups into
(RFC 7643/7644, docs/scim.md).

Resources, filters and PATCH come from scim2-models (models.py: the tolerance the two IdPs need);
protocol.py authenticates each request by its tenant's bearer token (`deskhand scim-token`,
cli.py) and answers every refusal as a SCIM error; users.py and groups.py map the resources onto
the directory (storage/directory.py, storage/scim.py), each write under the row's lock, with
versions.py's ETags; discovery.py serves what is supported and answers unknown paths.
"""

from __future__ import annotations

from bot.capability import Capability, Route
from handlers.scim import discovery, groups, users
from handlers.scim.protocol import PREFIX

CAPABILITY = Capability(
    name="scim",
    routes=(Route("GET", PREFIX + "/Users", users.list_users),
            Route("POST", PREFIX + "/Users", users.create_user),
            Route("GET", PREFIX + "/Users/{id}", users.get_user),
            Route("PUT", PREFIX + "/Users/{id}", users.replace_user),
            Route("PATCH", PREFIX + "/Users/{id}", users.patch_user),
            Route("DELETE", PREFIX + "/Users/{id}", users.delete_user),
            Route("GET", PREFIX + "/Groups", groups.list_groups),
            Route("POST", PREFIX + "/Groups", groups.create_group),
            Route("GET", PREFIX + "/Groups/{id}", groups.get_group),
            Route("PUT", PREFIX + "/Groups/{id}", groups.replace_group),
            Route("PATCH", PREFIX + "/Groups/{id}", groups.patch_group),
            Route("DELETE", PREFIX + "/Groups/{id}", groups.delete_group),
            Route("GET", PREFIX + "/ServiceProviderConfig", discovery.service_provider_config),
            Route("GET", PREFIX + "/ResourceTypes", discovery.resource_types),
            Route("GET", PREFIX + "/ResourceTypes/{id}", discovery.resource_type),
            Route("GET", PREFIX + "/Schemas", discovery.schemas),
            Route("GET", PREFIX + "/Schemas/{id}", discovery.schema),
            Route("*", PREFIX, discovery.unknown),
            Route("*", PREFIX + "/{tail:.*}", discovery.unknown)),
)
