"""Data-access tokens and the read-only Delta Sharing server at /sharing/.

`data-access enable|disable|refresh`, `token create|download|list|revoke` (commands.py); tokens
are workflow rows (states.TOKENS) keeping only hashes of their secrets; the one-time profile
download (profile.py); the protocol server (sharing.py, protocol.py) over parquet snapshots
(snapshots.py) refreshed every day and on demand.
"""

from __future__ import annotations

from bot.capability import Capability, Route, on_use
from handlers.tokens.config import SharingConfig

PREFIX = "/sharing"  # the protocol server (sharing.py)
PROFILE_PATH = PREFIX + "/profile/"  # the one-time profile download (profile.py)
TABLE = PREFIX + "/shares/{share}/schemas/{schema}/tables/{table}"  # a table's routes hang below


def _route(method: str, path: str, handler: str) -> Route:
    return Route(method, path, on_use(f"handlers.tokens.{handler}"))


CAPABILITY = Capability(
    name="tokens",
    work="handlers.tokens.work:WORK",
    config=SharingConfig,
    routes=(_route("GET", PROFILE_PATH + "{link}", "profile:confirm"),
            _route("POST", PROFILE_PATH + "{link}", "profile:redeem"),
            _route("GET", PREFIX + "/shares", "sharing:list_shares"),
            _route("GET", PREFIX + "/shares/{share}", "sharing:get_share"),
            _route("GET", PREFIX + "/shares/{share}/schemas", "sharing:list_schemas"),
            _route("GET", PREFIX + "/shares/{share}/schemas/{schema}/tables",
                   "sharing:list_tables"),
            _route("GET", PREFIX + "/shares/{share}/all-tables", "sharing:list_all_tables"),
            _route("GET", TABLE + "/version", "sharing:table_version"),
            _route("HEAD", TABLE, "sharing:table_version"),  # the protocol's older way to ask
            _route("GET", TABLE + "/metadata", "sharing:table_metadata"),
            _route("POST", TABLE + "/query", "sharing:query"),
            _route("GET", PREFIX + "/files/{link}", "sharing:file"),
            _route("HEAD", PREFIX + "/files/{link}", "sharing:file"),
            _route("*", PREFIX + "/{tail:.*}", "sharing:unknown")),
)
