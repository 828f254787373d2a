"""`deskhand`: demo, serve, db, rbac, groups, console sign-in, audit export and archive, manifest,
teams-package, check, directory import, devices import, tenant, scim-token, secrets and
settings-doc commands."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from aiohttp import web

from bot import bootstrap, logs, memory, startup
from bot.runtime import Runtime
from bot.secrets import local_key
from bot.settings import CoreSettings, SettingsError

# The processes that run for days: reading their command line imports no other command's module,
# which would bring much of the capabilities' code into serve's listener (bench/README.md, e2e).
PROCESSES = ("demo", "serve", "worker")
# Modules of commands of their own: each has COMMANDS, add_parsers(sub) and run(args, settings).
SUBCOMMANDS = ("bot.admin_cli", "handlers.audit.cli", "bot.manifest_cli", "bot.check_cli",
               "bot.directory_cli", "handlers.inventory.import_cli", "bot.tenant_cli",
               "handlers.scim.cli", "bot.secrets_cli", "bot.settings_doc")


def subcommands() -> list[ModuleType]:
    return [importlib.import_module(name) for name in SUBCOMMANDS]


def parser(*, commands: bool = True) -> argparse.ArgumentParser:
    """`commands`: every command; without, only the PROCESSES (see above)."""
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
    if commands:
        for module in subcommands():
            module.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser(commands=not argv or argv[0] not in PROCESSES).parse_args(argv)
    try:
        if args.cmd == "demo":
            return run_demo(args)
        if args.cmd == "settings-doc":  # made from the code: needs no settings
            from bot import settings_doc

            return settings_doc.run(args)
        settings = bootstrap.load()
        logs.configure(settings.log_level, settings.log_format)
        if args.cmd == "serve":
            return serve(settings)
        if args.cmd == "worker":
            from bot import workers

            return workers.run(settings, child=args.child)
        module = next(m for m in subcommands() if args.cmd in m.COMMANDS)
        result: int = module.run(args, settings)
        return result
    except SettingsError as exc:
        for line in exc.lines:
            print(f"deskhand: {line}", file=sys.stderr)
        return 2
    except startup.KNOWN as exc:  # one line and exit 2, as for settings (bot/startup.py)
        print(f"deskhand: {startup.line(exc)}", file=sys.stderr)
        return 2
    except ValueError as exc:  # bot.rbac_admin.AdminError too
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


if __name__ == "__main__":
    raise SystemExit(main())
