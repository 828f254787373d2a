"""The cards of the instruction workflow: one run card (approvers' and requester's copies) and
the paged results card. Buttons carry ids only; every click re-reads the rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.approvals import approval_text, decision_controls
from cards.model import Button, Card, Confirm, Field, Fields, Section, Table, Text, TextInput, Tone
from cards.model import Context as Small
from handlers.instructions.states import ACTIVE, AWAITING, COMPLETED, FINISHED, IN_FLIGHT, LABELS
from integrations.tachyon.status import Status
from storage.instructions import (
    ANSWER,
    ERROR,
    NO_DATA,
    NOT_IMPLEMENTED,
    OTHER_KINDS,
    TOO_LARGE,
    InstructionResponse,
    InstructionRun,
)
from storage.workflow import PENDING, ApprovalRequest

RUN = "instruction.run"  # the subject kind of a run's approval request and card copies
MAX_COLUMNS = 5
CODE_MAX = 16
CODE_NOTE = ("1E wants a one-time code before it sends this action: it e-mailed one (to the account "
             "1E knows for this request). Type it below within 10 minutes and press Send code.")
CELL = 80


@dataclass(frozen=True)
class Kind:
    """How cards, results and exports name one kind of stored row (1E's other responses are
    separate views, as in 1E's own tools: integrations.md 2.5)."""

    letter: str  # in button ids (run.more:<run>:<letter>:<after>)
    row: str  # the CSV's kind column
    title: str  # of its results card and XLSX sheet
    counted: str  # after a count: "4 device errors"
    button: str


KINDS = {
    ANSWER: Kind("a", "answer", "Answers", "answers", "Show results"),
    ERROR: Kind("e", "error", "Device errors", "device errors", "Show device errors"),
    NO_DATA: Kind("n", "no data", "No data", "no data", "Show no data"),
    NOT_IMPLEMENTED: Kind("i", "not implemented", "Not implemented", "not implemented",
                          "Show not implemented"),
    TOO_LARGE: Kind("l", "too large", "Too large", "too large", "Show too large"),
}
BY_LETTER = {k.letter: kind for kind, k in KINDS.items()}


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def _tone(state: str) -> Tone:
    if state == AWAITING:
        return "warning"
    if state == COMPLETED:
        return "good"
    return "attention" if state in FINISHED else "info"


def run_card(run: InstructionRun, request: ApprovalRequest | None, audience: str) -> Card:
    """The card for `audience` "approvers" (Approve/Deny while pending) or "requester"."""
    count = run.target_count
    items = [Field("Instruction", run.readable_payload or run.definition_name),
             Field("Type", f"{run.kind} in set {run.instruction_set or '-'}"),
             Field("Targets", f"{run.target_label} ({count} device{'s' if count != 1 else ''}"
                   + (", sent to 1E as its management group)" if run.vendor_scope else ")")),
             Field("Requested by", run.requester_email), Field("State", LABELS.get(run.state, run.state))]
    if run.incident:
        items.append(Field("Incident", run.incident))
    if request is not None:
        items.append(Field("Approval", approval_text(request)))
    if run.parameters:
        items.append(Field("Parameters", ", ".join(f"{k}={v}" for k, v in run.parameters.items())))
    if run.vendor_id:
        items.append(Field("1E instruction", f"#{run.vendor_id}"))
    if run.state in IN_FLIGHT or (run.state in FINISHED and run.vendor_id):
        items.append(Field("Progress", progress(run)))
        items.append(Field("Stored", stored(run)))
    sections: list[Section] = [Fields(tuple(items))]
    if run.last_error and run.state in ACTIVE:
        sections.append(Text(f"*Note:* {run.last_error}"))
    if run.outcome and run.state in FINISHED:
        sections.append(Text(run.outcome))
    buttons: list[Button] = []
    pending = request is not None and request.state == PENDING
    if audience == "approvers":
        if pending and request is not None:
            reason, buttons = decision_controls(request)
            sections.append(reason)
    else:
        buttons = _requester_buttons(run)
        if awaiting_code(run):
            sections.append(Text(CODE_NOTE))
            sections.append(TextInput("code", "One-time code from 1E's e-mail", placeholder="123456",
                                      max_length=CODE_MAX))
    sections.append(Small(f"run {run.id} · ref {run.correlation_id}"))
    title = f"{run.definition_name} on {run.target_label}"
    if audience == "approvers" and pending:
        title = f"Approval needed: {title}"
    return Card(title=title, sections=sections, buttons=buttons, tone=_tone(run.state))


def progress(run: InstructionRun) -> str:
    """1E's own counts. Whether its error count means Status 2 only is not known (2.5), so the
    card shows it beside what was stored of each kind rather than reconcile the two."""
    text = (f"sent {run.sent_count} · received {run.received_count} · "
            f"outstanding {run.outstanding_count} · errors {run.error_count}")
    for label, count in (("no data", run.no_data_count), ("not implemented", run.not_implemented_count)):
        text += f" · {label} {count}" if count else ""
    return text


def stored(run: InstructionRun) -> str:
    text = f"{run.answers_stored} answers, {run.errors_stored} device errors"
    for kind in (NO_DATA, NOT_IMPLEMENTED, TOO_LARGE):
        text += f", {run.stored(kind)} {KINDS[kind].counted}" if run.stored(kind) else ""
    return text


def awaiting_code(run: InstructionRun) -> bool:
    return run.state in IN_FLIGHT and run.vendor_status == Status.AWAITING_AUTHENTICATION


def _requester_buttons(run: InstructionRun) -> list[Button]:
    rid = str(run.id)
    cancel = Button("Cancel", f"run.cancel:{rid}", rid, "danger",
                    Confirm("Cancel this run?", f"{run.definition_name} on {run.target_label} stops; "
                                                "answers already in stay available.", "Cancel run",
                            "Keep it"), form=False)
    if run.state == AWAITING:
        return [cancel]
    if awaiting_code(run):
        return [Button("Send code", f"run.code:{rid}", rid, "primary"), cancel]
    if run.state in IN_FLIGHT:
        return [Button("Show results", f"run.results:{rid}", rid), cancel]
    if run.state in FINISHED and (run.answers_stored or run.others_stored):
        out = [Button("Show results", f"run.results:{rid}", rid, "primary")]
        if run.errors_stored:
            out.append(Button(KINDS[ERROR].button, f"run.errors:{rid}", rid))
        out += [Button(KINDS[k].button, f"run.others:{rid}:{KINDS[k].letter}", rid)
                for k in (NO_DATA, NOT_IMPLEMENTED, TOO_LARGE) if run.stored(k)]
        out += [Button("Export CSV", f"run.export:{rid}:csv", rid),
                Button("Export XLSX", f"run.export:{rid}:xlsx", rid)]
        return out
    return []


def result_columns(run: InstructionRun, rows: Sequence[InstructionResponse]) -> list[str]:
    """The instruction's schema, or (schema-less) the keys the first rows carry."""
    if run.columns:
        return list(run.columns)
    seen: dict[str, None] = {}
    for r in rows:
        seen.update(dict.fromkeys(r.values or {}))
    return list(seen)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value).replace("\n", " ")
    return text if len(text) <= CELL else text[: CELL - 1] + "\u2026"


