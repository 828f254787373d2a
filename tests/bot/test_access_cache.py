"""What a command reads before its handler runs (tenant, person, grants, settings) is cached per
process (bot/access_cache.py) and never answers from before a change: a role revoked in chat, by
the CLI in a process of its own, or by SCIM through one deskhand process is refused on the very
next command another process handles, its cache warm, on SQLite and PostgreSQL; so is a
setting changed, and a workspace mapped to a tenant; and every table those reads depend on has
the triggers that move the access version."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.bootstrap import build_runtime
from bot.runtime import Runtime
from bot.tenancy import SLACK_TEAM, Refused, Unmapped, Workspace, tenant_of
from storage.cache_versions import WATCHED, current
from storage.db import Database
from storage.directory import DirectoryRepo
from storage.rbac import RbacRepo
from tests.bot.test_tenancy import mapped, tenant
from tests.conftest import SECRET, LiveServer, make_settings
from tests.handlers.scim_env import grant_group, idp, issue_token, say, scim_server

ALEX, AVERY = "alex.admin@example.com", "avery.actioner@example.com"
DESKHAND = str(Path(sys.executable).parent / "deskhand")
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
EMAIL = "casey.cached@example.com"


@asynccontextmanager
async def two_processes(tmp_path: Path, url: str) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    """Two deskhand runtimes on one database, each with its own caches, as two replicas."""
    async with scim_server(tmp_path, url) as a, scim_server(tmp_path, url) as b:
        yield a, b


async def warm(server: LiveServer, email: str) -> None:
    """`devices` answered, and the person's grants now cached by that process."""
    assert (await say(server, email, "devices"))["title"] == "Devices"
    rt = server.runtime
    async with rt.db.uow() as uow:
        person = await uow.repo(DirectoryRepo).principal_by_email(rt.tenant_id, email)
    assert person is not None
    assert rt.access.holds("grants", (rt.tenant_id, person.id))


def rows(card: dict[str, object]) -> int:
    """The devices a `devices` card lists (its table's lines but the header)."""
    return sum(" | " in line for line in str(card["fallback"]).splitlines()) - 1


async def assignment(server: LiveServer, email: str, role: str) -> int:
    rt = server.runtime
    async with rt.db.uow() as uow:
        person = await uow.repo(DirectoryRepo).principal_by_email(rt.tenant_id, email)
        assert person is not None
        return next(a.id for a, r in await uow.repo(RbacRepo).assignments(rt.tenant_id)
                    if a.principal_id == person.id and r.name == role)


async def test_a_role_revoked_in_chat_is_refused_by_the_other_process(
        tmp_path: Path, db_url: str) -> None:
    async with two_processes(tmp_path, db_url) as (a, b):
        await warm(b, AVERY)
        number = await assignment(a, AVERY, "Actioner")
        revoked = await say(a, ALEX, f"role revoke {number}")
        assert revoked["title"] == f"Assignment #{number} revoked"
        assert (await say(b, AVERY, "devices"))["title"] == "Not allowed"
        # the settings too: a page size changed through one process is the other's next page
        assert rows(await say(b, ALEX, "devices")) == 10
        assert (await say(a, ALEX, "settings set page_size=25"))["title"] != "Not allowed"
        assert rows(await say(b, ALEX, "devices")) == 25


