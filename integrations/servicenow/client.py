"""ServiceNow Table and Attachment API client (integrations.md section 4).

Incidents are read by number and listed with an encoded query (`sysparm_query`), asking for the
fields the bot shows (`sysparm_fields`) with `sysparm_display_value=all` by default, so that a
reference brings its sys_id and its name in one answer; `records.field` reads whatever shape the
instance sends. Lists follow the `Link` header's `next` (its offset only: the path and host stay
ours). Work notes are a PATCH of the journal field, which appends; files go to the Attachment API
as a raw body. Errors (`{"error": {"message", "detail"}, "status": "failure"}`) become a
`VendorError` with a plain message and the correlation id; 429 and 503 are retried by the shared
policy, honouring `Retry-After`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, quote, urlsplit

from integrations.http import Cause, RetryPolicy, VendorError, attempts_of, new_client, scrub, send
from integrations.servicenow.auth import VENDOR, Auth
from integrations.servicenow.records import (
    OPEN_STATES,
    Attachment,
    ConfigItem,
    Incident,
    User,
    is_sys_id,
)

if TYPE_CHECKING:
    import httpx

POLICY = RetryPolicy()  # 429, 502, 503, 504; Retry-After honoured
TABLE = "api/now/table"
ATTACHMENT = "api/now/attachment"
INCIDENT_FIELDS = ("sys_id", "number", "short_description", "description", "state", "priority",
                   "caller_id", "assigned_to", "opened_at", "sys_updated_on", "work_notes")
USER_FIELDS = "sys_id,user_name,name,email"
CI_FIELDS = "sys_id,name,serial_number,sys_class_name"
MAX_PAGES = 50
DisplayValue = Literal["all", "true", "false"]
Which = Literal["recent", "open", "assigned", "mine"]


def _cid(cid: str | None) -> str:
    return cid or uuid.uuid4().hex[:12]


def _queryable(value: str) -> bool:
    """Whether `value` can stand in an encoded query: `^` separates its terms, so a value with
    one (or a line break) would add terms of its own. No number, email or name has one."""
    return bool(value) and "^" not in value and "\n" not in value and "\r" not in value


class ServiceNowClient:
    """One instance (`https://<instance>.service-now.com/`) and one sign-in.

    `device_field` is the incident field that names the targeted device (`cmdb_ci` unless the
    instance uses its own); `device_table` is where a reference without a link is looked up.
    """

    def __init__(self, base_url: str, auth: Auth, *, device_field: str = "cmdb_ci",
                 device_table: str = "cmdb_ci", display_value: DisplayValue = "all",
                 page_size: int = 100, policy: RetryPolicy = POLICY,
                 http: httpx.AsyncClient | None = None) -> None:
        if not base_url:
            raise ValueError("no ServiceNow URL: give the instance root, https://<instance>.service-now.com/")
        self.auth = auth
        self.device_field, self.device_table = device_field, device_table
        self.display_value = display_value
        self.page_size = page_size
        self.policy = policy
        self.http = http or new_client(base_url)

    async def aclose(self) -> None:
        await self.http.aclose()

    # --- transport -----------------------------------------------------------------------

    async def _call(self, method: str, path: str, cid: str, *, expect: tuple[int, ...] = (200,),
                    **kwargs: Any) -> httpx.Response:
        """One logical call: retries by policy, one renewed sign-in after a 401."""
        header = await self.auth.header(cid)
        response = await self._send(method, path, cid, header, **kwargs)
        if response.status_code == 401:
            fresh = await self.auth.renew(header, cid)  # once: a second 401 is an answer
            if fresh is not None:
                response = await self._send(method, path, cid, fresh, **kwargs)
        if response.status_code not in expect:
            raise self.error(response, cid)
        return response

    async def _send(self, method: str, path: str, cid: str, header: str,
                    **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": header, **kwargs.pop("headers", {})}
        return await send(self.http, method, path, vendor=VENDOR, correlation_id=cid,
                          policy=self.policy, headers=headers, **kwargs)

    def _result(self, response: httpx.Response, cid: str) -> Any:
        try:
            return response.json()["result"]
        except (ValueError, KeyError, TypeError):
            raise VendorError(VENDOR, response.status_code, "bad_response",
                              f"{VENDOR} answered with something that is not its JSON envelope; "
                              "is the instance URL the instance root?", cid,
                              cause=Cause.UNAVAILABLE) from None

    def error(self, response: httpx.Response, cid: str) -> VendorError:
        """ServiceNow's `{"error": {"message", "detail"}}` as a plain message for chat."""
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        problem = body.get("error") if isinstance(body, dict) else None
        problem = problem if isinstance(problem, dict) else {}
        said = ": ".join(str(problem[k]) for k in ("message", "detail") if problem.get(k))
        said = scrub(said, self.auth.known_secrets())[:300]
        tries = attempts_of(response)
        code = f"http_{status}"
        if status == 401:
            text = (f"{VENDOR} refused deskhand's sign-in (401"
                    f"{', even after a new token' if self.auth.mode == 'oauth' else ''}). An "
                    "administrator should check the ServiceNow integration user and its password"
                    f"{' and OAuth client' if self.auth.mode == 'oauth' else ''}.")
        elif status == 403:
            text = (f"{VENDOR} says deskhand's user may not do this (403{': ' + said if said else ''}). "
                    "It needs the itil role (read and write incidents, add attachments).")
        elif status == 404:
            text = f"{VENDOR} does not know that record, or deskhand's user may not see it (404)."
        elif status == 429:
            text = f"{VENDOR} is rate limiting deskhand right now; try again in a minute."
        elif status >= 500:
            text = (f"{VENDOR} had a problem (HTTP {status}{': ' + said if said else ''}) and it "
                    f"persisted after {tries} {'try' if tries == 1 else 'tries'}. Try again in a "
                    "few minutes.")
        else:
            text = f"{VENDOR} rejected the request (HTTP {status}): {said or 'no detail'}."
        return VendorError(VENDOR, status, code, text, cid, attempts=tries)

    async def _list(self, table: str, cid: str, *, query: str, fields: str,
                    limit: int) -> list[dict[str, Any]]:
        """Up to `limit` records, page by page along the `Link` header's `next`."""
        params: dict[str, str] = {"sysparm_query": query, "sysparm_fields": fields,
                                  "sysparm_display_value": self.display_value,
                                  "sysparm_limit": str(min(limit, self.page_size))}
        out: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            response = await self._call("GET", f"{TABLE}/{table}", cid, params=params)
            rows = self._result(response, cid)
            out.extend(r for r in rows if isinstance(r, dict))
            following = response.links.get("next", {}).get("url")
            if len(out) >= limit or not rows or not following:
                break
            offset = dict(parse_qsl(urlsplit(following).query)).get("sysparm_offset")
            if not offset or not offset.isdigit():
                break
            params["sysparm_offset"] = offset
            params["sysparm_limit"] = str(min(limit - len(out), self.page_size))
        return out[:limit]

    async def _record(self, table: str, sys_id: str, cid: str, fields: str) -> dict[str, Any] | None:
        response = await self._call("GET", f"{TABLE}/{table}/{quote(sys_id, safe='')}", cid,
                                    expect=(200, 404), params={
                                        "sysparm_fields": fields,
                                        "sysparm_display_value": self.display_value})
        if response.status_code == 404:
            return None
        record = self._result(response, cid)
        return record if isinstance(record, dict) else None

    # --- incidents -----------------------------------------------------------------------

    @property
    def _incident_fields(self) -> str:
        return ",".join((*INCIDENT_FIELDS, self.device_field))

    async def ping(self, *, cid: str | None = None) -> bool:
        """True when the instance accepts deskhand's sign-in and lets it read incidents."""
        await self._call("GET", f"{TABLE}/incident", _cid(cid),
                         params={"sysparm_limit": "1", "sysparm_fields": "sys_id",
                                 "sysparm_no_count": "true"})
        return True

    async def incident(self, number: str, *, cid: str | None = None) -> Incident | None:
        """The incident numbered `number` (INC0010001); None when there is none."""
        number = number.strip().upper()
        if not _queryable(number):
            return None
        rows = await self._list("incident", _cid(cid), query=f"number={number}",
                                fields=self._incident_fields, limit=1)
        return Incident.from_api(rows[0], self.device_field) if rows else None

    async def incident_by_id(self, sys_id: str, *, cid: str | None = None) -> Incident | None:
        record = await self._record("incident", sys_id, _cid(cid), self._incident_fields)
        return Incident.from_api(record, self.device_field) if record else None

    async def incidents(self, which: Which = "recent", *, assigned_to_email: str | None = None,
                        limit: int = 20, cid: str | None = None) -> list[Incident]:
        """The most recently updated incidents: all, open ones, the open ones assigned to a
        person, or (`mine`) those assigned to the person or called in by them, in any state
        (by email; none when ServiceNow does not know the email)."""
        cid = _cid(cid)
        terms: list[str] = []
        if which == "open":
            terms.append(f"stateIN{','.join(OPEN_STATES)}")
        elif which in ("assigned", "mine"):
            user = await self.user_by_email(assigned_to_email or "", cid=cid)
            if user is None:
                return []
            terms.append(f"assigned_to={user.sys_id}")
            terms.append(f"ORcaller_id={user.sys_id}" if which == "mine"
                         else f"stateIN{','.join(OPEN_STATES)}")
        terms.append("ORDERBYDESCsys_updated_on")
        rows = await self._list("incident", cid, query="^".join(terms),
                                fields=self._incident_fields, limit=limit)
        return [Incident.from_api(r, self.device_field) for r in rows]

    async def update_incident(self, sys_id: str, values: dict[str, str], *,
                              cid: str | None = None) -> Incident:
        """PATCH the fields in `values`; the incident as ServiceNow has it afterwards."""
        cid = _cid(cid)
        response = await self._call("PATCH", f"{TABLE}/incident/{quote(sys_id, safe='')}", cid,
                                    json=values, params={"sysparm_fields": self._incident_fields,
                                                         "sysparm_display_value": self.display_value})
        return Incident.from_api(self._result(response, cid), self.device_field)

    async def add_work_note(self, sys_id: str, text: str, *, cid: str | None = None) -> None:
        """Append a work note (a journal field: writing it adds an entry, it replaces nothing)."""
        await self.update_incident(sys_id, {"work_notes": text}, cid=cid)

    # --- people and devices --------------------------------------------------------------

    async def user_by_email(self, email: str, *, cid: str | None = None) -> User | None:
        email = email.strip()
        if not _queryable(email):
            return None
        rows = await self._list("sys_user", _cid(cid), query=f"email={email}",
                                fields=USER_FIELDS, limit=1)
        return User.from_api(rows[0]) if rows else None

    async def user(self, sys_id: str, *, cid: str | None = None) -> User | None:
        record = await self._record("sys_user", sys_id, _cid(cid), USER_FIELDS)
        return User.from_api(record) if record else None

    async def caller_email(self, incident: Incident, *, cid: str | None = None) -> str | None:
        """The email of the person who reported the incident; None without a caller or email."""
        if not incident.caller_id:
            return None
        user = await self.user(incident.caller_id, cid=cid)
        return user.email or None if user else None

    async def device(self, incident: Incident, *, cid: str | None = None) -> ConfigItem | None:
        """The device the incident's device field names, with its name and serial number.

        A reference is read from its own table (from its link, else `device_table`); a plain text
        field is looked up by name, and taken as the name when no CI has it."""
        value = incident.device_id
        if not value:
            return None
        cid = _cid(cid)
        table = incident.device_table or self.device_table
        if is_sys_id(value):
            record = await self._record(table, value, cid, CI_FIELDS)
            return ConfigItem.from_api(record) if record else None
        if not _queryable(value):
            return ConfigItem("", value, "", "")
        rows = await self._list(self.device_table, cid, query=f"name={value}",
                                fields=CI_FIELDS, limit=1)
        return ConfigItem.from_api(rows[0]) if rows else ConfigItem("", value, "", "")

    # --- attachments ---------------------------------------------------------------------

    async def attach(self, sys_id: str, file_name: str, content: bytes, content_type: str, *,
                     table: str = "incident", cid: str | None = None) -> Attachment:
        """Upload `content` as a file on the record (raw body; 201 with the attachment)."""
        cid = _cid(cid)
        response = await self._call(
            "POST", f"{ATTACHMENT}/file", cid, expect=(201,), content=content,
            params={"table_name": table, "table_sys_id": sys_id, "file_name": file_name},
            headers={"Content-Type": content_type or "application/octet-stream"})
        return Attachment.from_api(self._result(response, cid))

    async def attachments(self, sys_id: str, *, cid: str | None = None) -> list[Attachment]:
        cid = _cid(cid)
        if not is_sys_id(sys_id):
            return []
        response = await self._call("GET", ATTACHMENT, cid,
                                    params={"sysparm_query": f"table_sys_id={sys_id}"})
        return [Attachment.from_api(a) for a in self._result(response, cid) if isinstance(a, dict)]

    async def attachment_content(self, sys_id: str, *, cid: str | None = None) -> bytes:
        response = await self._call("GET", f"{ATTACHMENT}/{quote(sys_id, safe='')}/file", _cid(cid),
                                    headers={"Accept": "*/*"})
        return response.content

