"""One module per capability; each declares its commands and buttons in `register`."""

from __future__ import annotations

from bot.registry import Registry
from handlers import admin, approvals, audit, devices, help, history, instructions, remote, settings


def register_all(registry: Registry) -> None:
    for module in (help, admin, devices, audit, remote, instructions, approvals, history, settings):
        module.register(registry)
