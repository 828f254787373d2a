"""`deskhand`: demo, serve, db, rbac, groups, console sign-in, audit export and archive, manifest,
teams-package, check, directory import, devices import, tenant, scim-token, secrets and
settings-doc commands."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import (
    bootstrap,
    check_cli,
    console_signin,
    directory_cli,
    logs,
    manifest_cli,
    memory,
    rbac_cli,
    secrets_cli,
    settings_doc,
    startup,
    tenant_cli,
)
from bot.audit import Audit
from bot.model import new_correlation_id
from bot.rbac_admin import AdminError
from bot.runtime import Runtime
from bot.secrets import local_key
from bot.settings import CoreSettings, SettingsError
from handlers.audit import cli as audit_cli
from handlers.inventory import import_cli as devices_cli
from handlers.scim import cli as scim_cli
from storage import migrate
from storage.db import Database
from storage.devices import DeviceRepo
from storage.directory import DirectoryRepo
from storage.tenants import TenantRepo

# Modules of commands of their own: each has COMMANDS, add_parsers(sub) and run(args, settings).
SUBCOMMANDS = (audit_cli, manifest_cli, check_cli, directory_cli, devices_cli, tenant_cli,
               scim_cli, secrets_cli)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deskhand", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    demo = sub.add_parser("demo", help="start with SQLite, simulators and the web console")
    demo.add_argument("--data-dir", default=".deskhand", help="where the demo keeps its files")
    demo.add_argument("--host", default=None)
    demo.add_argument("--port", type=int, default=None)
    demo.add_argument("--reset", action="store_true", help="start from a fresh database")

    sub.add_parser("serve", help="run the production listener from DESKHAND_* settings")
    worker = sub.add_parser("worker", help="run acknowledged chat requests from the inbox")
    worker.add_argument("--child", action="store_true",
                        help="started by `serve`: woken over stdin, stops when stdin closes")

    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade", "current"])

    groups = sub.add_parser("groups", help="management groups and their 1E management groups")
    gsub = groups.add_subparsers(dest="action", required=True)
    gsub.add_parser("list", help="list groups, their device counts and 1E links")
    link = gsub.add_parser("link", help="send `group:NAME` runs to 1E as this 1E management group")
    link.add_argument("name")
    link.add_argument("--tachyon-id", required=True, help="the management group's id in 1E")
    unlink = gsub.add_parser("unlink", help="send `group:NAME` runs as a device list again")
    unlink.add_argument("name")

    link = sub.add_parser("console-link", help="a single-use sign-in link to the web console")
    link.add_argument("email")
    logout = sub.add_parser("console-logout", help="end a person's console sessions and links")
    logout.add_argument("email")

    rbac_cli.add_parsers(sub)  # its run() works inside _offline's unit of work
    for module in SUBCOMMANDS:
        module.add_parsers(sub)
    settings_doc.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.cmd == "demo":
            return run_demo(args)
        if args.cmd in settings_doc.COMMANDS:  # made from the code: needs no settings
            return settings_doc.run(args)
        settings = bootstrap.load()
        logs.configure(settings.log_level, settings.log_format)
        if args.cmd == "serve":
            return serve(settings)
        if args.cmd == "worker":
            from bot import workers

            return workers.run(settings, child=args.child)
        for module in SUBCOMMANDS:
            if args.cmd in module.COMMANDS:
                return module.run(args, settings)
        return asyncio.run(_offline(args, settings))
    except SettingsError as exc:
        for line in exc.lines:
            print(f"deskhand: {line}", file=sys.stderr)
        return 2
    except startup.KNOWN as exc:  # one line and exit 2, as for settings (bot/startup.py)
        print(f"deskhand: {startup.line(exc)}", file=sys.stderr)
        return 2
    except (AdminError, ValueError) as exc:
        print(f"deskhand: {exc}", file=sys.stderr)
        return 1


def serve(settings: CoreSettings, *, upgrade: bool = False,
          seed: Callable[[Runtime], Awaitable[None]] | None = None, banner: str = "",
          mount: Callable[[web.Application], None] | None = None) -> int:
    startup.check_listen(settings.host, settings.port)
    if settings.metrics_port is not None:
        startup.check_listen(settings.metrics_host, settings.metrics_port, "DESKHAND_METRICS")
    runtime = bootstrap.build_runtime(settings, listener=True)
    app = bootstrap.build_app(runtime, upgrade=upgrade)
    if mount is not None:
        mount(app)  # the demo's simulators, on the same listener
    _worker_processes(settings, runtime, app)
    if seed is not None:
        async def _seed(_: web.Application) -> None:
            await seed(runtime)
        app.on_startup.append(_seed)
    if banner:
        async def _banner(_: web.Application) -> None:
            print(banner, flush=True)
        app.on_startup.append(_banner)
    app.on_startup.append(_settle_memory)
    try:
        web.run_app(app, host=settings.host, port=settings.port, print=None,
                    handle_signals=True, access_log=None)
    except OSError as exc:
        failed = startup.listen_failed(exc, settings.host, settings.port)
        if failed is None:
            raise
        raise failed from None
    return 0


def _worker_processes(settings: CoreSettings, runtime: Runtime, app: web.Application) -> None:
    """Hand the inbox's work to DESKHAND_WORKERS child processes (bot/workers.py).

    Only when Slack or Teams is configured (their requests go through the inbox), and not with
    the console on (demo/dev): the console's pushes must come from the process its browsers are
    connected to.
    """
    if not settings.workers or not runtime.inbox.executors or settings.console_on:
        return
    from bot.heartbeat import Liveness
    from bot.workers import WorkerPool
    from storage.heartbeats import HeartbeatStore

    pool = WorkerPool(settings.workers, runtime.metrics)
    runtime.liveness = Liveness(HeartbeatStore(runtime.db.engine), settings.worker_stale_after)
    runtime.inbox.consume = False
    runtime.run_jobs = False  # the workers run the scheduled jobs too: this process only listens
    runtime.inbox.on_write.append(pool.wake)
    runtime.scheduler.elsewhere = pool.nudge  # e.g. a run this listener's driver was handed

    async def start(_: web.Application) -> None:
        await pool.start()

    async def stop(_: web.Application) -> None:
        await runtime.stop_intake()  # what is acked from here on would wait for the next start
        await pool.stop()

    app.on_startup.append(start)
    app.on_shutdown.append(stop)


async def _settle_memory(_: web.Application) -> None:
    memory.settle()


def run_demo(args: argparse.Namespace) -> int:
    data = Path(args.data_dir).resolve()
    db_file = data / "deskhand.db"
    try:
        data.mkdir(parents=True, exist_ok=True)
        if args.reset and db_file.exists():
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        key = local_key(data / "secret.key")
    except OSError as exc:
        raise startup.StartupError(f"cannot use the demo's folder {data} ({exc.strerror}); pass "
                                   "--data-dir a folder this user may write") from None
    os.environ.setdefault("DESKHAND_MODE", "demo")
    os.environ.setdefault("DESKHAND_DATABASE_URL", f"sqlite+aiosqlite:///{db_file}")
    if "DESKHAND_SECRET_KEYS" not in os.environ:  # a ring given: the demo's own key stays out
        os.environ.setdefault("DESKHAND_SECRET_KEY", key)
    overrides: dict[str, Any] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = bootstrap.load(**overrides)
    if "DESKHAND_PUBLIC_URL" not in os.environ:
        settings.public_url = f"http://{settings.host}:{settings.port}"
    logs.configure(settings.log_level, settings.log_format)
    simulators = bootstrap.demo_parts(settings)

    def mount(app: web.Application) -> None:
        for simulator in simulators:
            simulator.mount(app)

    async def seed(runtime: Runtime) -> None:
        from bot.demo import seed as seed_fleet

        async with runtime.db.uow() as uow:
            if await seed_fleet(uow, runtime.tenant_id):
                await uow.commit()
        for simulator in simulators:
            await simulator.seed(runtime)

    url = f"http://{settings.host}:{settings.port}/console"
    banner = (f"deskhand demo is ready: open {url}\n"
              f"  data: {data} (delete it or pass --reset to start over)\n"
              "  personas: Alex Admin, Riley Remote, Avery Actioner, Pat Approver, "
              "Sam Standard, Audrey Auditor, Nina New")
    return serve(settings, upgrade=True, seed=seed, banner=banner,
                 mount=mount if simulators else None)


async def _offline(args: argparse.Namespace, settings: CoreSettings) -> int:
    db = Database(settings.database_url)
    try:
        if args.cmd == "db":
            if args.action == "upgrade":
                await migrate.upgrade(db.engine)  # SchemaAhead from an older release: exit 2
            schema = await migrate.state(db.engine)
            print(f"schema revision: {schema.database} (code expects {schema.code})"
                  + (f"; {startup.newer_schema(schema)}" if schema.ahead else ""))
            return 0
        await startup.require_schema(db.engine)
        async with db.uow() as uow:
            tenant = await uow.repo(TenantRepo).ensure(settings.tenant, settings.tenant_name)
            from bot.rbac import ensure_system_roles

            await ensure_system_roles(uow, tenant.id)
            if args.cmd == "rbac":
                await rbac_cli.run(uow, tenant.id, args)
            elif args.cmd == "groups":
                await _groups(uow, tenant.id, args)
            elif args.cmd in ("console-link", "console-logout"):
                await _console(uow, tenant.id, args, settings)
            await uow.commit()
        return 0
    finally:
        await db.dispose()


async def _console(uow: Any, tenant_id: int, args: argparse.Namespace,
                   settings: CoreSettings) -> None:
    person = await uow.repo(DirectoryRepo).principal_by_email(tenant_id, args.email.strip().lower())
    if person is None:
        raise ValueError(f"nobody with the email {args.email} is in the directory")
    if args.cmd == "console-logout":
        ended = await console_signin.sign_out_everywhere(uow, person, by="cli")
        print(f"{person.email}: {ended} console session(s) and link(s) ended")
        return
    if not settings.console_on or not settings.console_signs_in:
        raise ValueError("console sign-in links are for production with the console on "
                         "(DESKHAND_CONSOLE_ENABLED=true); in demo/dev mode anyone picks a persona")
    try:
        link = await console_signin.issue_link(uow, person, settings.public_url,
                                               settings.console_link_minutes, by="cli")
    except console_signin.SignInRefused as exc:
        raise ValueError(str(exc)) from None
    print(f"{link.url}\n  for {person.email} only: it signs in one browser, once, until "
          f"{link.expires_at:%H:%M} UTC. Do not send it through a shared channel.")


async def _groups(uow: Any, tenant_id: int, args: argparse.Namespace) -> None:
    groups = await uow.repo(DeviceRepo).groups(tenant_id)
    if args.action == "list":
        counts = await uow.repo(DeviceRepo).group_counts(tenant_id)
        for g in groups:
            print(f"{g.name}: {counts.get(g.id, 0)} devices; "
                  + (f"1E management group {g.tachyon_id}" if g.tachyon_id else "not linked to 1E"))
        return
    group = next((g for g in groups if g.name.lower() == args.name.strip().lower()), None)
    if group is None:
        raise ValueError(f"there is no management group {args.name!r}; groups: "
                         + ", ".join(g.name for g in groups))
    tachyon_id = args.tachyon_id.strip() if args.action == "link" else None
    if args.action == "link" and not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", tachyon_id or ""):
        raise ValueError("--tachyon-id takes the 1E management group's id: 1-64 letters, digits, "
                         "dots, dashes or underscores")
    group.tachyon_id = tachyon_id
    await Audit.add(uow, tenant_id, "command", f"groups {args.action}", "ok",
                    correlation_id=new_correlation_id(), actor_label="cli", target=group.name,
                    params={"tachyon_id": tachyon_id})
    print(f"group {group.name}: " + (f"`group:` runs go to 1E as management group {tachyon_id}"
                                     if tachyon_id else "`group:` runs go to 1E as a device list"))


if __name__ == "__main__":
    raise SystemExit(main())
