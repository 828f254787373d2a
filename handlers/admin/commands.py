"""Directory and RBAC commands: whoami, why, role list/grant/revoke/bind-group/create."""

from __future__ import annotations

from bot import rbac_admin
from bot.context import Context, Reply
from bot.errors import NotFound, UserError
from bot.identity import to_principal
from bot.model import Command, Interaction
from bot.rbac import PERMISSIONS, Grant, decide, grants_of
from bot.rbac_admin import AdminError, Granter, Scope
from bot.registry import ActionSpec, Arg, CommandSpec, an_id, csv_list, positive_int
from cards.model import Button, Card, Confirm, Field, Fields, Table, Text
from cards.model import Context as Small
from handlers.common import find_device
from storage.directory import DirectoryRepo
from storage.rbac import RbacRepo

SCOPE_ARGS = (
    Arg("groups", "management groups the role covers (comma-separated)", kind="option",
        required=False, convert=csv_list),
    Arg("devices", "device names the role covers (comma-separated)", kind="option",
        required=False, convert=csv_list),
    Arg("sets", "instruction sets the role covers (comma-separated)", kind="option",
        required=False, convert=csv_list),
)


def _granter(ctx: Context) -> Granter:
    return Granter(ctx.actor.principal.email, ctx.actor.principal.id)


def _scope(args: dict[str, object]) -> Scope:
    return Scope(device_groups=args.get("groups"), devices=args.get("devices"),  # type: ignore[arg-type]
                 instruction_sets=args.get("sets"))  # type: ignore[arg-type]


async def whoami(ctx: Context, cmd: Command) -> Reply:
    p = ctx.actor.principal
    async with ctx.runtime.db.uow() as uow:
        links = await uow.repo(DirectoryRepo).identities_of(p.id)
        groups = await uow.repo(DirectoryRepo).groups_of(p.id)
    rows = tuple((g.role.name, g.via, g.scope_text()) for g in ctx.grants)
    return Reply.private(Card(title=f"You are {p.display_name}", sections=[
        Fields((Field("Email", p.email), Field("Status", "active" if p.active else "deactivated"),
                Field("Directory groups", ", ".join(g.display_name for g in groups) or "none"),
                Field("Chat accounts", ", ".join(
                    f"{i.platform}:{i.platform_tenant}:{i.platform_user_id}"
                    + (f" ({i.display})" if i.display else "") for i in links) or "none"))),
        Table(columns=("role", "how", "scope"), rows=rows,
              caption="Roles" if rows else "You hold no roles yet."),
    ]))


async def why(ctx: Context, cmd: Command) -> Reply:
    email, permission = cmd.args["user"], cmd.args["permission"]
    if permission not in PERMISSIONS:
        raise NotFound(f"`{permission}` is not a permission. Permissions: "
                        + ", ".join(PERMISSIONS), title="Unknown permission")
    me = email.lower() in ("me", ctx.actor.principal.email)
    if not me and not (ctx.decide("rbac.admin").allowed or ctx.decide("audit.read").allowed):
        await ctx.require("audit.read", "explain another person's access")
    device_scope = None
    if cmd.args.get("device"):
        _, device_scope = await find_device(ctx, cmd.args["device"])
    async with ctx.runtime.db.uow() as uow:
        row = await uow.repo(DirectoryRepo).principal_by_email(
            ctx.tenant_id, ctx.actor.principal.email if me else email)
        if row is None:
            raise NotFound(f"Nobody with the email {email} is in the directory.",
                            title="Unknown person")
        grants = await grants_of(uow, ctx.tenant_id, row.id)
    who = to_principal(row)
    decision = decide(grants, permission, active=who.active, device=device_scope)
    target = f" on {device_scope.name}" if device_scope else ""
    return Reply.private(Card(
        title=f"{who.display_name}: {permission}{target} is "
              f"{'allowed' if decision.allowed else 'denied'}",
        tone="good" if decision.allowed else "attention",
        sections=[Text("\n".join(f"\u2022 {r}" for r in decision.reasons))]))


async def role_list(ctx: Context, cmd: Command) -> Reply:
    async with ctx.runtime.db.uow() as uow:
        roles = await uow.repo(RbacRepo).roles(ctx.tenant_id)
        assignments = await uow.repo(RbacRepo).assignments(ctx.tenant_id)
        people = {p.id: p.email for p in await uow.repo(DirectoryRepo).principals(ctx.tenant_id)}
        groups = {g.id: g.display_name for g in await uow.repo(DirectoryRepo).groups(ctx.tenant_id)}
    role_rows = tuple((r.name, "system" if r.system else "custom", ", ".join(r.permissions))
                      for r in roles)
    assignment_rows = tuple(
        (f"#{a.id}", r.name,
         people.get(a.principal_id or 0, "") or f"group {groups.get(a.group_id or 0, '?')}",
         Grant.of(a, r).scope_text(), a.granted_by)
        for a, r in assignments)
    return Reply.private(Card(title="Roles and assignments", sections=[
        Table(columns=("role", "kind", "permissions"), rows=role_rows, caption="Roles"),
        Table(columns=("id", "role", "who", "scope", "granted by"), rows=assignment_rows,
              caption="Assignments"),
        Small("`role revoke <id>` removes an assignment."),
    ]))


