"""`integrations list|set|unset|test`: each workspace's own vendor configuration (admins only).

A record replaces the deployment's DESKHAND_* configuration for that workspace as a whole (no
key is borrowed from it, so credentials never reach a URL they were not set for). Secrets are
taken only where the person alone saw them typed, sealed before they are stored, never shown
again, and kept out of the audit trail.
"""

from __future__ import annotations

from typing import Any

from bot import integration as spec
from bot.audit import REDACTED
from bot.context import Context, Reply
from bot.errors import NotFound, UserError
from bot.integration import Integration
from bot.model import Command
from bot.places import said_privately
from bot.registry import Arg, CommandSpec
from bot.tenant_clients import RECORD, Effective
from cards.model import Card, Field, Fields, Table, Text
from cards.model import Context as Small
from handlers.integration_admin import texts
from storage.integrations import IntegrationRepo

PERMISSION = ("settings.write", "rbac.admin")


def _find(ctx: Context, name: str) -> Integration:
    declared = ctx.runtime.tenant_clients.declared
    found = declared.get(name.strip().lower())
    if found is None:
        raise NotFound(texts.UNKNOWN.format(name=name, names=", ".join(declared) or "none"),
                       title=texts.UNKNOWN_TITLE)
    return found


def status(found: Effective) -> str:
    if found.trouble:
        return texts.STATUS_TROUBLE.format(trouble=found.trouble)
    if found.source != RECORD and not found.configured:
        return texts.STATUS_NONE  # the deployment's configuration does not set it up either
    if found.missing:
        return texts.STATUS_NEEDS.format(needs=" and ".join(found.missing))
    return texts.STATUS_READY


def _values(found: Effective) -> tuple[Field, ...]:
    integration = found.integration
    keys = spec.keys(integration)
    if found.source == RECORD:  # what the record holds; the rest are defaults
        shown = [k for k in keys if k in found.record]
    else:
        shown = list(keys)
    return tuple(Field(k, spec.shown(integration, found.config, k)) for k in shown)


async def list_command(ctx: Context, cmd: Command) -> Reply:
    clients = ctx.runtime.tenant_clients
    sections: list[Any] = []
    for name in clients.declared:
        found = await clients.effective(ctx.tenant_id, name)
        said = status(found)
        if found.source != RECORD and said == texts.STATUS_NONE:  # nothing worth listing
            sections.append(Text(f"*{found.integration.title}* (`{name}`): {said}"))
            continue
        source = texts.SOURCES[found.source]
        if found.updated_by:
            source += f" ({texts.UPDATED_BY.format(who=found.updated_by)})"
        sections.append(Text(f"*{found.integration.title}* (`{name}`): {said}\n{source}"))
        values = _values(found)
        sections.extend([Fields(values)] if values else [])
    return Reply.private(Card(texts.LIST_TITLE, [
        *(sections or [Text(texts.NO_INTEGRATIONS)]), Small(texts.LIST_FOOT)]))


def _audited(integration: Integration | None, given: dict[str, str]) -> dict[str, str]:
    """What the audit keeps of `key=value ...`: never a secret (nor anything, when the
    integration is unknown and so are its secrets)."""
    plain = {k for k in spec.keys(integration) if not spec.is_secret(integration, k)} \
        if integration is not None else set()
    return {k: v if k in plain else REDACTED for k, v in given.items()}


async def set_command(ctx: Context, cmd: Command) -> Reply:
    given: dict[str, str] = cmd.args.get("values") or {}
    ctx.audit_params["values"] = _audited(None, given)  # until the integration is known
    integration = _find(ctx, cmd.args["name"])
    ctx.audit_params["values"], ctx.target = _audited(integration, given), integration.name
    keys = spec.keys(integration)
    if not given:
        raise UserError(texts.NOTHING.format(name=integration.name, key=next(iter(keys)),
                                             keys=", ".join(keys)), title=texts.NOTHING_TITLE)
    secrets = [k for k in given if k in keys and spec.is_secret(integration, k) and given[k]]
    if secrets and not said_privately(cmd.reply_to):
        raise UserError(texts.PUBLIC.format(keys=", ".join(f"`{k}`" for k in secrets),
                                            verb="is a" if len(secrets) == 1 else "are"),
                        title=texts.PUBLIC_TITLE)
    clients = ctx.runtime.tenant_clients
    before = await clients.effective(ctx.tenant_id, integration.name)
    try:
        record = spec.parse(integration, before.record if before.source == RECORD else {}, given)
    except ValueError as exc:
        raise UserError(texts.REFUSED.format(reasons=exc), title=texts.REFUSED_TITLE) from None
    values, sealed = spec.seal(integration, ctx.runtime.secrets, record)
    async with ctx.runtime.db.uow() as uow:
        await uow.repo(IntegrationRepo).put(ctx.tenant_id, integration.name, values, sealed,
                                            by=ctx.actor.principal.email)
        await uow.commit()
    after = await clients.effective(ctx.tenant_id, integration.name)
    changed = tuple(Field(k, spec.shown(integration, after.config, k)) for k in given if k in keys)
    notes = [texts.SET_SOURCE.format(title=integration.title)] if before.source != RECORD else []
    if after.missing:
        notes.append(texts.SET_NEEDS.format(needs=" and ".join(after.missing)))
    notes.append(texts.SET_NEXT.format(name=integration.name))
    return Reply.private(Card(texts.SET_TITLE.format(title=integration.title), [
        Fields(changed), *(Text(n) for n in notes), Small(f"ref {ctx.correlation_id}")],
        tone="good" if not after.missing else "attention"))


