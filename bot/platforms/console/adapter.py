"""HTTP and WebSocket routes of the console.

In demo/dev mode a visitor picks a persona, trusted (the picker and its API exist only there);
in production a session cookie from a sign-in link says who they are (bot/platforms/console/
signin.py), checked again at every message so a sign-out or deactivation ends the socket.
A signed-in person works in their own tenant, in its room (the personas are the deployment's
own tenant's people).
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from bot.dispatch import Click
from bot.identity import resolve_actor
from bot.model import Actor, MessageRef, Platform, PlatformIdentity, ReplyTarget
from bot.origin import same_origin
from bot.platforms.bodies import BadBody, json_object
from bot.platforms.console.hub import ConsoleHub, room_of
from bot.platforms.console.signin import SignIn, needed
from bot.rbac import grants_of
from bot.tasks import Tasks
from storage.directory import DirectoryRepo, PrincipalRow
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.console")
STATIC = Path(__file__).parent / "static"
SIGNED_OUT = 4401  # the WebSocket close code for "your session ended": the page stops retrying


class ConsoleAdapter:
    platform: Platform = "console"

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.hub = ConsoleHub()
        self._work = Tasks("console", log)
        self.signin = SignIn(runtime) if runtime.settings.console_signs_in else None

    @property
    def messenger(self) -> ConsoleHub:
        return self.hub

    async def start(self) -> None:
        # The routes are the whole intake; say loudly that they face the network in production.
        if self.signin is not None:
            log.warning("the web console is on in production at %s/console: people sign in with "
                        "single-use links from the `console` chat command or `deskhand "
                        "console-link EMAIL`%s", self.rt.settings.public_url.rstrip("/"),
                        "" if self.signin.secure else "; DESKHAND_PUBLIC_URL is not https, so "
                        "its session cookie is not marked Secure")

    async def stop_intake(self) -> None:
        pass  # the listener's shutdown closes the sockets

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/console", self.index)
        app.router.add_get("/console/", self.index)
        app.router.add_get("/console/api/session", self.session)
        app.router.add_get("/console/ws", self.websocket)
        app.router.add_static("/console/static", STATIC)
        if self.signin is not None:
            self.signin.routes(app)
        else:
            app.router.add_get("/console/api/personas", self.personas)

    async def index(self, request: web.Request) -> web.StreamResponse:
        if self.signin is not None and await self.signin.person(request) is None:
            return needed()
        # Never from the browser's cache: whether this page or the sign-in page is due depends
        # on the session, which a sign-out just ended.
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def session(self, request: web.Request) -> web.Response:
        """How this page signs in: by picking a persona, or as the signed-in person."""
        if self.signin is None:
            return web.json_response({"mode": "personas"})
        person = await self.signin.person(request)
        if person is None:
            return web.json_response({"error": "sign in with a link from the `console` command"},
                                     status=401)
        async with self.rt.db.uow() as uow:
            row = await uow.repo(DirectoryRepo).principal(person.id)
            persona = await self._listed(uow, row) if row is not None else None
        return web.json_response({"mode": "signed-in", "persona": persona})

    async def personas(self, request: web.Request) -> web.Response:
        async with self.rt.db.uow() as uow:
            rows = await uow.repo(DirectoryRepo).principals(self.rt.tenant_id)
            return web.json_response([await self._listed(uow, p) for p in rows])

    async def _listed(self, uow: UnitOfWork, p: PrincipalRow) -> dict[str, Any]:
        roles = sorted({g.role.name for g in await grants_of(uow, p.tenant_id, p.id)})
        return {"id": p.id, "email": p.email, "name": p.display_name, "active": p.active,
                "roles": roles}

    async def _actor(self, principal_id: int, tenant_id: int) -> Actor | None:
        async with self.rt.db.uow() as uow:
            directory = uow.repo(DirectoryRepo)
            row = await directory.principal(principal_id)
            if row is None or row.tenant_id != tenant_id:
                return None
            identity = PlatformIdentity("console", "local", str(row.id), row.display_name)
            if await directory.identity("console", "local", str(row.id)) is None:
                await directory.link_identity(row.tenant_id, row.id, "console", "local",
                                              str(row.id), row.display_name)
                await uow.commit()
        return await resolve_actor(self.rt.db, tenant_id, identity)

    async def _visitor(self, request: web.Request) -> Actor:
        """Who opens this socket: the signed-in person, or (demo/dev) the persona asked for."""
        if self.signin is not None:
            if not same_origin(request, self.rt.settings.public_url):
                raise web.HTTPForbidden(text="console connections come from the console's page")
            person = await self.signin.person(request)
            actor = await self._actor(person.id, person.tenant_id) if person is not None else None
            if actor is None:
                raise web.HTTPUnauthorized(text="sign in with a link from the `console` command")
            return actor
        if "Origin" in request.headers and not same_origin(request, self.rt.settings.public_url):
            raise web.HTTPForbidden(text="cross-origin console connections are refused")
        try:
            actor = await self._actor(int(request.query.get("persona", "")), self.rt.tenant_id)
        except ValueError:
            actor = None
        if actor is None:
            raise web.HTTPBadRequest(text="choose a persona from /console/api/personas")
        return actor

    async def _still_signed_in(self, request: web.Request, actor: Actor) -> bool:
        if self.signin is None:
            return True
        person = await self.signin.person(request)
        return person is not None and person.id == actor.principal.id

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        actor = await self._visitor(request)
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "persona": actor.principal.email,
                            "history": self.hub.join(ws, self._room(actor), actor.principal.id)})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                if not await self._still_signed_in(request, actor):
                    await ws.send_json({"type": "signed-out", "error": "your console session ended"})
                    await ws.close(code=SIGNED_OUT, message=b"signed out")
                    break
                try:
                    data = json_object(msg.data, "the message")
                except BadBody as exc:
                    await ws.send_json({"type": "error", "error": str(exc)})
                    continue
                await self._receive(ws, actor, data)
        finally:
            self.hub.leave(ws)
        return ws

    async def _receive(self, ws: web.WebSocketResponse, actor: Actor, data: dict[str, Any]) -> None:
        kind = data.get("type")
        if kind == "command" and isinstance(data.get("text"), str):
            await ws.send_json({"type": "ack", "client_id": data.get("client_id")})
            await self.hub.said(actor, data["text"])
            self._spawn(self._command(actor, data["text"]))
        elif kind == "action" and isinstance(data.get("action_id"), str) \
                and isinstance(data.get("value", ""), str):
            await ws.send_json({"type": "ack", "client_id": data.get("client_id")})
            self._spawn(self._action(actor, data))
        else:
            await ws.send_json({"type": "error", "error": "unknown message type"})

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        # Ack first, work after: the socket answers at once and the card arrives by push.
        self._work.spawn(coro)

    def _room(self, actor: Actor) -> str:
        return room_of(actor.tenant_id, self.rt.tenant_id)

    async def _command(self, actor: Actor, text: str) -> None:
        await self.rt.dispatch.command(self.hub, actor.tenant_id, actor.identity, text,
                                       ReplyTarget("console", self._room(actor)))

    async def _action(self, actor: Actor, data: dict[str, Any]) -> None:
        message_id, room = str(data.get("message_id", "")), self._room(actor)
        clicked = MessageRef("console", room, message_id) \
            if self.hub.message(message_id, room, actor.principal.id) else None
        inputs = data.get("inputs") if isinstance(data.get("inputs"), dict) else {}
        click = Click(data["action_id"], str(data.get("value", "")), inputs or {})
        await self.rt.dispatch.click(self.hub, actor.tenant_id, actor.identity, click,
                                     ReplyTarget("console", room), clicked)

    async def close(self) -> None:
        await self.hub.close()
        # Cancelled while the database is still open: a task stopped mid-query cleans up.
        await self._work.stop(0)
