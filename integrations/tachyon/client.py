"""1E Platform / Tachyon Consumer API client (integrations.md section 2).

Every call carries `X-Tachyon-Consumer` (deskhand's registered consumer name) and
`X-Tachyon-Authenticate` (the principal's token). Calls go through `integrations.http.send`:
bounded retries, 429 honouring Retry-After; a POST that may have been applied is not resent
blindly: `issue` first looks for its `ConsumerCustomData` marker.

Every method takes an optional keyword `cid` (correlation id, shown to people with errors);
one is made up when absent. Failures raise `VendorError` with a plain message for chat.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from integrations.http import Cause, RetryPolicy, VendorError, attempts_of, new_client, scrub, send
from integrations.tachyon.definitions import InstructionDefinition, InstructionSet
from integrations.tachyon.inventory import (
    DevicePage,
    IdPage,
    ManagementGroupInfo,
    device_page,
    id_page,
)
from integrations.tachyon.responses import FIRST_START, ResponseErrorPage, ResponsePage
from integrations.tachyon.status import InstructionStatus, SearchPage, Statistics

if TYPE_CHECKING:
    import httpx

VENDOR = "1E Tachyon"
POLICY = RetryPolicy()  # 429, 502, 503, 504
MAX_PAGE = 10_000  # rows per Responses call; larger pages only make one slow, huge answer


def _rows(data: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    return tuple(r for r in data.get("Responses") or () if isinstance(r, dict))


def _cid(cid: str | None) -> str:
    return cid or uuid.uuid4().hex[:12]


class TachyonClient:
    """One consumer and principal against one Consumer API root (`https://host/Consumer/`).

    `approver_token` (optional) is a second principal used only by `approve`/`reject`: 1E
    refuses an approval from the principal that created the instruction.
    """

    def __init__(self, base_url: str, consumer: str, token: str, *, approver_token: str | None = None,
                 policy: RetryPolicy = POLICY, http: httpx.AsyncClient | None = None) -> None:
        if not base_url:
            raise ValueError("no Tachyon URL: set DESKHAND_TACHYON_URL to https://<server>/Consumer/")
        self.consumer = consumer
        self.policy = policy
        self._token = token
        self._approver = approver_token or token
        self.http = http or new_client(base_url)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> TachyonClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- transport -----------------------------------------------------------------------

    async def _call(self, method: str, path: str, cid: str, *, expect: tuple[int, ...] | None = (200,),
                    token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Tachyon-Consumer": self.consumer,
                   "X-Tachyon-Authenticate": token or self._token}
        response = await send(self.http, method, path, vendor=VENDOR, correlation_id=cid,
                              policy=self.policy, headers=headers, **kwargs)
        if expect is not None and response.status_code not in expect:
            raise self.error(response, cid)
        return response

    async def _json(self, method: str, path: str, cid: str, **kwargs: Any) -> Any:
        response = await self._call(method, path, cid, **kwargs)
        try:
            return orjson.loads(response.content)  # device pages of 500: several times faster
        except ValueError:
            raise VendorError(VENDOR, response.status_code, "bad_response",
                              f"{VENDOR} answered {path.split('/')[0]} with something that is not "
                              "JSON; is DESKHAND_TACHYON_URL the Consumer API root?", cid,
                              cause=Cause.UNAVAILABLE) from None

    def error(self, response: httpx.Response, cid: str) -> VendorError:
        """Map an error answer (ASP.NET style `{"Message": ...}`, or text) to a plain message."""
        status = response.status_code
        try:
            body = response.json()
            said = str(body.get("Message") or body.get("message") or "") if isinstance(body, dict) else ""
        except ValueError:
            said = response.text
        said = scrub(said, [self._token, self._approver])[:300].strip()
        tries = attempts_of(response)
        code = f"http_{status}"
        if status == 401:
            code, text = "unauthorized", (
                f"{VENDOR} refused deskhand's token (401). An administrator should renew "
                "DESKHAND_TACHYON_TOKEN.")
        elif status == 403:
            code, text = "forbidden", (
                f"{VENDOR} refused (403): {said or 'no detail'}. Check that the consumer "
                f"'{self.consumer}' is registered and enabled and that deskhand's principal "
                "holds the role this needs on the instruction set.")
        elif status == 404:
            code, text = "not_found", f"{VENDOR} does not know that ({said or 'not found'})."
        elif status == 429:
            code, text = "rate_limited", (f"{VENDOR} is busy (too many instructions in flight); "
                                          "try again in a minute.")
        elif status >= 500:
            code, text = "server_error", (
                f"{VENDOR} had a problem (HTTP {status}) and it persisted after {tries} "
                f"{'try' if tries == 1 else 'tries'}. Try again in a few minutes.")
        else:
            code = "bad_request" if status == 400 else code
            text = f"{VENDOR} rejected the request (HTTP {status}): {said or 'no detail'}."
        return VendorError(VENDOR, status, code, text, cid, attempts=tries)

    # --- catalogue -----------------------------------------------------------------------

    async def ping(self, *, cid: str | None = None) -> bool:
        """True when the consumer and token are accepted; raises VendorError (401/403...) if not."""
        await self._call("GET", "InstructionSets", _cid(cid))
        return True

    # --- inventory (inventory.py: sources and what stays uncertain) -------------------------

    async def devices(self, start: int, page_size: int, *, group: tuple[str, str] | None = None,
                      cid: str | None = None) -> DevicePage:
        """One page of `POST Devices` (`Start` from 1), optionally a management group's members
        only: `group` is (filter attribute, value)."""
        return device_page(await self._search_devices(start, page_size, group, _cid(cid)))

    async def device_ids(self, start: int, page_size: int, group: tuple[str, str], *,
                         cid: str | None = None) -> IdPage:
        """A management group's members as `devices` pages them, their ids only (not parsed
        into devices: a group pass reads every grouped device once more)."""
        return id_page(await self._search_devices(start, page_size, group, _cid(cid)))

    async def _search_devices(self, start: int, page_size: int, group: tuple[str, str] | None,
                              cid: str) -> Any:
        body: dict[str, Any] = {"Start": start, "PageSize": page_size,
                                "Sort": [{"Column": "Fqdn", "Direction": "ASC"}]}
        if group is not None:
            body["Filter"] = {"Attribute": group[0], "Operator": "==", "Value": group[1]}
        return await self._json("POST", "Devices", cid, json=body)

    async def management_groups(self, *, cid: str | None = None) -> list[ManagementGroupInfo]:
        data = await self._json("GET", "ManagementGroups", _cid(cid))
        return [ManagementGroupInfo.from_api(g) for g in data or () if isinstance(g, dict)]

    async def definitions(self, *, cid: str | None = None) -> list[InstructionDefinition]:
        """Every instruction definition the principal can see (`GET InstructionDefinitions`)."""
        data = await self._json("GET", "InstructionDefinitions", _cid(cid))
        return [InstructionDefinition.from_api(d) for d in data or []]

    async def definition(self, name_or_id: str | int, *,
                         cid: str | None = None) -> InstructionDefinition | None:
        """One definition by id (an int or digits) or exact name; None when there is none."""
        key = str(name_or_id)
        path = f"InstructionDefinitions/Id/{key}" if key.isdigit() else f"InstructionDefinitions/Name/{key}"
        response = await self._call("GET", path, _cid(cid), expect=(200, 204, 404))
        if response.status_code != 200 or not response.content:
            return None
        return InstructionDefinition.from_api(response.json())

    async def sets(self, *, cid: str | None = None) -> list[InstructionSet]:
        """The instruction sets (`GET InstructionSets`); RBAC scopes instructions by set."""
        data = await self._json("GET", "InstructionSets", _cid(cid))
        return [InstructionSet.from_api(s) for s in data or []]

    # --- instructions --------------------------------------------------------------------

    async def issue(self, definition: InstructionDefinition | int | str, parameters: Mapping[str, str],
                    *, fqdns: Sequence[str] | None = None, scope: Mapping[str, Any] | None = None,
                    instruction_ttl_minutes: int | None = None, response_ttl_minutes: int | None = None,
                    consumer_custom_data: str = "", requested_for: str = "", comments: str = "",
                    cid: str | None = None) -> InstructionStatus:
        """Issue to explicit `fqdns` (`Instructions/Targeted`) or to a `scope` (`Instructions`).

        Exactly one of `fqdns`/`scope` (`{}` = every device; see the builders in definitions.py).
        TTLs default to the definition's.
        `consumer_custom_data` should carry deskhand's run id: when an answer is lost (a 502
        after the POST left), the instruction is looked up by it before any resend, so one run
        never issues twice. Parameters are sent as given; validate first with
        `InstructionDefinition.check_parameters`.
        """
        cid = _cid(cid)
        if (fqdns is None) == (scope is None):
            raise ValueError("issue needs exactly one of fqdns= or scope=")
        body: dict[str, Any] = {
            "Parameters": [{"Name": k, "Value": str(v)} for k, v in parameters.items()],
            "KeepRaw": True, "Export": False, "OffloadResponses": False,
            "ConsumerCustomData": consumer_custom_data or None,
            "RequestedFor": requested_for or None, "Comments": comments or None}
        if isinstance(definition, InstructionDefinition):
            body["DefinitionId"] = definition.id
            body["ReadablePayload"] = definition.readable(dict(parameters))
        elif str(definition).isdigit():
            body["DefinitionId"] = int(definition)
        else:
            body["DefinitionName"] = str(definition)
        if instruction_ttl_minutes is not None:
            body["InstructionTtlMinutes"] = instruction_ttl_minutes
        if response_ttl_minutes is not None:
            body["ResponseTtlMinutes"] = response_ttl_minutes
        if fqdns is not None:
            if not fqdns:
                raise ValueError("issue needs at least one FQDN")
            body["Devices"] = list(dict.fromkeys(fqdns))
            path = "Instructions/Targeted"
        else:
            body["Scope"] = dict(scope or {})
            path = "Instructions"
        problem: VendorError | None = None
        for attempt in range(self.policy.attempts):
            if attempt:
                await asyncio.sleep(self.policy.delay(attempt - 1))
                if consumer_custom_data:
                    found = await self.find_by_custom_data(consumer_custom_data, cid=cid)
                    if found is not None:
                        return found
            try:
                response = await self._call("POST", path, cid, expect=None, json=body)
            except VendorError as exc:
                if not (exc.maybe_applied and consumer_custom_data):
                    raise
                problem = exc
                continue
            if response.status_code in (200, 201):
                return InstructionStatus.from_api(response.json())
            problem = self.error(response, cid)
            if response.status_code not in (502, 504) or not consumer_custom_data:
                raise problem
        assert problem is not None
        raise problem

    async def status(self, instruction_id: int, *, cid: str | None = None) -> InstructionStatus:
        """The instruction's current state (`GET Instructions/{id}`); see status.py."""
        data = await self._json("GET", f"Instructions/{instruction_id}", _cid(cid))
        return InstructionStatus.from_api(data)

    async def statistics(self, instruction_id: int, *, cid: str | None = None) -> Statistics:
        """Sent / received / outstanding / errors (`GET InstructionStatistics/Combined/{id}`)."""
        data = await self._json("GET", f"InstructionStatistics/Combined/{instruction_id}", _cid(cid))
        return Statistics.from_api(data or {})

    async def responses(self, instruction_id: int, start: str = FIRST_START, range_: int = 100, *,
                        cid: str | None = None) -> ResponsePage:
        """One page of answers: `POST Responses/{id}` `{Start, PageSize}` -> `{Range, Responses}`.

        Begin with `FIRST_START` ("0;0") and continue from `page.cursor`. An empty page means
        nothing more has arrived yet; finish once the status is terminal and a page is empty.
        """
        data = await self._page("Responses", instruction_id, start, range_, _cid(cid))
        return ResponsePage(_rows(data), start, str(data.get("Range") or start))

    async def response_errors(self, instruction_id: int, start: str = FIRST_START, range_: int = 100, *,
                              cid: str | None = None) -> ResponseErrorPage:
        """One page of device errors (`POST ResponseErrors/{id}`), paged like `responses`."""
        data = await self._page("ResponseErrors", instruction_id, start, range_, _cid(cid))
        return ResponseErrorPage(_rows(data), start, str(data.get("Range") or start))

    async def _page(self, kind: str, instruction_id: int, start: str, range_: int,
                    cid: str) -> dict[str, Any]:
        if not 1 <= range_ <= MAX_PAGE:
            raise ValueError(f"range_ must be 1..{MAX_PAGE}")
        # Reading is safe to repeat although it is a POST: retry 502/504 too.
        body = {"Start": start, "PageSize": range_, "Filter": None}
        for attempt in range(self.policy.attempts):
            response = await self._call("POST", f"{kind}/{instruction_id}", cid, expect=None, json=body)
            if response.status_code not in (502, 504) or attempt == self.policy.attempts - 1:
                break
            await asyncio.sleep(self.policy.delay(attempt))
        if response.status_code != 200:
            raise self.error(response, cid)
        try:  # pages run to megabytes (10,000 rows): orjson decodes them several times faster
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise VendorError(VENDOR, response.status_code, "bad_response",
                              f"{VENDOR} sent a page of {kind} that is not JSON.", cid,
                              cause=Cause.UNAVAILABLE) from None
        return data if isinstance(data, dict) else {}

    async def search(self, *, consumer_custom_data: str | None = None, created_by: str | None = None,
                     definition_id: int | None = None, since: datetime | None = None,
                     start: int = 1, page_size: int = 50, cid: str | None = None) -> SearchPage:
        """History (`POST Instructions/Search`), newest first; filters combine with AND.

        `consumer_custom_data` matches exactly: after a restart, find the instruction a run
        already issued instead of issuing it again (or use `find_by_custom_data`).
        """
        operands: list[dict[str, Any]] = []
        if consumer_custom_data is not None:
            operands.append({"Attribute": "ConsumerCustomData", "Operator": "==",
                             "Value": consumer_custom_data})
        if created_by:
            operands.append({"Attribute": "CreatedBy", "Operator": "like", "Value": f"%{created_by}%"})
        if definition_id is not None:
            operands.append({"Attribute": "InstructionDefinitionId", "Operator": "==",
                             "Value": str(definition_id)})
        if since is not None:
            operands.append({"Attribute": "CreatedTime", "Operator": ">=", "Type": "date",
                             "Value": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
        body = {"Filter": {"Operator": "AND", "Operands": operands} if operands else None,
                "Sort": [{"column": "CreatedTime", "direction": "DESC"}],
                "Start": start, "PageSize": page_size}
        data = await self._json("POST", "Instructions/Search", _cid(cid), json=body) or {}
        items = tuple(InstructionStatus.from_api(i) for i in data.get("Items") or [])
        return SearchPage(items, int(data.get("TotalCount") or len(items)))

    async def find_by_custom_data(self, consumer_custom_data: str, *,
                                  cid: str | None = None) -> InstructionStatus | None:
        """The newest instruction issued with exactly this ConsumerCustomData, or None."""
        page = await self.search(consumer_custom_data=consumer_custom_data, page_size=5, cid=cid)
        exact = [i for i in page.items if i.consumer_custom_data == consumer_custom_data]
        return exact[0] if exact else None

    async def cancel(self, instruction_id: int, *, keep_data: bool = True,
                     cid: str | None = None) -> InstructionStatus:
        """Cancel (`POST Instructions/{id}/Cancel/{keepData}`); returns the state afterwards.

        Cancelling an instruction that already finished is not an error: its state is returned.
        """
        cid = _cid(cid)
        flag = "true" if keep_data else "false"
        await self._call("POST", f"Instructions/{instruction_id}/Cancel/{flag}", cid, expect=(200, 204))
        return await self.status(instruction_id, cid=cid)

    # --- approvals -----------------------------------------------------------------------

    async def approve(self, instruction_id: int, comment: str = "", *, cid: str | None = None) -> None:
        """Approve an instruction in approval (Status 1), as the approver principal.

        1E refuses self-approval: VendorError code "forbidden" when the approving principal
        created (or, in the simulator, was requested for) the instruction.
        """
        await self._decide(instruction_id, True, comment, _cid(cid))

    async def reject(self, instruction_id: int, comment: str = "", *, cid: str | None = None) -> None:
        """Reject an instruction in approval; it moves to Status 2 (Rejected)."""
        await self._decide(instruction_id, False, comment, _cid(cid))

    async def _decide(self, instruction_id: int, approved: bool, comment: str, cid: str) -> None:
        body = {"InstructionId": instruction_id, "Approved": approved, "Comment": comment[:1000]}
        await self._call("POST", "Approvals/Instruction", cid, json=body, token=self._approver,
                         expect=(200, 204))

    async def can_approve(self, instruction_id: int, *, cid: str | None = None) -> bool:
        """Whether the approver principal may approve it (`GET Approvals/canapprove/instruction/{id}`)."""
        data = await self._json("GET", f"Approvals/canapprove/instruction/{instruction_id}", _cid(cid),
                                token=self._approver)
        return data is True or str(data).lower() == "true"

    async def authenticate(self, instruction_id: int, code: str, *, cid: str | None = None) -> None:
        """Submit the e-mailed one-time code of an action awaiting authentication (Status 12)."""
        body = {"Id": instruction_id, "InstructionId": instruction_id, "Token": code}
        await self._call("POST", "Authentication/Instruction/Token", _cid(cid), json=body,
                         expect=(200, 204))
