"""`deskhand rbac bootstrap-admin|grant|revoke|list|create-role|why` (wired into bot/cli.py): role
management with server authority, through bot/rbac_admin.py as chat's `role` commands go, and
audited the same way. A grant that exists already (the same role, person or group and scope)
changes nothing and says so, so scripts may run them again."""

from __future__ import annotations

import argparse

from bot import rbac_admin
from bot.audit import Audit
from bot.model import new_correlation_id
from bot.rbac import DeviceScope, decide, grants_of
from bot.rbac_admin import AlreadyHeld, Granter, Scope
from storage.devices import DeviceRepo
from storage.directory import DirectoryRepo
from storage.rbac import RbacRepo
from storage.uow import UnitOfWork

COMMANDS = ("rbac",)
CHANGES = ("bootstrap-admin", "grant", "revoke", "create-role")


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def add_parsers(sub: argparse._SubParsersAction) -> None:
    rbac = sub.add_parser("rbac", help="roles and assignments (acts with server authority)")
    rsub = rbac.add_subparsers(dest="action", required=True)
    boot = rsub.add_parser("bootstrap-admin", help="make the first Full Administrator")
    boot.add_argument("email")
    boot.add_argument("--name", default=None)
    grant = rsub.add_parser("grant", help="assign a role to a user or a directory group")
    grant.add_argument("role")
    who = grant.add_mutually_exclusive_group(required=True)
    who.add_argument("--to", help="the user's email")
    who.add_argument("--group", help="a directory group's name")
    grant.add_argument("--groups", help="management groups, comma-separated")
    grant.add_argument("--devices", help="device names, comma-separated")
    grant.add_argument("--sets", help="instruction sets, comma-separated")
    revoke = rsub.add_parser("revoke", help="remove an assignment")
    revoke.add_argument("assignment", type=int)
    rsub.add_parser("list", help="list roles and assignments")
    create = rsub.add_parser("create-role", help="create a custom role")
    create.add_argument("name")
    create.add_argument("--perms", required=True, help="permissions, comma-separated")
    why = rsub.add_parser("why", help="explain a decision")
    why.add_argument("email")
    why.add_argument("permission")
    why.add_argument("device", nargs="?")


async def run(uow: UnitOfWork, tenant_id: int, args: argparse.Namespace) -> None:
    try:
        await _run(uow, tenant_id, args)
    except AlreadyHeld as exc:
        print(exc)  # what was asked for holds: a success, and nothing to audit
        return
    if args.action in CHANGES:
        # Role changes made with server authority leave the same trail as chat ones.
        target = (getattr(args, "email", None) or getattr(args, "to", None)
                  or getattr(args, "group", None)
                  or (f"assignment #{args.assignment}" if args.action == "revoke" else args.name))
        params = {k: v for k, v in vars(args).items() if k not in ("cmd", "action") and v is not None}
        await Audit.add(uow, tenant_id, "command", f"rbac {args.action}", "ok",
                        correlation_id=new_correlation_id(), actor_label="cli", target=target,
                        params=params)


async def _run(uow: UnitOfWork, tenant_id: int, args: argparse.Namespace) -> None:
    cli = Granter("cli")
    if args.action == "bootstrap-admin":
        row = await rbac_admin.bootstrap_admin(uow, tenant_id, args.email,
                                               args.name or args.email.split("@")[0])
        print(f"{args.email} is now a Full Administrator (assignment #{row.id})")
    elif args.action == "grant":
        row = await rbac_admin.grant(
            uow, tenant_id, cli, args.role, email=args.to, group=args.group,
            scope=Scope(_split(args.groups), _split(args.devices), _split(args.sets)))
        print(f"granted {args.role} to {args.to or 'group ' + args.group} (assignment #{row.id})")
    elif args.action == "revoke":
        revoked = await rbac_admin.revoke(uow, tenant_id, cli, args.assignment)
        print(f"revoked assignment #{args.assignment} ({revoked})")
    elif args.action == "create-role":
        role = await rbac_admin.create_role(uow, tenant_id, cli, args.name, _split(args.perms) or [])
        print(f"created role {role.name}: {', '.join(role.permissions)}")
    elif args.action == "list":
        for role in await uow.repo(RbacRepo).roles(tenant_id):
            print(f"{role.name} [{'system' if role.system else 'custom'}]: "
                  f"{', '.join(role.permissions)}")
        for a, r in await uow.repo(RbacRepo).assignments(tenant_id):
            person = a.principal_id and await uow.repo(DirectoryRepo).principal(a.principal_id)
            who = person.email if person else None
            print(f"#{a.id} {r.name} -> {who or f'group #{a.group_id}'} "
                  f"groups={a.device_groups or 'all'} devices={a.devices or '-'}")
    elif args.action == "why":
        await _why(uow, tenant_id, args)


async def _why(uow: UnitOfWork, tenant_id: int, args: argparse.Namespace) -> None:
    row = await uow.repo(DirectoryRepo).principal_by_email(tenant_id, args.email)
    if row is None:
        raise ValueError(f"nobody with the email {args.email} is in the directory")
    device_scope = None
    if args.device:
        device = await uow.repo(DeviceRepo).find(tenant_id, args.device)
        if device is None:
            raise ValueError(f"unknown device {args.device}")
        group = device.management_group_id and await uow.repo(DeviceRepo).group(
            device.management_group_id)
        device_scope = DeviceScope(device.name, group.name if group else None)
    grants = await grants_of(uow, tenant_id, row.id)
    print(decide(grants, args.permission, active=row.active, device=device_scope).explain())
