"""Rotating DESKHAND_SECRET_KEY(S): every kind of sealed row stays readable through the ring
[B, A], `deskhand secrets rotate` (a real process) re-seals it with B, and the ring [B] alone then
reads everything; a row no key of the ring opens is reported by its primary key, exit code 1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from bot import cli, rekey
from bot.bootstrap import build_runtime, sealed_columns
from bot.downloads import Downloads, LinkError
from bot.integration import seal
from bot.runtime import Runtime
from bot.secrets import SecretBox
from bot.startup import StartupError, secret_box
from bot.tenancy import SLACK_TEAM, sealed_slack_token
from handlers.certificates import lifecycle
from handlers.remote.tokens import DatabaseTokenStore
from integrations.teamviewer.oauth import PendingSignIn
from storage.audit import AuditRepo
from storage.directory import DirectoryRepo
from storage.inbox import InboxItem
from storage.integrations import IntegrationRepo
from storage.remote import TeamViewerAuthRepo
from storage.tenants import ChatWorkspace, WorkspaceRepo
from tests.conftest import make_settings, sqlite_url

DESKHAND = str(Path(sys.executable).parent / "deskhand")
A, B, C = ("key-a-" + "a" * 26, "key-b-" + "b" * 26, "key-c-" + "c" * 26)
API_TOKEN, ACCESS, REFRESH, VERIFIER = "tv-api-1111", "tv-access-2222", "tv-refresh-3333", "pkce-4444"
SLACK_TOKEN = "xoxb-own-workspace-5555"
STATE = "0" * 64
COUNTS = re.compile(r"^(\w+): (\d+) re-sealed with the first key, (\d+) already sealed with it, "
                    r"(\d+) rewritten by deskhand meanwhile, (\d+) unreadable$")


@asynccontextmanager
async def deskhand(url: str, **keys: str) -> AsyncIterator[Runtime]:
    """A runtime with this key ring (secret_key=... or secret_keys=...), no jobs, no consumer."""
    rt = build_runtime(make_settings(url, **{"secret_key": None, **keys}))
    rt.run_jobs, rt.inbox.consume = False, False
    await rt.start(upgrade=True)
    try:
        yield rt
    finally:
        await rt.stop()


async def seed(rt: Runtime) -> None:
    """One row of every kind deskhand seals, each through the code that writes it."""
    integration = rt.tenant_clients.declared["teamviewer"]
    values, sealed = seal(integration, rt.secrets, {"api_token": API_TOKEN, "session_group": "desk"})
    async with rt.db.uow() as uow:
        await uow.repo(IntegrationRepo).put(rt.tenant_id, "teamviewer", values, sealed, by="test")
        alex = await uow.repo(DirectoryRepo).upsert_principal(rt.tenant_id, "alex@example.com", "Alex")
        for team, token in (("T0OWN", rt.secrets.seal(SLACK_TOKEN)), ("T0SHARED", None)):
            await uow.repo(WorkspaceRepo).add(ChatWorkspace(  # as `deskhand tenant map` does
                tenant_id=rt.tenant_id, platform="slack", kind=SLACK_TEAM, external_id=team,
                bot_token=token, created_by="test"))
        await uow.commit()
    tokens = DatabaseTokenStore(rt.db, rt.secrets, rt.tenant_id)
    later = datetime.now(UTC) + timedelta(hours=1)
    await tokens.connect(ACCESS, REFRESH, later, "alex@example.com")
    await tokens.save_pending(STATE, PendingSignIn(alex.id, VERIFIER, later))
    assert await lifecycle.ensure(rt, rt.tenant_id) is not None  # a new IdP key pair
    assert await rt.inbox.put("slack", "command", {"text": "integrations set x password=p"})


async def stored(rt: Runtime) -> dict[str, list[str]]:
    """Every sealed value of every declared column, by table."""
    found: dict[str, list[str]] = {}
    async with rt.db.engine.connect() as conn:
        for sealed in sealed_columns():
            table = sealed.table
            for row in (await conn.execute(select(table))).mappings():
                values = [row[n] for n in sealed.text if row[n] is not None]
                values += list((row[sealed.json] or {}).values()) if sealed.json else []
                found.setdefault(table.name, []).extend(values)
    return found


async def read_back(rt: Runtime) -> None:
    """Each kind of secret through the code that reads it."""
    effective = await rt.tenant_clients.effective(rt.tenant_id, "teamviewer")
    assert not effective.trouble and effective.record["api_token"] == API_TOKEN
    tokens = await DatabaseTokenStore(rt.db, rt.secrets, rt.tenant_id).tokens()
    assert tokens is not None and (tokens.access, tokens.refresh) == (ACCESS, REFRESH)
    own = await sealed_slack_token(rt.db, {"team": "T0OWN"})
    assert own is not None and rt.secrets.open(own) == SLACK_TOKEN
    for table, values in (await stored(rt)).items():
        for value in values:
            rt.secrets.open(value)  # ValueError if no key of the ring opens it
        assert values, f"no {table} row was seeded"


def counted(out: str) -> dict[str, tuple[int, ...]]:
    return {m[1]: tuple(int(n) for n in m.groups()[1:])
            for m in map(COUNTS.match, out.splitlines()) if m}


def rotate(url: str, keys: str, *argv: str) -> tuple[int, dict[str, tuple[int, ...]], str, str]:
    """`deskhand secrets rotate` as a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKHAND_")}
    env.update(DESKHAND_DATABASE_URL=url, DESKHAND_SECRET_KEYS=keys, DESKHAND_TENANT="acme")
    done = subprocess.run([DESKHAND, "secrets", "rotate", *argv], env=env, text=True,
                          capture_output=True, timeout=60)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, counted(done.stdout), done.stdout, done.stderr


