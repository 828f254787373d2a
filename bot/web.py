"""The HTTP listener: health, readiness, downloads, the about/privacy/terms pages, each
platform's and capability's routes, and /metrics when a token guards it (bot/metrics_web.py)."""

from __future__ import annotations

import logging
from functools import partial

from aiohttp import web

from bot import info_pages, metrics_web
from bot.downloads import INVALID, LinkError
from bot.runtime import Runtime
from storage import migrate

log = logging.getLogger("deskhand.web")
RUNTIME = web.AppKey("runtime", Runtime)


def build_app(runtime: Runtime, *, upgrade: bool = False) -> web.Application:
    """The listener for a runtime whose platforms are attached (bot/bootstrap.py)."""
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/downloads/{token}", download)
    info_pages.routes(app, runtime.settings)  # the Teams app's default developer links
    for adapter in runtime.platforms.values():
        adapter.routes(app)  # Slack: /slack/events, Teams: /api/messages, the console
    for route in runtime.routes:
        app.router.add_route(route.method, route.path, partial(route.handler, runtime))

    async def on_startup(_: web.Application) -> None:
        await runtime.start(upgrade=upgrade)

    async def on_cleanup(_: web.Application) -> None:
        await runtime.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    metrics_web.attach(app, runtime)  # after on_startup: the runtime is up before it is scraped
    return app


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        schema = await migrate.state(runtime.db.engine)
    except Exception as exc:  # the database is unreachable
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    if not schema.usable:  # a schema ahead of this code is fine while this code runs on it
        said = "migrations pending" if schema.state == "pending" else "schema newer than this code"
        return web.json_response({"status": "unavailable", "database": said}, status=503)
    if runtime.liveness is None:  # the inbox's work runs in this process
        return web.json_response({"status": "ready", "database": "ok"})
    try:
        problem = await runtime.liveness.problem()
    except Exception as exc:
        log.warning("readiness: worker heartbeats unreadable: %s", type(exc).__name__)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    if problem is not None:  # what this listener acks would wait with nobody to run it
        return web.json_response({"status": "unavailable", "database": "ok", "workers": problem},
                                 status=503)
    return web.json_response({"status": "ready", "database": "ok", "workers": "ok"})


async def download(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        kind, payload = runtime.downloads.verify(request.match_info["token"])
    except LinkError as exc:
        log.warning("download link refused: %s", exc)
        raise web.HTTPGone(text=str(exc)) from None
    await runtime.work_ready()  # the capability that made the link serves it
    handler = runtime.registry.downloads.get(kind)
    if handler is None:
        log.warning("download link of unknown kind %s refused", kind[:40])
        raise web.HTTPNotFound(text="unknown download")
    try:
        name, content_type, body = await handler(runtime, payload)
    except PermissionError as exc:
        raise web.HTTPForbidden(text=f"download refused: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:  # signed by us, but not what its kind holds
        log.warning("download of kind %s refused: its payload lacks %s", kind, type(exc).__name__)
        raise web.HTTPBadRequest(text=INVALID) from None
    return web.Response(body=body, headers={
        "Content-Type": content_type, "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store"})
