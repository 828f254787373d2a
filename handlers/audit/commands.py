"""`audit`: read the trail in chat, or take it away as CSV through a signed link."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.context import Context, Reply
from bot.model import Command, Interaction
from bot.rbac import decide, grants_of
from bot.registry import ActionSpec, Arg, CommandSpec, an_id
from cards.model import Button, Card, Table
from cards.model import Context as Small
from handlers.common import parse_since
from storage.audit import AuditEvent, AuditRepo
from storage.directory import DirectoryRepo
from storage.uow import UnitOfWork

PAGE = 20
CSV_COLUMNS = ("id", "at", "correlation_id", "kind", "action", "outcome", "actor_email",
               "platform_identity", "target", "params", "detail")


def _filters(args: dict[str, Any]) -> dict[str, Any]:
    since = args.get("since")
    return {"actor_email": args.get("user"), "target": args.get("device"),
            "since": since.isoformat() if since else None}


async def query(uow: UnitOfWork, tenant_id: int, filters: dict[str, Any],
                before_id: int | None, limit: int) -> Sequence[AuditEvent]:
    since = datetime.fromisoformat(filters["since"]) if filters.get("since") else None
    return await uow.repo(AuditRepo).query(tenant_id, actor_email=filters.get("actor_email"),
                                           target=filters.get("target"), since=since,
                                           before_id=before_id, limit=limit)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


def cell(value: str | None) -> str:
    """Empty stays empty; text a spreadsheet would take for a formula gets a leading quote."""
    text = value or ""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def to_csv(events: Sequence[AuditEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in events:
        params = json.dumps(e.params, ensure_ascii=False) if e.params else ""
        writer.writerow([e.id, e.at.isoformat(), *map(cell, (
            e.correlation_id, e.kind, e.action, e.outcome, e.actor_email, e.platform_identity,
            e.target, params, e.detail))])
    return out.getvalue()


async def export_csv(uow: UnitOfWork, tenant_id: int, filters: dict[str, Any],
                     limit: int = 100_000) -> str:
    return to_csv(await query(uow, tenant_id, filters, None, limit))


async def _card(ctx: Context, filters: dict[str, Any], before_id: int | None) -> Card:
    async with ctx.runtime.db.uow() as uow:
        events = list(await query(uow, ctx.tenant_id, filters, before_id, PAGE + 1))
    more = None
    if len(events) > PAGE:
        events = events[:PAGE]
        more = Button("Older", f"audit.more:{events[-1].id}", _encode(filters))
    rows = tuple((e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor_email or "", e.kind, e.action,
                  e.target or "", e.outcome) for e in events)
    described = ", ".join(f"{k.replace('actor_', '')}={v}" for k, v in filters.items() if v)
    link = ctx.runtime.downloads.url(
        "audit.csv", {"t": ctx.tenant_id, "p": ctx.actor.principal.id, "f": filters})
    return Card(title="Audit log", sections=[
        Table(columns=("when (UTC)", "who", "kind", "action", "target", "outcome"), rows=rows,
              caption=("Newest first" + (f" ({described})" if described else ""))
              if rows else "Nothing matches.", more=more),
        Small("CSV export of this view: the link works for 15 minutes."),
    ], buttons=[Button("Download CSV", "audit.csv", url=link)])


def _encode(filters: dict[str, Any]) -> str:
    return "\x1f".join(filters.get(k) or "" for k in ("actor_email", "target", "since"))


async def audit_command(ctx: Context, cmd: Command) -> Reply:
    return Reply.private(await _card(ctx, _filters(cmd.args), None))


async def more_clicked(ctx: Context, interaction: Interaction) -> Reply:
    (before,), (email, target, since) = interaction.args, interaction.fields
    filters = {"actor_email": email or None, "target": target or None, "since": since or None}
    return Reply.update(await _card(ctx, filters, before))


async def download_csv(runtime: Any, payload: dict[str, Any]) -> tuple[str, str, bytes]:
    """Serve a signed audit export, after checking the requester still holds audit.read."""
    async with runtime.db.uow() as uow:
        principal = await uow.repo(DirectoryRepo).principal(payload["p"])
        if principal is None or principal.tenant_id != payload["t"]:
            raise PermissionError("the requester no longer exists")
        grants = await grants_of(uow, payload["t"], principal.id)
        if not decide(grants, "audit.read", active=principal.active).allowed:
            raise PermissionError("the requester no longer holds audit.read")
        body = await export_csv(uow, payload["t"], payload["f"])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"deskhand-audit-{stamp}.csv", "text/csv; charset=utf-8", body.encode()


COMMANDS = (CommandSpec(
    "audit", "Read the audit log, filtered by person, device or time; export CSV.",
    audit_command, permission="audit.read",
    args=(Arg("user", "the actor's email", kind="option", required=False, convert=str.lower),
          Arg("device", "a device name", kind="option", required=False),
          Arg("since", "30m, 12h, 7d, 2w or an ISO date", kind="option", required=False,
              convert=parse_since)),
    examples=("audit", "audit user=riley.remote@example.com since=7d", "audit device=PC-0001")),)
ACTIONS = (ActionSpec("audit.more", more_clicked, permission="audit.read", params=(an_id,),
                      fields=3, damaged="run `audit` again."),)
