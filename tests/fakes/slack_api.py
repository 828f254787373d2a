"""A fake Slack: Web API methods, response_urls, file upload URLs and a Socket Mode WebSocket.

It records every call, answers like Slack (ok/error JSON, 429 + Retry-After when scripted), checks
tokens (the deployment's, and each workspace installation's: `add_token`, whose users.info only
knows that workspace's people), and validates every Block Kit payload through slack_sdk's models,
answering invalid_blocks as Slack would. `SlackEnv` is Slack's other side: it signs payload
fixtures and POSTs them to a running deskhand whose Web API base points at the fake.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import WSMsgType, web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from storage.audit import AuditRepo

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slack"
BOT_TOKEN = "xoxb-test-0001"
APP_TOKEN = "xapp-test-0001"
BOT_USER = "U0BOT"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
FORM = "application/x-www-form-urlencoded"
ALEX, NINA, SAM = "U2147483697", "U0NINA", "U0SAM"  # Full Administrator, no roles, Endpoint Standard
STRANGER, GUEST = "U0STRANGER", "U0GUEST"  # an email nobody in the directory has; no email at all
CHANNEL = "C2147483705"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def trigger_id() -> str:
    """Slack gives every command, click and submission its own trigger id."""
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: v0=HMAC-SHA256(secret, "v0:{ts}:{body}")."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Call:
    method: str  # a Web API method, "response_url" or "upload"
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    path: str = ""
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered
    token: str = ""  # the bot token it came with


def validate_blocks(blocks: Any, limit: int = 50) -> str | None:
    """None if Slack would take these blocks; otherwise the reason."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not isinstance(blocks, list) or len(blocks) > limit:
        return f"{len(blocks) if isinstance(blocks, list) else 'no'} blocks (max {limit})"
    try:
        for block in blocks:
            parsed = Block.parse(block)
            if parsed is None:
                return f"unknown block {block.get('type')}"
            parsed.to_dict()  # runs the SDK's limit checks (section text 3000, header 150, ...)
    except SlackObjectFormationError as exc:
        return str(exc)
    return None


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str | None] = {BOT_TOKEN: None}  # -> the one workspace it serves
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.not_member: set[str] = set()
        self.delays: dict[str, float] = {}
        self.script: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self.uploads: dict[str, bytes] = {}
        self.socket_acks: list[dict[str, Any]] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.socket_connected = asyncio.Event()
        self.url = ""
        self._ts = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # -- test set-up -------------------------------------------------------------------------
    def add_user(self, user_id: str, email: str | None, *, team: str = "T0001", **extra: Any) -> None:
        profile = {"email": email} if email else {}
        self.users[user_id] = {"id": user_id, "team_id": team, "name": user_id.lower(),
                               "deleted": False, "is_bot": False, "profile": profile, **extra}

    def add_token(self, token: str, team: str) -> None:
        """A bot token of one workspace's own installation of the app."""
        self.tokens[token] = team

    def fail(self, method: str, *, status: int = 200, error: str = "fatal_error",
             retry_after: int | None = None, times: int = 1) -> None:
        body = {"ok": False, "error": "ratelimited" if status == 429 else error}
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.script.setdefault(method, []).extend([(status, body, headers)] * times)

    def response_url(self, token: str) -> str:
        return f"{self.url}/response/{token}"

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, seconds: float = 10) -> list[Call]:
        deadline = time.monotonic() + seconds
        while len(self.called(method)) < count:
            if time.monotonic() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"expected {count} {method} call(s); calls so far: {seen}")
            await asyncio.sleep(0.02)
        return self.called(method)

    # -- server ------------------------------------------------------------------------------
    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{token}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        for ws in list(self.sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def send_envelope(self, envelope: dict[str, Any]) -> None:
        await asyncio.wait_for(self.socket_connected.wait(), 10)
        await self.sockets[-1].send_json(envelope)

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "").removeprefix("Bearer ") or args.get("token", "")
        call = Call(method, copy.deepcopy(args), path=request.path, token=auth)
        self.calls.append(call)
        if method in self.delays:
            await asyncio.sleep(self.delays[method])
        if self.script.get(method):
            status, body, headers = self.script[method].pop(0)
            return web.json_response(body, status=status, headers=headers)
        valid = auth == APP_TOKEN if method == "apps.connections.open" else auth in self.tokens
        if not valid:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        call.result = handler({**args, "_team": self.tokens.get(auth)})
        return web.json_response(call.result)

    def _post(self, args: dict[str, Any]) -> dict[str, Any] | str:
        if not args.get("channel"):
            return "channel_not_found"
        if args["channel"] in self.not_member:
            return "not_in_channel"
        if not args.get("text") and not args.get("blocks"):
            return "no_text"
        if args.get("blocks") and validate_blocks(args["blocks"]):
            return "invalid_blocks"
        return {}

    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://example.slack.com/", "team": "Example", "user": "deskhand",
                "team_id": "T0001", "user_id": BOT_USER, "bot_id": "B0BOT", "is_enterprise_install": False}

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        problem = self._post(args)
        if isinstance(problem, str):
            return {"ok": False, "error": problem}
        ts = f"1700000000.{next(self._ts):06d}"
        message = {"text": args.get("text"), "blocks": args.get("blocks"), "ts": ts}
        # To a user id: Slack posts in the app's DM with that person, whose id starts with D.
        channel = "D" + args["channel"][1:] if args["channel"] in self.users else args["channel"]
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        problem = self._post(args) or ("user_not_in_channel" if not args.get("user") else "")
        if problem:
            return {"ok": False, "error": problem}
        return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}

    def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        key = (args.get("channel", ""), args.get("ts", ""))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        if args.get("blocks") and validate_blocks(args["blocks"]):
            return {"ok": False, "error": "invalid_blocks"}
        self.messages[key].update(text=args.get("text"), blocks=args.get("blocks"))
        return {"ok": True, "channel": key[0], "ts": key[1], "text": args.get("text")}

    def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(args.get("user", ""))
        if user and args["_team"] not in (None, user["team_id"]):
            user = None  # one workspace's installation does not know another's people
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        raw = args.get("view")
        view: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else dict(raw or {})
        if not args.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        if any(c.args.get("trigger_id") == args["trigger_id"] for c in self.called("views.open")[:-1]):
            return {"ok": False, "error": "exchanged_trigger_id"}
        try:
            View(**view).to_dict()
        except (SlackObjectFormationError, TypeError):
            return {"ok": False, "error": "invalid_arguments"}
        if validate_blocks(view.get("blocks", []), limit=100):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": {**view, "id": f"V{next(self._ts):04d}"}}

    def m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._ts):06d}"
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = json.loads(args.get("files", "[]"))
        if not files or any(f["id"] not in self.uploads for f in files):
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}

    def m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(Call("response_url", body, path=request.path))
        if self.script.get("response_url"):
            status, payload, headers = self.script["response_url"].pop(0)
            return web.json_response(payload, status=status, headers=headers)
        if body.get("blocks") and validate_blocks(body["blocks"]):
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        self.uploads[request.match_info["file_id"]] = data
        self.calls.append(Call("upload", {"file_id": request.match_info["file_id"], "size": len(data)}))
        return web.Response(text=f"OK - {len(data)}")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "fake", "approximate_connection_time": 3600}})
        self.socket_connected.set()
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                self.socket_acks.append(json.loads(msg.data))
        return ws


