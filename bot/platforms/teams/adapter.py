"""`POST /api/messages`: Bot Framework auth, then botbuilder's CloudAdapter runs the turn.

The endpoint never runs unauthenticated in production: without an app id this adapter is not
built and the package's `Refusing` endpoint answers 401 and says why. In demo/dev mode without
an app id it accepts anonymous activities (emulator-style) and logs that once at start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web
from botbuilder.core import TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ConversationReference
from botframework.connector.auth import AuthenticateRequestResult
from msrest.exceptions import DeserializationError
from msrest.serialization import Model

from bot.model import Platform, ReplyTarget
from bot.platforms.bodies import BadBody
from bot.platforms.teams import PATH, error_answer, refusal
from bot.platforms.teams.auth import CredentialFactory, InboundAuth, Unauthorized, build_authentication
from bot.platforms.teams.conversations import ConversationStore, Inbound
from bot.platforms.teams.delivery import Delivery, connector_of, quiet
from bot.platforms.teams.inbound import check_activity
from bot.platforms.teams.messenger import TeamsMessenger
from bot.tasks import Tasks
from bot.tenancy import Refused, Workspace, tenant_of
from cards.model import message_card
from integrations.http import new_client

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.teams")
T = TypeVar("T")


class TeamsAdapter:
    platform: Platform = "teams"

    def __init__(self, runtime: Runtime) -> None:
        from bot.platforms.teams.bot import DeskhandTeamsBot

        settings = runtime.settings
        if refusal(settings) is not None:
            raise ValueError("TeamsAdapter: Teams is not configured (bot.platforms.teams.refusal)")
        self.rt = runtime
        self.app_id = settings.teams_app_id.strip()
        self.anonymous = not self.app_id
        self.http = new_client(timeout=10)  # bot tokens and Bot Framework signing keys
        self.credentials = CredentialFactory(settings, self.http)
        auth = build_authentication(settings, self.credentials)
        self.auth = auth
        self.inbound = InboundAuth(settings, auth)
        self.cloud = CloudAdapter(auth)
        self.conversations = ConversationStore(runtime)
        self.delivery = Delivery()
        self.messenger = TeamsMessenger(self)
        self.bot = DeskhandTeamsBot(self)
        # Only our Microsoft 365 tenants may talk to us, whatever the app type: a multi-tenant app
        # can be installed anywhere, and people there could claim our people's emails. With the
        # lock set, those are its own and the ones mapped to a tenant (bot/tenancy.py).
        self.tenant_lock = settings.teams_tenant_id
        self._after_turn = Tasks("teams", log)
        runtime.inbox.executors["teams"] = self

    def routes(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.messages)

    async def _authenticate(self, request: web.Request,
                            activity: Activity) -> AuthenticateRequestResult:
        if self.anonymous:
            return await self.auth.authenticate_request(activity, None)
        header = request.headers.get("Authorization")
        if not header:
            raise Unauthorized("no Authorization header: Bot Framework activities carry a bearer token")
        return await self.inbound.authenticate(activity, header)

    async def _foreign(self, activity: Activity) -> bool:
        """With DESKHAND_TEAMS_TENANT_ID set: from a Microsoft 365 tenant neither it nor a
        mapping names (refused before the turn, as always)."""
        if not self.tenant_lock:
            return False
        tenant = Inbound.of(activity).aad_tenant if activity.conversation else ""
        return not tenant or isinstance(await tenant_of(self.rt, Workspace("teams", tenant)),
                                        Refused)

    async def messages(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            return error_answer(415, "send the activity as application/json")
        try:
            body = check_activity(await request.text())
            activity = Activity().deserialize(body)
        except (BadBody, UnicodeDecodeError, DeserializationError) as exc:
            reason = "the body is not a Bot Framework activity" + (
                f": {exc}" if isinstance(exc, BadBody) else "")
            log.warning("Teams request refused with 400: %s", reason)
            return error_answer(400, reason)
        try:
            result = await self._authenticate(request, activity)
        except Unauthorized as exc:
            log.info("Teams activity refused: %s", exc)
            return error_answer(401, f"unauthorized: {exc}")
        except ConnectionError as exc:
            log.warning("Teams activity not checked: %s", exc)
            return error_answer(503, "cannot check the token right now; retry later")
        try:
            foreign = await self._foreign(activity)
        except Exception:
            log.exception("Teams activity not checked: the tenant mapping could not be read")
            return error_answer(503, "cannot check the tenant right now; retry later")
        if foreign:
            log.info("Teams activity from another Microsoft 365 tenant refused")
            return error_answer(403, "this deskhand serves its own Microsoft 365 tenants; others are "
                               "refused")
        try:
            invoke = await self.cloud.process_activity(result, activity, self.bot.on_turn)
        except PermissionError as exc:  # deskhand's own bot token was refused: a setup problem
            log.error("Teams %s activity not processed: %s", activity.type, exc)
            return error_answer(500, "deskhand cannot act as the bot right now")
        except Exception:
            log.exception("Teams %s activity failed", activity.type)
            return error_answer(500, "the activity could not be processed")
        if invoke is not None:
            # ActivityHandler already serialized the body; CloudAdapter.process would do it twice.
            body = serializer_helper(invoke.body) if isinstance(invoke.body, Model) else invoke.body
            return web.json_response(body, status=int(invoke.status))
        return web.Response(status=201)

    # The inbox's executor (bot/inbox.Executor): typed commands and Action.Submit clicks.
    async def execute(self, kind: str, payload: dict[str, Any], received: datetime) -> None:
        await self.bot.execute(kind, payload)

    def describe(self, kind: str, payload: dict[str, Any]) -> str:
        from bot.platforms.teams.bot import describe

        return describe(kind, payload)

    async def notify(self, kind: str, payload: dict[str, Any], title: str, text: str,
                     received: datetime) -> None:
        """To the sender's 1:1 chat with deskhand when there is one (Teams has no private
        messages in a channel), else where the request was made."""
        inbound = Inbound.of(Activity().deserialize(payload["activity"]))
        target = inbound.reply_target()
        if inbound.conversation_type != "personal" and inbound.user_aad:
            personal = await self.conversations.personal_reference(inbound.aad_tenant,
                                                                  inbound.user_aad)
            if personal is not None:
                target = ReplyTarget("teams", personal["conversation"]["id"],
                                     extra={"reference": personal})
        await self.messenger.post(target, message_card(title, text, tone="warning"))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run work after the turn has answered (Teams allows a turn 10-15 s at most)."""
        self._after_turn.spawn(coro)

    async def with_turn(self, reference: dict[str, Any],
                        work: Callable[[TurnContext], Awaitable[T]]) -> T:
        """Run `work(ctx)` in a proactive turn for the conversation in `reference`."""
        results: list[T] = []

        async def turn(ctx: TurnContext) -> None:
            quiet(connector_of(ctx))
            results.append(await work(ctx))

        await self.cloud.continue_conversation(
            ConversationReference().deserialize(reference), turn, bot_app_id=self.app_id)
        return results[0]

    async def start(self) -> None:
        await self.rt.work_ready()  # a clicked card is answered here, in the invoke's response
        # Bot Framework comes to /api/messages: nothing to connect, only what to warn about, once
        # the process is sure to start (as the console does; a start-up problem is said alone).
        if self.anonymous:
            log.warning("Teams endpoint accepts UNAUTHENTICATED activities (mode %s, no app id)",
                        self.rt.settings.mode)
        elif not self.tenant_lock:
            log.warning("Teams endpoint accepts activities from any Microsoft 365 tenant that "
                        "installs the app: set DESKHAND_TEAMS_TENANT_ID to refuse the others")

    async def stop_intake(self) -> None:
        pass  # the listener's shutdown stops the route

    async def close(self) -> None:
        await self._after_turn.stop(0)
        await self.http.aclose()
