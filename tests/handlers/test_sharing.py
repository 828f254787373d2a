"""The Delta Sharing server at /sharing/ over HTTP: every route answers only a valid token, in
the protocol's shapes (`{errorCode, message}`, ndjson, Delta-Table-Version, nextPageToken), and
a tenant's token reads that tenant's rows and nothing of another's."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta
from typing import Any

import aiohttp
import pyarrow.parquet as pq
import pytest

from handlers.tokens import sharing, snapshots
from storage.tokens import DataAccessToken
from tests.conftest import LiveServer
from tests.handlers.sharing_env import audit_rows, other_tenant, token

TABLE = "/sharing/shares/deskhand/schemas/deskhand/tables/audit_events"
ROUTES: list[tuple[str, str]] = [
    ("GET", "/sharing/shares"), ("GET", "/sharing/shares/deskhand"),
    ("GET", "/sharing/shares/deskhand/schemas"),
    ("GET", "/sharing/shares/deskhand/schemas/deskhand/tables"),
    ("GET", "/sharing/shares/deskhand/all-tables"), ("GET", f"{TABLE}/version"),
    ("HEAD", TABLE), ("GET", f"{TABLE}/metadata"), ("POST", f"{TABLE}/query"),
    ("GET", "/sharing/nothing/here"),
]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def call(server: LiveServer, method: str, path: str, secret: str | None = None,
               **kw: Any) -> tuple[int, dict[str, str], bytes]:
    headers = {**(bearer(secret) if secret else {}), **kw.pop("headers", {})}
    async with aiohttp.ClientSession() as http, http.request(
            method, server.url + path, headers=headers, **kw) as r:
        return r.status, dict(r.headers), await r.read()


def error(status: int, body: bytes) -> tuple[int, str]:
    found = json.loads(body)
    assert set(found) == {"errorCode", "message"} and found["message"], found
    return status, found["errorCode"]


async def read_table(server: LiveServer, secret: str, table: str = "audit_events") -> list[dict[str, Any]]:
    """Every row of a table through query and its signed file URLs."""
    path = f"/sharing/shares/deskhand/schemas/deskhand/tables/{table}/query"
    status, _, body = await call(server, "POST", path, secret, json={})
    assert status == 200, body
    lines = [json.loads(line) for line in body.decode().splitlines()]
    rows: list[dict[str, Any]] = []
    for line in lines[2:]:
        async with aiohttp.ClientSession() as http, http.get(line["file"]["url"]) as r:
            assert r.status == 200
            rows.extend(pq.read_table(io.BytesIO(await r.read())).to_pylist())
    return rows


@pytest.mark.parametrize("case", ["missing", "wrong", "pending", "revoked", "expired", "scheme"])
async def test_every_route_refuses_a_bad_token_with_401(server: LiveServer, case: str) -> None:
    tenant = server.runtime.tenant_id
    await token(server, tenant, "good-secret")
    states = {"pending": "pending", "revoked": "revoked"}
    if case in states:
        await token(server, tenant, "the-secret", state=states[case])
    if case == "expired":
        await token(server, tenant, "the-secret", expires_in=timedelta(seconds=-1))
    for method, path in ROUTES:
        headers = {"Authorization": "Basic dGhlLXNlY3JldA=="} if case == "scheme" else {}
        secret = None if case in ("missing", "scheme") else "the-secret"
        status, got, body = await call(server, method, path, secret, headers=headers)
        assert status == 401, (method, path, body)
        if method != "HEAD":
            assert error(status, body) == (401, "UNAUTHENTICATED")
        assert got["WWW-Authenticate"].startswith("Bearer")


async def test_protocol_shapes_and_paging(server: LiveServer) -> None:
    await token(server, server.runtime.tenant_id, "alpha")
    status, _, body = await call(server, "GET", "/sharing/shares", "alpha")
    shares = json.loads(body)
    assert status == 200 and [s["name"] for s in shares["items"]] == ["deskhand"]
    assert "nextPageToken" not in shares

    tables: list[str] = []
    page = {"maxResults": "2"}
    while True:
        status, _, body = await call(server, "GET", "/sharing/shares/DeskHand/all-tables", "alpha",
                                     params=page)
        found = json.loads(body)
        tables += [t["name"] for t in found["items"]]
        if not found.get("nextPageToken"):
            break
        page = {"maxResults": "2", "pageToken": found["nextPageToken"]}
    assert tables == ["audit_events", "remote_sessions", "instruction_runs"]

    status, headers, body = await call(server, "GET", f"{TABLE}/version", "alpha")
    assert (status, body) == (200, b"") and headers["Delta-Table-Version"] == "1"
    status, headers, body = await call(server, "GET", f"{TABLE}/metadata", "alpha")
    assert headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    protocol, metadata = (json.loads(line) for line in body.decode().splitlines())
    assert protocol == {"protocol": {"minReaderVersion": 1}}
    assert metadata["metaData"]["format"] == {"provider": "parquet"}
    fields = json.loads(metadata["metaData"]["schemaString"])["fields"]
    assert [f["name"] for f in fields][:3] == ["id", "at", "correlation_id"]


async def test_query_pages_files_with_next_page_token(server: LiveServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapshots, "ROWS_PER_FILE", 10)
    monkeypatch.setattr(snapshots, "BATCH", 10)
    tenant = server.runtime.tenant_id
    await token(server, tenant, "alpha")
    await audit_rows(server, tenant, 35, "paged")
    urls: list[str] = []
    body_json: dict[str, Any] = {"maxFiles": 2}
    while True:
        status, headers, body = await call(server, "POST", f"{TABLE}/query", "alpha", json=body_json)
        assert status == 200 and headers["Delta-Table-Version"] == "1"
        lines = [json.loads(line) for line in body.decode().splitlines()]
        urls += [line["file"]["url"] for line in lines if "file" in line]
        end = lines[-1]["endStreamAction"]
        if "nextPageToken" not in end:
            break
        body_json = {"maxFiles": 2, "pageToken": end["nextPageToken"]}
    rows = []
    for url in urls:
        async with aiohttp.ClientSession() as http, http.get(url) as r:
            rows += pq.read_table(io.BytesIO(await r.read())).to_pylist()
    assert len(urls) >= 4 and len({r["id"] for r in rows}) == len(rows)
    assert sum(r["action"] == "paged.action" for r in rows) == 35


async def test_one_tenants_token_never_reads_another_tenants_data(server: LiveServer) -> None:
    alpha, beta = server.runtime.tenant_id, await other_tenant(server)
    await token(server, alpha, "alpha")
    await token(server, beta, "beta")
    await audit_rows(server, alpha, 5, "alpha")
    await audit_rows(server, beta, 7, "beta")
    seen: dict[str, list[bytes]] = {}
    for secret in ("alpha", "beta"):
        for method, path in ROUTES:
            status, _, body = await call(server, method, path, secret)
            seen.setdefault(secret, []).append(body)
            assert status == (404 if "nothing" in path else 200), (path, body)
    share_ids = {s: json.loads(seen[s][0])["items"][0]["id"] for s in seen}
    assert share_ids["alpha"] != share_ids["beta"]
    assert share_ids["alpha"].encode() not in b"".join(seen["beta"])
    alpha_rows = await read_table(server, "alpha")
    beta_rows = await read_table(server, "beta")
    assert {r["actor_email"] for r in alpha_rows if r["action"].endswith(".action")} == {"alpha@example.com"}
    assert {r["actor_email"] for r in beta_rows} == {"beta@example.com"} and len(beta_rows) == 7
    for table in ("remote_sessions", "instruction_runs"):
        assert await read_table(server, "beta", table) == []


async def test_file_urls_stop_working_when_the_token_is_revoked(server: LiveServer) -> None:
    tenant = server.runtime.tenant_id
    token_id = await token(server, tenant, "alpha")
    _, _, body = await call(server, "POST", f"{TABLE}/query", "alpha", json={})
    url = json.loads(body.decode().splitlines()[2])["file"]["url"]
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        assert r.status == 200
    async with server.runtime.db.uow() as uow:
        row = await uow.session.get(DataAccessToken, token_id)
        assert row is not None
        row.state = "revoked"
        await uow.commit()
    async with aiohttp.ClientSession() as http, http.get(url) as r:
        assert error(r.status, await r.read()) == (401, "UNAUTHENTICATED")
    async with aiohttp.ClientSession() as http, http.get(url[:-3] + "abc") as r:
        assert error(r.status, await r.read()) == (403, "PERMISSION_DENIED")


@pytest.mark.parametrize(("method", "path", "kw", "expected"), [
    ("POST", f"{TABLE}/query", {"data": b"{not json"}, (400, "MALFORMED_REQUEST")),
    ("POST", f"{TABLE}/query", {"json": [1, 2]}, (400, "MALFORMED_REQUEST")),
    ("POST", f"{TABLE}/query", {"data": b"{" + b" " * 70_000 + b"}"}, (400, "MALFORMED_REQUEST")),
    ("POST", f"{TABLE}/query", {"json": {"version": "one"}}, (400, "INVALID_PARAMETER_VALUE")),
    ("POST", f"{TABLE}/query", {"json": {"version": 99}}, (400, "INVALID_PARAMETER_VALUE")),
    ("POST", f"{TABLE}/query", {"json": {"maxFiles": 0}}, (400, "INVALID_PARAMETER_VALUE")),
    ("POST", f"{TABLE}/query", {"json": {"pageToken": "1.9"}}, (400, "INVALID_PARAMETER_VALUE")),
    ("POST", f"{TABLE}/query", {"json": {"pageToken": "\u00b2.1"}}, (400, "INVALID_PARAMETER_VALUE")),
    ("POST", f"{TABLE}/query", {"data": b"[" * 60_000}, (400, "MALFORMED_REQUEST")),
    ("POST", f"{TABLE}/query", {"json": {"predicateHints": "x"}}, (400, "INVALID_PARAMETER_VALUE")),
    ("POST", f"{TABLE}/query", {"json": {"timestamp": "2026-01-01T00:00:00Z"}},
     (400, "UNSUPPORTED_OPERATION")),
    ("GET", "/sharing/shares", {"params": {"maxResults": "-1"}}, (400, "INVALID_PARAMETER_VALUE")),
    ("GET", "/sharing/shares", {"params": {"maxResults": "9" * 30}}, (400, "INVALID_PARAMETER_VALUE")),
    ("GET", "/sharing/shares", {"params": {"maxResults": "\u00b2"}}, (400, "INVALID_PARAMETER_VALUE")),
    ("GET", "/sharing/shares", {"params": {"maxResults": "9" * 5000}}, (400, "INVALID_PARAMETER_VALUE")),
    ("GET", "/sharing/shares", {"params": {"pageToken": "!!!"}}, (400, "INVALID_PARAMETER_VALUE")),
    ("GET", "/sharing/shares/deskhand/schemas", {"params": {"pageToken": "WyJzaGFyZXMiLCAxXQ"}},
     (400, "INVALID_PARAMETER_VALUE")),  # a token of another list
    ("GET", "/sharing/shares/" + "x" * 300, {}, (400, "INVALID_PARAMETER_VALUE")),
    ("GET", "/sharing/shares/other/schemas", {}, (404, "RESOURCE_DOES_NOT_EXIST")),
    ("GET", "/sharing/shares/deskhand/schemas/deskhand/tables/secrets/version", {},
     (404, "RESOURCE_DOES_NOT_EXIST")),
    ("DELETE", "/sharing/shares", {}, (404, "RESOURCE_DOES_NOT_EXIST")),
])
async def test_malformed_and_oversized_requests_get_protocol_errors(
        server: LiveServer, method: str, path: str, kw: dict[str, Any],
        expected: tuple[int, str]) -> None:
    await token(server, server.runtime.tenant_id, "alpha")
    status, headers, body = await call(server, method, path, "alpha", **kw)
    assert error(status, body) == expected
    assert headers["Content-Type"].startswith("application/json")


async def test_a_bearer_secret_that_is_not_ascii_is_refused_not_a_500(server: LiveServer) -> None:
    status, _, body = await call(server, "GET", "/sharing/shares",
                                 headers={"Authorization": "Bearer \xff\xfe"})
    assert error(status, body) == (401, "UNAUTHENTICATED")


async def test_a_query_body_sent_in_pieces_is_read_whole(server: LiveServer) -> None:
    await token(server, server.runtime.tenant_id, "alpha")

    async def pieces() -> Any:
        for chunk in (b'{"maxFiles": ', b"1", b"}"):
            yield chunk
            await asyncio.sleep(0.05)

    status, _, body = await call(server, "POST", f"{TABLE}/query", "alpha", data=pieces())
    assert status == 200, body


async def test_first_readers_share_one_snapshot_and_refreshes_keep_two(server: LiveServer) -> None:
    tenant = server.runtime.tenant_id
    await token(server, tenant, "alpha")
    answers = await asyncio.gather(*(call(server, "GET", f"{TABLE}/version", "alpha") for _ in range(4)))
    assert {headers["Delta-Table-Version"] for _, headers, _ in answers} == {"1"}
    _, _, body = await call(server, "POST", f"{TABLE}/query", "alpha", json={})
    old_url = json.loads(body.decode().splitlines()[2])["file"]["url"]

    store = sharing.snapshots(server.runtime)
    await audit_rows(server, tenant, 3, "later")
    assert (await store.refresh(tenant, "audit_events")).version == 2
    async with aiohttp.ClientSession() as http, http.get(old_url) as r:
        assert r.status == 200, "the previous version is kept for readers in flight"
    assert (await store.refresh(tenant, "audit_events")).version == 3
    assert store.versions(tenant, "audit_events") == [2, 3]
    async with aiohttp.ClientSession() as http, http.get(old_url) as r:
        assert error(r.status, await r.read()) == (404, "RESOURCE_DOES_NOT_EXIST")
    _, headers, _ = await call(server, "GET", f"{TABLE}/version", "alpha")
    assert headers["Delta-Table-Version"] == "3"
    rows = await read_table(server, "alpha")
    assert sum(r["action"] == "later.action" for r in rows) == 3
