"""Malformed and hostile requests, sent the way an attacker or a broken client would.

Every inbound endpoint answers a malformed request with a 4xx and a short reason (one WARNING
line), never a 500 or a traceback, and runs nothing. Property-based cases (hypothesis) throw
random shapes at each endpoint's body, headers and button values.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.bot_connector import ALEX as TEAMS_ALEX
from tests.fakes.bot_connector import FakeBotFramework, teams_deskhand
from tests.fakes.bot_connector import load as teams_fixture
from tests.fakes.slack_api import ALEX, FORM, load, slack_env

T = TypeVar("T")
# The server's own jitter (random.random) runs on the loop while hypothesis draws examples.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
JSON_TYPE = "application/json"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
HYPOTHESIS = settings(max_examples=60, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def run_sync(loop: asyncio.AbstractEventLoop, make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on the test's loop from hypothesis' (synchronous) thread."""
    return asyncio.run_coroutine_threadsafe(make(), loop).result(30)  # type: ignore[arg-type]


def signed(secret: str, raw: bytes) -> dict[str, str]:
    """Slack's headers for any bytes (sign() takes text)."""
    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def interaction(**changes: Any) -> str:
    return urlencode({"payload": json.dumps({**load("block_actions"), **changes})})


SLACK_CASES: dict[str, tuple[str, str | bytes]] = {
    "payload that is not JSON": (FORM, urlencode({"payload": "{not json"})),
    "payload that is a list": (FORM, urlencode({"payload": "[1, 2]"})),
    "payload that is a string": (FORM, urlencode({"payload": '"hello"'})),
    "actions that is not a list": (FORM, interaction(actions="x")),
    "an action_id that is a number": (FORM, interaction(actions=[{"action_id": 5, "value": "1"}])),
    "an action without an action_id": (FORM, interaction(actions=[{}])),
    "an integer past 64 bits (the inbox cannot store it)": (FORM, interaction(
        user={"id": "U0001", "x": -9223372036854775809})),
    "a second action without an action_id": (FORM, interaction(actions=[
        {"action_id": "run.results:1", "value": "1"}, {"value": "2"}])),
    "actions on a payload of another type": (FORM, interaction(type="shortcut", actions=[{}])),
    "a payload nested 5000 deep": (FORM, urlencode({"payload": nested(5000)})),
    "a payload type that is a number": (FORM, interaction(type=5)),
    "a user that is a string": (FORM, interaction(user="U0001")),
    "a view that is a string": (FORM, urlencode({"payload": json.dumps({
        **load("view_submission"), "view": "x"})})),
    "a view that is null (bolt's logging reads it)": (FORM, interaction(type="", view=None)),
    "state values of the wrong shape": (FORM, interaction(state={"values": {"b": [1]}})),
    "a repeated form field": (FORM, "command=/deskhand&text=help&text=whoami"),
    "a form that is neither a command nor a payload": (FORM, "foo=bar"),
    "a JSON body that is not JSON": (JSON_TYPE, "{{{"),
    "a JSON body that is a list": (JSON_TYPE, "[1]"),
    "a JSON body nested 5000 deep": (JSON_TYPE, nested(5000)),
    "an event that is a string": (JSON_TYPE, json.dumps({"type": "event_callback", "event": "x",
                                                          "event_id": "Ev1"})),
    "a body that is not UTF-8": (FORM, b"command=/deskhand&text=\xff"),
    "an XML body": ("text/xml", "<a/>"),
}


