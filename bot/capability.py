"""What a capability adds to deskhand, declared in its package: `CAPABILITY`, what every process
needs of it, and the `Work` that names (its work.py), what a process that runs commands needs.

The composition root (bot/bootstrap.py) lists the capabilities. `install` puts what every
process needs where the runtime finds it: settings and HTTP routes. `install_work` does the
same for its work: commands, buttons, downloads, approval subjects, reminder sources, event
listeners, services, jobs and vendor integration (bot/integration.py), now or when first
needed (`Deferred`). Its workflows (bot/workflow.Workflow) and tables (its storage module) are
its own and need no registration, except the columns that hold text sealed with the secret key
ring, which `deskhand secrets rotate` re-seals (`sealed`, bot/rekey.py). Nothing in the core
names a capability.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from bot.rbac import PERMISSIONS
from bot.registry import ActionSpec, CommandSpec, DownloadHandler

if TYPE_CHECKING:
    from datetime import datetime

    from aiohttp import web
    from pydantic import BaseModel

    from bot.approvals import Subject
    from bot.events import Listener
    from bot.integration import Integration
    from bot.rekey import Sealed
    from bot.reminders import ReminderSource
    from bot.runtime import Runtime
    from bot.tenant_settings import TenantSection

RouteHandler = Callable[["Runtime", "web.Request"], Awaitable["web.StreamResponse"]]


@dataclass(frozen=True)
class Job:
    """A recurring job; `exclusive` ones run on one replica at a time (a database lease).

    With `idle`, the job is due-time driven: `run` returns when it next has work (None: nothing
    known), and the job waits until then, at least `seconds` and at most `idle` seconds, instead
    of waking every `seconds` to find nothing (bot/scheduler.py)."""

    name: str
    seconds: float
    run: Callable[[Runtime], Awaitable[datetime | None]]
    exclusive: bool = True
    idle: float | None = None


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: RouteHandler


def imported(target: str) -> Any:
    """What "package.module:name" names, importing its module now: how a capability points at
    code only some processes run (its demo part, routes behind `on_use`) without importing it."""
    module_name, _, name = target.partition(":")
    return getattr(importlib.import_module(module_name), name)


def on_use(target: str) -> RouteHandler:
    """A route handler whose module is imported on its first request, not at start.

    For a capability whose handlers need a large library many deployments never call (SCIM's
    models: ~8 MB and a third of a second of imports): `Route("GET", path,
    on_use("handlers.scim.users:list_users"))`. The import runs off the event loop, so the acks
    of the requests arriving meanwhile do not wait for it.
    """
    loaded: list[RouteHandler] = []

    async def handler(runtime: Runtime, request: web.Request) -> web.StreamResponse:
        if not loaded:
            loaded.append(await asyncio.to_thread(imported, target))
        return await loaded[0](runtime, request)

    return handler


@dataclass(frozen=True)
class Service:
    """A long-lived object the capability shares (a vendor client, a driver): made on first
    use from the runtime (`make` may answer None: not configured), closed when deskhand stops."""

    kind: type[Any]
    make: Callable[[Runtime], Any]
    close: Callable[[Any], Awaitable[None]] | None = None


class DemoPart(Protocol):
    """A capability's share of `deskhand demo`: its vendor simulator on the demo's listener."""

    def mount(self, app: web.Application) -> None: ...

    async def seed(self, runtime: Runtime) -> None: ...


@dataclass(frozen=True)
class Work:
    """What a capability runs, and what that uses: its commands, buttons, jobs, services...

    Declared apart from its `Capability` (its package's work.py), so a listener whose work runs
    in worker processes does not import it: the capabilities' code and tables are ~6 MiB of every
    listener (bench/README.md, e2e: idle RSS). `Deferred` installs it where it is needed.
    """

    commands: tuple[CommandSpec, ...] = ()
    actions: tuple[ActionSpec, ...] = ()
    downloads: Mapping[str, DownloadHandler] = field(default_factory=dict)
    permissions: tuple[str, ...] = ()  # every permission its commands, buttons and checks use
    subjects: tuple[Subject, ...] = ()  # what its approval requests are about, and the hooks
    services: tuple[Service, ...] = ()
    jobs: tuple[Job, ...] = ()
    reminders: tuple[ReminderSource, ...] = ()  # expiring rows the reminder sweep posts about
    listeners: tuple[Listener, ...] = ()  # what it does when an event happens (bot/events.py)
    integration: Integration | None = None  # its vendor client, configured per tenant
    sealed: tuple[Sealed, ...] = ()  # its columns of text sealed with the secret key ring


@dataclass(frozen=True)
class Capability:
    """What every process needs of a capability to start and listen, and where its work is."""

    name: str
    work: str | None = None  # "module:NAME" (`imported`) of its Work
    config: type[BaseModel] | None = None  # its DESKHAND_* settings, merged into Settings
    tenant_settings: type[TenantSection] | None = None  # per-tenant settings with ranges
    # Its HTTP routes; each waits for the capabilities' work (`Deferred`) on its first request,
    # so a handler names its module with `on_use` to leave it out of the listener until then.
    routes: tuple[Route, ...] = ()
    # "module:function" (`imported`) making its simulator for `deskhand demo`, given the settings
    # (None: no simulator wanted); only the demo imports it and the vendor simulator behind it.
    demo: str | None = None


def install(runtime: Runtime, capability: Capability) -> None:
    """Put what every process needs of the capability where the runtime looks for it; its work
    follows from `Deferred`."""
    if capability.tenant_settings is not None:
        runtime.registry.add_section(capability.tenant_settings)
    runtime.routes.extend(Route(r.method, r.path, _after_work(r.handler)) for r in capability.routes)


def _after_work(handler: RouteHandler) -> RouteHandler:
    async def run(runtime: Runtime, request: web.Request) -> web.StreamResponse:
        await runtime.work_ready()  # e.g. SCIM's deactivation runs the capabilities' listeners
        return await handler(runtime, request)

    return run


def install_work(runtime: Runtime, name: str, work: Work) -> None:
    """Put what the capability runs where the runtime looks for it."""
    _check_permissions(name, work)
    registry = runtime.registry
    for spec in work.commands:
        registry.add(spec)
    for action in work.actions:
        registry.add_action(action)
    for kind, handler in work.downloads.items():
        registry.add_download(kind, handler)
    for subject in work.subjects:
        registry.add_subject(subject)
    for source in work.reminders:
        registry.add_reminder(source)
    for listener in work.listeners:
        registry.add_listener(listener.event, listener.run)
    if work.integration is not None:
        runtime.tenant_clients.declare(work.integration)
    for service in work.services:
        runtime.services.provide(service.kind, service.make, service.close)
    for job in work.jobs:
        runtime.scheduler.every(job.name, job.seconds, partial(job.run, runtime),
                                exclusive=job.exclusive, idle=job.idle)


def works(capabilities: Iterable[Capability]) -> list[tuple[str, Work]]:
    """Each capability's work, imported now."""
    return [(c.name, imported(c.work)) for c in capabilities if c.work is not None]


class Deferred:
    """The capabilities' work a runtime has not installed yet.

    A process that runs work installs it before it starts (`Runtime.start`, worker processes, the
    CLI). A listener that only stores its requests for worker processes installs it when one of
    its own requests first needs it (a capability's route, a download link): imported off the
    event loop, so the acks of the requests arriving meanwhile do not wait for it, and once.
    """

    def __init__(self, capabilities: Iterable[Capability]) -> None:
        self.pending = tuple(c for c in capabilities if c.work is not None)
        self._loading: asyncio.Future[None] | None = None

    def install_now(self, runtime: Runtime) -> None:
        self._install(runtime, works(self.pending))

    async def ready(self, runtime: Runtime) -> None:
        if not self.pending:
            return
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load(runtime))
        try:
            await asyncio.shield(self._loading)
        except BaseException:
            if self._loading.done():
                self._loading = None  # a failed import is tried again by the next request
            raise

    async def _load(self, runtime: Runtime) -> None:
        self._install(runtime, await asyncio.to_thread(works, self.pending))

    def _install(self, runtime: Runtime, loaded: list[tuple[str, Work]]) -> None:
        if not self.pending:
            return
        self.pending = ()
        for name, work in loaded:
            install_work(runtime, name, work)


def _check_permissions(name: str, work: Work) -> None:
    """Every permission a command or button names is declared, and RBAC knows it."""
    declared = set(work.permissions)
    unknown = declared - set(PERMISSIONS)
    used: set[str] = set()
    specs: tuple[CommandSpec | ActionSpec, ...] = (*work.commands, *work.actions)
    for spec in specs:
        names = spec.permission if isinstance(spec.permission, tuple) else (spec.permission,)
        used.update(n for n in names if n is not None)
    if unknown or used - declared:
        raise ValueError(f"capability {name}: permissions "
                         f"{', '.join(sorted(unknown | (used - declared)))} are not declared "
                         "(or not known to bot/rbac.py)")
