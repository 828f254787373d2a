"""The official `delta-sharing` Python client (in its own environment: delta_env.py) reads every
shared table with pandas through a profile downloaded from chat, and fails once the token is
revoked from chat."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from storage.audit import AuditEvent
from storage.instructions import InstructionRun
from storage.remote import RemoteSession
from tests.bot.platforms.test_same_on_every_platform import ADMIN, deskhand, driver_for
from tests.conftest import LiveServer
from tests.handlers import delta_env
from tests.handlers.test_tokens import fetch_profile, link_of

CLIENT = Path(__file__).with_name("delta_client.py")


async def read_with_client(profile: Path) -> tuple[int, dict[str, Any]]:
    python = await asyncio.to_thread(delta_env.python)
    proc = await asyncio.create_subprocess_exec(str(python), str(CLIENT), str(profile),
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode in (0, 3), f"the client died ({proc.returncode}): {err.decode()[-2000:]}"
    return proc.returncode, json.loads(out.decode().strip().splitlines()[-1])


async def some_rows(server: LiveServer) -> None:
    tenant = server.runtime.tenant_id
    async with server.runtime.db.uow() as uow:
        uow.session.add(RemoteSession(tenant_id=tenant, state="closed", device_name="PC-0042",
                                      requester_email=ADMIN, correlation_id="c1", code="s12-345-678",
                                      supporter_link="https://secret.example/link"))
        uow.session.add(InstructionRun(tenant_id=tenant, state="completed", definition_name="Q",
                                       definition_vendor_id=1, kind="question", target_label="PC-1",
                                       requester_email=ADMIN, correlation_id="c2",
                                       parameters={"password": "hunter2"}))
        await uow.commit()


@pytest.mark.timeout(900)  # the first run builds the client's environment (a pip install)
async def test_delta_sharing_client_reads_every_table_then_fails_after_revoke(tmp_path: Path) -> None:
    async with deskhand(tmp_path) as (env, fake), driver_for("console", env, fake) as bot:
        server = env.server
        await some_rows(server)
        await bot.say(ADMIN, "data-access enable")
        created = await bot.say(ADMIN, "token create name=bi@example.com expires=1m")
        token_id = int(created.title.split()[2])
        status, body = await fetch_profile(link_of(await bot.say(ADMIN, f"token download {token_id}")))
        assert status == 200
        profile = tmp_path / "deskhand.share"
        profile.write_bytes(body)

        code, read = await read_with_client(profile)
        assert code == 0, read
        tables = read["tables"]
        assert set(tables) == {"audit_events", "remote_sessions", "instruction_runs"}
        async with server.runtime.db.uow() as uow:
            audit_ids = sorted((await uow.session.execute(select(AuditEvent.id).where(
                AuditEvent.tenant_id == server.runtime.tenant_id))).scalars().all())
        shared = tables["audit_events"]["ids"]
        assert shared and set(shared) <= set(audit_ids)  # the snapshot of the first query
        assert tables["remote_sessions"]["rows"] == 1 and tables["instruction_runs"]["rows"] == 1
        assert tables["remote_sessions"]["sample"]["device_name"] == "PC-0042"
        assert "supporter_link" not in tables["remote_sessions"]["columns"]
        assert "parameters" not in tables["instruction_runs"]["columns"]
        assert "hunter2" not in json.dumps(read)

        ask = await bot.say(ADMIN, f"token revoke {token_id}")
        await bot.click(ADMIN, ask, ask.buttons[0])
        code, read = await read_with_client(profile)
        assert code == 3 and "401" in read["error"], read
