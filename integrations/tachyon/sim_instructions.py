"""The simulator's instruction endpoints (integrations.md 2.3, 2.4, 2.6): issue with its parameter
and scope checks, status, cancel, approvals and two-factor codes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from integrations.tachyon.sim_api import (
    CONSUMER,
    PRINCIPAL,
    Endpoints,
    Problem,
    Route,
    compare,
    evaluate,
    fail,
    get,
    read_body,
)
from integrations.tachyon.sim_catalogue import Entry, mix
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

NAMES = ["Created", "In Approval", "Rejected", "Approved", "Sent", "In Progress", "Completed", "Expired",
         "Cancelling", "Cancelled", "Failed", "Suspended", "Awaiting Authentication", "Evaluating Condition"]


class InstructionEndpoints(Endpoints):
    def routes(self) -> list[Route]:
        n = r"(\d+)"
        return [
            ("POST", "Instructions", self.issue),
            ("POST", "Instructions/(Targeted)", self.issue),
            ("GET", f"Instructions/{n}", self.instruction),
            ("GET", f"Instructions/{n}/targetlist", self.target_list),
            ("POST", f"Instructions/{n}/Cancel/(true|false)", self.cancel),
            ("GET", f"InstructionStatistics/Combined/{n}", self.statistics),
            ("GET", f"Approvals/canapprove/instruction/{n}", self.can_approve),
            ("GET", "Approvals/notifications(?:/instructions)?", self.pending),
            ("POST", "Approvals/Instruction", self.decide),
            ("POST", "Authentication/Instruction/Token", self.two_factor),
        ]

    # --- issue -----------------------------------------------------------------------------

    async def issue(self, request: web.Request, args: list[str]) -> web.Response:
        body = await read_body(request)
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
            pattern=Pattern(len(devices), mix("offset", new_id) % 100, sw.error_percent,
                            sw.offline_percent),
            timing=Timing(sw.step_seconds, sw.answer_seconds, sw.minute_seconds, sw.otp_seconds),
            needs_auth=entry.is_action and sw.two_factor,
            needs_approval=entry.is_action and sw.approval_for_actions,
            created=self.sim.now(), installed=self.sim.installed,
            others=tuple(sw.other_statuses) or (2,))
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
        return evaluate(scope, lambda op, attr, value: self._match_one(op, attr, str(value or ""), device))

    def _match_one(self, op: str, attr: str, value: str, device: SimDevice) -> bool:
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
            self._install_effects(ins, now)
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

    def _install_effects(self, ins: SimInstruction, now: float) -> None:
        """A finished TeamViewer install makes the check answer "installed" on those devices."""
        if ins.entry.name.endswith("InstallFullClient") and len(ins.devices) <= 1000:
            self.sim.installed.update(ins.answered_fqdns(now))

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
        body = await read_body(request)
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
        body = await read_body(request)
        ins = self._instruction(str(get(body, "Id", get(body, "InstructionId", 0))))
        if ins.status(self.sim.now())[0] != AWAITING_AUTH:
            raise Problem(400, f"Instruction {ins.id} is not awaiting authentication.")
        if str(get(body, "Token") or "") != ins.otp:
            raise Problem(400, "The authentication code is not valid.")
        ins.authenticated_at = self.sim.now()
        if not ins.needs_approval:
            ins.released = ins.authenticated_at
        return web.json_response(self.to_json(ins))
