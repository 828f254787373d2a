"""A fake of Microsoft's side of a Teams bot: Bot Connector, bot token service, signing keys.

One aiohttp app on a loopback port serves the connector at `service_url` (the activity's
serviceUrl: send, reply, update, member lookup), the client-credentials token endpoint, and
OpenID metadata + JWKS for an RSA key it holds, so tests mint real Bot Framework JWTs. It
records every call, checks the bot's bearer token like the real connector, answers scripted
429/412/5xx with Retry-After, and checks every card it receives against the Adaptive Card 1.5
schema. It runs on its own thread and loop because botbuilder fetches signing keys with
blocking `requests` calls, which would deadlock a server on the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.fakes import schemas

FIXTURES = Path(__file__).parent.parent / "fixtures" / "teams"
CARD_SCHEMA = "adaptive-card-1.5.json"
ISSUER = "https://api.botframework.com"
APP_ID = "00000000-0000-0000-0000-000000000b07"
APP_PASSWORD = "fake-client-secret-not-real-0001"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CARD = "application/vnd.microsoft.card.adaptive"
MINT = object()  # `send(token=MINT)`: a valid token for the activity


@dataclass(frozen=True)
class TeamsUser:
    mri: str
    aad: str | None
    name: str
    email: str | None
    upn: str | None = None

    def member(self) -> dict[str, Any]:
        given, _, surname = self.name.partition(" ")
        return {"id": self.mri, "name": self.name, "aadObjectId": self.aad, "email": self.email,
                "userPrincipalName": self.upn or self.email, "givenName": given,
                "surname": surname, "tenantId": TENANT, "userRole": "user"}


ALEX = TeamsUser("29:1alexAdminMRI", "6a7b8c9d-0000-4000-8000-0000000000a1", "Alex Admin",
                 "alex.admin@example.com")
NINA = TeamsUser("29:1ninaNewMRI", "6a7b8c9d-0000-4000-8000-0000000000b2", "Nina New",
                 "nina.new@example.com")
# Sam's mailbox address is not the one in the directory; the UPN is (email and UPN may differ).
SAM = TeamsUser("29:1samStandardMRI", "6a7b8c9d-0000-4000-8000-0000000000c3", "Sam Standard",
                "sam@contractor.example", upn="Sam.Standard@example.com")
STRANGER = TeamsUser("29:1strangerMRI", "6a7b8c9d-0000-4000-8000-0000000000d4", "Stan Ranger",
                     "stan@elsewhere.example")
GUEST = TeamsUser("29:1anonymousGuest", None, "Guest", None)


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def card_validator() -> Any | None:
    """A Draft-06 validator for Adaptive Card 1.5, or None when the schema is missing."""
    import jsonschema

    found = schemas.load(CARD_SCHEMA)
    return None if found is None else jsonschema.Draft6Validator(found)


def validator_or_skip() -> Any:
    """The schema rule for tests: a missing schema skips with the reason, or fails when CI=true."""
    import jsonschema

    return jsonschema.Draft6Validator(schemas.require(CARD_SCHEMA))


def strip_msteams(value: Any) -> Any:
    """The official schema forbids unknown keys, and `msteams` is a Teams-only extension."""
    if isinstance(value, dict):
        return {k: strip_msteams(v) for k, v in value.items() if k != "msteams"}
    if isinstance(value, list):
        return [strip_msteams(v) for v in value]
    return value


def card_errors(content: Any, validator: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
            for e in validator.iter_errors(strip_msteams(content))]


@dataclass
class Call:
    kind: str  # send, reply, update, member, token
    conversation: str = ""
    activity_id: str = ""
    body: Any = None
    authorized: bool = True
    at: float = field(default_factory=time.monotonic)
    response_id: str = ""  # the id the connector gave a new message

    @property
    def cards(self) -> list[dict[str, Any]]:
        attachments = (self.body or {}).get("attachments") or []
        return [a["content"] for a in attachments if a.get("contentType") == CARD]


class FakeBotFramework:
    def __init__(self, *, app_id: str = APP_ID, password: str = APP_PASSWORD,
                 tenant: str = TENANT, require_token: bool = True) -> None:
        self.app_id, self.password, self.tenant = app_id, password, tenant
        self.require_token = require_token
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"fake-{uuid.uuid4().hex[:12]}"
        self.instance = uuid.uuid4().hex[:8]  # unique metadata URL: botbuilder caches per URL
        self.calls: list[Call] = []
        self.members: dict[str, dict[str, Any]] = {}
        self.failures: list[tuple[str, int, str | None]] = []
        self.delays: dict[str, float] = {}  # kind -> seconds before the connector answers
        self.card_problems: list[str] = []
        self.tokens: set[str] = set()
        self.validator = card_validator()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.port = 0

    # -- addresses and settings ---------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_url(self) -> str:
        return f"{self.url}/amer/"

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/{self.instance}/v1/.well-known/openidconfiguration"

    @property
    def token_url(self) -> str:
        return f"{self.url}/{self.tenant}/oauth2/v2.0/token"

    def settings(self) -> dict[str, Any]:
        """deskhand settings for a SingleTenant bot registered with this fake."""
        return {"teams_app_id": self.app_id, "teams_app_password": self.password,
                "teams_app_type": "SingleTenant", "teams_tenant_id": self.tenant,
                "teams_openid_metadata_url": self.metadata_url, "teams_token_url": self.token_url}

    # -- scripting ------------------------------------------------------------------------
    def add_user(self, user: TeamsUser) -> None:
        self.members[user.mri] = user.member()

    def fail(self, kind: str, status: int, retry_after: str | None = None, times: int = 1) -> None:
        """The next `times` calls of `kind` (send, reply, update, member) answer `status`.

        Typing indicators are never failed, so a script hits the message it means.
        """
        with self._lock:
            self.failures.extend([(kind, status, retry_after)] * times)

    def mint(self, *, audience: str | None = None, service_url: str | None = None,
             issuer: str = ISSUER, lifetime: int = 3600, key: Any = None,
             kid: str | None = None) -> str:
        now = int(time.time())
        claims = {"iss": issuer, "aud": audience or self.app_id,
                  "serviceurl": service_url or self.service_url,
                  "nbf": now - 60, "exp": now + lifetime}
        return jwt.encode(claims, key or self.key, algorithm="RS256",
                          headers={"kid": kid or self.kid})

    def activity(self, fixture: str, user: TeamsUser = ALEX, **overrides: Any) -> dict[str, Any]:
        """A fixture activity from `user`, addressed to this fake's connector and bot."""
        activity = copy.deepcopy(load(fixture))
        if "id" in activity:  # Teams gives every activity its own id
            activity["id"] = f"1:{uuid.uuid4().hex}"
        bot = f"28:{self.app_id}"
        activity["serviceUrl"] = self.service_url
        activity["recipient"]["id"] = bot
        for entity in activity.get("entities", []):
            if entity.get("type") == "mention":
                entity["mentioned"]["id"] = bot
        activity["from"] = {"id": user.mri, "name": user.name}
        if user.aad:
            activity["from"]["aadObjectId"] = user.aad
        activity.update(overrides)
        return activity

    async def send(self, deskhand_url: str, activity: dict[str, Any], token: Any = MINT,
                   ) -> tuple[int, Any]:
        """POST an activity to deskhand's /api/messages as the Bot Connector does."""
        headers = {}
        if token is MINT:
            token = self.mint(service_url=activity.get("serviceUrl"))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with aiohttp.ClientSession() as s, s.post(
                f"{deskhand_url}/api/messages", json=activity, headers=headers) as r:
            text = await r.text()
            try:
                return r.status, json.loads(text) if text else None
            except ValueError:
                return r.status, text

    # -- what deskhand did ----------------------------------------------------------------
    def called(self, *kinds: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.kind in kinds]

    def posted(self) -> list[Call]:
        """Messages deskhand sent (new posts and replies), typing indicators left out."""
        return [c for c in self.called("send", "reply") if (c.body or {}).get("type") == "message"]

    async def wait_for(self, *kinds: str, count: int = 1, seconds: float = 10,
                       messages_only: bool = True) -> list[Call]:
        deadline = time.monotonic() + seconds
        while True:
            calls = [c for c in self.called(*kinds)
                     if not messages_only or c.kind in ("member", "token")
                     or (c.body or {}).get("type") == "message"]
            if len(calls) >= count or time.monotonic() > deadline:
                return calls
            await asyncio.sleep(0.02)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> FakeBotFramework:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            loop = self._loop
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(self._app(), access_log=None)
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = runner.addresses[0][1]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-bot-framework", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Bot Framework did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"/{self.instance}/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get(f"/{self.instance}/v1/.well-known/keys", self._keys)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_post("/amer/v3/conversations", self._create)
        base = "/amer/v3/conversations/{conversation}"
        app.router.add_post(f"{base}/activities", self._activity)
        app.router.add_post(f"{base}/activities/{{activity}}", self._activity)
        app.router.add_put(f"{base}/activities/{{activity}}", self._activity)
        app.router.add_get(f"{base}/members/{{member}}", self._member)
        return app

    # -- Microsoft's side -----------------------------------------------------------------
    async def _metadata(self, request: web.Request) -> web.Response:
        return web.json_response({
            "issuer": ISSUER, "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": f"{self.url}/{self.instance}/v1/.well-known/keys",
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"]})

    async def _keys(self, request: web.Request) -> web.Response:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "endorsements": ["msteams", "webchat"]})
        return web.json_response({"keys": [jwk]})

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self._record(Call("token", body={k: v for k, v in form.items() if k != "client_secret"}))
        if request.match_info["tenant"] != self.tenant:
            return web.json_response({"error": "invalid_request",
                                      "error_description": "unknown tenant"}, status=400)
        if (form.get("grant_type") != "client_credentials" or form.get("client_id") != self.app_id
                or form.get("client_secret") != self.password):
            return web.json_response({"error": "invalid_client",
                                      "error_description": "bad client credentials"}, status=401)
        if form.get("scope") != f"{ISSUER}/.default":
            return web.json_response({"error": "invalid_scope"}, status=400)
        token = f"fake-bot-token-{uuid.uuid4().hex}"
        self.tokens.add(token)
        return web.json_response({"token_type": "Bearer", "expires_in": 3599,
                                  "ext_expires_in": 3599, "access_token": token})

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return not self.require_token or (scheme == "Bearer" and token in self.tokens)

    def _scripted(self, kind: str) -> web.Response | None:
        with self._lock:
            index = next((i for i, f in enumerate(self.failures) if f[0] == kind), None)
            if index is None:
                return None
            _, status, retry_after = self.failures.pop(index)
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return web.json_response({"error": {"code": "Throttled" if status == 429 else "ServiceError",
                                            "message": "scripted failure"}},
                                 status=status, headers=headers)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    async def _activity(self, request: web.Request) -> web.Response:
        conversation = request.match_info["conversation"]
        activity_id = request.match_info.get("activity", "")
        kind = "update" if request.method == "PUT" else ("reply" if activity_id else "send")
        body = await request.json()
        call = Call(kind, conversation, activity_id, body, self._authorized(request))
        failure = None
        if call.authorized and body.get("type") == "message":
            failure = self._scripted(kind)
        if call.authorized and failure is None and kind != "update":
            call.response_id = f"17324430{next(self._ids):05d}"
        self._record(call)  # complete before a test can see it
        await asyncio.sleep(self.delays.get(kind, 0.0))
        if not call.authorized:
            return web.json_response({"message": "Authorization has been denied for this request."},
                                     status=401)
        if failure is not None:
            return failure
        if self.validator is not None:
            for card in call.cards:
                self.card_problems.extend(card_errors(card, self.validator))
        if kind == "update":
            return web.json_response({"id": activity_id})
        return web.json_response({"id": call.response_id}, status=201)

    async def _create(self, request: web.Request) -> web.Response:
        """Create a 1:1 chat with a person (Teams answers with its conversation id)."""
        body = await request.json()
        call = Call("create", "", "", body, self._authorized(request))
        self._record(call)
        if not call.authorized:
            return web.json_response({"message": "Authorization has been denied for this request."},
                                     status=401)
        if (failure := self._scripted("create")) is not None:
            return failure
        members = body.get("members") or []
        tenant = body.get("tenantId") or body.get("tenantID") or \
            (body.get("channelData") or {}).get("tenant", {}).get("id")  # botbuilder: tenantID
        if body.get("isGroup") or len(members) != 1 or tenant != self.tenant:
            return web.json_response({"error": {"code": "BadArgument",
                                                "message": "one member and the tenant"}}, status=400)
        return web.json_response({"id": f"a:1personal-{members[0]['id']}"}, status=201)

    async def _member(self, request: web.Request) -> web.Response:
        member_id = request.match_info["member"]
        call = Call("member", request.match_info["conversation"], member_id, None,
                    self._authorized(request))
        self._record(call)
        if not call.authorized:
            return web.json_response({"message": "Authorization has been denied for this request."},
                                     status=401)
        if (failure := self._scripted("member")) is not None:
            return failure
        member = self.members.get(member_id)
        if member is None:
            return web.json_response({"error": {"code": "MemberNotFoundInConversation",
                                                "message": "The member was not found."}}, status=404)
        return web.json_response(member)


@contextlib.asynccontextmanager
async def teams_deskhand(tmp_path: Path, fake: FakeBotFramework | None,
                         **settings: Any) -> AsyncIterator[Any]:
    """deskhand on a loopback port, demo-seeded, its Teams bot registered with `fake`."""
    from tests.conftest import free_port, make_settings, sqlite_url, start_server

    port = free_port()
    values = {"mode": "production", "port": port, "public_url": f"http://127.0.0.1:{port}",
              **(fake.settings() if fake else {}), **settings}
    runner, live = await start_server(make_settings(sqlite_url(tmp_path), **values))
    try:
        yield live
    finally:
        await runner.cleanup()
