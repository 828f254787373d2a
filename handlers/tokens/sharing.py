"""The read-only Delta Sharing server at /sharing/ (integrations.md 6.2, 6.3).

Every request names its tenant only through its bearer token: the token's hash finds the row,
which must be active, unexpired, and in a tenant with data access on; everything served comes
from that tenant's snapshots (snapshots.py). One share (`deskhand`), one schema (`deskhand`),
one table per dataset. File URLs are signed, short-lived links back to this server that name
the tenant, table, version, part and token, and are checked again (token included) when read.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.downloads import LinkError
from handlers.tokens import PREFIX, access, texts
from handlers.tokens.config import SharingConfig
from handlers.tokens.protocol import (
    VERSION_HEADER,
    ProtocolError,
    bad,
    digits,
    json_body,
    missing,
    name,
    ndjson,
    page,
    unauthenticated,
    whole,
)
from handlers.tokens.snapshots import Snapshot, Snapshots, schema_string
from handlers.tokens.states import digest, usable
from storage.directory import DirectoryRepo
from storage.sharing import DATASETS
from storage.tokens import DataAccessToken, DataAccessTokenRepo
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import Runtime

SHARE = SCHEMA = "deskhand"
FILE_KIND = "sharing.file"


@dataclass(frozen=True)
class Reader:
    """Whom a request reads for: the tenant and the token its bearer secret belongs to."""

    tenant_id: int
    token_id: int


Handler = Callable[["Runtime", web.Request, Reader], Awaitable[web.StreamResponse]]


log = logging.getLogger("deskhand.sharing")

def snapshots(runtime: Runtime) -> Snapshots:
    found = runtime.services.get(Snapshots)
    assert found is not None
    return found


async def reader_of(runtime: Runtime, header: str | None) -> Reader:
    """Whom an Authorization header's token reads for; 401 for anything else."""
    scheme, _, secret = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip() or not secret.isascii():
        raise unauthenticated("a bearer token is required (Authorization: Bearer <token>)")
    async with runtime.db.uow() as uow:
        row = await uow.repo(DataAccessTokenRepo).by_secret(digest(secret.strip()))
        on = row is not None and await access.enabled(uow, row.tenant_id)
        owner = row is not None and await _owner_active(uow, row)
    if row is None or not on:
        raise unauthenticated("the bearer token is not valid")
    if not usable(row):
        raise unauthenticated(f"the bearer token is {'revoked' if row.state == 'revoked' else 'expired'}")
    if not owner:
        raise unauthenticated(f"the bearer token is revoked: {texts.OWNER_DEACTIVATED}")
    return Reader(row.tenant_id, row.id)


async def _owner_active(uow: UnitOfWork, row: DataAccessToken) -> bool:
    """A token works only while whoever created it is an active person of its tenant: refused
    from the moment of a deactivation, before the revocation that follows it has run."""
    person = await uow.repo(DirectoryRepo).principal(row.created_by_id or 0)
    return person is not None and person.tenant_id == row.tenant_id and person.active


def protocol(handler: Handler) -> Callable[[Runtime, web.Request], Awaitable[web.StreamResponse]]:
    """Authenticate first, then answer; every refusal in the protocol's error body."""
    @wraps(handler)
    async def answer(runtime: Runtime, request: web.Request) -> web.StreamResponse:
        try:
            reader = await reader_of(runtime, request.headers.get("Authorization"))
            return await handler(runtime, request, reader)
        except ProtocolError as exc:
            return exc.response()
        except Exception:  # a bug must still answer in the protocol's shape, with a reference
            ref = uuid.uuid4().hex[:16]
            log.exception("sharing %s %s failed (ref %s)", request.method, request.path, ref)
            return ProtocolError(500, "INTERNAL_ERROR",
                                 f"the server could not answer; ref {ref}").response()
    return answer


def _id(tenant_id: int, *parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"deskhand:{tenant_id}:{':'.join(parts)}"))


