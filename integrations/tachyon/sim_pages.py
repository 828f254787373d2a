"""The simulator's read-only endpoints (integrations.md 2.2, 2.5, 2.7): the catalogue, response
pages by Start/Range token, and instruction search by page number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web

from integrations.tachyon.sim_api import (
    Endpoints,
    Problem,
    Route,
    Simulated,
    compare,
    evaluate,
    get,
    read_body,
)
from integrations.tachyon.sim_catalogue import Entry
from integrations.tachyon.sim_state import SimInstruction

START = re.compile(r"^\s*(\d+)\s*;\s*(\d+)\s*$")


class PageEndpoints(Endpoints):
    def __init__(self, sim: Simulated, describe: Callable[[SimInstruction], dict[str, Any]]) -> None:
        super().__init__(sim)
        self.describe = describe  # an instruction as `GET Instructions/{id}` shows it

    def routes(self) -> list[Route]:
        n = r"(\d+)"
        return [
            ("GET", "InstructionDefinitions(?:/All)?", self.definitions),
            ("GET", f"InstructionDefinitions/Id/{n}", self.definition_by_id),
            ("GET", "InstructionDefinitions/Name/(.+)", self.definition_by_name),
            ("GET", f"InstructionDefinitions/InstructionSet/(Id)/{n}", self.in_set),
            ("GET", "InstructionDefinitions/InstructionSet/(Name)/(.+)", self.in_set),
            ("GET", "InstructionSets", self.instruction_sets),
            ("POST", "Instructions/Search", self.search),
            ("POST", f"Responses/{n}", self.responses),
            ("POST", f"ResponseErrors/{n}", self.responses),
        ]

    # --- catalogue -------------------------------------------------------------------------

    async def definitions(self, request: web.Request, args: list[str]) -> web.Response:
        return web.json_response([e.api for e in self.sim.catalogue])

    async def definition_by_id(self, request: web.Request, args: list[str]) -> web.Response:
        return self._definition(self.sim.entry(int(args[0])), args[0])

    async def definition_by_name(self, request: web.Request, args: list[str]) -> web.Response:
        return self._definition(self.sim.entry(args[0]), args[0])

    def _definition(self, entry: Entry | None, key: str) -> web.Response:
        if entry is None:
            raise Problem(404, f"Instruction definition '{key}' was not found.")
        return web.json_response(entry.api)

    async def in_set(self, request: web.Request, args: list[str]) -> web.Response:
        by, key = args[0].lower(), args[1]
        match = [s for s in self.sim.sets
                 if (str(s["Id"]) == key if by == "id" else str(s["Name"]).lower() == key.lower())]
        if not match:
            raise Problem(404, f"Instruction set '{key}' was not found.")
        set_id = match[0]["Id"]
        return web.json_response([e.api for e in self.sim.catalogue if e.api["InstructionSetId"] == set_id])

    async def instruction_sets(self, request: web.Request, args: list[str]) -> web.Response:
        return web.json_response(self.sim.sets)

    # --- responses and search ---------------------------------------------------------------

    async def responses(self, request: web.Request, args: list[str]) -> web.Response:
        ins = self._instruction(args[0])
        body = await read_body(request)
        found = START.match(str(get(body, "Start") or "0;0"))
        if not found:
            raise Problem(400, "Start must be a range token such as '0;0' (pass the Range of the last page).")
        size = get(body, "PageSize", 100)
        if not isinstance(size, int) or size < 1:
            raise Problem(400, "PageSize must be a positive whole number.")
        fetch = ins.errors if "responseerrors" in request.path.lower() else ins.rows
        rows, after = fetch(int(found.group(2)), size, self.sim.now())
        # orjson: 1E is a .NET server; the simulator should not be the slow end of a 50,000-row fetch.
        return web.Response(body=orjson.dumps({"Range": f"{found.group(1)};{after}", "Responses": rows}),
                            content_type="application/json")

    async def search(self, request: web.Request, args: list[str]) -> web.Response:
        body = await read_body(request)
        flt = get(body, "Filter")
        items = [i for i in self.sim.instructions.values() if not flt or self._filter(flt, i)]
        sort = (get(body, "Sort") or [{}])[0]
        column = str(get(sort, "column") or "CreatedTime").lower()
        items.sort(key=lambda i: (i.id if column == "id" else i.created, i.id),
                   reverse=str(get(sort, "direction") or "DESC").upper() == "DESC")
        start, size = int(get(body, "Start") or 1), int(get(body, "PageSize") or 50)
        page = items[max(0, start - 1):max(0, start - 1) + size]
        return web.json_response({"Items": [self.describe(i) for i in page], "TotalCount": len(items)})

    def _filter(self, flt: dict[str, Any], ins: SimInstruction) -> bool:
        return evaluate(flt, lambda op, attr, value: self._filter_one(op, attr, value, ins))

    def _filter_one(self, op: str, attr: str, value: Any, ins: SimInstruction) -> bool:
        fields: dict[str, Any] = {
            "consumercustomdata": get(ins.body, "ConsumerCustomData") or "", "createdby": ins.created_by,
            "requestedfor": get(ins.body, "RequestedFor") or "", "name": ins.entry.name, "id": ins.id,
            "instructiondefinitionid": ins.entry.id, "status": ins.status(self.sim.now())[0],
            "createdtime": ins.created, "createdtimestamputc": ins.created}
        if attr not in fields:
            raise Problem(400, f"Cannot search on '{attr}'; use one of: {', '.join(sorted(fields))}.")
        have = fields[attr]
        if attr.startswith("createdtime"):
            try:
                value = datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise Problem(400, f"'{value}' is not a date.") from None
        elif isinstance(have, int):
            value = int(value) if str(value).lstrip("-").isdigit() else value
        return compare(op, [have], value)
