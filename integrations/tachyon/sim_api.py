"""What the Tachyon simulator and its endpoints share, so that the endpoints never import simulator.py.

`Switches` shape how the simulated 1E answers; `Simulated` is the part of the simulator the
endpoints use. The rest are the Consumer API's conventions: ASP.NET style errors
`{"Message": ...}`, JSON fields in any casing, and the operators of Scope and Search filters.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from integrations.simulator_kit import FaultSwitches
from integrations.tachyon.sim_catalogue import Entry
from integrations.tachyon.sim_state import SimDevice, SimInstruction

PRINCIPAL = web.RequestKey("principal", str)  # set by the simulator's auth middleware
CONSUMER = web.RequestKey("consumer", str)
Endpoint = Callable[[web.Request, list[str]], Awaitable[web.Response]]  # gets the path's groups
Route = tuple[str, str, Endpoint]  # method, path pattern below /Consumer/, endpoint


@dataclass
class Switches(FaultSwitches):
    error_status: int = 503  # what 1E's IIS front answers while the service is unavailable
    fail_status: int = 503
    lose_next_issue: int = 0  # create the instruction, then answer 502 (a lost response)
    force_status: int | None = None  # every instruction reports this Status code
    step_seconds: float = 1.0  # Created -> Sent -> In progress, each this long
    answer_seconds: float = 5.0  # until every reachable target has answered
    minute_seconds: float = 60.0  # one TTL minute; shrink it to see gather windows end
    otp_seconds: float = 600.0  # 2FA code lifetime; after it an action is rejected
    error_percent: int = 2  # of targets that give an other response (error, no data, ...)
    other_statuses: tuple[int, ...] = (2, 1, 3, 4)  # the Status of each in turn (2.5)
    offline_percent: int = 2  # of targets that never answer (outstanding until the TTL ends)
    approval_for_actions: bool = True  # 1E's workflow: actions wait in approval (Status 1)
    two_factor: bool = False  # actions first await an e-mailed code (Status 12)

    def picks(self, call: str) -> bool:
        return self.fail_path.lower() in call.lower()  # 1E's paths are case-insensitive


class Simulated(Protocol):
    """The simulator as its endpoints see it."""

    switches: Switches
    catalogue: list[Entry]
    sets: list[dict[str, object]]
    devices: list[SimDevice]
    instructions: dict[int, SimInstruction]
    approvers: set[str] | None  # principals allowed to approve; None: everyone (but not their own)
    installed: set[str]  # devices where the TeamViewer install action ran

    def entry(self, key: int | str) -> Entry | None: ...

    def device(self, fqdn: str) -> SimDevice | None: ...

    def new_id(self) -> int: ...

    def now(self) -> float: ...


class Problem(Exception):
    """Raised by an endpoint; the simulator answers it as `fail(status, message)`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Endpoints:
    """A group of endpoints over the simulator, with the route table that reaches them."""

    def __init__(self, sim: Simulated) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def _instruction(self, raw: str) -> SimInstruction:
        ins = self.sim.instructions.get(int(raw))
        if ins is None:
            raise Problem(404, f"Instruction {raw} was not found.")
        return ins


def fail(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"Message": message}, status=status, headers=headers)


def get(body: Any, name: str, default: Any = None) -> Any:
    """A JSON field by name in any casing (DEX sends PascalCase and camelCase)."""
    if not isinstance(body, dict):
        return default
    for key, value in body.items():
        if key.lower() == name.lower():
            return value
    return default


async def read_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise Problem(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise Problem(400, "The request body must be a JSON object.")
    return body


def evaluate(expression: Any, leaf: Callable[[str, str, Any], bool]) -> bool:
    """An and/or tree whose leaves are `{Attribute, Operator, Value}` (a Scope or a Search Filter);
    `leaf(operator, attribute, value)` judges one leaf, operator and attribute lower-cased."""
    op = str(get(expression, "Operator") or "").lower()
    operands = get(expression, "Operands")
    if op in ("and", "or") and isinstance(operands, list):
        results = (evaluate(o, leaf) for o in operands)
        return all(results) if op == "and" else any(results)
    return leaf(op, str(get(expression, "Attribute") or "").lower(), get(expression, "Value"))


def compare(op: str, have: list[Any], value: Any) -> bool:
    """Whether any of `have` stands in relation `op` to `value` (a Scope or Search operator)."""
    if op in ("==", "=", "eq"):
        return any(str(h).lower() == str(value).lower() if isinstance(h, str) else h == value for h in have)
    if op in ("!=", "<>", "ne"):
        return not compare("==", have, value)
    if op in ("like", "notlike"):
        rx = "^" + re.escape(str(value)).replace("%", ".*").replace("_", ".") + "$"
        hit = any(re.match(rx, str(h), re.I | re.S) for h in have)
        return hit if op == "like" else not hit
    ops: dict[str, Callable[[Any, Any], bool]] = {
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
    if op in ops:
        try:
            return any(ops[op](h, value) for h in have)
        except TypeError:
            return False
    raise Problem(400, f"Operator '{op}' is not supported; use ==, !=, like, <, <=, >, >=.")