def status_text(row: InstructionResponse) -> str:
    """1E's Status of an other response; one this version does not know is listed as an error."""
    raw = row.values.get("status")
    return _cell(raw) if raw == row.kind else f"{_cell(raw)} (unknown: an error)"


def results_card(run: InstructionRun, rows: Sequence[InstructionResponse], *, kind: int,
                 shown_before: int, has_more: bool) -> Card:
    total = run.stored(kind)
    if kind in OTHER_KINDS:
        columns = ["device", "status", "error" if kind == ERROR else "message"]
        table: tuple[tuple[str, ...], ...] = tuple(
            (r.fqdn, status_text(r), _cell(r.values.get("error"))) for r in rows)
    else:
        names = result_columns(run, rows)
        columns = ["device", *names[:MAX_COLUMNS]]
        table = tuple((r.fqdn, *(_cell((r.values or {}).get(c)) for c in names[:MAX_COLUMNS]))
                      for r in rows)
    what = KINDS[kind].title
    first, last = shown_before + 1, shown_before + len(rows)
    caption = f"{what} {first}-{last} of {total}" if rows else f"No {KINDS[kind].counted} stored yet."
    more = None
    if has_more and rows:
        more = Button("More", f"run.more:{run.id}:{KINDS[kind].letter}:{rows[-1].id}", str(last))
    sections: list[Section] = [Table(tuple(columns), table, caption=caption, more=more)]
    if kind == ANSWER and len(result_columns(run, rows)) > MAX_COLUMNS:
        sections.append(Small(f"Showing {MAX_COLUMNS} of {len(result_columns(run, rows))} columns; "
                              "the export has them all."))
    if run.state not in FINISHED:
        sections.append(Small(f"Still {LABELS.get(run.state, run.state)}: more may arrive."))
    sections.append(Small(f"run {run.id}"))
    return Card(title=f"{what} of {run.definition_name} on {run.target_label}", sections=sections,
                buttons=[Button("Export CSV", f"run.export:{run.id}:csv", str(run.id)),
                         Button("Export XLSX", f"run.export:{run.id}:xlsx", str(run.id))])
