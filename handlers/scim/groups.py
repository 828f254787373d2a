"""`/scim/v2/Groups`: IdP groups are directory groups, which role assignments bind to, so a
membership change here changes what a person may do on their very next command (bot/rbac.py
reads the memberships on every decision). Members must be SCIM users of the same tenant.
Deleting a group deletes the role assignments bound to it. PUT and PATCH read, change and write
the group under its row's lock, so concurrent membership changes all land.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import scim2_models as scim
from aiohttp import web

from bot.audit import Audit
from bot.model import new_correlation_id
from handlers.scim import filters, protocol, texts, versions
from handlers.scim.models import POLICY, Group, GroupPatch, without_ms_schema
from handlers.scim.protocol import Caller
from storage.directory import DirectoryGroup
from storage.scim import Member, ScimRepo, our_id
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import Runtime

Q = scim.Context.RESOURCE_QUERY_RESPONSE


def version(row: DirectoryGroup, members: Sequence[Member] | None) -> str | None:
    """The group's version: it takes the members, so without them there is none."""
    return None if members is None else _digest(row, members)


def _digest(row: DirectoryGroup, members: Sequence[Member]) -> str:
    return versions.of(row.id, row.display_name, row.external_id, [tuple(m) for m in members])


def resource(row: DirectoryGroup, members: Sequence[Member] | None, base: str) -> Group:
    group = Group(display_name=row.display_name, external_id=row.external_id)
    if members is not None:
        group.members = [scim.GroupMember.model_validate({"value": str(p.id), "display": p.email})
                         for p in members]
    group.id = str(row.id)
    group.meta = scim.Meta(resource_type="Group", location=location(row.id, base),
                           version=version(row, members))
    return group


def location(group_id: int, base: str) -> str:
    return f"{base}/Groups/{group_id}"


def _wants_members(params: scim.ResponseParameters[Any] | None) -> bool:
    if params is None:
        return True
    if params.excluded_attributes:
        return not any(str(p).lower().endswith("members") for p in params.excluded_attributes)
    return any("members" in str(p).lower() for p in params.attributes or ())


def _checked(group: Group) -> str:
    name = (group.display_name or "").strip()
    if not name or len(name) > 200:
        raise scim.InvalidValueException(detail="displayName is required, at most 200 characters")
    if group.external_id is not None and len(group.external_id) > 200:
        raise scim.InvalidValueException(detail="externalId is at most 200 characters")
    return name


async def _members(uow: UnitOfWork, tenant_id: int, group: Group,
                   current: Sequence[Member]) -> list[Member]:
    """The members `group` lists, each a SCIM user of the tenant; `current`, the members the
    group has (under its lock), need no second look."""
    wanted: set[int] = set()
    for member in group.members or []:
        value = str(member.value or "")
        found = our_id(value)
        if found is None:
            raise scim.InvalidValueException(detail=texts.NOT_A_MEMBER.format(value=value[:40]))
        wanted.add(found)
    kept = [m for m in current if m.id in wanted]
    new = wanted - {m.id for m in kept}
    known = await uow.repo(ScimRepo).known_users(tenant_id, new)
    if unknown := new - known.keys():
        raise scim.InvalidValueException(detail=texts.NOT_A_MEMBER.format(value=min(unknown)))
    return sorted(kept + [Member(pid, email) for pid, email in known.items()])


async def _unique(uow: UnitOfWork, tenant_id: int, name: str, current: int | None) -> None:
    taken = await uow.repo(ScimRepo).group_named(tenant_id, name)
    if taken is not None and taken.id != current:
        raise scim.UniquenessException(detail=texts.GROUP_TAKEN.format(value=name, id=taken.id))


async def _answer(runtime: Runtime, request: web.Request, caller: Caller, group_id: int,
                  status: int, params: scim.ResponseParameters[Any] | None = None) -> web.Response:
    async with runtime.db.uow() as uow:  # deleted by a request that raced this one: 404
        repo = uow.repo(ScimRepo)
        row = protocol.present(await repo.group(caller.tenant_id, group_id),
                               texts.NOT_FOUND_GROUP, group_id)
        members = (await repo.members([row.id]))[row.id] if _wants_members(params) else None
    tag, base = version(row, members), protocol.base_url(runtime)
    if request.method == "GET" and tag is not None and versions.unchanged(request, tag):
        return protocol.not_modified(tag)
    body = resource(row, members, base).model_dump(scim_ctx=Q, response_parameters=params)
    return protocol.one(body, tag, location(row.id, base), status)


async def _audit(uow: UnitOfWork, caller: Caller, action: str, name: str) -> None:
    await Audit.add(uow, caller.tenant_id, "directory", action, "ok", actor_label="scim",
                    target=name, correlation_id=new_correlation_id())


