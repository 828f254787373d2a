"""What a capability adds to deskhand, declared in one place (its package's `CAPABILITY`).

The composition root (bot/bootstrap.py) lists the capabilities; `install` puts each one's
commands, buttons, downloads, approval subjects, settings, reminder sources, event listeners,
services, jobs, vendor integration (bot/integration.py) and HTTP routes where
the runtime finds them. Its workflows (bot/workflow.Workflow) and tables (its storage module)
are its own and need no registration, except the columns that hold text sealed with the secret
key ring, which `deskhand secrets rotate` re-seals (`sealed`, bot/rekey.py). Nothing in the core
names a capability.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Mapping
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
class Capability:
    name: str
    commands: tuple[CommandSpec, ...] = ()
    actions: tuple[ActionSpec, ...] = ()
    downloads: Mapping[str, DownloadHandler] = field(default_factory=dict)
    permissions: tuple[str, ...] = ()  # every permission its commands, buttons and checks use
    subjects: tuple[Subject, ...] = ()  # what its approval requests are about, and the hooks
    config: type[BaseModel] | None = None  # its DESKHAND_* settings, merged into Settings
    tenant_settings: type[TenantSection] | None = None  # per-tenant settings with ranges
    services: tuple[Service, ...] = ()
    jobs: tuple[Job, ...] = ()
    routes: tuple[Route, ...] = ()
    # "module:function" (`imported`) making its simulator for `deskhand demo`, given the settings
    # (None: no simulator wanted); only the demo imports it and the vendor simulator behind it.
    demo: str | None = None
    reminders: tuple[ReminderSource, ...] = ()  # expiring rows the reminder sweep posts about
    listeners: tuple[Listener, ...] = ()  # what it does when an event happens (bot/events.py)
    integration: Integration | None = None  # its vendor client, configured per tenant
    sealed: tuple[Sealed, ...] = ()  # its columns of text sealed with the secret key ring


def install(runtime: Runtime, capability: Capability) -> None:
    """Put what the capability declares where the runtime looks for it."""
    _check_permissions(capability)
    registry = runtime.registry
    for spec in capability.commands:
        registry.add(spec)
    for action in capability.actions:
        registry.add_action(action)
    for kind, handler in capability.downloads.items():
        registry.add_download(kind, handler)
    for subject in capability.subjects:
        registry.add_subject(subject)
    if capability.tenant_settings is not None:
        registry.add_section(capability.tenant_settings)
    for source in capability.reminders:
        registry.add_reminder(source)
    for listener in capability.listeners:
        registry.add_listener(listener.event, listener.run)
    if capability.integration is not None:
        runtime.tenant_clients.declare(capability.integration)
    for service in capability.services:
        runtime.services.provide(service.kind, service.make, service.close)
    for job in capability.jobs:
        runtime.scheduler.every(job.name, job.seconds, partial(job.run, runtime),
                                exclusive=job.exclusive, idle=job.idle)
    runtime.routes.extend(capability.routes)


def _check_permissions(capability: Capability) -> None:
    """Every permission a command or button names is declared, and RBAC knows it."""
    declared = set(capability.permissions)
    unknown = declared - set(PERMISSIONS)
    used: set[str] = set()
    specs: tuple[CommandSpec | ActionSpec, ...] = (*capability.commands, *capability.actions)
    for spec in specs:
        names = spec.permission if isinstance(spec.permission, tuple) else (spec.permission,)
        used.update(n for n in names if n is not None)
    if unknown or used - declared:
        raise ValueError(f"capability {capability.name}: permissions "
                         f"{', '.join(sorted(unknown | (used - declared)))} are not declared "
                         "(or not known to bot/rbac.py)")
