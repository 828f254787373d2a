"""The simulator's Table and Attachment API endpoints (integrations.md 4.2-4.4)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from integrations.servicenow.sim_query import parse, render, select
from integrations.servicenow.sim_tables import StoredFile, new_sys_id, stamp

if TYPE_CHECKING:
    from integrations.servicenow.simulator import ServiceNowSimulator

USER = web.RequestKey("user", str)  # the caller, set by the simulator's auth middleware
DEFAULT_LIMIT = 10_000
MODES = ("true", "false", "all")


def fail(status: int, message: str, detail: str | None = None,
         headers: dict[str, str] | None = None) -> web.Response:
    """ServiceNow's error envelope."""
    return web.json_response({"error": {"message": message, "detail": detail},
                              "status": "failure"}, status=status, headers=headers)


def _not_found() -> web.Response:
    return fail(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")


def _int(value: str | None, default: int) -> int | None:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return None


class SimApi:
    def __init__(self, sim: ServiceNowSimulator) -> None:
        self.sim = sim
        self.instance = sim.instance

    def _base(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}{self.sim.prefix}"

    def _show(self, request: web.Request, table: str, record: dict[str, Any]) -> dict[str, Any]:
        q = request.query
        mode = q.get("sysparm_display_value", "false").lower()
        fields = [f.strip() for f in q.get("sysparm_fields", "").split(",") if f.strip()] or None
        base = self._base(request)
        return render(
            record, fields, self.instance.refs.get(table, {}),
            lambda name, ref, value: self.instance.display(name, ref, value,
                                                           record_id=str(record["sys_id"])),
            lambda ref, sys_id: f"{base}/api/now/table/{ref}/{sys_id}",
            mode=mode if mode in MODES else "false",
            exclude_links=q.get("sysparm_exclude_reference_link", "").lower() == "true")

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            return fail(400, "Exception while reading request", "The payload is not valid JSON.")
        if not isinstance(body, dict):
            return fail(400, "Exception while reading request", "The payload must be a JSON object.")
        return body

    # --- Table API -------------------------------------------------------------------------

    async def list(self, request: web.Request) -> web.Response:
        table = request.match_info["table"]
        rows = self.instance.rows(table)
        if rows is None:
            return fail(400, "Invalid table " + table, None)
        q = request.query
        limit, offset = _int(q.get("sysparm_limit"), DEFAULT_LIMIT), _int(q.get("sysparm_offset"), 0)
        if limit is None or offset is None or limit < 1:
            return fail(400, "Invalid sysparm_limit or sysparm_offset", "Give whole numbers.")
        found = select(rows, parse(q.get("sysparm_query", "")),
                       lambda r, name: self.instance.resolve(r, name, table))
        page = found[max(offset, 0):max(offset, 0) + limit]
        headers: dict[str, str] = {}
        if q.get("sysparm_no_count", "").lower() != "true":
            headers["X-Total-Count"] = str(len(found))
        if q.get("sysparm_suppress_pagination_header", "").lower() != "true":
            headers["Link"] = self._links(request, offset, limit, len(found))
        return web.json_response({"result": [self._show(request, table, r) for r in page]},
                                 headers=headers)

    def _links(self, request: web.Request, offset: int, limit: int, total: int) -> str:
        """first, prev (a literal negative offset on the first page, as real instances send),
        next while rows remain, last."""
        def at(n: int) -> str:
            params = {**request.query, "sysparm_offset": str(n), "sysparm_limit": str(limit)}
            return f"<{self._base(request)}{request.path.removeprefix(self.sim.prefix)}?{urlencode(params)}>"
        links = [f'{at(0)};rel="first"', f'{at(offset - limit)};rel="prev"']
        if offset + limit < total:
            links.append(f'{at(offset + limit)};rel="next"')
        links.append(f'{at(max(total - 1, 0) // limit * limit)};rel="last"')
        return ",".join(links)

    async def read(self, request: web.Request) -> web.Response:
        table = request.match_info["table"]
        record = self.instance.get(table, request.match_info["sys_id"])
        if record is None:
            return _not_found()
        return web.json_response({"result": self._show(request, table, record)})

    async def create(self, request: web.Request) -> web.Response:
        table = request.match_info["table"]
        if self.instance.rows(table) is None:
            return fail(400, "Invalid table " + table, None)
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        record = self.instance.insert(table, body, by=request[USER])
        return web.json_response({"result": self._show(request, table, record)}, status=201)

    async def update(self, request: web.Request) -> web.Response:
        table = request.match_info["table"]
        record = self.instance.get(table, request.match_info["sys_id"])
        if record is None:
            return _not_found()
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if str(body.get("state", "")) == "6" and not (body.get("close_code") or record.get("close_code")):
            return fail(403, "Operation Failed", "Data Policy Exception: close_code is mandatory")
        self.instance.update(record, body, by=request[USER])
        return web.json_response({"result": self._show(request, table, record)})

    # --- Attachment API --------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.Response:
        q = request.query
        table, target, name = q.get("table_name", ""), q.get("table_sys_id", ""), q.get("file_name", "")
        if not table or not target or not name:
            return fail(400, "Missing parameters",
                        "table_name, table_sys_id and file_name are required")
        if self.instance.get(table, target) is None:
            return fail(400, "Invalid table or sys_id", f"No {table} record {target}")
        content = await request.read()
        sys_id = new_sys_id()
        meta = {"sys_id": sys_id, "file_name": name, "table_name": table, "table_sys_id": target,
                "content_type": request.headers.get("Content-Type", "*/*"),
                "size_bytes": str(len(content)), "sys_created_on": stamp(datetime.now(UTC)),
                "sys_created_by": request[USER],
                "download_link": f"{self._base(request)}/api/now/attachment/{sys_id}/file"}
        self.instance.files[sys_id] = StoredFile(meta, content)
        return web.json_response({"result": meta}, status=201)

    async def attachments(self, request: web.Request) -> web.Response:
        metas = [f.meta for f in self.instance.files.values()]
        found = select(metas, parse(request.query.get("sysparm_query", "")),
                       lambda r, name: str(r.get(name, "")))
        return web.json_response({"result": found})

    async def content(self, request: web.Request) -> web.Response:
        stored = self.instance.files.get(request.match_info["sys_id"])
        if stored is None:
            return _not_found()
        kind = str(stored.meta["content_type"])
        return web.Response(body=stored.content, headers={
            "Content-Type": kind if "/" in kind and "*" not in kind else "application/octet-stream"})

