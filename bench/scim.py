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
each phase first through deskhand, then direct, so machine drift hits both alike. Throughput is
ops over the phase's wall time; the median over --rounds is reported, with latencies.
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
from typing import Any, Protocol

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
    seconds: list[float] = field(default_factory=list)  # wall time of each round's phase
    latencies: list[float] = field(default_factory=list)  # every operation's


class Side(Protocol):
    """One way of making the writes: through deskhand's /scim/v2, or directly."""

    async def create(self, user_name: str) -> Any: ...
    async def patch(self, ident: Any, title: str) -> None: ...
    async def group(self, name: str) -> Any: ...
    async def add(self, group: Any, ident: Any) -> None: ...
    async def members(self, group: Any) -> set[str]: ...


async def paced(count: int, concurrency: int, op: Callable[[int], Awaitable[None]],
                phase: Phase) -> None:
    """Run op(0..count-1) with `concurrency` in flight, timing each and the whole."""
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            started = time.perf_counter()
            await op(i)
            phase.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.seconds.append(time.perf_counter() - started)


async def round_of(sides: dict[str, Side], tag: str, users: int, concurrency: int,
                   out: dict[str, dict[str, Phase]]) -> None:
    """Each phase on each side in turn, so machine drift hits both alike."""
    ids: dict[str, list[Any]] = {name: [None] * users for name in sides}
    for name, side in sides.items():
        async def create(i: int, side: Side = side, made: list[Any] = ids[name]) -> None:
            made[i] = await side.create(f"{tag}-{i}@example.com")
        await paced(users, concurrency, create, out[name]["create"])
    for name, side in sides.items():
        async def patch(i: int, side: Side = side, made: list[Any] = ids[name]) -> None:
            await side.patch(made[i], f"title {i}")
        await paced(users, concurrency, patch, out[name]["patch"])
    for name, side in sides.items():
        group = await side.group(tag)

        async def add(i: int, side: Side = side, made: list[Any] = ids[name],
                      group: Any = group) -> None:
            await side.add(group, made[i])
        await paced(users, concurrency, add, out[name]["member add"])
        if await side.members(group) != {str(i) for i in ids[name]}:
            raise RuntimeError(f"{name}: group {tag} lacks some of its {users} members")


class Scim:
    """The IdP side: Okta-shaped requests to deskhand's /scim/v2 with the tenant's token."""

    def __init__(self, http: aiohttp.ClientSession, base: str, token: str) -> None:
        self.http, self.base = http, base
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": MEDIA,
                        "User-Agent": "Okta SCIM Client 1.0.0"}

    async def call(self, method: str, path: str, body: dict[str, Any] | None,
                   want: int) -> dict[str, Any]:
        async with self.http.request(method, self.base + path, json=body,
                                     headers=self.headers) as r:
            raw = await r.read()
        answer = orjson.loads(raw) if raw else {}
        if r.status != want:
            raise RuntimeError(f"{method} {path} answered {r.status}, not {want}: {answer}")
        return answer

    async def create(self, user_name: str) -> Any:
        return (await self.call("POST", "/Users", okta_user(user_name), 201))["id"]

    async def patch(self, ident: Any, title: str) -> None:
        await self.call("PATCH", f"/Users/{ident}", set_title(title), 200)

    async def group(self, name: str) -> Any:
        return (await self.call("POST", "/Groups", {"schemas": [GROUP], "displayName": name},
                                201))["id"]

    async def add(self, group: Any, ident: Any) -> None:
        await self.call("PATCH", f"/Groups/{group}", add_member(ident), 204)  # Entra's wish

    async def members(self, group: Any) -> set[str]:
        return {m["value"] for m in (await self.call("GET", f"/Groups/{group}", None, 200))
                .get("members", [])}


