"""`/metrics` over HTTP, kept off the public listener unless it asks for a token.

- DESKHAND_METRICS_PORT set: a listener of its own serves `/metrics` (and nothing else) on
  DESKHAND_METRICS_HOST, 127.0.0.1 unless set: a Prometheus on the same host, or on the internal
  network with the host set to an internal address, scrapes it there.
- DESKHAND_METRICS_TOKEN set: `/metrics` wants `Authorization: Bearer <token>` wherever it is
  served (401 without it), and the public listener serves it too.
- neither: no `/metrics` anywhere; the public listener answers 404, as for any path it lacks.

The figures name no person or device, but they tell an outsider how busy and how healthy
deskhand is (queue depths, failure counts per command), so they are not public by default.
"""

from __future__ import annotations

import hmac
import logging
from functools import partial

from aiohttp import web

from bot import startup
from bot.runtime import Runtime

log = logging.getLogger("deskhand.metrics")


def attach(app: web.Application, runtime: Runtime) -> None:
    """Serve /metrics on `app` (the public listener) when a token guards it, and on a listener
    of its own, started and stopped with `app`, when DESKHAND_METRICS_PORT is set."""
    settings = runtime.settings
    if settings.metrics_token is not None:
        app.router.add_get("/metrics", partial(metrics, runtime))
    port = settings.metrics_port
    if port is None:
        return
    own = web.Application()
    own.router.add_get("/metrics", partial(metrics, runtime))
    runner = web.AppRunner(own, access_log=None)

    async def start(_: web.Application) -> None:
        await runner.setup()
        site = web.TCPSite(runner, settings.metrics_host, port)
        try:
            await site.start()
        except OSError as exc:
            failed = startup.listen_failed(exc, settings.metrics_host, port, "DESKHAND_METRICS")
            if failed is None:
                raise
            raise failed from None
        log.info("metrics on http://%s:%s/metrics", settings.metrics_host, port)

    async def stop(_: web.Application) -> None:
        await runner.cleanup()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


def authorized(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


async def metrics(runtime: Runtime, request: web.Request) -> web.Response:
    token = runtime.settings.metrics_token
    if token is not None and not authorized(request, token.get_secret_value()):
        log.warning("metrics: a request from %s without the right bearer token was refused",
                    request.remote)
        raise web.HTTPUnauthorized(text="a bearer token is required",
                                   headers={"WWW-Authenticate": 'Bearer realm="deskhand metrics"'})
    try:
        runtime.metrics.observe_inbox(*await runtime.inbox.store.stats())
        if runtime.liveness is not None:
            runtime.metrics.heartbeat_age.set(await runtime.liveness.age())
    except Exception as exc:  # the database is unreachable: the rest still renders
        log.warning("metrics: inbox figures unavailable: %s", type(exc).__name__)
    body = runtime.metrics.render()
    return web.Response(body=body, content_type="text/plain", charset="utf-8")
