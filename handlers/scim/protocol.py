"""The SCIM protocol around every endpoint: bearer authentication (a token names its tenant;
discovery also answers without one), bounded JSON bodies, paging and attribute parameters, one
resource with its ETag, and every refusal as a SCIM Error body (RFC 7644 3.12) in
`application/scim+json`, never a bare 500 or aiohttp's HTML.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

import orjson
import scim2_models as scim
from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from handlers.scim import PREFIX, texts
from handlers.scim.models import MAX_RESULTS
from handlers.scim.tokens import digest
from storage.scim import ScimRepo, our_id

if TYPE_CHECKING:
    from bot.runtime import Runtime

MEDIA = "application/scim+json"
MAX_BODY = 1024 * 1024  # an Okta full push of a 5,000-member group fits
DEFAULT_COUNT = 100

log = logging.getLogger("deskhand.scim")


@dataclass(frozen=True)
class Caller:
    """Whom a request acts for: the tenant its bearer token belongs to."""

    tenant_id: int


Endpoint = Callable[["Runtime", web.Request, Caller], Awaitable[web.StreamResponse]]
PublicEndpoint = Callable[["Runtime", web.Request, "Caller | None"], Awaitable[web.StreamResponse]]
Answer = Callable[["Runtime", web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")


def respond(body: dict[str, Any], status: int = 200,
            headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=MEDIA,
                        headers=headers)


def one(body: dict[str, Any], version: str | None, location: str,
        status: int = 200) -> web.Response:
    """One resource: its version as the ETag, and its Location when it was just made (201)."""
    headers = {"ETag": version} if version else {}
    if status == 201:
        headers["Location"] = location
    return respond(body, status, headers)


def not_modified(version: str) -> web.Response:
    return web.Response(status=304, headers={"ETag": version})


def error(status: int, detail: str, scim_type: str | None = None,
          headers: dict[str, str] | None = None) -> web.Response:
    body = scim.Error(status=status, detail=detail[:1000], scim_type=scim_type).model_dump(
        scim_ctx=scim.Context.RESOURCE_QUERY_RESPONSE)
    return respond(body, status, headers)


def present(row: T | None, missing: str, ident: int) -> T:
    """The row a request names, or the SCIM 404 that says which one is missing."""
    if row is None:
        raise scim.NotFoundException(detail=missing.format(id=ident))
    return row


async def caller_of(runtime: Runtime, header: str | None) -> Caller | None:
    scheme, _, secret = (header or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret or not secret.isascii() or len(secret) > 200:
        return None
    async with runtime.db.uow() as uow:
        tenant_id = await uow.repo(ScimRepo).tenant_by_secret(digest(secret))
    return Caller(tenant_id) if tenant_id is not None else None


def _unauthorized() -> web.Response:
    return error(401, texts.UNAUTHORIZED,
                 headers={"WWW-Authenticate": 'Bearer realm="deskhand SCIM"'})


def _answering(handler: PublicEndpoint, public: bool) -> Answer:
    """Authenticate, then answer; whatever goes wrong answers as a SCIM error."""
    @wraps(handler)
    async def answer(runtime: Runtime, request: web.Request) -> web.StreamResponse:
        try:
            header = request.headers.get("Authorization")
            caller = await caller_of(runtime, header)
            # A public endpoint answers without a token, but a wrong one is still refused, so
            # an IdP's connection test there cannot pass with a token that would not work.
            if caller is None and not (public and header is None):
                return _unauthorized()
            return await handler(runtime, request, caller)
        except scim.SCIMException as exc:
            return error(exc.status, exc.detail, exc.scim_type or None)
        except ValidationError as exc:
            found = scim.Error.from_validation_errors(exc)
            detail = "; ".join(e.detail or "" for e in found[:5])
            return error(400, detail, found[0].scim_type or "invalidValue")
        except IntegrityError:  # two requests raced for one unique value
            return error(409, texts.CONFLICT, "uniqueness")
        except Exception:
            ref = uuid.uuid4().hex[:16]
            log.exception("scim %s %s failed (ref %s)", request.method, request.path, ref)
            return error(500, texts.INTERNAL.format(ref=ref))
    return answer


def endpoint(handler: Endpoint) -> Answer:
    """An endpoint for the tenant of the request's bearer token (401 without a valid one)."""
    return _answering(cast(PublicEndpoint, handler), public=False)


def public(handler: PublicEndpoint) -> Answer:
    """An endpoint that answers without a token (discovery, RFC 7644 section 4; unknown paths)."""
    return _answering(handler, public=True)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, refused past MAX_BODY bytes without reading the rest."""
    if (request.content_length or 0) > MAX_BODY:
        raise scim.PayloadTooLargeException(detail=texts.TOO_LARGE.format(limit=MAX_BODY))
    chunks, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            raise scim.PayloadTooLargeException(detail=texts.TOO_LARGE.format(limit=MAX_BODY))
        chunks.append(chunk)
    try:
        body = orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError:
        raise scim.InvalidSyntaxException(detail=texts.NOT_JSON) from None
    if not isinstance(body, dict):
        raise scim.InvalidSyntaxException(detail=texts.NOT_JSON)
    return body


def _integer(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        if len(raw) > 12:
            raise ValueError
        return int(raw)
    except ValueError:
        raise scim.InvalidValueException(detail=texts.BAD_INTEGER.format(name=name, value=raw[:40])) \
            from None


def paging(request: web.Request) -> tuple[int, int]:
    """(0-based offset, count) from startIndex (1-based; below 1 means 1) and count (RFC 7644
    3.4.2.4: a negative count means 0, more than the maximum is cut to it)."""
    start = max(_integer(request, "startIndex", 1), 1)
    count = min(max(_integer(request, "count", DEFAULT_COUNT), 0), MAX_RESULTS)
    return start - 1, count


def listing(total: int, offset: int, resources: list[dict[str, Any]]) -> web.Response:
    return respond({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                    "totalResults": total, "startIndex": offset + 1,
                    "itemsPerPage": len(resources), "Resources": resources})


def response_parameters(request: web.Request, model: Any) -> scim.ResponseParameters[Any] | None:
    attrs = request.query.get("attributes")
    excluded = request.query.get("excludedAttributes")
    if not attrs and not excluded:
        return None
    try:
        return scim.ResponseParameters[model].model_validate(
            {"attributes": attrs or None, "excludedAttributes": excluded or None})
    except (ValidationError, scim.SCIMException, ValueError) as exc:
        raise scim.InvalidValueException(
            detail=texts.BAD_ATTRIBUTES.format(detail=str(exc).splitlines()[0][:200])) from None


def base_url(runtime: Runtime) -> str:
    return runtime.settings.public_url.rstrip("/") + PREFIX


def int_id(raw: str, missing: str) -> int:
    """A resource id from the URL; anything but our own digits is a 404, not a 500."""
    found = our_id(raw)
    if found is None:
        raise scim.NotFoundException(detail=missing.format(id=raw[:40]))
    return found
