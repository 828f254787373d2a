"""The instruction catalogue: 1E's definitions cached per tenant, filtered by what a person may run."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.errors import NotFound, UserError
from bot.rbac import Grant, decide
from handlers.instructions.vendor import tachyon
from integrations.tachyon.definitions import InstructionDefinition, InstructionKind, Parameter, SchemaColumn
from storage.instructions import CatalogueRepo, InstructionDefinitionRow

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.instructions")
_PARAM_FIELDS = {f.name for f in dataclasses.fields(Parameter)}


def run_permission(kind: str) -> str:
    return "instruction.run.action" if kind == "action" else "instruction.run.question"


def to_row(d: InstructionDefinition) -> dict[str, Any]:
    return {"vendor_id": d.id, "name": d.name, "description": d.description[:5000],
            "readable_payload": d.readable_payload[:1000], "kind": d.type,
            "instruction_set": d.instruction_set_name[:200],
            "parameters": [dataclasses.asdict(p) for p in d.parameters],
            # 1E has no per-definition approval flag (its workflow holds every action), so
            # deskhand's own rule decides: actions need approval while enable_approval is on.
            "columns": list(d.columns), "approval_required": False}


def definition(row: InstructionDefinitionRow) -> InstructionDefinition:
    params = []
    for raw in row.parameters or []:
        values = {k: v for k, v in raw.items() if k in _PARAM_FIELDS}
        values["allowed_values"] = tuple(values.get("allowed_values") or ())
        params.append(Parameter(**values))
    kind: InstructionKind = "action" if row.kind == "action" else "question"
    return InstructionDefinition(
        id=row.vendor_id, name=row.name, description=row.description,
        readable_payload=row.readable_payload, type=kind, instruction_set_id=None,
        instruction_set_name=row.instruction_set, parameters=tuple(params),
        schema=tuple(SchemaColumn(c) for c in row.columns or []))


async def sync(runtime: Runtime, cid: str, tenant_id: int) -> tuple[int, int]:
    """Fetch every definition from the tenant's 1E and replace its cache; (definitions, removed)."""
    client = await tachyon(runtime, tenant_id)
    if client is None:
        return 0, 0
    found = await client.definitions(cid=cid)
    rows = list({d.name: to_row(d) for d in found if d.name}.values())
    async with runtime.db.uow() as uow:
        kept, removed = await uow.repo(CatalogueRepo).replace(tenant_id, rows)
        await uow.commit()
    log.info("instruction catalogue synced: %d definitions, %d removed (ref %s)", kept, removed, cid)
    return kept, removed


def may_run(grants: Sequence[Grant], row: InstructionDefinitionRow, active: bool = True) -> bool:
    """Whether some assignment lets the person run this definition on at least some devices."""
    return decide(grants, run_permission(row.kind), active=active,
                  instruction_set=row.instruction_set).allowed


def pick(rows: list[InstructionDefinitionRow], name: str) -> InstructionDefinitionRow:
    """The definition a typed name means, for `run` and `history` alike: the exact name
    (any case), else the one definition whose name contains it."""
    wanted = name.strip().lower()
    exact = [r for r in rows if r.name.lower() == wanted]
    partial = exact or [r for r in rows if wanted in r.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise NotFound(f"There is no instruction called `{name}`. `instructions {name[:20]}` "
                        "searches the ones you may run.", title="Unknown instruction")
    names = ", ".join(f"`{r.name}`" for r in partial[:8])
    raise UserError(f"`{name}` matches {len(partial)} instructions: {names}. Give more of the name.",
                    title="Which instruction?")


def parameter_text(row: InstructionDefinitionRow) -> str:
    parts = []
    for p in row.parameters or []:
        text = f"{p['name']}=<{p.get('data_type') or 'string'}>"
        if p.get("allowed_values"):
            text = f"{p['name']}=<{'|'.join(p['allowed_values'][:6])}>"
        if not p.get("required", True) or p.get("default") is not None:
            text = f"[{text}]"
        parts.append(text)
    return " ".join(parts) or "no parameters"
