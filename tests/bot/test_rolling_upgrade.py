"""A rolling upgrade on one PostgreSQL: replicas of this release keep answering while a newer
release migrates the database and starts beside them (docs/migrations.md).

The newer release is this code plus one migration after its head: a copy of `storage/` with the
extra script, and the other packages linked, put first on PYTHONPATH. A release whose migration
older code cannot run on is refused by that older code, in one line.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from storage import migrate
from tests.bot.test_replays import ready, serve
from tests.conftest import SECRET as KEY
from tests.conftest import LiveServer, free_port
from tests.fakes.slack_api import ALEX, BOT_TOKEN, SECRET, FakeSlack, SlackEnv
from tests.workflows.test_restart import prepare

REPO = Path(__file__).resolve().parents[2]
DESKHAND = Path(sys.executable).parent / "deskhand"
PROBE = '''"""A newer release's migration (test only)."""

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None
compatibility = {compatibility!r}


def upgrade() -> None:
    op.create_table("rolling_probe_{revision}", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("tenants", sa.Column("probe_{revision}", sa.String(20), nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "probe_{revision}")
    op.drop_table("rolling_probe_{revision}")
'''


def newer_release(root: Path, *migrations: tuple[str, str]) -> list[str]:
    """This code with (revision, compatibility) migrations after its head; its `deskhand`."""
    root.mkdir()
    shutil.copytree(REPO / "storage", root / "storage",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for package in ("bot", "cards", "handlers", "integrations"):
        (root / package).symlink_to(REPO / package)
    down = migrate.head_revision()
    for revision, compatibility in migrations:
        (root / "storage" / "migrations" / "versions" / f"{revision}_probe.py").write_text(
            PROBE.format(revision=revision, down=down, compatibility=compatibility))
        down = revision
    return [sys.executable, "-m", "bot.cli"]


def environment(db_url: str, fake: FakeSlack, port: int, release: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    env.update(DESKHAND_DATABASE_URL=db_url, DESKHAND_MODE="production", DESKHAND_SECRET_KEY=KEY,
               DESKHAND_TENANT="acme", DESKHAND_WORKERS="0", DESKHAND_PORT=str(port),
               DESKHAND_PUBLIC_URL=f"http://127.0.0.1:{port}", DESKHAND_SLACK_SIGNING_SECRET=SECRET,
               DESKHAND_SLACK_BOT_TOKEN=BOT_TOKEN, DESKHAND_SLACK_API_URL=fake.url + "/api/",
               PYTHONUNBUFFERED="1")
    if release is not None:
        env["PYTHONPATH"] = str(release)
    return env


def run(deskhand: list[str], env: dict[str, str], cwd: Path, *argv: str) -> tuple[int, str, str]:
    done = subprocess.run([*deskhand, *argv], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout.strip(), done.stderr.strip()


async def answered(http: aiohttp.ClientSession, fake: FakeSlack, url: str, token: str) -> None:
    """A signed /devices to the listener at `url` gets its card at its response_url."""
    slack = SlackEnv(fake, LiveServer(None, url), http)  # type: ignore[arg-type]
    before = len(fake.called("response_url"))
    status, _, _ = await slack.command(ALEX, "/devices", "", response=token)
    assert status == 200
    calls = await fake.wait_for("response_url", before + 1, seconds=30)
    assert calls[-1].path == f"/response/{token}" and "Devices" in str(calls[-1].args)


async def readyz(http: aiohttp.ClientSession, url: str) -> tuple[int, object]:
    async with http.get(f"{url}/readyz") as resp:
        return resp.status, await resp.json()


@pytest.mark.postgres
async def test_old_replicas_keep_answering_while_a_newer_release_migrates_and_starts(
        tmp_path: Path, pg_url: str) -> None:
    head = migrate.head_revision()
    await (await prepare(pg_url)).dispose()  # this release's schema, tenant and people
    new = newer_release(tmp_path / "release", ("9999", "expand"))
    fake = FakeSlack()
    await fake.start(free_port())
    fake.add_user(ALEX, "alex.admin@example.com")
    ports = free_port(), free_port()
    old_env = environment(pg_url, fake, ports[0])
    new_env = environment(pg_url, fake, ports[1], tmp_path / "release")
    old_url, new_url = (f"http://127.0.0.1:{p}" for p in ports)
    try:
        async with aiohttp.ClientSession() as http:
            with serve(tmp_path, "old", old_env) as old:
                await ready(old_url, old, tmp_path / "old.log")
                await answered(http, fake, old_url, "old-before")

                code, out, err = await asyncio.to_thread(run, new, new_env, tmp_path, "db", "upgrade")
                assert (code, out, err) == (0, "schema revision: 9999 (code expects 9999)", "")

                # The old replica runs on, ready, and answers.
                assert await readyz(http, old_url) == (200, {"status": "ready", "database": "ok"})
                await answered(http, fake, old_url, "old-after")
                # The old release's CLI says what happened, in one line, and changes nothing.
                code, out, err = await asyncio.to_thread(
                    run, [str(DESKHAND)], old_env, tmp_path, "db", "upgrade")
                assert code == 2 and out == ""
                assert err == (f"deskhand: the database schema (revision 9999) is newer than this "
                               f"deskhand ({head}), which still runs on it: nothing to upgrade "
                               "here; upgrade the deskhand package here to the release that "
                               "migrated it")
                code, out, _ = await asyncio.to_thread(
                    run, [str(DESKHAND)], old_env, tmp_path, "rbac", "list")
                assert code == 0 and "#1 Full Administrator" in out
                # ...but archives no audit rows: the newer schema may hold columns it would drop.
                code, out, err = await asyncio.to_thread(
                    run, [str(DESKHAND)], old_env, tmp_path, "audit", "archive", "--before",
                    "400d", "--to", str(tmp_path / "old.jsonl"))
                assert (code, out) == (2, "") and "run `deskhand audit archive` with the release " \
                    "that migrated it" in err and not (tmp_path / "old.jsonl").exists()

            # An old replica that restarts meanwhile (a crash, a node drained) starts again.
            with serve(tmp_path, "old-again", old_env) as old:
                await ready(old_url, old, tmp_path / "old-again.log")
                said = await asyncio.to_thread((tmp_path / "old-again.log").read_text)
                assert (f"WARNING deskhand: the database schema (revision 9999) is newer than this "
                        f"deskhand ({head}), which still runs on it: nothing to upgrade here; "
                        "upgrade the deskhand package here to the release that migrated it\n") in said
                await answered(http, fake, old_url, "old-again")

                with serve(tmp_path, "new", new_env, new) as fresh:
                    await ready(new_url, fresh, tmp_path / "new.log")
                    await answered(http, fake, new_url, "new")
                    await answered(http, fake, old_url, "old-beside-new")
                    assert (await readyz(http, old_url))[0] == 200
                    assert (await readyz(http, new_url))[0] == 200
    finally:
        await fake.stop()


async def test_older_code_refuses_a_schema_it_cannot_run_on_in_one_line(tmp_path: Path) -> None:
    """A newer release whose last migration is a contract one: this code (two releases back by
    its schema) cannot run on it; it says so and exits 2 at start-up, and its running replicas
    turn unready with the reason."""
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'deskhand.db'}"
    await (await prepare(db_url)).dispose()
    head = migrate.head_revision()
    new = newer_release(tmp_path / "release", ("9998", "expand"), ("9999", "contract"))
    fake = FakeSlack()
    await fake.start(free_port())
    port = free_port()
    old_env = environment(db_url, fake, port)
    new_env = environment(db_url, fake, free_port(), tmp_path / "release")
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            with serve(tmp_path, "old", old_env) as old:
                await ready(url, old, tmp_path / "old.log")
                code, out, _ = await asyncio.to_thread(run, new, new_env, tmp_path, "db", "upgrade")
                assert (code, out) == (0, "schema revision: 9999 (code expects 9999)")
                assert await readyz(http, url) == (503, {
                    "status": "unavailable", "database": "schema newer than this code"})
        newer = (f"deskhand: the database schema (revision 9999) is newer than this deskhand "
                 f"({head}), which cannot run on it (it needs code at revision 9998 or later); "
                 "upgrade the deskhand package here to the release that migrated it")
        for argv in (["serve"], ["db", "upgrade"], ["rbac", "list"]):
            code, out, err = await asyncio.to_thread(run, [str(DESKHAND)], old_env, tmp_path, *argv)
            assert (code, out, err) == (2, "", newer), argv
        code, out, _ = await asyncio.to_thread(run, [str(DESKHAND)], old_env, tmp_path, "db", "current")
        assert code == 0 and out == f"schema revision: 9999 (code expects {head}); {newer[10:]}"
    finally:
        await fake.stop()
