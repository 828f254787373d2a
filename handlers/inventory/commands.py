"""`devices sync`: an administrator syncs the inventory now and sees what changed."""

from __future__ import annotations

from bot.context import Context, Reply
from bot.model import Command
from bot.registry import CommandSpec
from cards.model import Card, Section, Table, Text
from cards.model import Context as Small
from handlers.inventory import texts
from handlers.inventory.config import InventorySettings
from handlers.inventory.sources import LABELS
from handlers.inventory.sync import run_sync

PERMISSION = ("settings.write", "rbac.admin")


async def sync_command(ctx: Context, cmd: Command) -> Reply:
    report = await run_sync(ctx.runtime, ctx.tenant_id, cid=ctx.correlation_id)
    if report.busy:
        return Reply.private(Card(texts.TITLE, [Text(texts.BUSY)]))
    if not report.sources:
        return Reply.private(Card(texts.TITLE, [Text(texts.NO_SOURCES)]))
    async with ctx.runtime.db.uow() as uow:
        settings = await InventorySettings.read(uow, ctx.tenant_id)
    # A failed source's batches before the failure were merged (seen, added, updated); its
    # group moves and "not reported" wait for a complete run.
    rows = tuple((s.label, str(s.seen), str(s.added), str(s.updated),
                  *(("-", "-") if s.failed else (str(s.moved), str(s.unseen))))
                 for s in report.sources)
    ctx.audit_params.update({s.name: ("failed" if s.failed else
                                      f"+{s.added} ~{s.updated} >{s.moved}") for s in report.sources},
                            retired=report.retired)
    group_source = settings.inventory_group_source
    sections: list[Section] = [Table(columns=texts.COLUMNS, rows=rows),
                *(Text(texts.FAILED.format(source=s.label, reason=s.failed)) for s in report.failed),
                *(Text((texts.RENAME_TAKEN if r.taken else texts.RENAMED).format(
                    source=s.label, old=r.old, new=r.new, scopes=r.scopes))
                  for s in report.sources for r in s.renamed),
                *(Text(texts.UNFIT.format(source=s.label, skipped=s.skipped, shortened=s.shortened,
                                          examples="; ".join(s.notes), ref=ctx.correlation_id))
                  for s in report.sources if s.skipped or s.shortened),
                Text(texts.RETIRE_SKIPPED if report.retire_skipped else texts.RETIRED.format(
                    n=report.retired, days=settings.inventory_retire_days)),
                Small(texts.GROUPS_OFF if group_source == "none"
                      else texts.GROUPS_FROM.format(source=LABELS[group_source])),
                Small(f"ref {ctx.correlation_id}")]
    return Reply.private(Card(texts.TITLE, sections))


COMMANDS = (CommandSpec("devices sync", texts.SUMMARY_SYNC, sync_command, permission=PERMISSION,
                        menu=False, examples=("devices sync",)),)
