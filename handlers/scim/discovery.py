"""Discovery (RFC 7644 section 4): what this server supports, its resource types and schemas,
all from the scim2-models provider (models.py), so the documents match what is enforced. They
hold nothing of any tenant, so they answer without a token (RFC 7644 section 4 allows it; Okta
and Entra send theirs anyway, and a wrong one is still 401). Any other path under /scim/v2
answers a SCIM 404, or 405 with `Allow` when the path is right and the method is not."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import scim2_models as scim
from aiohttp import web

from handlers.scim import protocol, texts
from handlers.scim.models import PROVIDER
from handlers.scim.protocol import Caller

if TYPE_CHECKING:
    from bot.runtime import Runtime

Q = scim.Context.RESOURCE_QUERY_RESPONSE


def _with_location(doc: Any, runtime: Runtime, kind: str, ident: str) -> dict[str, Any]:
    body: dict[str, Any] = doc.model_dump(scim_ctx=Q)
    body["meta"] = {"resourceType": kind,
                    "location": f"{protocol.base_url(runtime)}/{kind}s/{ident}"}
    return body


def _resource_types(runtime: Runtime) -> list[dict[str, Any]]:
    return [_with_location(t, runtime, "ResourceType", str(t.id)) for t in PROVIDER.resource_types]


def _schemas(runtime: Runtime) -> list[dict[str, Any]]:
    return [_with_location(s, runtime, "Schema", str(s.id)) for s in PROVIDER.schemas]


def _one(found: list[dict[str, Any]], ident: str) -> web.Response:
    for doc in found:
        if str(doc.get("id", "")).lower() == ident.lower():
            return protocol.respond(doc)
    raise scim.NotFoundException(detail=texts.NOT_FOUND_PATH.format(path=ident[:200]))


@protocol.public
async def service_provider_config(runtime: Runtime, request: web.Request,
                                  caller: Caller | None) -> web.Response:
    assert PROVIDER.config is not None
    body = PROVIDER.config.model_dump(scim_ctx=Q)
    body["meta"] = {"resourceType": "ServiceProviderConfig",
                    "location": f"{protocol.base_url(runtime)}/ServiceProviderConfig"}
    return protocol.respond(body)


@protocol.public
async def resource_types(runtime: Runtime, request: web.Request, caller: Caller | None) -> web.Response:
    found = _resource_types(runtime)
    return protocol.listing(len(found), 0, found)


@protocol.public
async def resource_type(runtime: Runtime, request: web.Request, caller: Caller | None) -> web.Response:
    return _one(_resource_types(runtime), request.match_info["id"])


@protocol.public
async def schemas(runtime: Runtime, request: web.Request, caller: Caller | None) -> web.Response:
    found = _schemas(runtime)
    return protocol.listing(len(found), 0, found)


@protocol.public
async def schema(runtime: Runtime, request: web.Request, caller: Caller | None) -> web.Response:
    return _one(_schemas(runtime), request.match_info["id"])


async def _allowed(request: web.Request) -> set[str]:
    """The methods the SCIM routes answer on this path (aiohttp's own matching)."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.canonical.startswith(protocol.PREFIX):
            match, methods = await resource.resolve(request)
            if match is None:
                allowed |= methods
    return allowed


@protocol.public
async def unknown(runtime: Runtime, request: web.Request, caller: Caller | None) -> web.Response:
    allowed = await _allowed(request)
    if allowed:
        listed = ", ".join(sorted(allowed))
        return protocol.error(405, texts.METHOD.format(method=request.method, allowed=listed),
                              headers={"Allow": listed})
    raise scim.NotFoundException(detail=texts.NOT_FOUND_PATH.format(
        path=f"{request.method} {request.path[:200]}"))