async def test_malformed_slack_requests_are_refused_with_a_reason(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with slack_env(tmp_path) as env:
        before = len(await env.audit())
        for name, (content_type, body) in SLACK_CASES.items():
            caplog.clear()
            raw = body if isinstance(body, bytes) else body.encode()
            headers = {"Content-Type": content_type, **signed(env.secret, raw)}
            async with env.http.post(f"{env.server.url}/slack/events", data=raw, headers=headers) as r:
                assert r.status == 400, (name, r.status, await r.text())
                assert (await r.json())["error"], name
            warnings = [rec for rec in caplog.records if rec.levelno == logging.WARNING]
            assert len(warnings) == 1 and not errors(caplog), name

        command = env.command_body(ALEX, "/deskhand", "help")
        bad_headers = {"a timestamp that is not a number": {"X-Slack-Request-Timestamp": "soon"},
                       "a signature with non-ASCII characters": {"X-Slack-Signature": "v0=é" * 10},
                       "a signature of the wrong length": {"X-Slack-Signature": "v0=abc"}}
        for name, headers in bad_headers.items():
            status, text, _ = await env.send(command, headers=headers)
            assert status == 401 and "error" in json.loads(text), name
        async with env.http.post(f"{env.server.url}/slack/events", data=b"{garbage",
                                 headers={"Content-Type": JSON_TYPE}) as r:
            assert r.status == 401  # unsigned garbage: not even read
        await env.idle()
        assert env.fake.calls == [] and len(await env.audit()) == before, "nothing ran"
        assert not errors(caplog)


async def test_random_slack_bodies_never_answer_500(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """Signed payloads, forms and event bodies of random shapes: a 4xx or an ack, and whatever
    is acked runs without an error in the log."""
    async with slack_env(tmp_path) as env:
        loop = asyncio.get_running_loop()
        seen: list[int] = []

        @HYPOTHESIS
        @given(st.one_of(
            json_values.map(lambda v: (FORM, urlencode({"payload": json.dumps(v)}))),
            st.dictionaries(st.sampled_from(["command", "text", "user_id", "channel_id", "team_id",
                                             "response_url", "payload"]), st.text(max_size=30),
                            max_size=6).map(lambda f: (FORM, urlencode(f))),
            json_values.map(lambda v: (JSON_TYPE, json.dumps(v))),
            st.dictionaries(st.sampled_from(["actions", "user", "type", "state", "container",
                                             "view", "message", "channel"]), json_values,
                            max_size=4).map(lambda c: (FORM, interaction(**c))),
        ))
        def case(request: tuple[str, str]) -> None:
            content_type, body = request
            status, _, _ = run_sync(loop, lambda: env.send(body, content_type))
            seen.append(status)
            assert status in (200, 400, 401, 404), (status, body[:300])

        await asyncio.to_thread(case)
        await env.idle()
        assert 400 in seen and not errors(caplog), errors(caplog)[:3]



async def test_malformed_teams_activities_get_400(tmp_path: Path, fake: FakeBotFramework,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    async with teams_deskhand(tmp_path, fake) as live:
        message = fake.activity("message_personal", TEAMS_ALEX, text="help")
        invoke = fake.activity("invoke_action_execute", TEAMS_ALEX)
        cases = {
            "an invoke without a name": json.dumps({**invoke, "name": None}),
            "an invoke deskhand never asked for": json.dumps({**invoke, "name": "task/fetch"}),
            "nested 5000 deep": nested(5000),
            "a list": "[1]",
            "not JSON": "{",
            "from that is a string": json.dumps({**message, "from": "29:1"}),
            "conversation that is a list": json.dumps({**message, "conversation": []}),
            "channelData.tenant that is a string": json.dumps({
                **message, "channelData": {"tenant": "t"}}),
            "entities that are strings": json.dumps({**message, "entities": ["x"]}),
            "a type that is a number": json.dumps({**message, "type": 1}),
        }
        async with aiohttp.ClientSession() as http:
            for name, body in cases.items():
                caplog.clear()
                token = fake.mint(service_url=fake.service_url)
                async with http.post(f"{live.url}/api/messages", data=body, headers={
                        "Content-Type": JSON_TYPE, "Authorization": f"Bearer {token}"}) as r:
                    assert r.status == 400, (name, r.status, await r.text())
                assert not errors(caplog), name
        assert fake.posted() == []


async def test_random_teams_activities_never_answer_500(tmp_path: Path, fake: FakeBotFramework,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Correctly signed activities with random values in the fields deskhand reads."""
    async with teams_deskhand(tmp_path, fake) as live:
        loop = asyncio.get_running_loop()
        base = {name: teams_fixture(name) for name in
                ("message_personal", "message_channel_mention", "invoke_action_execute")}

        @HYPOTHESIS
        @given(st.sampled_from(sorted(base)), st.dictionaries(
            st.sampled_from(["text", "value", "from", "conversation", "channelData", "entities",
                             "replyToId", "name", "id"]), json_values, max_size=3))
        def case(fixture: str, changes: dict[str, Any]) -> None:
            activity = {**fake.activity(fixture, TEAMS_ALEX), **changes}
            status, _ = run_sync(loop, lambda: fake.send(live.url, activity))
            assert status in (200, 201, 400, 401, 403), (status, changes)

        await asyncio.to_thread(case)
        assert not errors(caplog), errors(caplog)[:3]


async def test_hostile_download_links_are_refused(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    async with slack_env(tmp_path) as env:
        runtime, url = env.server.runtime, env.server.url
        good = runtime.downloads.sign("audit.csv", {"t": runtime.tenant_id, "p": 1, "f": {}})
        body = good.partition(".")[0]
        links = {
            "a signature of non-ASCII bytes": body + "." + quote("é€\x00".encode()),
            "no signature": body,
            "a tampered body": "e30." + good.partition(".")[2],
            "signed, but without the audit payload's keys": runtime.downloads.sign("audit.csv", {}),
            "signed, of an unknown kind": runtime.downloads.sign("nothing", {}),
        }
        for name, token in links.items():
            caplog.clear()
            async with env.http.get(f"{url}/downloads/{token}") as r:
                assert 400 <= r.status < 500, (name, r.status)
                assert "Traceback" not in await r.text()
            assert not errors(caplog), name


async def test_a_button_with_a_huge_id_is_damaged_not_a_crash(tmp_path: Path) -> None:
    async with slack_env(tmp_path) as env:
        await env.send(env.action_body(ALEX, "run.cancel:" + "9" * 40, "1", ts="1700000000.000001"))
        await env.idle()
        [reply] = env.fake.called("response_url")
        assert "This button is damaged" in reply.args["text"]