@dataclass
class SlackEnv:
    fake: FakeSlack
    server: Any  # tests.conftest.LiveServer
    http: aiohttp.ClientSession
    secret: str = SECRET

    @property
    def adapter(self) -> Any:
        return self.server.runtime.platforms["slack"]

    async def send(self, body: str, content_type: str = FORM, headers: dict[str, str] | None = None, *,
                   secret: str | None = None, timestamp: int | None = None) -> tuple[int, str, float]:
        """POST a signed request to /slack/events; returns (status, body, seconds to the answer)."""
        sent = {"Content-Type": content_type, **sign(secret or self.secret, body, timestamp),
                **(headers or {})}
        started = time.perf_counter()
        async with self.http.post(f"{self.server.url}/slack/events", data=body.encode(),
                                  headers=sent) as r:
            return r.status, await r.text(), time.perf_counter() - started

    def command_body(self, user: str, command: str, text: str, *, channel: str = CHANNEL,
                     response: str = "cmd", team: str = "T0001", org: str = "") -> str:
        p = load("slash_command")
        p.update(user_id=user, user_name=user.lower(), command=command, text=text, channel_id=channel,
                 response_url=self.fake.response_url(response), trigger_id=trigger_id(),
                 team_id=team, enterprise_id=org)
        return urlencode(p)

    async def command(self, user: str, command: str, text: str, **kw: Any) -> tuple[int, str, float]:
        return await self.send(self.command_body(user, command, text, **kw))

    def action_body(self, user: str, action_id: str, value: str, *, ts: str, channel: str = CHANNEL,
                    ephemeral: bool = False, block_id: str = "b1", response: str = "act",
                    trigger: str | None = None, team: str = "T0001", org: str = "") -> str:
        p = load("block_actions")
        p["user"]["id"] = p["user"]["username"] = user
        p["user"]["team_id"] = p["team"]["id"] = team
        if org:  # an Enterprise Grid workspace: Slack names its org too
            p["team"]["enterprise_id"], p["enterprise"] = org, {"id": org, "name": "Grid"}
        p["container"].update(message_ts=ts, channel_id=channel, is_ephemeral=ephemeral)
        p["channel"]["id"] = channel
        if ephemeral:
            del p["message"]  # Slack sends no message body for ephemeral cards
        else:
            p["message"]["ts"] = ts
        p["actions"][0].update(action_id=action_id, value=value, block_id=block_id)
        p.update(response_url=self.fake.response_url(response), trigger_id=trigger or trigger_id())
        return urlencode({"payload": json.dumps(p)})

    def view_body(self, user: str, private_metadata: str, values: dict[str, dict[str, Any]]) -> str:
        p = load("view_submission")
        p["user"]["id"] = p["user"]["username"] = user
        p["view"].update(private_metadata=private_metadata, state={"values": values})
        p["trigger_id"] = trigger_id()
        return urlencode({"payload": json.dumps(p)})

    def event_body(self, fixture: str, event_id: str, **event: Any) -> str:
        p = load(fixture)
        p["event_id"] = event_id
        p["event"].update(event)
        return json.dumps(p)

    async def event(self, body: str, retry: int | None = None) -> tuple[int, str, float]:
        extra = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else {}
        return await self.send(body, "application/json", extra)

    async def idle(self) -> None:
        assert await self.adapter.wait_idle(15), "Slack work still running"

    async def audit(self) -> list[Any]:
        rt = self.server.runtime
        async with rt.db.uow() as uow:
            return list(await uow.repo(AuditRepo).query(rt.tenant_id, limit=1000))


@contextlib.asynccontextmanager
async def slack_env(tmp_path: Path, **settings: Any) -> AsyncIterator[SlackEnv]:
    """deskhand on a free port with Slack configured against a fresh FakeSlack."""
    from tests.conftest import free_port, make_settings, sqlite_url, start_server

    fake = FakeSlack()
    await fake.start(free_port())
    for user, email in ((ALEX, "alex.admin@example.com"), (NINA, "nina.new@example.com"),
                        (SAM, "sam.standard@example.com"), (STRANGER, "stranger@elsewhere.example"),
                        (GUEST, None)):
        fake.add_user(user, email)
    port = free_port()
    values: dict[str, Any] = {"slack_signing_secret": SECRET, "slack_bot_token": BOT_TOKEN,
                              "slack_api_url": fake.url + "/api/"}
    values.update(settings)
    runner, live = await start_server(make_settings(
        sqlite_url(tmp_path), port=port, public_url=f"http://127.0.0.1:{port}", **values))
    try:
        async with aiohttp.ClientSession() as http:
            yield SlackEnv(fake, live, http)
    finally:
        await runner.cleanup()
        await fake.stop()
