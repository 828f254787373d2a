"""SCIM provisioning benchmark: user creates, user PATCHes and group member adds per second through
`/scim/v2`, beside the same database writes made directly through the repositories, in one run.

What runs (all on 127.0.0.1):
  deskhand  `deskhand serve` (production mode, console off, no workers) in its own process on a
            SQLite file (or, with --pg, a scratch PostgreSQL database) this process migrated and
            made the tenant's SCIM token in (as `deskhand db upgrade` and `deskhand scim-token
            create` do); this process sends Okta-shaped requests over HTTP, --concurrency in
            flight
  direct    in this process, on the same database, another tenant: the rows those requests
            write (the principal with the resource as sent, the membership, the audit event),
            through storage's repositories under the same row locks, --concurrency at a time,
            each in its own transaction: the floor without HTTP, authentication, SCIM parsing,
            the checks deskhand makes and the resource it answers with

Each round: --users creates, then one PATCH (replace title) per user, then one group PATCH per
user adding them to one group (which so grows to --users members; deskhand answers it 204),
each phase first through deskhand, then direct. Throughput is ops
over the phase's wall time; the median over --rounds is reported, with deskhand's p50 latency.
Every answer must be the status the RFC gives and every member must be in the group at the end.

No goal: the ratio is what deskhand's SCIM layer costs per write. Exit status 0 when every
request succeeded. Usage: python bench/scim.py [--users 200] [--rounds 3] [--concurrency 4] [--pg]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from _common import VENV_BIN, clean_env, free_port, percentile, print_machine, spawn, wait_ready  # noqa: E402

from bot.audit import Audit  # noqa: E402
from bot.model import new_correlation_id  # noqa: E402
from handlers.scim import tokens  # noqa: E402
from storage import migrate  # noqa: E402
from storage.base import utcnow  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.directory import GroupMembership, PrincipalRow  # noqa: E402
from storage.scim import ScimRepo  # noqa: E402
from storage.tenants import TenantRepo  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
TENANT = "bench"
PG_ADMIN = os.environ.get("DESKHAND_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MEDIA = "application/scim+json"
PHASES = ("create", "patch", "member add")


def okta_user(name: str) -> dict[str, Any]:
    """What Okta sends to create a person (integrations.md 5.2), without the password."""
    return {"schemas": [USER], "userName": name, "externalId": uuid.uuid4().hex[:20],
            "name": {"givenName": "Bench", "familyName": name.split("@")[0]},
            "emails": [{"primary": True, "value": name, "type": "work"}],
            "displayName": f"Bench {name}", "locale": "en-US", "groups": [], "active": True}


def add_member(pid: str) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": pid, "display": pid}]}]}


def set_title(title: str) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "title", "value": title}]}


@dataclass
class Phase:
    seconds: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)


async def paced(count: int, concurrency: int, op: Callable[[int], Awaitable[None]]) -> float:
    """Run op(0..count-1) with `concurrency` in flight; the wall time."""
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await op(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


class Scim:
    """The IdP side: Okta-shaped requests to deskhand's /scim/v2 with the tenant's token."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http, self.base = http, base
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": MEDIA,
                        "User-Agent": "Okta SCIM Client 1.0.0"}

    async def call(self, method: str, path: str, body: dict[str, Any], want: int,
                   took: list[float]) -> dict[str, Any]:
        started = time.perf_counter()
        async with self.http.request(method, self.base + path, json=body,
                                     headers=self.headers) as r:
            raw = await r.read()
        answer = orjson.loads(raw) if raw else {}
        took.append(time.perf_counter() - started)
        if r.status != want:
            raise RuntimeError(f"{method} {path} answered {r.status}, not {want}: {answer}")
        return answer  # type: ignore[no-any-return]

    async def round(self, tag: str, users: int, concurrency: int,
                    out: dict[str, Phase]) -> None:
        ids: list[str] = [""] * users

        async def create(i: int) -> None:
            made = await self.call("POST", "/Users", okta_user(f"{tag}-{i}@example.com"), 201,
                                   out["create"].latencies)
            ids[i] = made["id"]

        out["create"].seconds.append(await paced(users, concurrency, create))

        async def patch(i: int) -> None:
            await self.call("PATCH", f"/Users/{ids[i]}", set_title(f"title {i}"), 200,
                            out["patch"].latencies)

        out["patch"].seconds.append(await paced(users, concurrency, patch))
        group = await self.call("POST", "/Groups", {"schemas": [GROUP], "displayName": tag}, 201, [])

        async def member(i: int) -> None:
            await self.call("PATCH", f"/Groups/{group['id']}", add_member(ids[i]), 204,
                            out["member add"].latencies)

        out["member add"].seconds.append(await paced(users, concurrency, member))
        async with self.http.get(f"{self.base}/Groups/{group['id']}", headers=self.headers) as r:
            members = {m["value"] for m in (await r.json(content_type=None))["members"]}
        if members != set(ids):
            raise RuntimeError(f"group {tag} has {len(members)} of its {users} members")


