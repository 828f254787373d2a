"""DESKHAND_LOG_FORMAT=json (bot/logs.py): `deskhand serve` and its worker process write one JSON
object per line, and the lines a command causes carry its correlation id (the ref the person is
shown, and its audit row's), tenant, platform and command. Tracebacks stay one field; nothing
token-shaped is written."""

from __future__ import annotations

import io
import json
import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bot import logs
from storage.audit import AuditRepo
from storage.db import Database
from storage.tenants import TenantRepo
from tests.bot.test_workers import listener_env, serve, until, until_ready
from tests.conftest import LiveServer, free_port
from tests.fakes.slack_api import ALEX, FakeSlack, SlackEnv

NOBODY = "U0NOEMAIL"  # a Slack account whose profile shows no email: deskhand cannot link it


def parsed(log: Path) -> list[dict[str, Any]]:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]  # every line is one object


async def audited(db_url: str) -> list[Any]:
    db = Database(db_url)
    try:
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).by_slug("acme")
            assert tenant is not None
            return list(await uow.repo(AuditRepo).query(tenant.id))
    finally:
        await db.dispose()


async def test_serve_and_its_worker_log_json_lines_naming_each_command(tmp_path: Path) -> None:
    fake = FakeSlack()
    await fake.start(free_port())
    fake.add_user(ALEX, "alex.admin@example.com")
    fake.add_user(NOBODY, None)
    port = free_port()
    env = await listener_env(tmp_path, fake, port, DESKHAND_LOG_FORMAT="json")
    log = tmp_path / "serve.log"
    try:
        with serve(tmp_path, env) as proc:
            async with aiohttp.ClientSession() as http:
                slack = SlackEnv(fake, LiveServer(None, f"http://127.0.0.1:{port}"), http)  # type: ignore[arg-type]
                await until_ready(http, slack.server.url, proc, log)
                assert (await slack.command(ALEX, "/devices", "", response="alex"))[0] == 200
                assert (await slack.command(NOBODY, "/devices", "", response="nobody"))[0] == 200
                calls = await fake.wait_for("response_url", 2, seconds=30)
            proc.send_signal(signal.SIGTERM)
            await until("serve to stop", lambda: proc.poll() is not None)
    finally:
        await fake.stop()

    lines = parsed(log)
    for line in lines:
        assert {"time", "level", "logger", "message"} <= set(line), line
    assert any(line["message"].startswith("worker ready") for line in lines)  # the child's too

    (ran,) = [e for e in await audited(env["DESKHAND_DATABASE_URL"])
              if (e.kind, e.action, e.actor_email) == ("command", "devices", "alex.admin@example.com")]
    mine = [line for line in lines if line.get("correlation_id") == ran.correlation_id]
    assert [(m["logger"], m["message"].split(" in ")[0]) for m in mine] == [
        ("deskhand.router", "command devices: ok")]
    assert {(m["tenant"], m["platform"], m["command"]) for m in mine} == {("acme", "slack", "devices")}

    # The person nobody knows is shown a ref; the log's warning about them carries the same.
    (told,) = [c for c in calls if c.path == "/response/nobody"]
    ref = str(told.args).split("ref ", 1)[1][:16]
    (warned,) = [line for line in lines if line.get("correlation_id") == ref]
    assert warned["level"] == "WARNING" and "returned no email" in warned["message"]
    assert (warned["tenant"], warned["platform"], warned["command"]) == ("acme", "slack", "devices")
    assert not any(line.get("correlation_id") for line in lines
                   if line["message"].startswith(("worker", "Slack")))  # outside any request


@contextmanager
def captured(fmt: logs.LogFormat) -> Iterator[io.StringIO]:
    """deskhand's own handler (configure) writing to a buffer instead of stderr."""
    root = logging.getLogger()
    before = root.handlers[:], root.level
    out = io.StringIO()
    logs.configure("INFO", fmt)
    root.handlers[0].setStream(out)  # type: ignore[attr-defined]
    try:
        yield out
    finally:
        root.handlers[:], _ = before
        root.setLevel(before[1])


def _fail() -> None:
    raise RuntimeError("Slack said no to xoxb-1234-secret-token\nsecond line")


def test_a_traceback_is_one_field_and_secrets_are_redacted() -> None:
    log = logging.getLogger("deskhand.test")
    with captured("json") as out:
        with logs.request(correlation_id="abc123", tenant="acme", platform="teams",
                          command="devices"):
            with logs.request(command="rbac grant"):  # an inner scope adds to the outer one
                try:
                    _fail()
                except RuntimeError:
                    log.exception("posting failed for token=hunter2")
        log.info("between requests")
    first, second = out.getvalue().splitlines()
    line = json.loads(first)
    assert line["message"] == "posting failed for token=[redacted]"
    assert (line["correlation_id"], line["tenant"], line["platform"], line["command"]) == (
        "abc123", "acme", "teams", "rbac grant")
    assert line["level"] == "ERROR" and line["logger"] == "deskhand.test"
    assert "Traceback" in line["exception"] and "RuntimeError" in line["exception"]
    assert "xoxb-" not in first and "hunter2" not in first
    after = json.loads(second)
    assert after["message"] == "between requests" and "correlation_id" not in after


def test_text_lines_name_the_request_and_redact_tracebacks_too() -> None:
    log = logging.getLogger("deskhand.test")
    with captured("text") as out:
        with logs.request(correlation_id="abc123", platform="slack"):
            try:
                _fail()
            except RuntimeError:
                log.exception("posting failed")
        log.warning("between requests")
    text = out.getvalue()
    first = text.splitlines()[0]
    assert first.endswith("ERROR deskhand.test: posting failed [ref abc123]")
    assert "Traceback" in text and "xoxb-" not in text
    assert text.splitlines()[-1].endswith("WARNING deskhand.test: between requests")
