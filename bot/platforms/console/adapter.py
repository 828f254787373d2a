"""HTTP and WebSocket routes of the console; choosing a persona is trusted, so demo/dev only."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from bot.dispatch import Click
from bot.identity import resolve_actor
from bot.model import Actor, MessageRef, Platform, PlatformIdentity, ReplyTarget
from bot.platforms.bodies import BadBody, json_object
from bot.platforms.console.hub import ROOM, ConsoleHub
from bot.rbac import grants_of
from bot.tasks import Tasks
from storage.directory import DirectoryRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.console")
STATIC = Path(__file__).parent / "static"
REPLY_TO = ReplyTarget("console", ROOM)


class ConsoleAdapter:
    platform: Platform = "console"

    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.hub = ConsoleHub()
        self._work = Tasks("console", log)

    @property
    def messenger(self) -> ConsoleHub:
        return self.hub

    async def start(self) -> None:
        pass  # the routes are the whole intake

    async def stop_intake(self) -> None:
        pass  # the listener's shutdown closes the sockets

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/console", self.index)
        app.router.add_get("/console/", self.index)
        app.router.add_get("/console/api/personas", self.personas)
        app.router.add_get("/console/ws", self.websocket)
        app.router.add_static("/console/static", STATIC)

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def personas(self, request: web.Request) -> web.Response:
        out = []
        async with self.rt.db.uow() as uow:
            for p in await uow.repo(DirectoryRepo).principals(self.rt.tenant_id):
                grants = await grants_of(uow, self.rt.tenant_id, p.id)
                roles = sorted({g.role.name for g in grants})
                out.append({"id": p.id, "email": p.email, "name": p.display_name,
                            "active": p.active, "roles": roles})
        return web.json_response(out)

    async def _actor(self, principal_id: int) -> Actor | None:
        async with self.rt.db.uow() as uow:
            directory = uow.repo(DirectoryRepo)
            row = await directory.principal(principal_id)
            if row is None or row.tenant_id != self.rt.tenant_id:
                return None
            identity = PlatformIdentity("console", "local", str(row.id), row.display_name)
            if await directory.identity("console", "local", str(row.id)) is None:
                await directory.link_identity(row.tenant_id, row.id, "console", "local",
                                              str(row.id), row.display_name)
                await uow.commit()
        return await resolve_actor(self.rt.db, self.rt.tenant_id, identity)

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin and origin.split("://", 1)[-1] != request.host:
            raise web.HTTPForbidden(text="cross-origin console connections are refused")
        try:
            actor = await self._actor(int(request.query.get("persona", "")))
        except ValueError:
            actor = None
        if actor is None:
            raise web.HTTPBadRequest(text="choose a persona from /console/api/personas")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "persona": actor.principal.email,
                            "history": self.hub.join(ws, actor.principal.id)})
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
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

    async def _command(self, actor: Actor, text: str) -> None:
        await self.rt.dispatch.command(self.hub, actor.identity, text, REPLY_TO)

    async def _action(self, actor: Actor, data: dict[str, Any]) -> None:
        message_id = str(data.get("message_id", ""))
        clicked = MessageRef("console", ROOM, message_id) if self.hub.message(message_id) else None
        inputs = data.get("inputs") if isinstance(data.get("inputs"), dict) else {}
        click = Click(data["action_id"], str(data.get("value", "")), inputs or {})
        await self.rt.dispatch.click(self.hub, actor.identity, click, REPLY_TO, clicked)

    async def close(self) -> None:
        await self.hub.close()
        # Cancelled while the database is still open: a task stopped mid-query cleans up.
        await self._work.stop(0)