async def test_a_role_revoked_by_the_cli_is_refused_on_the_next_command(
        tmp_path: Path, db_url: str) -> None:
    async with two_processes(tmp_path, db_url) as (_, b):
        await warm(b, AVERY)
        number = await assignment(b, AVERY, "Actioner")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
        env.update(DESKHAND_DATABASE_URL=db_url, DESKHAND_SECRET_KEY=SECRET, DESKHAND_TENANT="acme")
        cli = await asyncio.create_subprocess_exec(
            DESKHAND, "rbac", "revoke", str(number), env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        out, _ = await asyncio.wait_for(cli.communicate(), 60)
        assert cli.returncode == 0, out.decode()
        assert f"revoked assignment #{number}" in out.decode()
        assert (await say(b, AVERY, "devices"))["title"] == "Not allowed"


async def test_scim_group_removal_and_deactivation_are_refused_by_the_other_process(
        tmp_path: Path, db_url: str) -> None:
    async with two_processes(tmp_path, db_url) as (a, b), \
            idp(a, await issue_token(a)) as scim:
        status, _, user = await scim.call("POST", "/Users", {
            "schemas": [USER], "userName": EMAIL, "active": True, "displayName": "Casey Cached",
            "emails": [{"primary": True, "value": EMAIL}]})
        assert status == 201
        status, _, group = await scim.call("POST", "/Groups", {
            "schemas": [GROUP], "displayName": "Cached Desk",
            "members": [{"value": user["id"]}]})
        assert status == 201
        await grant_group(a, "Console Viewer", "Cached Desk")
        await warm(b, EMAIL)

        status, _, _ = await scim.call("PATCH", f"/Groups/{group['id']}", {
            "schemas": [PATCH], "Operations": [
                {"op": "remove", "path": f'members[value eq "{user["id"]}"]'}]})
        assert status in (200, 204)
        assert (await say(b, EMAIL, "devices"))["title"] == "Not allowed"

        status, _, _ = await scim.call("PATCH", f"/Groups/{group['id']}", {
            "schemas": [PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": user["id"]}]}]})
        assert status in (200, 204)
        await warm(b, EMAIL)
        status, _, _ = await scim.call("PATCH", f"/Users/{user['id']}", {
            "schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})
        assert status == 200
        assert (await say(b, EMAIL, "devices"))["title"] == "Your account is deactivated"


async def test_a_workspace_mapped_by_one_process_moves_the_next_request_of_another(
        db_url: str) -> None:
    a, b = (build_runtime(make_settings(db_url)) for _ in range(2))
    for rt in (a, b):
        rt.run_jobs = False
        await rt.start(upgrade=True)
    try:
        mine, other = Workspace("slack", "T0CACHE"), Workspace("slack", "T0OTHER")

        async def request(rt: Runtime, where: Workspace) -> int | Refused:
            seen = await rt.access.begin()  # as bot/dispatch.py resolves a request's tenant
            try:
                return await tenant_of(rt, where)
            finally:
                rt.access.end(seen)

        # Nothing mapped: both the deployment's, and so cached by b.
        assert [await request(b, w) for w in (mine, other)] == [b.tenant_id] * 2
        assert b.access.holds("tenant", mine) and b.access.holds("tenant", other)
        beta = await tenant(a, "beta")
        await mapped(a, beta, SLACK_TEAM, "T0CACHE")
        assert await request(b, mine) == beta
        assert isinstance(await request(b, other), Unmapped)  # Slack has a mapping now
    finally:
        for rt in (a, b):
            await rt.stop()


async def test_every_watched_table_moves_the_version_once_per_committed_transaction(
        database: Database) -> None:
    """Triggers, so that no writer can forget (raw SQL included); a migration that rebuilds one
    of these tables on SQLite must create them again, which this test would catch."""
    async with database.engine.connect() as conn:
        if database.dialect == "postgresql":
            found = (await conn.execute(text(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE 'cache_version_%' AND t.tgdeferrable"))).scalars().all()
            assert sorted(found) == sorted(WATCHED)
        else:
            found = (await conn.execute(text(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'cache_version_%'"))).all()
            assert sorted(found) == sorted((t, f"cache_version_{t}_{op}") for t in WATCHED
                                           for op in ("insert", "update", "delete"))
        before = await current(conn)
    assert before is not None
    async with database.engine.begin() as conn:  # two writes, one transaction
        await conn.execute(text("INSERT INTO tenants (id, slug, name, created_at) "
                                "VALUES (7, 'seven', 'Seven', CURRENT_TIMESTAMP)"))
        await conn.execute(text("INSERT INTO tenant_settings (tenant_id, \"values\", updated_at, "
                                "updated_by) VALUES (7, '{}', CURRENT_TIMESTAMP, 'test')"))
    async with database.engine.connect() as conn:
        after = await current(conn)
        # PostgreSQL moves it once per transaction, at the commit; SQLite once per row
        assert after == before + (1 if database.dialect == "postgresql" else 2)
        await conn.execute(text("UPDATE tenants SET name = 'Eight' WHERE id = 7"))
        await conn.rollback()  # never committed: never moved
        assert await current(conn) == after


@pytest.mark.parametrize("table", ["mapped_platforms"])
async def test_a_raw_insert_moves_the_version(database: Database, table: str) -> None:
    async with database.engine.connect() as conn:
        before = await current(conn)
    async with database.engine.begin() as conn:
        await conn.execute(text(f"INSERT INTO {table} (platform, since, by) "
                                "VALUES ('slack', CURRENT_TIMESTAMP, 'test')"))
    async with database.engine.connect() as conn:
        assert before is not None and await current(conn) == before + 1