def _granted_card(role: str, who: str, scope: str, assignment_id: int, by: str) -> Card:
    return Card(
        title=f"{role} granted to {who}", tone="good",
        sections=[Fields((Field("Scope", scope), Field("Assignment", f"#{assignment_id}"),
                          Field("Granted by", by)))],
        buttons=[Button("Revoke", f"role.revoke:{assignment_id}", str(assignment_id),
                        style="danger",
                        confirm=Confirm("Revoke this role?",
                                        f"{who} loses {role} ({scope}).", "Revoke", "Keep"))])


async def _grant(ctx: Context, cmd: Command, *, group: bool) -> Reply:
    who = cmd.args["to"]
    async with ctx.runtime.db.uow() as uow:
        try:
            row = await rbac_admin.grant(
                uow, ctx.tenant_id, _granter(ctx), cmd.args["role"],
                email=None if group else who, group=who if group else None,
                scope=_scope(cmd.args))
        except AdminError as exc:
            raise UserError(str(exc), title="Role not granted") from None
        role = await uow.repo(RbacRepo).role_by_name(ctx.tenant_id, cmd.args["role"])
        await uow.commit()
    assert role is not None
    scope = Grant.of(row, role).scope_text()
    ctx.target = who
    ctx.audit_params["assignment"] = row.id  # the id `role list` and the revoke button show
    label = f"group {who}" if group else who
    return Reply.public(_granted_card(role.name, label, scope, row.id, ctx.actor.principal.email))


async def role_grant(ctx: Context, cmd: Command) -> Reply:
    return await _grant(ctx, cmd, group=False)


async def role_bind_group(ctx: Context, cmd: Command) -> Reply:
    return await _grant(ctx, cmd, group=True)


async def _revoke(ctx: Context, assignment_id: int) -> str:
    async with ctx.runtime.db.uow() as uow:
        try:
            role = await rbac_admin.revoke(uow, ctx.tenant_id, _granter(ctx), assignment_id)
        except AdminError as exc:
            raise UserError(str(exc), title="Not revoked") from None
        await uow.commit()
    ctx.target = f"assignment #{assignment_id}"
    return role


async def role_revoke(ctx: Context, cmd: Command) -> Reply:
    role = await _revoke(ctx, cmd.args["assignment"])
    return Reply.public(Card(title=f"Assignment #{cmd.args['assignment']} revoked",
                             sections=[Text(f"The {role} assignment is gone.")]))


async def revoke_clicked(ctx: Context, interaction: Interaction) -> Reply:
    assignment_id = interaction.args[0]
    role = await _revoke(ctx, assignment_id)
    return Reply.update(Card(
        title=f"{role} revoked", tone="warning",
        sections=[Text(f"Assignment #{assignment_id} was revoked."),
                  Small(f"by {ctx.actor.principal.display_name}")]))


async def role_create(ctx: Context, cmd: Command) -> Reply:
    async with ctx.runtime.db.uow() as uow:
        try:
            role = await rbac_admin.create_role(uow, ctx.tenant_id, _granter(ctx),
                                                cmd.args["name"], cmd.args["perms"])
        except AdminError as exc:
            raise UserError(str(exc), title="Role not created") from None
        await uow.commit()
    ctx.target = role.name
    return Reply.public(Card(title=f"Role {role.name} created", tone="good",
                             sections=[Text(", ".join(role.permissions))]))


COMMANDS = (
    CommandSpec("whoami", "Show who deskhand thinks you are and the roles you hold.", whoami),
    CommandSpec(
        "why", "Explain why a person may or may not do something.", why,
        args=(Arg("user", "an email, or `me`"), Arg("permission", "e.g. device.lock"),
              Arg("device", "a device name, FQDN or serial", required=False)),
        examples=("why me device.lock PC-0001", "why riley.remote@example.com remote.session")),
    CommandSpec("role list", "List roles and who holds them.", role_list,
                permission=("rbac.admin", "audit.read")),
    CommandSpec(
        "role grant", "Give a person a role, optionally limited to groups, devices or sets.",
        role_grant, permission="rbac.admin",
        args=(Arg("role", "the role's name", kind="rest"),
              Arg("to", "the person's email", kind="marker", marker="to"), *SCOPE_ARGS),
        examples=("role grant Endpoint Standard to nina.new@example.com groups=London",)),
    CommandSpec(
        "role bind-group", "Give every member of a directory group a role.", role_bind_group,
        permission="rbac.admin",
        args=(Arg("role", "the role's name", kind="rest"),
              Arg("to", "the directory group's name", kind="marker", marker="to"),
              *SCOPE_ARGS),
        examples=("role bind-group Approver to Service Desk",)),
    CommandSpec("role revoke", "Remove a role assignment.", role_revoke,
                permission="rbac.admin",
                args=(Arg("assignment", "the assignment number from `role list`",
                          convert=lambda v: positive_int(v.lstrip("#"))),),
                examples=("role revoke 12",)),
    CommandSpec(
        "role create", "Create a custom role from permissions.", role_create,
        permission="rbac.admin",
        args=(Arg("name", "the new role's name", kind="rest"),
              Arg("perms", "permissions, comma-separated", kind="option", convert=csv_list)),
        examples=("role create Night Shift perms=device.read,device.lock",)),
)
ACTIONS = (ActionSpec("role.revoke", revoke_clicked, permission="rbac.admin", params=(an_id,),
                      damaged="use `role revoke <id>`."),)
