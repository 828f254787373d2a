"""The Tachyon simulator's endpoints (integrations.md 2.2-2.7); routing and auth are in simulator.py."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from integrations.tachyon.sim_catalogue import Entry
from integrations.tachyon.sim_state import (
    APPROVED,
    AWAITING_AUTH,
    CANCELLED,
    CANCELLING,
    COMPLETED,
    CREATED,
    IN_APPROVAL,
    TERMINAL,
    Pattern,
    SimDevice,
    SimInstruction,
    Timing,
    iso,
)

if TYPE_CHECKING:
    from integrations.tachyon.simulator import TachyonSimulator

PRINCIPAL = web.RequestKey("principal", str)  # set by the simulator's auth middleware
CONSUMER = web.RequestKey("consumer", str)
Route = tuple[str, str, Callable[[web.Request, list[str]], Awaitable[web.Response]]]
NAMES = ["Created", "In Approval", "Rejected", "Approved", "Sent", "In Progress", "Completed", "Expired",
         "Cancelling", "Cancelled", "Failed", "Suspended", "Awaiting Authentication", "Evaluating Condition"]
START = re.compile(r"^\s*(\d+)\s*;\s*(\d+)\s*$")


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


class Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Handlers:
    def __init__(self, sim: TachyonSimulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        n = r"(\d+)"
        return [
            ("GET", "InstructionDefinitions(?:/All)?", self.definitions),
            ("GET", f"InstructionDefinitions/Id/{n}", self.definition_by_id),
            ("GET", "InstructionDefinitions/Name/(.+)", self.definition_by_name),
            ("GET", f"InstructionDefinitions/InstructionSet/(Id)/{n}", self.in_set),
            ("GET", "InstructionDefinitions/InstructionSet/(Name)/(.+)", self.in_set),
            ("GET", "InstructionSets", self.instruction_sets),
            ("POST", "Instructions", self.issue),
            ("POST", "Instructions/(Targeted)", self.issue),
            ("POST", "Instructions/Search", self.search),
            ("GET", f"Instructions/{n}", self.instruction),
            ("GET", f"Instructions/{n}/targetlist", self.target_list),
            ("POST", f"Instructions/{n}/Cancel/(true|false)", self.cancel),
            ("GET", f"InstructionStatistics/Combined/{n}", self.statistics),
            ("POST", f"Responses/{n}", self.responses),
            ("POST", f"ResponseErrors/{n}", self.responses),
            ("GET", f"Approvals/canapprove/instruction/{n}", self.can_approve),
            ("GET", "Approvals/notifications(?:/instructions)?", self.pending),
            ("POST", "Approvals/Instruction", self.decide),
            ("POST", "Authentication/Instruction/Token", self.two_factor),
        ]

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise Problem(400, "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise Problem(400, "The request body must be a JSON object.")
        return body

    def _instruction(self, raw: str) -> SimInstruction:
        ins = self.sim.instructions.get(int(raw))
        if ins is None:
            raise Problem(404, f"Instruction {raw} was not found.")
        return ins

    async def call(self, request: web.Request, handler: Any, args: list[str]) -> web.Response:
        try:
            return await handler(request, args)
        except Problem as exc:
            return fail(exc.status, str(exc))

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

    # --- issue -----------------------------------------------------------------------------

    async def issue(self, request: web.Request, args: list[str]) -> web.Response:
        body = await self._body(request)
        by_id, by_name = get(body, "DefinitionId"), get(body, "DefinitionName")
        if (by_id is None) == (by_name is None):
            raise Problem(400, "Specify exactly one of DefinitionId and DefinitionName.")
        entry = self.sim.entry(int(by_id) if by_id is not None else str(by_name))
        if entry is None:
            key = by_id if by_id is not None else by_name
            raise Problem(404, f"Instruction definition '{key}' was not found.")
        params = self._parameters(entry, get(body, "Parameters") or [])
        ttls = {}
        for name, default in (("InstructionTtlMinutes", 60), ("ResponseTtlMinutes", 120)):
            value = get(body, name)
            value = default if value is None else value
            if not isinstance(value, int) or not 10 <= value <= 10080:
                raise Problem(400, f"{name} must be a whole number of minutes between 10 and 10080.")
            ttls[name] = value
        if args:  # Targeted
            devices, unknown = self._targets(get(body, "Devices"))
            scope: Any = None
        else:
            scope = get(body, "Scope")
            if not isinstance(scope, dict):
                raise Problem(400, "Scope is required: an expression, or {} for every device.")
            devices = (self.sim.devices if not scope  # every device: share the list, never copy it
                       else [d for d in self.sim.devices if self._match(scope, d)])
            unknown = []
        sw = self.sim.switches
        new_id = self.sim.new_id()
        ins = SimInstruction(
            id=new_id, entry=entry, devices=devices, unknown=unknown, params=params,
            body={**body, **ttls, "Scope": scope, "Cmd": "SendList" if args else "SendAll"},
            created_by=request[PRINCIPAL], consumer=request[CONSUMER],
            pattern=Pattern(len(devices), self.sim.pattern_offset(new_id), sw.error_percent,
                            sw.offline_percent),
            timing=Timing(sw.step_seconds, sw.answer_seconds, sw.minute_seconds, sw.otp_seconds),
            needs_auth=entry.is_action and sw.two_factor,
            needs_approval=entry.is_action and sw.approval_for_actions,
            created=self.sim.now(), installed=self.sim.installed)
        self.sim.instructions[ins.id] = ins
        if sw.lose_next_issue > 0:
            sw.lose_next_issue -= 1
            return fail(502, "Bad gateway.")
        return web.json_response(self.to_json(ins))

    def _parameters(self, entry: Entry, given: Any) -> dict[str, str]:
        if not isinstance(given, list):
            raise Problem(400, "Parameters must be a list of {Name, Value}.")
        values = {str(get(p, "Name", "")).lower(): get(p, "Value") for p in given}
        defined = {p["Name"].lower(): p for p in entry.api["Parameters"]}
        for name in values:
            if name not in defined:
                raise Problem(400, f"Parameter '{name}' is not defined for instruction '{entry.name}'.")
        out: dict[str, str] = {}
        for key, p in defined.items():
            value = values.get(key)
            v = p["Validation"]
            if value in (None, ""):
                if p["DefaultValue"]:
                    out[p["Name"]] = p["DefaultValue"]
                elif v["NotNull"]:
                    raise Problem(400, f"Parameter '{p['Name']}' is required.")
                continue
            value = str(value)
            if v["AllowedValues"] and value not in v["AllowedValues"]:
                raise Problem(400, f"Parameter '{p['Name']}' must be one of {', '.join(v['AllowedValues'])}.")
            if v["MaxLength"] and len(value) > int(v["MaxLength"]):
                raise Problem(400, f"Parameter '{p['Name']}' is longer than {v['MaxLength']} characters.")
            if v["Regex"] and not re.fullmatch(v["Regex"], value):
                raise Problem(400, f"Parameter '{p['Name']}' does not match its validation pattern.")
            out[p["Name"]] = value
        return out

    def _targets(self, fqdns: Any) -> tuple[list[SimDevice], list[str]]:
        if not isinstance(fqdns, list) or not fqdns or not all(isinstance(f, str) and f for f in fqdns):
            raise Problem(400, "Devices must be a non-empty list of FQDNs.")
        known: list[SimDevice] = []
        unknown: list[str] = []
        for fqdn in dict.fromkeys(f.strip().lower() for f in fqdns):
            device = self.sim.device(fqdn)
            if device is None:
                unknown.append(fqdn)
            else:
                known.append(device)
        return known, unknown

    def _match(self, scope: dict[str, Any], device: SimDevice) -> bool:
        op = str(get(scope, "Operator") or "").lower()
        operands = get(scope, "Operands")
        if op in ("and", "or") and isinstance(operands, list):
            results = (self._match(o, device) for o in operands)
            return all(results) if op == "and" else any(results)
        attr, value = str(get(scope, "Attribute") or "").lower(), str(get(scope, "Value") or "")
        if attr == "fqdn":
            have = [device.fqdn]
        elif attr in ("managementgroup", "managementgroupid"):
            if value.lower() == "global":
                return True
            have = [str(device.group_id), device.group]
        elif attr == "tagtxt":
            have = list(device.tags)
        else:
            raise Problem(400, f"Scope attribute '{attr}' is not supported; "
                               "use FQDN, managementgroup or TagTxt.")
        return compare(op, have, value)

    # --- instructions ----------------------------------------------------------------------

    def to_json(self, ins: SimInstruction) -> dict[str, Any]:
        now = self.sim.now()
        code, since = ins.status(now)
        if code == COMPLETED:
            self.sim.install_effects(ins, now)
        body, api = ins.body, ins.entry.api
        sent = (ins.released + ins.timing.step_seconds if ins.released is not None
                and now >= ins.released + ins.timing.step_seconds else None)
        return {
            "Id": ins.id, "Sequence": ins.id, "Name": api["Name"], "Description": api["Description"],
            "InstructionType": api["InstructionType"],
            "ReadablePayload": get(body, "ReadablePayload") or api["ReadablePayload"],
            "Cmd": body["Cmd"], "Schema": api["Schema"], "Aggregation": None, "KeepRaw": True,
            "Scope": body["Scope"], "InstructionTtlMinutes": body["InstructionTtlMinutes"],
            "ResponseTtlMinutes": body["ResponseTtlMinutes"], "CreatedTimestampUtc": iso(ins.created),
            "SentTimestampUtc": iso(sent) if code not in (CREATED, APPROVED) else None, "Status": code,
            "WorkflowState": 11 if code == AWAITING_AUTH else 0, "StatusTimestampUtc": iso(since),
            "Export": False, "ExportLocation": None, "ParentInstructionId": None,
            "InstructionDefinitionId": api["Id"], "CreatedBy": ins.created_by, "ResultsFilter": None,
            "PreviousResultsFilter": None, "ConsumerId": 1, "ConsumerName": ins.consumer,
            "ConsumerCustomData": get(body, "ConsumerCustomData"),
            "ParameterJson": json.dumps([{"Name": k, "Value": v} for k, v in ins.params.items()]),
            "OffloadResponses": False, "RequestedFor": get(body, "RequestedFor"), "ResponseTemplateId": None,
            "ResponseTemplateConfiguration": None, "Workflow": None, "Comments": get(body, "Comments"),
            "ScheduledInstructionId": None, "ActionedBy": ins.actioned_by or None,
            "ActionReason": ins.action_reason or None, "ApprovalOffloaded": False}

    async def instruction(self, request: web.Request, args: list[str]) -> web.Response:
        return web.json_response(self.to_json(self._instruction(args[0])))

    async def target_list(self, request: web.Request, args: list[str]) -> web.Response:
        ins = self._instruction(args[0])
        return web.json_response([d.fqdn for d in ins.devices] + ins.unknown)

    async def statistics(self, request: web.Request, args: list[str]) -> web.Response:
        return web.json_response(self._instruction(args[0]).statistics(self.sim.now()))

    async def cancel(self, request: web.Request, args: list[str]) -> web.Response:
        ins = self._instruction(args[0])
        now = self.sim.now()
        code, _ = ins.status(now)
        if code in TERMINAL and code != CANCELLED:
            raise Problem(400, f"Instruction {ins.id} has already finished ({NAMES[code]}); "
                               "there is nothing to cancel.")
        if code not in (CANCELLING, CANCELLED):
            ins.cancelled_at, ins.keep_data = now, args[1].lower() == "true"
        return web.json_response(self.to_json(ins))

    async def responses(self, request: web.Request, args: list[str]) -> web.Response:
        ins = self._instruction(args[0])
        body = await self._body(request)
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
        body = await self._body(request)
        flt = get(body, "Filter")
        items = [i for i in self.sim.instructions.values() if not flt or self._filter(flt, i)]
        sort = (get(body, "Sort") or [{}])[0]
        column = str(get(sort, "column") or "CreatedTime").lower()
        items.sort(key=lambda i: (i.id if column == "id" else i.created, i.id),
                   reverse=str(get(sort, "direction") or "DESC").upper() == "DESC")
        start, size = int(get(body, "Start") or 1), int(get(body, "PageSize") or 50)
        page = items[max(0, start - 1):max(0, start - 1) + size]
        return web.json_response({"Items": [self.to_json(i) for i in page], "TotalCount": len(items)})

    def _filter(self, flt: dict[str, Any], ins: SimInstruction) -> bool:
        op = str(get(flt, "Operator") or "").lower()
        operands = get(flt, "Operands")
        if op in ("and", "or") and isinstance(operands, list):
            results = (self._filter(o, ins) for o in operands)
            return all(results) if op == "and" else any(results)
        attr, value = str(get(flt, "Attribute") or "").lower(), get(flt, "Value")
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

    # --- approvals -------------------------------------------------------------------------

    def _may_decide(self, ins: SimInstruction, principal: str) -> str | None:
        own = {ins.created_by.lower(), str(get(ins.body, "RequestedFor") or "").lower()}
        if principal.lower() in own:
            return (f"{principal} cannot approve or reject instruction {ins.id}: nobody may decide on "
                    "an instruction they created or that was requested for them.")
        if self.sim.approvers is not None and principal not in self.sim.approvers:
            return (f"{principal} does not hold the Approver role on instruction set "
                    f"{ins.entry.api['InstructionSetName']}.")
        return None

    async def can_approve(self, request: web.Request, args: list[str]) -> web.Response:
        ins = self._instruction(args[0])
        waiting = ins.status(self.sim.now())[0] == IN_APPROVAL
        return web.json_response(waiting and self._may_decide(ins, request[PRINCIPAL]) is None)

    async def pending(self, request: web.Request, args: list[str]) -> web.Response:
        now = self.sim.now()
        return web.json_response([self.to_json(i) for i in self.sim.instructions.values()
                                  if i.status(now)[0] == IN_APPROVAL
                                  and self._may_decide(i, request[PRINCIPAL]) is None])

    async def decide(self, request: web.Request, args: list[str]) -> web.Response:
        body = await self._body(request)
        raw, approved = get(body, "InstructionId"), get(body, "Approved")
        if not isinstance(raw, int) or not isinstance(approved, bool | str):
            raise Problem(400, "InstructionId (a number) and Approved (true or false) are required.")
        ins = self._instruction(str(raw))
        refused = self._may_decide(ins, request[PRINCIPAL])
        if refused:
            raise Problem(403, refused)
        now = self.sim.now()
        code, _ = ins.status(now)
        if code != IN_APPROVAL:
            raise Problem(400, f"Instruction {ins.id} is not awaiting approval; it is {NAMES[code]}.")
        ins.actioned_by, ins.action_reason = request[PRINCIPAL], str(get(body, "Comment") or "")
        if approved is True or str(approved).lower() == "true":
            ins.released = now
        else:
            ins.rejected_at = now
        return web.json_response(self.to_json(ins))

    async def two_factor(self, request: web.Request, args: list[str]) -> web.Response:
        body = await self._body(request)
        ins = self._instruction(str(get(body, "Id", get(body, "InstructionId", 0))))
        if ins.status(self.sim.now())[0] != AWAITING_AUTH:
            raise Problem(400, f"Instruction {ins.id} is not awaiting authentication.")
        if str(get(body, "Token") or "") != ins.otp:
            raise Problem(400, "The authentication code is not valid.")
        ins.authenticated_at = self.sim.now()
        if not ins.needs_approval:
            ins.released = ins.authenticated_at
        return web.json_response(self.to_json(ins))


def compare(op: str, have: list[Any], value: Any) -> bool:
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