def _share(request: web.Request) -> str:
    if name(request.match_info["share"], "share") != SHARE:
        raise missing(f"share {request.match_info['share']}")
    return SHARE


def _schema(request: web.Request) -> str:
    _share(request)
    if name(request.match_info["schema"], "schema") != SCHEMA:
        raise missing(f"schema {request.match_info['schema']}")
    return SCHEMA


def _table(request: web.Request) -> str:
    _schema(request)
    table = name(request.match_info["table"], "table")
    if table not in DATASETS:
        raise missing(f"table {request.match_info['table']}")
    return table


def _tables(tenant_id: int) -> list[dict[str, Any]]:
    return [{"name": t, "schema": SCHEMA, "share": SHARE, "shareId": _id(tenant_id, "share"),
             "id": _id(tenant_id, "table", t)} for t in DATASETS]


@protocol
async def list_shares(runtime: Runtime, request: web.Request, who: Reader) -> web.StreamResponse:
    return web.json_response(page(request, [{"name": SHARE, "id": _id(who.tenant_id, "share")}], "shares"))


@protocol
async def get_share(runtime: Runtime, request: web.Request, who: Reader) -> web.StreamResponse:
    return web.json_response({"share": {"name": _share(request), "id": _id(who.tenant_id, "share")}})


@protocol
async def list_schemas(runtime: Runtime, request: web.Request, who: Reader) -> web.StreamResponse:
    return web.json_response(page(request, [{"name": SCHEMA, "share": _share(request)}], "schemas"))


@protocol
async def list_tables(runtime: Runtime, request: web.Request, who: Reader) -> web.StreamResponse:
    _schema(request)
    return web.json_response(page(request, _tables(who.tenant_id), "tables"))


@protocol
async def list_all_tables(runtime: Runtime, request: web.Request,
                          who: Reader) -> web.StreamResponse:
    _share(request)
    return web.json_response(page(request, _tables(who.tenant_id), "all-tables"))


@protocol
async def table_version(runtime: Runtime, request: web.Request, who: Reader) -> web.StreamResponse:
    table = _table(request)
    if "startingTimestamp" in request.query:
        raise ProtocolError(400, "UNSUPPORTED_OPERATION",
                            "startingTimestamp is not supported: only the current version is shared")
    snapshot = await snapshots(runtime).current(who.tenant_id, table)
    return web.Response(headers={VERSION_HEADER: str(snapshot.version)})


def _metadata(snapshot: Snapshot) -> list[dict[str, Any]]:
    return [{"protocol": {"minReaderVersion": 1}},
            {"metaData": {"id": _id(snapshot.tenant_id, "table", snapshot.dataset),
                          "name": snapshot.dataset, "format": {"provider": "parquet"},
                          "schemaString": schema_string(snapshot.dataset), "partitionColumns": [],
                          "configuration": {}, "version": snapshot.version,
                          "size": snapshot.size, "numFiles": len(snapshot.parts)}}]


@protocol
async def table_metadata(runtime: Runtime, request: web.Request,
                         who: Reader) -> web.StreamResponse:
    table = _table(request)
    if "timestamp" in request.query or "version" in request.query:
        raise ProtocolError(400, "UNSUPPORTED_OPERATION",
                            "metadata is served for the current version only")
    snapshot = await snapshots(runtime).current(who.tenant_id, table)
    return ndjson(_metadata(snapshot), snapshot.version)