async def unset_command(ctx: Context, cmd: Command) -> Reply:
    integration = _find(ctx, cmd.args["name"])
    ctx.target = integration.name
    named = (cmd.args.get("fields") or "").replace(",", " ").split()
    keys = spec.keys(integration)
    unknown = [k for k in named if k not in keys]
    if unknown:
        raise UserError(texts.REFUSED.format(reasons=f"{integration.name} has no "
                        f"{', '.join(f'`{k}`' for k in unknown)}; its keys are {', '.join(keys)}"),
                        title=texts.REFUSED_TITLE)
    before = await ctx.runtime.tenant_clients.effective(ctx.tenant_id, integration.name)
    if before.source != RECORD:
        raise NotFound(texts.NO_RECORD.format(title=integration.title), title=texts.NO_RECORD_TITLE)
    async with ctx.runtime.db.uow() as uow:
        repo = uow.repo(IntegrationRepo)
        if named:
            values, sealed = spec.seal(integration, ctx.runtime.secrets, {
                k: v for k, v in before.record.items() if k not in named})
            await repo.put(ctx.tenant_id, integration.name, values, sealed,
                           by=ctx.actor.principal.email)
        else:
            await repo.delete(ctx.tenant_id, integration.name)
        await uow.commit()
    ctx.audit_params["fields"] = named or "all"  # ("keys" would read as a secret)
    if named:
        text = texts.UNSET_KEYS.format(keys=", ".join(f"`{k}`" for k in named))
    else:
        fallback = texts.FALLBACK_DEFAULT if ctx.tenant_id == ctx.runtime.tenant_id else \
            texts.FALLBACK_NONE.format(title=integration.title)
        text = texts.UNSET_ALL.format(title=integration.title, fallback=fallback)
    return Reply.private(Card(texts.UNSET_TITLE.format(title=integration.title), [
        Text(text), Small(f"ref {ctx.correlation_id}")]))


async def test_command(ctx: Context, cmd: Command) -> Reply:
    names = [_find(ctx, cmd.args["name"]).name] if cmd.args.get("name") else None
    results = await ctx.runtime.tenant_clients.check(ctx.tenant_id, names)
    rows = tuple((i.title, texts.TEST_MARKS[f.status], f.text)
                 for i, found in results for f in found)
    problems = sum(f.status == "problem" for _, found in results for f in found)
    ctx.target = ",".join(names or ["all"])
    ctx.audit_params["problems"] = problems
    return Reply.private(Card(texts.TEST_TITLE, [
        Table(("integration", "result", "finding"), rows), Small(texts.TEST_FOOT.format(problems=problems)),
        Small(f"ref {ctx.correlation_id}")], tone="attention" if problems else "good"))


NAME_HELP = "an integration: workspace-one, teamviewer, 1e, ..."
COMMANDS = (
    CommandSpec("integrations list", texts.SUMMARY_LIST, list_command, permission=PERMISSION,
                menu=False),
    CommandSpec(
        "integrations set", texts.SUMMARY_SET, set_command, permission=PERMISSION, menu=False,
        args=(Arg("name", NAME_HELP), Arg("values", "key", kind="options", required=False)),
        examples=("integrations set workspace-one url=https://as1.awmdm.com/api/ "
                  "username=api-admin password=... tenant_code=...",
                  "integrations set 1e url=https://tachyon.example.com/Consumer/ consumer=deskhand")),
    CommandSpec(
        "integrations unset", texts.SUMMARY_UNSET, unset_command, permission=PERMISSION,
        menu=False, args=(Arg("name", NAME_HELP),
                          Arg("fields", "the keys to remove (none: all of it)", kind="rest",
                              required=False)),
        examples=("integrations unset teamviewer", "integrations unset workspace-one client_id")),
    CommandSpec(
        "integrations test", texts.SUMMARY_TEST, test_command, permission=PERMISSION, menu=False,
        args=(Arg("name", NAME_HELP, required=False),),
        examples=("integrations test", "integrations test 1e")),
)
