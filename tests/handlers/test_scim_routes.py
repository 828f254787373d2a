"""What /scim/v2 answers besides resources: discovery without a token (RFC 7644 section 4; a
wrong token is still refused), and a SCIM error body, never aiohttp's HTML, for the root, unknown
paths (404) and wrong methods (405 with Allow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from tests.handlers.scim_env import MEDIA, issue_token, scim_server

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


async def call(http: aiohttp.ClientSession, method: str, url: str,
               token: str | None = None) -> tuple[int, Any, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.request(method, url, headers=headers) as r:
        assert r.headers["Content-Type"].startswith(MEDIA), (method, url, await r.text())
        return r.status, r.headers, await r.json(content_type=None)


async def test_discovery_answers_without_a_token_but_not_with_a_wrong_one(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server, aiohttp.ClientSession() as http:
        token = await issue_token(server)
        base = server.url + "/scim/v2"
        for path in ("/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/User",
                     "/Schemas", f"/Schemas/{USER}"):
            anonymous = await call(http, "GET", base + path)
            assert anonymous[0] == 200, anonymous
            assert (await call(http, "GET", base + path, token))[2] == anonymous[2]
            status, headers, body = await call(http, "GET", base + path, "scim_wrong")
            assert (status, body["schemas"]) == (401, [ERROR])
            assert headers["WWW-Authenticate"].startswith("Bearer")
        _, _, config = await call(http, "GET", base + "/ServiceProviderConfig")
        assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
        # Resources still need the token.
        assert (await call(http, "GET", base + "/Users"))[0] == 401
        assert (await call(http, "GET", base + "/Groups/1"))[0] == 401


async def test_unknown_paths_and_methods_answer_scim_errors(tmp_path: Path) -> None:
    async with scim_server(tmp_path) as server, aiohttp.ClientSession() as http:
        token = await issue_token(server)
        base = server.url + "/scim/v2"
        for url in (base, base + "/", base + "/Widgets", base + "/Users/1/extra", base + "/Bulk"):
            for who in (None, token):
                status, _, body = await call(http, "GET", url, who)
                assert (status, body["schemas"], body["status"]) == (404, [ERROR], "404"), url
        for method, path, allowed in (("DELETE", "/Users", "GET, POST"),
                                      ("PUT", "/Groups", "GET, POST"),
                                      ("POST", "/Users/7", "DELETE, GET, PATCH, PUT"),
                                      ("OPTIONS", "/Groups/7", "DELETE, GET, PATCH, PUT"),
                                      ("POST", "/ServiceProviderConfig", "GET"),
                                      ("DELETE", "/Schemas/x", "GET")):
            for who in (None, token):
                status, headers, body = await call(http, method, base + path, who)
                assert (status, body["schemas"], headers["Allow"]) == (405, [ERROR], allowed)
                assert f"{method} is not allowed" in body["detail"] and allowed in body["detail"]
