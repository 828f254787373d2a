"""Discovery (RFC 7644 section 4): what this server supports, its resource types and schemas,
all from the scim2-models provider (models.py), so the documents match what is enforced."""

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


@protocol.endpoint
async def service_provider_config(runtime: Runtime, request: web.Request,
                                  caller: Caller) -> web.Response:
    assert PROVIDER.config is not None
    body = PROVIDER.config.model_dump(scim_ctx=Q)
    body["meta"] = {"resourceType": "ServiceProviderConfig",
                    "location": f"{protocol.base_url(runtime)}/ServiceProviderConfig"}
    return protocol.respond(body)


@protocol.endpoint
async def resource_types(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    found = _resource_types(runtime)
    return protocol.listing(len(found), 0, found)


@protocol.endpoint
async def resource_type(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    return _one(_resource_types(runtime), request.match_info["id"])


@protocol.endpoint
async def schemas(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    found = _schemas(runtime)
    return protocol.listing(len(found), 0, found)


@protocol.endpoint
async def schema(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    return _one(_schemas(runtime), request.match_info["id"])


@protocol.endpoint
async def unknown(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    raise scim.NotFoundException(detail=texts.NOT_FOUND_PATH.format(
        path=f"{request.method} {request.path[:200]}"))
