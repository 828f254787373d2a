"""The HTTP listener: health, readiness, metrics, downloads, and each platform's routes."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.downloads import LinkError
from bot.runtime import Runtime
from storage import migrate

log = logging.getLogger("deskhand.web")
RUNTIME = web.AppKey("runtime", Runtime)


def build_app(runtime: Runtime, *, upgrade: bool = False) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[RUNTIME] = runtime
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/downloads/{token}", download)
    if runtime.settings.console_on:
        from bot.platforms.console.adapter import ConsoleAdapter

        console = ConsoleAdapter(runtime)
        console.routes(app)
        runtime.platforms["console"] = console
    from integrations.teamviewer import service as teamviewer

    teamviewer.mount(app, runtime)  # /oauth/teamviewer/callback
    # Platform adapters mount their own routes here (Slack: /slack/events, Teams: /api/messages).
    from bot.platforms import slack

    if slack.configured(runtime):
        slack.mount(runtime, app)
    from bot.platforms import teams

    teams.mount(app, runtime)  # always: without an app id it refuses with a reason (dev: anonymous)

    async def on_startup(_: web.Application) -> None:
        await runtime.start(upgrade=upgrade)

    async def on_cleanup(_: web.Application) -> None:
        await runtime.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        current = await migrate.is_current(runtime.db.engine)
    except Exception as exc:  # the database is unreachable
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)
    if not current:
        return web.json_response({"status": "unavailable", "database": "migrations pending"},
                                 status=503)
    return web.json_response({"status": "ready", "database": "ok"})


async def metrics(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        runtime.metrics.observe_inbox(*await runtime.inbox.store.stats())
    except Exception as exc:  # the database is unreachable: the rest still renders
        log.warning("metrics: inbox figures unavailable: %s", type(exc).__name__)
    body = runtime.metrics.render()
    return web.Response(body=body, content_type="text/plain", charset="utf-8")


async def download(request: web.Request) -> web.Response:
    runtime = request.app[RUNTIME]
    try:
        kind, payload = runtime.downloads.verify(request.match_info["token"])
    except LinkError as exc:
        raise web.HTTPGone(text=str(exc)) from None
    handler = runtime.registry.downloads.get(kind)
    if handler is None:
        raise web.HTTPNotFound(text="unknown download")
    try:
        name, content_type, body = await handler(runtime, payload)
    except PermissionError as exc:
        raise web.HTTPForbidden(text=f"download refused: {exc}") from None
    return web.Response(body=body, headers={
        "Content-Type": content_type, "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store"})