@protocol.endpoint
async def list_groups(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    terms = filters.terms(request.query.get("filter"), "group")
    offset, count = protocol.paging(request)
    params = protocol.response_parameters(request, Group)
    async with runtime.db.uow() as uow:
        repo = uow.repo(ScimRepo)
        total, rows = await repo.groups(caller.tenant_id, terms, offset, count)
        members = await repo.members(r.id for r in rows) if _wants_members(params) else {}
    base = protocol.base_url(runtime)
    return protocol.listing(total, offset, [
        resource(r, members.get(r.id), base).model_dump(scim_ctx=Q, response_parameters=params)
        for r in rows])


@protocol.endpoint
async def get_group(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    group_id = protocol.int_id(request.match_info["id"], texts.NOT_FOUND_GROUP)
    params = protocol.response_parameters(request, Group)
    return await _answer(runtime, request, caller, group_id, 200, params)


@protocol.endpoint
async def create_group(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    body = without_ms_schema(await protocol.json_body(request))
    with POLICY:
        group = Group.model_validate(body, scim_ctx=scim.Context.RESOURCE_CREATION_REQUEST)
    name = _checked(group)
    async with runtime.db.uow() as uow:
        await _unique(uow, caller.tenant_id, name, None)
        members = await _members(uow, caller.tenant_id, group, ())
        row = await uow.repo(ScimRepo).add_group(caller.tenant_id, name, group.external_id)
        await uow.repo(ScimRepo).set_members(row.id, (m.id for m in members), ())
        await _audit(uow, caller, "scim.group.create", name)
        await uow.commit()
        group_id = row.id
    return await _answer(runtime, request, caller, group_id, 201)


async def _change(runtime: Runtime, request: web.Request, caller: Caller,
                  change: Callable[[Group], Group], action: str, *, quiet: bool) -> web.Response:
    """Lock the group, check If-Match, make the group `change` answers from the current one
    (members included), and keep it. `quiet`: answer 204 with the new version, not the group
    (RFC 7644 3.5.2 allows it; Entra asks for it, Okta takes it), so a membership change to a
    group of thousands does not send them all back each time."""
    group_id = protocol.int_id(request.match_info["id"], texts.NOT_FOUND_GROUP)
    async with runtime.db.uow() as uow:
        repo = uow.repo(ScimRepo)
        row = protocol.present(await repo.group(caller.tenant_id, group_id, lock=True),
                               texts.NOT_FOUND_GROUP, group_id)
        members = (await repo.members([row.id]))[row.id]
        versions.check(request, _digest(row, members))
        group = change(resource(row, members, protocol.base_url(runtime)))
        name = _checked(group)
        if name.lower() != row.display_name.lower():
            await _unique(uow, caller.tenant_id, name, row.id)
        wanted = await _members(uow, caller.tenant_id, group, members)
        row.display_name, row.external_id = name, group.external_id
        await repo.set_members(row.id, (m.id for m in wanted), (m.id for m in members))
        await _audit(uow, caller, action, name)
        await uow.commit()
    if quiet:
        return web.Response(status=204, headers={"ETag": _digest(row, wanted)})
    return await _answer(runtime, request, caller, group_id, 200,
                         protocol.response_parameters(request, Group))


@protocol.endpoint
async def replace_group(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    body = without_ms_schema(await protocol.json_body(request))
    with POLICY:
        group = Group.model_validate(body, scim_ctx=scim.Context.RESOURCE_REPLACEMENT_REQUEST)
    return await _change(runtime, request, caller, lambda _current: group, "scim.group.replace",
                         quiet=False)


def _okta_rename(body: dict[str, Any]) -> dict[str, Any]:
    """Okta's rename repeats the group's id inside a no-path replace; the id cannot change."""
    ops = body.get("Operations")
    if not isinstance(ops, list):
        return body
    fixed = []
    for op in ops:
        if isinstance(op, dict) and "path" not in op and isinstance(op.get("value"), dict):
            op = {**op, "value": {k: v for k, v in op["value"].items() if k != "id"}}
        fixed.append(op)
    return {**body, "Operations": fixed}


@protocol.endpoint
async def patch_group(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    body = _okta_rename(await protocol.json_body(request))
    quiet = protocol.response_parameters(request, Group) is None
    with POLICY:
        patch = GroupPatch.model_validate(body, scim_ctx=scim.Context.RESOURCE_PATCH_REQUEST)

    def patched(group: Group) -> Group:
        with POLICY:
            patch.patch(group)
        return group

    return await _change(runtime, request, caller, patched, "scim.group.patch", quiet=quiet)


@protocol.endpoint
async def delete_group(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    group_id = protocol.int_id(request.match_info["id"], texts.NOT_FOUND_GROUP)
    async with runtime.db.uow() as uow:
        repo = uow.repo(ScimRepo)
        row = protocol.present(await repo.group(caller.tenant_id, group_id, lock=True),
                               texts.NOT_FOUND_GROUP, group_id)
        if "If-Match" in request.headers:
            versions.check(request, _digest(row, (await repo.members([row.id]))[row.id]))
        await _audit(uow, caller, "scim.group.delete", row.display_name)
        await repo.delete_group(row)
        await uow.commit()
    return web.Response(status=204)