class Direct:
    """The same rows written through the repositories, with no HTTP or SCIM in between."""

    def __init__(self, db: Database, tenant_id: int) -> None:
        self.db, self.tenant_id = db, tenant_id

    async def _audit(self, uow: Any, action: str, target: str) -> None:
        await Audit.add(uow, self.tenant_id, "directory", action, "ok", actor_label="scim",
                        target=target, correlation_id=new_correlation_id())

    async def round(self, tag: str, users: int, concurrency: int, out: dict[str, Phase]) -> None:
        ids: list[int] = [0] * users

        async def create(i: int) -> None:
            body = okta_user(f"{tag}-{i}@example.com")
            async with self.db.uow() as uow:
                now = utcnow()
                row = PrincipalRow(tenant_id=self.tenant_id, email=body["userName"],
                                   display_name=body["displayName"], active=True,
                                   user_name=body["userName"], external_id=body["externalId"],
                                   scim=body, created_at=now, updated_at=now)
                uow.session.add(row)
                await uow.session.flush()
                await self._audit(uow, "scim.user.create", row.email)
                await uow.commit()
                ids[i] = row.id

        out["create"].seconds.append(await paced(users, concurrency, create))

        async def patch(i: int) -> None:
            async with self.db.uow() as uow:
                row = await uow.repo(ScimRepo).user(self.tenant_id, ids[i], lock=True)
                assert row is not None and row.scim is not None
                row.scim, row.updated_at = {**row.scim, "title": f"title {i}"}, utcnow()
                await self._audit(uow, "scim.user.patch", row.email)
                await uow.commit()

        out["patch"].seconds.append(await paced(users, concurrency, patch))
        async with self.db.uow() as uow:
            group = await uow.repo(ScimRepo).add_group(self.tenant_id, tag, None)
            await uow.commit()

        async def member(i: int) -> None:
            async with self.db.uow() as uow:
                row = await uow.repo(ScimRepo).group(self.tenant_id, group.id, lock=True)
                assert row is not None
                uow.session.add(GroupMembership(group_id=row.id, principal_id=ids[i]))
                await self._audit(uow, "scim.group.patch", row.display_name)
                await uow.commit()

        out["member add"].seconds.append(await paced(users, concurrency, member))


def deskhand(*args: str) -> list[str]:
    return [str(VENV_BIN / "deskhand"), *args]


