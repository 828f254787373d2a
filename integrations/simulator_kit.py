"""What every vendor simulator shares: fault switches, the `/_control` endpoint, mounting and serving.

A simulator subclasses `VendorSimulator` and supplies its routes, its middleware (which calls
`inject_faults` before it checks credentials), its error bodies and its `POST /_control`;
its `Switches` extend `FaultSwitches`. `GET /_control` answers `control_state()`.
"""

from __future__ import annotations

import abc
import argparse
import asyncio
import random
from collections import Counter
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Generic, TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

LOOPBACK = "127.0.0.1"


@dataclass
class FaultSwitches:
    """Faults any simulated API can inject; a vendor adds its own switches in a subclass."""

    latency: float = 0.0  # seconds added to every API call
    error_rate: float = 0.0  # share of API calls answered with `error_status`
    error_status: int = 500
    fail_next: int = 0  # the next N API calls (matching `fail_path`) answer `fail_status`
    fail_status: int = 500
    fail_path: str = ""  # substring of the call's "METHOD /path"; empty matches every call
    fail_after: int = 0  # matching calls let through before `fail_next` applies (a page N fails)
    rate_limit_next: int = 0  # the next N API calls answer 429 with Retry-After
    retry_after: int = 1

    def picks(self, call: str) -> bool:
        """Whether `fail_path` picks the call "METHOD /path"."""
        return self.fail_path in call


S = TypeVar("S", bound=FaultSwitches)


class VendorSimulator(abc.ABC, Generic[S]):
    """An aiohttp app with switches, call counts and a `/_control` endpoint for tests and the demo."""

    root: ClassVar[str] = ""  # the API root below the listener, the end of `serve`'s URL

    def __init__(self, switches: S, seed: int | None) -> None:
        self.switches = switches
        self.hits: Counter[str] = Counter()  # API calls by "METHOD /path"
        self.refused = 0  # API calls refused for their credentials
        self.prefix = ""  # set by `mount` when the simulator lives under a parent app
        self._rng = random.Random(seed)

    @abc.abstractmethod
    def add_routes(self, app: web.Application) -> None: ...

    @abc.abstractmethod
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse: ...

    @abc.abstractmethod
    def rate_limited(self, retry_after: int) -> web.Response:
        """The vendor's 429 answer."""

    @abc.abstractmethod
    def failed(self, status: int, message: str) -> web.Response:
        """The vendor's error body for an injected failure."""

    @abc.abstractmethod
    def control_state(self) -> dict[str, Any]: ...

    def take_control(self, body: dict[str, Any]) -> web.Response | None:
        """Take this vendor's own `/_control` keys (seeding, resets) out of `body`, which then
        holds only switches; an answer ends the request (a refusal)."""
        return None

    async def control_set(self, request: web.Request) -> web.Response:
        """POST /_control: a JSON object of switches plus the vendor's own keys."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        answer = self.take_control(body)
        if answer is not None:
            return answer
        refused = self.set_switches(body)
        if refused:
            return web.json_response({"error": refused}, status=400)
        return web.json_response(self.control_state())

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.middleware])
        app.router.add_get("/_control", self.control_get)
        app.router.add_post("/_control", self.control_set)
        self.add_routes(app)
        return app

    def mount(self, parent: web.Application, prefix: str) -> None:
        """Serve under `prefix` of another app (the demo's own listener)."""
        self.prefix = prefix.rstrip("/")
        parent.add_subapp(self.prefix, self.app())

    def run(self, host: str, port: int) -> None:
        """Serve in the foreground until interrupted: the `python -m` entry points."""
        web.run_app(self.app(), host=host, port=port, access_log=None, print=None)

    async def inject_faults(self, call: str) -> web.Response | None:
        """Delay the API call "METHOD /path" by `latency`, then answer the first fault due
        (a 429, a forced failure, a random one); None lets the call through."""
        sw = self.switches
        if sw.latency:
            await asyncio.sleep(sw.latency)
        if sw.rate_limit_next > 0:
            sw.rate_limit_next -= 1
            return self.rate_limited(sw.retry_after)
        if sw.fail_next > 0 and sw.picks(call):
            if sw.fail_after > 0:
                sw.fail_after -= 1
            else:
                sw.fail_next -= 1
                return self.failed(sw.fail_status, "Simulated failure.")
        if sw.error_rate and self._rng.random() < sw.error_rate:
            return self.failed(sw.error_status, "Simulated random failure.")
        return None

    async def control_get(self, request: web.Request) -> web.Response:
        return web.json_response(self.control_state())

    def set_switches(self, changes: dict[str, Any]) -> str | None:
        """Set switches by name, all or none: the refusal when a name is not a switch."""
        known = {f.name for f in fields(self.switches)}
        unknown = [k for k in changes if k not in known]
        if unknown:
            return f"unknown switches: {', '.join(unknown)}"
        for key, value in changes.items():
            setattr(self.switches, key, value)
        return None


async def serve(sim: VendorSimulator[Any], host: str = LOOPBACK, port: int = 0) -> tuple[web.AppRunner, str]:
    """Listen on host:port (0 picks a free one); returns the runner and the API root URL."""
    runner = web.AppRunner(sim.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner, f"http://{host}:{runner.addresses[0][1]}{sim.root}"


def arguments(description: str, port: int) -> argparse.ArgumentParser:
    """The command line every simulator takes; a vendor adds its own options."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default=LOOPBACK)
    p.add_argument("--port", type=int, default=port)
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to each API call")
    return p