@pytest.fixture
def rotate_here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """`deskhand secrets rotate` through the CLI's entry point in this process (a process start
    costs seconds), on a thread of its own: it runs its own event loop."""
    async def run(url: str, keys: str, *argv: str) -> tuple[int, dict[str, tuple[int, ...]], str, str]:
        capsys.readouterr()
        root = logging.getLogger()
        handlers, level = root.handlers[:], root.level  # main() sets up logging for a process
        with monkeypatch.context() as env:
            for name in [n for n in os.environ if n.startswith("DESKHAND_")]:
                env.delenv(name)
            env.setenv("DESKHAND_DATABASE_URL", url)
            env.setenv("DESKHAND_SECRET_KEYS", keys)
            env.setenv("DESKHAND_TENANT", "acme")
            code = await asyncio.to_thread(cli.main, ["secrets", "rotate", *argv])
        root.handlers[:], root.level = handlers, level
        out, err = capsys.readouterr()
        return code, counted(out), out, err
    return run


async def test_rotating_the_secret_key_leaves_every_stored_secret_readable(
        db_url: str, rotate_here: Any) -> None:
    async with deskhand(db_url, secret_key=A) as rt:
        await seed(rt)
        await read_back(rt)
        tables = set(await stored(rt))
        link_a = rt.downloads.sign("audit.csv", {"t": rt.tenant_id})
    assert tables == {s.table.name for s in sealed_columns()}, "a declared kind is not seeded"

    async with deskhand(db_url, secret_keys=f"{B},{A}") as rt:
        await read_back(rt)
        assert rt.downloads.verify(link_a)[0] == "audit.csv"  # a link handed out before
        link_b = rt.downloads.sign("audit.csv", {"t": rt.tenant_id})
        await rt.inbox.put("slack", "command", {"text": "written with the ring [B, A]"})
        async with rt.db.engine.connect() as conn:
            newest = (await conn.execute(select(InboxItem.payload).order_by(
                InboxItem.id.desc()).limit(1))).scalar_one()
    assert "written with the ring" in SecretBox([B]).open(newest)  # new writes: the first key
    assert Downloads([B], "http://x").verify(link_b)[0] == "audit.csv"
    with pytest.raises(ValueError):
        SecretBox([A]).open(newest)

    code, counts, out, err = await rotate_here(db_url, f"{B},{A}", "--batch", "1")  # one row per batch
    assert code == 0, err
    assert counts == {"integration_configs": (1, 0, 0, 0), "inbox": (1, 1, 0, 0),
                      "teamviewer_credentials": (1, 0, 0, 0), "teamviewer_oauth_states": (1, 0, 0, 0),
                      "idp_certificates": (1, 0, 0, 0), "chat_workspaces": (1, 0, 0, 0)}, out
    assert "the other keys can be removed" in out
    code, again, out, _ = await rotate_here(db_url, f"{B},{A}")
    assert code == 0 and set(again.values()) == {(0, 1, 0, 0), (0, 2, 0, 0)}, out  # idempotent

    async with deskhand(db_url, secret_key=B) as rt:  # the old key dropped
        await read_back(rt)
        pending = await DatabaseTokenStore(rt.db, rt.secrets, rt.tenant_id).take_pending(STATE)
        assert pending is not None and pending.verifier == VERIFIER
        with pytest.raises(LinkError):
            rt.downloads.verify(link_a)
        async with rt.db.uow() as uow:
            trail = [e for e in await uow.repo(AuditRepo).query(rt.tenant_id, limit=100)
                     if e.action == "secrets rotate"]
    assert [(e.outcome, e.actor_email) for e in trail] == [("ok", "cli")] * 2
    assert {e.params["tables"]["inbox"]["resealed"] for e in trail} == {0, 1}
    assert all(e.params["ring_size"] == 2 for e in trail)