class Direct:
    """The same rows written through the repositories, with no HTTP or SCIM in between."""

    def __init__(self, db: Database, tenant_id: int) -> None:
        self.db, self.tenant_id = db, tenant_id

    async def _audit(self, uow: Any, action: str, target: str) -> None:
        await Audit.add(uow, self.tenant_id, "directory", action, "ok", actor_label="scim",
                        target=target, correlation_id=new_correlation_id())

    async def create(self, user_name: str) -> Any:
        body = okta_user(user_name)
        async with self.db.uow() as uow:
            now = utcnow()
            row = PrincipalRow(tenant_id=self.tenant_id, email=user_name,
                               display_name=body["displayName"], active=True, user_name=user_name,
                               external_id=body["externalId"], scim=body, created_at=now,
                               updated_at=now)
            uow.session.add(row)
            await uow.session.flush()
            await self._audit(uow, "scim.user.create", row.email)
            await uow.commit()
            return row.id

    async def patch(self, ident: Any, title: str) -> None:
        async with self.db.uow() as uow:
            row = await uow.repo(ScimRepo).user(self.tenant_id, ident, lock=True)
            assert row is not None and row.scim is not None
            row.scim, row.updated_at = {**row.scim, "title": title}, utcnow()
            await self._audit(uow, "scim.user.patch", row.email)
            await uow.commit()

    async def group(self, name: str) -> Any:
        async with self.db.uow() as uow:
            group = await uow.repo(ScimRepo).add_group(self.tenant_id, name, None)
            await uow.commit()
            return group.id

    async def add(self, group: Any, ident: Any) -> None:
        async with self.db.uow() as uow:
            row = await uow.repo(ScimRepo).group(self.tenant_id, group, lock=True)
            assert row is not None
            uow.session.add(GroupMembership(group_id=row.id, principal_id=ident))
            await self._audit(uow, "scim.group.patch", row.display_name)
            await uow.commit()

    async def members(self, group: Any) -> set[str]:
        async with self.db.uow() as uow:
            return {str(m.id) for m in (await uow.repo(ScimRepo).members([group]))[group]}


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


Results = dict[str, dict[str, Phase]]  # side -> phase -> figures


async def measure(url: str, args: argparse.Namespace, work: Path) -> Results:
    port = free_port()
    env = clean_env(DESKHAND_MODE="production", DESKHAND_DATABASE_URL=url,
                    DESKHAND_SECRET_KEY=SECRET, DESKHAND_HOST="127.0.0.1", DESKHAND_PORT=str(port),
                    DESKHAND_PUBLIC_URL=f"http://127.0.0.1:{port}", DESKHAND_WORKERS="0",
                    DESKHAND_TENANT=TENANT, DESKHAND_LOG_LEVEL="WARNING")
    out = {side: {p: Phase() for p in PHASES} for side in ("deskhand", "direct")}
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
        with spawn(deskhand("serve"), env, work) as proc:
            await asyncio.to_thread(wait_ready, proc, f"http://127.0.0.1:{port}/readyz",
                                    time.perf_counter())
            connector = aiohttp.TCPConnector(limit=args.concurrency)
            async with aiohttp.ClientSession(connector=connector) as http:
                sides: dict[str, Side] = {
                    "deskhand": Scim(http, f"http://127.0.0.1:{port}/scim/v2", token),
                    "direct": Direct(db, tenant.id)}
                warmup = {side: {p: Phase() for p in PHASES} for side in sides}
                await round_of(sides, "warmup", min(args.users, 20), args.concurrency, warmup)
                for n in range(args.rounds):
                    await round_of(sides, f"r{n}", args.users, args.concurrency, out)
    finally:
        await db.dispose()
    return out


def report(users: int, out: Results) -> None:
    print(f"{'phase':<11} {'deskhand /scim/v2':>17} {'p50':>8} {'p95':>8} {'direct writes':>14} "
          f"{'p50':>7} {'deskhand / direct':>18}")
    for phase in PHASES:
        ours, floor = out["deskhand"][phase], out["direct"][phase]
        rate, base = users / statistics.median(ours.seconds), users / statistics.median(floor.seconds)
        print(f"{phase:<11} {rate:>15,.0f}/s {percentile(ours.latencies, 50) * 1000:>6.1f}ms "
              f"{percentile(ours.latencies, 95) * 1000:>6.1f}ms {base:>12,.0f}/s "
              f"{percentile(floor.latencies, 50) * 1000:>5.1f}ms {rate / base:>17.2f}x")


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

    async def run(work: Path) -> Results:
        if args.pg is None:
            return await measure(f"sqlite+aiosqlite:///{work / 'deskhand.db'}", args, work)
        async with scratch_pg(args.pg) as url:
            return await measure(url, args, work)

    with tempfile.TemporaryDirectory(prefix="bench-scim-") as tmp:
        try:
            out = asyncio.run(run(Path(tmp)))
        except RuntimeError as exc:
            print(f"FAIL  {exc}")
            return 1
    print(f"{'PostgreSQL' if args.pg else 'SQLite'}, {args.users} users x {args.rounds} rounds, "
          f"{args.concurrency} in flight; medians over the rounds")
    report(args.users, out)
    print(f"OK  every request answered as the RFC says; every member landed "
          f"({args.rounds * args.users * len(PHASES)} measured writes each side)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
