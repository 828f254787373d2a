"""Workflow rows: declared states and moves, and the one way to move a row.

A capability declares each of its workflows (`Workflow(table, moves, labels)`): which state may
follow which. `move` is a compare-and-set in storage that always names the tenant, takes the
row on only from a state the declaration allows the move from, and reports False when a double
click, a second replica or a job moved it first. Staying in a state while other values change
(progress counters, a lease) is always allowed. A table with a `state_since` column has it set
on every move into a new state, so a sweep (bot/sweeps.py) can tell a row a crash left behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, case

from storage.base import Base, Repo, utcnow
from storage.uow import UnitOfWork


class IllegalMove(ValueError):
    """Code asked for a move its workflow does not declare: a bug, never a user's doing."""


@dataclass(frozen=True)
class Workflow:
    name: str
    table: type[Base]  # with `id`, `tenant_id` and `state` columns
    moves: Mapping[str, tuple[str, ...]]  # state -> the states that may follow it
    labels: Mapping[str, str] = field(default_factory=dict)  # state -> how people read it

    @property
    def states(self) -> frozenset[str]:
        return frozenset({*self.moves, *(s for after in self.moves.values() for s in after)})

    def allows(self, current: str, to: str) -> bool:
        return to == current or to in self.moves.get(current, ())

    def sources(self, expected: str | Sequence[str], to: str | None) -> tuple[str, ...]:
        """The expected states a move to `to` may start from; IllegalMove when there is none."""
        states = (expected,) if isinstance(expected, str) else tuple(expected)
        unknown = [s for s in (*states, *([to] if to else [])) if s not in self.states]
        if unknown:
            raise IllegalMove(f"{self.name}: no state {', '.join(unknown)}")
        if to is None:
            return states
        allowed = tuple(s for s in states if self.allows(s, to))
        if not allowed:
            raise IllegalMove(f"{self.name}: {' | '.join(states)} -> {to} is not a declared move")
        return allowed

    def label(self, state: str) -> str:
        return self.labels.get(state, state.replace("_", " "))

    async def move(self, uow: UnitOfWork, tenant_id: int, row_id: int,
                   expected: str | Sequence[str], to: str | None = None, *,
                   guards: Sequence[ColumnElement[bool]] = (), **values: Any) -> bool:
        """Set `values` (and the state `to`) if the row is still in `expected`, in this tenant,
        and every guard (a condition its storage module offers, e.g. "not expired") holds.

        The states in `expected` that `to` may not follow are left out of the compare-and-set,
        so a row can never jump a step however broad the caller's `expected` is.
        """
        sources = self.sources(expected, to)
        if to is not None:
            values["state"] = to
            since = getattr(self.table, "state_since", None)
            if since is not None:  # a row staying in its state keeps its time
                state = cast(Table, self.table.__table__).c.state
                values["state_since"] = case((state == to, since), else_=utcnow())
        return await uow.repo(Repo).compare_and_set(self.table, tenant_id, row_id, sources, values,
                                                    *guards)