async def waiting_on_a_lock(engine: Any) -> None:
    """Until some statement on this database waits for a row lock (PostgreSQL)."""
    for _ in range(500):
        async with engine.connect() as conn:
            if (await conn.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"))).scalar_one():
                return
        await asyncio.sleep(0.02)
    raise AssertionError("`secrets rotate` never waited for the row deskhand is writing")


@pytest.mark.postgres
async def test_a_row_deskhand_rewrites_while_rotate_runs_keeps_deskhands_value(pg_url: str) -> None:
    """A TeamViewer token refresh commits between rotate's read of the row and its write: the
    compare-and-set finds the row changed, leaves the refresh's tokens and counts the row as
    rewritten meanwhile (deskhand sealed it itself, with the first key)."""
    async with deskhand(pg_url, secret_key=A) as rt:
        await seed(rt)
    async with deskhand(pg_url, secret_keys=f"{B},{A}") as rt:
        store = DatabaseTokenStore(rt.db, rt.secrets, rt.tenant_id)
        before = await store.tokens()
        assert before is not None
        async with rt.db.uow() as uow:  # the refresh, holding the row until it commits
            assert await uow.repo(TeamViewerAuthRepo).rotate(
                rt.tenant_id, before.version, rt.secrets.seal("tv-access-new"),
                rt.secrets.seal("tv-refresh-new"), before.expires_at)
            running = asyncio.create_task(rekey.rotate(rt.db.engine, rt.secrets, sealed_columns()))
            await waiting_on_a_lock(rt.db.engine)
            await uow.commit()
        reports = {r.table: r for r in await running}
        after = await store.tokens()
        assert after is not None and (after.access, after.refresh) == ("tv-access-new",
                                                                       "tv-refresh-new")
    moved = reports.pop("teamviewer_credentials")
    assert (moved.resealed, moved.current, moved.moved, moved.unreadable) == (0, 0, 1, [])
    assert all(r.resealed == 1 and not r.unreadable for r in reports.values())


async def test_a_row_no_key_of_the_ring_opens_is_reported_and_left_alone(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    async with deskhand(url, secret_key=C) as rt:  # a key that is lost
        await seed(rt)
        async with rt.db.uow() as uow:
            before = (await uow.repo(IntegrationRepo).get(rt.tenant_id, "teamviewer"))
            assert before is not None
            lost = dict(before.sealed)
    async with deskhand(url, secret_key=A) as rt:  # one row sealed again with a key of the ring
        await DatabaseTokenStore(rt.db, rt.secrets, rt.tenant_id).connect(
            ACCESS, REFRESH, datetime.now(UTC) + timedelta(hours=1), "alex@example.com")
        tenant = rt.tenant_id

    code, counts, out, err = rotate(url, f"{B},{A}")
    assert code == 1
    assert counts["teamviewer_credentials"] == (1, 0, 0, 0)
    assert counts["integration_configs"] == (0, 0, 0, 1) and counts["inbox"] == (0, 0, 0, 1)
    said = err.splitlines()
    assert f"  cannot open integration_configs (tenant_id={tenant}, name=teamviewer): " \
           "sealed.api_token" in said
    assert "  cannot open idp_certificates (id=1): private_key" in said
    assert "  cannot open chat_workspaces (id=1): bot_token" in said
    assert f"  cannot open teamviewer_oauth_states (state_hash={STATE}): verifier" in said
    assert said[-1].startswith("deskhand: 5 row(s) hold a value that no key of the ring opens")
    for secret in (API_TOKEN, VERIFIER, SLACK_TOKEN, "PRIVATE KEY", A, B, C, *lost.values()):
        assert secret not in out + err
    async with deskhand(url, secret_keys=f"{B},{A}") as rt:
        async with rt.db.uow() as uow:
            row = await uow.repo(IntegrationRepo).get(rt.tenant_id, "teamviewer")
            trail = [e for e in await uow.repo(AuditRepo).query(rt.tenant_id, limit=100)
                     if e.action == "secrets rotate"]
        assert row is not None and row.sealed == lost  # left as it was
        effective = await rt.tenant_clients.effective(rt.tenant_id, "teamviewer")
        assert "set it again" in effective.trouble
    assert [e.outcome for e in trail] == ["failed"]
    assert trail[0].params["tables"]["idp_certificates"]["unreadable"] == 1
    assert "idp_certificates (id=1): private_key" in trail[0].detail


async def test_rotate_refuses_without_a_ring_and_with_a_bad_batch(tmp_path: Path,
                                                                 rotate_here: Any) -> None:
    url = sqlite_url(tmp_path)
    code, _, _, err = await rotate_here(url, "")
    assert code == 2 and err.startswith("deskhand: DESKHAND_SECRET_KEY is not set (it encrypts")
    assert len(err.splitlines()) == 1
    with pytest.raises(StartupError, match="must be at least 16 characters"):
        secret_box(make_settings(url, secret_key="too-short"))  # serve says the same, exit 2
    code, _, _, err = await rotate_here(url, A, "--batch", "0")
    assert code == 1 and err.strip() == "deskhand: --batch takes a number of rows from 1 to 10000"