@protocol
async def query(runtime: Runtime, request: web.Request, who: Reader) -> web.StreamResponse:
    table = _table(request)
    body = await json_body(request)
    for key in ("timestamp", "startingVersion", "endingVersion"):
        if body.get(key) is not None:
            raise ProtocolError(400, "UNSUPPORTED_OPERATION",
                                f"{key} is not supported: query the current version or a kept one")
    hints = body.get("predicateHints")
    if hints is not None and not (isinstance(hints, list) and all(isinstance(h, str) for h in hints)):
        raise bad("predicateHints must be a list of strings")
    if not isinstance(body.get("jsonPredicateHints", ""), str):
        raise bad("jsonPredicateHints must be a string")
    whole(body, "limitHint")
    version, max_files = whole(body, "version"), whole(body, "maxFiles", low=1)
    token = body.get("pageToken")
    if token is not None and not isinstance(token, str):
        raise bad("pageToken must be a string")
    store = snapshots(runtime)
    snapshot = store.get(who.tenant_id, table, version) if version is not None \
        else await store.current(who.tenant_id, table)
    if snapshot is None:
        raise bad(f"version {version} of {table} is not kept; ask for the table's version")
    start = _file_offset(token, snapshot)
    end = len(snapshot.parts) if max_files is None else min(len(snapshot.parts), start + max_files)
    minutes = runtime.config(SharingConfig).sharing_url_minutes
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    lines = _metadata(snapshot)
    for index in range(start, end):
        part = snapshot.parts[index]
        url = runtime.downloads.sign(FILE_KIND, {"t": who.tenant_id, "d": table, "v": snapshot.version,
                                                 "f": index, "k": who.token_id}, ttl=minutes * 60)
        lines.append({"file": {
            "url": f"{runtime.settings.public_url.rstrip('/')}{PREFIX}/files/{url}",
            "id": _id(who.tenant_id, table, str(snapshot.version), str(index)), "partitionValues": {},
            "size": part.size, "stats": f'{{"numRecords":{part.rows}}}', "version": snapshot.version,
            "expirationTimestamp": int(expires.timestamp() * 1000)}})
    if max_files is not None:
        end_action: dict[str, Any] = {"minUrlExpirationTimestamp": int(expires.timestamp() * 1000)}
        if end < len(snapshot.parts):
            end_action["nextPageToken"] = f"{snapshot.version}.{end}"
        lines.append({"endStreamAction": end_action})
    return ndjson(lines, snapshot.version)


def _file_offset(token: str | None, snapshot: Snapshot) -> int:
    """A query's pageToken is `<version>.<next part>` of the snapshot it paged through."""
    if token is None:
        return 0
    version, _, offset = token.partition(".")
    if not (digits(version) and digits(offset) and int(version) == snapshot.version
            and 0 < int(offset) <= len(snapshot.parts)):
        raise bad("pageToken does not belong to this version of the table; query again from the start")
    return int(offset)


async def file(runtime: Runtime, request: web.Request) -> web.StreamResponse:
    """A part of a snapshot through its signed URL, while the token that asked is still good."""
    try:
        kind, p = runtime.downloads.verify(request.match_info["link"])
        if kind != FILE_KIND:
            raise LinkError("not a file link")
        tenant_id, table, version, index, key = p["t"], p["d"], p["v"], p["f"], p["k"]
    except (LinkError, KeyError):
        return ProtocolError(403, "PERMISSION_DENIED", "the file URL is not valid or has expired; "
                                                       "query the table again").response()
    try:
        await _token_usable(runtime, tenant_id, key)
    except ProtocolError as exc:
        return exc.response()
    path = snapshots(runtime).part_path(tenant_id, table, version, index)
    if path is None:
        return missing("that file (a newer snapshot replaced it)").response()
    return web.FileResponse(path, headers={"Cache-Control": "private, no-store",
                                           "Content-Type": "application/octet-stream"})


async def _token_usable(runtime: Runtime, tenant_id: int, token_id: int) -> None:
    async with runtime.db.uow() as uow:
        row = await uow.repo(DataAccessTokenRepo).get(tenant_id, token_id)
        on = row is not None and await access.enabled(uow, tenant_id)
        owner = row is not None and await _owner_active(uow, row)
    if row is None or not on or not usable(row) or not owner:
        raise unauthenticated("the token that asked for this file is no longer valid")


@protocol
async def unknown(runtime: Runtime, request: web.Request, who: Reader) -> web.StreamResponse:
    raise missing(f"{request.method} {request.path[:200]}")
