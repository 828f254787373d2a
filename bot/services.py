"""The runtime's shared objects (vendor clients, drivers), keyed by their class.

Capabilities declare how to make each one (bot/capability.Service); it is made on first use,
because some need the tenant id that only exists once the runtime has started, and closed when
the runtime stops, in the reverse of the order they were declared (a driver declared after the
client it uses is closed before it). Tests and the demo put their own in with `put`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

log = logging.getLogger("deskhand.services")
T = TypeVar("T")
_ABSENT = object()


class Services:
    def __init__(self, owner: Any) -> None:
        self._owner = owner  # handed to every factory (the runtime)
        self._makers: dict[type[Any], Callable[[Any], Any]] = {}
        self._closers: dict[type[Any], Callable[[Any], Awaitable[None]]] = {}
        self._made: dict[type[Any], Any] = {}

    def provide(self, kind: type[T], make: Callable[[Any], T | None],
                close: Callable[[T], Awaitable[None]] | None = None) -> None:
        if kind in self._makers:
            raise ValueError(f"service {kind.__name__} is provided twice")
        self._makers[kind] = make
        if close is not None:
            self._closers[kind] = close

    def get(self, kind: type[T]) -> T | None:
        """The service, made now if it is the first use; None when it is not configured."""
        found = self._made.get(kind, _ABSENT)
        if found is _ABSENT:
            maker = self._makers.get(kind)
            if maker is None:
                raise LookupError(f"no capability provides {kind.__name__}")
            found = maker(self._owner)
            if found is not None:
                self._made[kind] = found
        return cast("T | None", found)

    def put(self, kind: type[T], value: T) -> None:
        """Use `value` instead of making one (tests, the demo's simulators)."""
        self._made[kind] = value

    async def close(self) -> None:
        made, self._made = self._made, {}
        order = [*(k for k in self._makers if k in made), *(k for k in made if k not in self._makers)]
        for kind in reversed(order):
            closer, value = self._closers.get(kind), made[kind]
            if closer is None:
                continue
            try:
                await closer(value)
            except Exception:
                log.exception("closing %s failed", kind.__name__)
