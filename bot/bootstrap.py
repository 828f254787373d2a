"""The composition root: which capabilities this deskhand has, and how one process is wired.

Adding a capability is one package under handlers/ (with its storage module and migration) and
one line in CAPABILITIES. Its DESKHAND_* settings join `Settings`, its commands, buttons, jobs,
services and routes join the runtime through bot/capability.install. Nothing else in bot/
imports a capability or a vendor package.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from pydantic import BaseModel

from bot import web as listener
from bot.audit import Audit
from bot.capability import Capability, Deferred, DemoPart, Route, imported, install, works
from bot.downloads import Downloads
from bot.inbox import Inbox
from bot.metrics import Metrics
from bot.registry import Registry
from bot.rekey import CORE, Sealed
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from bot.settings import CoreSettings, load_settings
from bot.startup import secret_box
from bot.tenant_settings import CoreTenantSettings
from handlers import (
    admin,
    approvals,
    audit,
    certificates,
    console,
    device_actions,
    devices,
    help,
    identity,
    incidents,
    instructions,
    integration_admin,
    inventory,
    reminders,
    remote,
    scim,
    settings,
    tokens,
)
from storage.db import Database
from storage.inbox import InboxStore

CAPABILITIES: tuple[Capability, ...] = (
    help.CAPABILITY,
    admin.CAPABILITY,
    identity.CAPABILITY,
    devices.CAPABILITY,
    device_actions.CAPABILITY,
    audit.CAPABILITY,
    remote.CAPABILITY,
    instructions.CAPABILITY,
    approvals.CAPABILITY,
    settings.CAPABILITY,
    console.CAPABILITY,
    certificates.CAPABILITY,
    tokens.CAPABILITY,
    reminders.CAPABILITY,
    incidents.CAPABILITY,
    integration_admin.CAPABILITY,
    scim.CAPABILITY,
    inventory.CAPABILITY,
)


def _compose(capabilities: tuple[Capability, ...]) -> type[CoreSettings]:
    sections = tuple(c.config for c in capabilities if c.config is not None)
    parts: tuple[type[BaseModel], ...] = (CoreSettings, *sections)
    seen: dict[str, str] = {}
    for part in parts:
        # A second field or validator of the same name would silently replace the first.
        for name in (*part.model_fields, *part.__pydantic_decorators__.field_validators):
            if name in seen:
                raise ValueError(f"settings: {part.__name__}.{name} clashes with {seen[name]}.{name}")
            seen[name] = part.__name__
    return type("Settings", (CoreSettings, *sections), {
        "__module__": __name__,
        "__doc__": "Every DESKHAND_* setting: the core's and each capability's (bot/settings.py)."})


Settings = _compose(CAPABILITIES)


def load(**overrides: object) -> CoreSettings:
    """The process settings from the environment (and DESKHAND_CONFIG); SettingsError if wrong."""
    return load_settings(Settings, **overrides)


def sealed_columns() -> tuple[Sealed, ...]:
    """Every column of text sealed with the secret key ring: the core's and each capability's."""
    return (*CORE, *(sealed for _, work in works(CAPABILITIES) for sealed in work.sealed))


def commands() -> Registry:
    """Every command and button, without a runtime (the app manifests are built from it)."""
    registry = Registry()
    for _, work in works(CAPABILITIES):
        for spec in work.commands:
            registry.add(spec)
    return registry


def build_runtime(settings: CoreSettings, *, worker: bool = False, listener: bool = False) -> Runtime:
    """`worker`: a worker process, which acks nothing, so SQLite runs on its loop's thread.
    `listener` (serve): the capabilities' work is installed when the runtime starts, unless it
    is a listener whose worker processes run the work (bot/capability.Deferred); otherwise now."""
    box = secret_box(settings)
    db = Database(settings.database_url, inline=worker)
    metrics = Metrics()
    runtime = Runtime(
        settings=settings, db=db, audit=Audit(db), registry=Registry(), metrics=metrics,
        scheduler=Scheduler(db, settings.replica, metrics), secrets=box,
        downloads=Downloads(settings.secret_ring, settings.public_url),
        inbox=Inbox(InboxStore(db.engine), settings.replica, box,
                    max_age=timedelta(seconds=settings.inbox_max_age)),
    )
    runtime.registry.add_section(CoreTenantSettings)
    for capability in CAPABILITIES:
        install(runtime, capability)
    runtime.work = Deferred(CAPABILITIES)
    if not listener:
        runtime.work.install_now(runtime)
    return runtime


def attach_platforms(runtime: Runtime, *, listen: bool = True) -> None:
    """The chat platforms this process serves. `listen=False` (worker processes): only those
    configured, to deliver results; no console and no Socket Mode connection."""
    # A platform's SDK is imported here, only when it is configured (Teams' botbuilder and
    # msal add ~15 MB to every process otherwise).
    from bot.platforms import slack, teams

    if listen and runtime.settings.console_on:
        from bot.platforms.console.adapter import ConsoleAdapter

        runtime.platforms["console"] = ConsoleAdapter(runtime)
    if slack.configured(runtime.settings):
        from bot.platforms.slack.adapter import SlackAdapter

        runtime.platforms["slack"] = SlackAdapter(runtime, listen=listen)
    refused = teams.refusal(runtime.settings)  # dev/demo without an app id: anonymous, served
    if refused is None:
        from bot.platforms.teams.adapter import TeamsAdapter

        runtime.platforms["teams"] = TeamsAdapter(runtime)
    elif listen:  # always mounted: without an app id it refuses and says why
        runtime.routes.append(Route("POST", teams.PATH, teams.refusing(*refused)))


def build_app(runtime: Runtime, *, upgrade: bool = False) -> web.Application:
    attach_platforms(runtime)
    return listener.build_app(runtime, upgrade=upgrade)


def demo_parts(settings: CoreSettings) -> list[DemoPart]:
    """The vendor simulators `deskhand demo` runs, each configured into `settings`."""
    parts = (imported(c.demo)(settings) for c in CAPABILITIES if c.demo is not None)
    return [p for p in parts if p is not None]