@asynccontextmanager
async def scratch_pg(admin_url: str) -> AsyncIterator[str]:
    """A PostgreSQL database for this run, dropped after it."""
    name = f"deskhand_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    user, rest = admin_url.split("://", 1)[1].split("@", 1)
    try:
        yield f"postgresql+asyncpg://{user}@{rest.rsplit('/', 1)[0]}/{name}"
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def measure(url: str, args: argparse.Namespace, work: Path) -> tuple[dict[str, Phase], ...]:
    port = free_port()
    env = clean_env(DESKHAND_MODE="production", DESKHAND_DATABASE_URL=url,
                    DESKHAND_SECRET_KEY=SECRET, DESKHAND_HOST="127.0.0.1", DESKHAND_PORT=str(port),
                    DESKHAND_PUBLIC_URL=f"http://127.0.0.1:{port}", DESKHAND_WORKERS="0",
                    DESKHAND_TENANT=TENANT, DESKHAND_LOG_LEVEL="WARNING")
    scim_out = {p: Phase() for p in PHASES}
    direct_out = {p: Phase() for p in PHASES}
    db = Database(url)
    try:
        # What `deskhand db upgrade` and `deskhand scim-token create` do, without two more
        # interpreter starts.
        await migrate.upgrade(db.engine)
        async with db.uow() as uow:
            await uow.repo(TenantRepo).ensure(TENANT, "Bench")
            token = await tokens.issue(uow, TENANT, rotate=False)
            tenant = await uow.repo(TenantRepo).ensure("bench-direct", "Direct writes")
            await uow.commit()
        direct = Direct(db, tenant.id)
        with spawn(deskhand("serve"), env, work) as proc:
            await asyncio.to_thread(wait_ready, proc, f"http://127.0.0.1:{port}/readyz",
                                    time.perf_counter())
            connector = aiohttp.TCPConnector(limit=args.concurrency)
            async with aiohttp.ClientSession(connector=connector) as http:
                idp = Scim(http, f"http://127.0.0.1:{port}/scim/v2", token)
                await idp.round("warmup", min(args.users, 20), args.concurrency,
                                {p: Phase() for p in PHASES})
                await direct.round("warmup", min(args.users, 20), args.concurrency,
                                   {p: Phase() for p in PHASES})
                for n in range(args.rounds):
                    await idp.round(f"r{n}", args.users, args.concurrency, scim_out)
                    await direct.round(f"r{n}", args.users, args.concurrency, direct_out)
    finally:
        await db.dispose()
    return scim_out, direct_out


def report(users: int, scim_out: dict[str, Phase], direct_out: dict[str, Phase]) -> None:
    print(f"{'phase':<11} {'deskhand /scim/v2':>18} {'p50':>8} {'p95':>8} "
          f"{'direct writes':>14} {'deskhand / direct':>18}")
    for phase in PHASES:
        ours = users / statistics.median(scim_out[phase].seconds)
        floor = users / statistics.median(direct_out[phase].seconds)
        lat: Sequence[float] = scim_out[phase].latencies
        print(f"{phase:<11} {ours:>14,.0f}/s {percentile(lat, 50) * 1000:>6.1f}ms "
              f"{percentile(lat, 95) * 1000:>6.1f}ms {floor:>12,.0f}/s {ours / floor:>17.2f}x")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200, help="users per round (and PATCHes)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    parser.add_argument("--pg", nargs="?", const=PG_ADMIN, default=None, metavar="ADMIN_URL",
                        help="on a scratch PostgreSQL database made through ADMIN_URL "
                             f"(default {PG_ADMIN})")
    args = parser.parse_args(argv)
    print_machine()

    async def run(work: Path) -> tuple[dict[str, Phase], ...]:
        if args.pg is None:
            return await measure(f"sqlite+aiosqlite:///{work / 'deskhand.db'}", args, work)
        async with scratch_pg(args.pg) as url:
            return await measure(url, args, work)

    with tempfile.TemporaryDirectory(prefix="bench-scim-") as tmp:
        try:
            scim_out, direct_out = asyncio.run(run(Path(tmp)))
        except RuntimeError as exc:
            print(f"FAIL  {exc}")
            return 1
    print(f"{'PostgreSQL' if args.pg else 'SQLite'}, {args.users} users x {args.rounds} rounds, "
          f"{args.concurrency} in flight; medians over the rounds")
    report(args.users, scim_out, direct_out)
    print(f"OK  every request answered as the RFC says; every member landed "
          f"({args.rounds * args.users * len(PHASES)} measured writes each side)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
