"""The SCIM 2.0 server at /scim/v2 that Okta and Microsoft Entra provision people and groups into
(RFC 7643/7644, docs/scim.md).

Resources, filters and PATCH come from scim2-models (models.py: the tolerance the two IdPs need);
protocol.py authenticates each request by its tenant's bearer token (`deskhand scim-token`,
cli.py, tokens.py) and answers every refusal as a SCIM error; users.py and groups.py map the
resources onto the directory (storage/directory.py, storage/scim.py), each write under the row's
lock, with versions.py's ETags; discovery.py serves what is supported and answers unknown paths.
Those modules (and scim2-models) are imported on the first SCIM request (`bot.capability.on_use`),
not at start.
"""

from __future__ import annotations

from bot.capability import Capability, Route, on_use

PREFIX = "/scim/v2"  # where the server answers (protocol.py); `deskhand scim-token` prints it


def _route(method: str, path: str, handler: str) -> Route:
    return Route(method, PREFIX + path, on_use(f"handlers.scim.{handler}"))


CAPABILITY = Capability(
    name="scim",
    routes=(_route("GET", "/Users", "users:list_users"),
            _route("POST", "/Users", "users:create_user"),
            _route("GET", "/Users/{id}", "users:get_user"),
            _route("PUT", "/Users/{id}", "users:replace_user"),
            _route("PATCH", "/Users/{id}", "users:patch_user"),
            _route("DELETE", "/Users/{id}", "users:delete_user"),
            _route("GET", "/Groups", "groups:list_groups"),
            _route("POST", "/Groups", "groups:create_group"),
            _route("GET", "/Groups/{id}", "groups:get_group"),
            _route("PUT", "/Groups/{id}", "groups:replace_group"),
            _route("PATCH", "/Groups/{id}", "groups:patch_group"),
            _route("DELETE", "/Groups/{id}", "groups:delete_group"),
            _route("GET", "/ServiceProviderConfig", "discovery:service_provider_config"),
            _route("GET", "/ResourceTypes", "discovery:resource_types"),
            _route("GET", "/ResourceTypes/{id}", "discovery:resource_type"),
            _route("GET", "/Schemas", "discovery:schemas"),
            _route("GET", "/Schemas/{id}", "discovery:schema"),
            _route("*", "", "discovery:unknown"),
            _route("*", "/{tail:.*}", "discovery:unknown")),
)
