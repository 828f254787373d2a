"""`/scim/v2/Users`: people provisioned by the IdP are directory principals.

The principal keeps the resource as the IdP sent it (password and id left out) beside the columns
deskhand decides with: the lower-cased userName (unique per tenant), the email chat accounts link
by (the primary email, else the first, else the userName), the display name, `active`. The
read-only `groups` are the SCIM groups the person is in (SCIM sees only the groups it made).
A user whose email is already a person deskhand knows (the bootstrap administrator, someone
deleted earlier) becomes that person. `active` changes go through bot/people.py after the commit,
so deactivation has every effect in one place; DELETE deactivates, then forgets the SCIM record
and group memberships while the principal stays for the audit trail. PUT and PATCH read, change
and write the person under the row's lock, so concurrent changes all land.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import scim2_models as scim
from aiohttp import web
from sqlalchemy import delete

from bot import people
from bot.audit import Audit
from bot.model import new_correlation_id
from handlers.scim import filters, protocol, texts, versions
from handlers.scim.models import POLICY, UserPatch, UserResource
from handlers.scim.protocol import Caller
from storage.base import utcnow
from storage.directory import ChatIdentity, DirectoryGroup, DirectoryRepo, PrincipalRow
from storage.rbac import RoleAssignment
from storage.scim import ScimRepo
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from bot.runtime import Runtime

Q = scim.Context.RESOURCE_QUERY_RESPONSE


def version(row: PrincipalRow, groups: Sequence[DirectoryGroup]) -> str:
    """A digest of what the resource says (versions.py): the resource as kept, `active`, groups."""
    return versions.of(row.id, row.scim, row.user_name, row.active,
                       [(g.id, g.display_name) for g in groups])


def resource(row: PrincipalRow, groups: Sequence[DirectoryGroup], base: str) -> Any:
    with POLICY:
        user = UserResource.model_validate(row.scim or {"userName": row.user_name})
    user.id = str(row.id)
    user.active = row.active
    user.groups = [scim.GroupMembership.model_validate(
        {"value": str(g.id), "display": g.display_name, "$ref": f"{base}/Groups/{g.id}"})
        for g in groups] or None
    user.meta = scim.Meta(resource_type="User", created=row.created_at,
                          last_modified=row.updated_at or row.created_at,
                          location=f"{base}/Users/{row.id}", version=version(row, groups))
    return user


def dump(user: Any, params: scim.ResponseParameters[Any] | None = None) -> dict[str, Any]:
    return user.model_dump(scim_ctx=Q, response_parameters=params)


def _email(user: Any) -> str:
    emails = [e for e in user.emails or [] if e.value]
    chosen = next((e.value for e in emails if e.primary), None) or (
        emails[0].value if emails else user.user_name)
    if not chosen or "@" not in chosen or len(chosen) > 320:
        raise scim.InvalidValueException(detail=texts.NO_EMAIL)
    return str(chosen).strip().lower()


def _display(user: Any) -> str:
    name = user.name
    given = " ".join(p for p in (name and name.given_name, name and name.family_name) if p)
    return str(user.display_name or (name and name.formatted) or given or user.user_name)[:200]


def _checked(user: Any) -> str:
    """The user's email, once the values deskhand keeps in columns fit them."""
    if not user.user_name or not user.user_name.strip() or len(user.user_name) > 320:
        raise scim.InvalidValueException(detail="userName is required, at most 320 characters")
    if user.external_id is not None and len(user.external_id) > 200:
        raise scim.InvalidValueException(detail="externalId is at most 200 characters")
    return _email(user)


def _stored(user: Any) -> dict[str, Any]:
    """The resource as kept: not what deskhand owns (id, meta), and not `roles`, `entitlements`
    or `groups`, which grant nothing here (roles are bound in deskhand), so echoing them back
    would only suggest they did. `active` is kept as the IdP's last word, which _settle follows;
    the answer shows the principal's own flag."""
    data = user.model_dump(scim_ctx=Q)
    for key in ("id", "meta", "roles", "entitlements", "groups", "x509Certificates"):
        data.pop(key, None)
    return data


async def _claim(uow: UnitOfWork, tenant_id: int, user: Any, email: str,
                 current: int | None) -> PrincipalRow | None:
    """Refuse a userName or email another SCIM user has; answer the person to adopt, if any."""
    taken = await uow.repo(ScimRepo).by_user_name(tenant_id, user.user_name)
    if taken is not None and taken.id != current:
        raise scim.UniquenessException(detail=texts.USER_NAME_TAKEN.format(
            value=user.user_name, id=taken.id))
    known = await uow.repo(DirectoryRepo).principal_by_email(tenant_id, email)
    if known is not None and known.id != current:
        if known.user_name is not None or current is not None:
            raise scim.UniquenessException(detail=texts.EMAIL_TAKEN.format(value=email, id=known.id))
        return known
    return None


def _apply(row: PrincipalRow, user: Any, email: str) -> None:
    row.user_name = user.user_name.strip().lower()
    row.email, row.display_name = email, _display(user)
    row.external_id, row.scim, row.updated_at = user.external_id, _stored(user), utcnow()


async def _settle(runtime: Runtime, tenant_id: int, principal_id: int, was: bool,
                  want: bool | None) -> bool:
    """Apply an `active` change through bot/people.py after the commit; whether there was one.

    Two requests' changes can run in either order, so after each one the person is read
    again and brought to what the last committed request said (its `active` in the resource
    as kept); every request does so after its own change, so the last change is always checked.
    """
    acted = False
    for _ in range(3):
        # A deactivation is applied again even when the flag is already off: deactivate is safe
        # to repeat, and an IdP's retry then finishes effects a failed first call left undone.
        if want is None or (want == was and (want or acted)):
            break
        if want:
            await people.reactivate(runtime, tenant_id, principal_id, by="scim")
        else:
            await people.deactivate(runtime, tenant_id, principal_id, by="scim")
        acted = True
        async with runtime.db.uow() as uow:
            row = await uow.repo(ScimRepo).user(tenant_id, principal_id)
        if row is None:  # deleted since
            break
        was, want = row.active, (row.scim or {}).get("active")
    return acted


async def _groups(uow: UnitOfWork, row: PrincipalRow) -> list[DirectoryGroup]:
    return (await uow.repo(ScimRepo).groups_of([row.id]))[row.id]


async def _answer(runtime: Runtime, caller: Caller, row: PrincipalRow,
                  groups: Sequence[DirectoryGroup], status: int, settled: bool) -> web.Response:
    """The person as this request wrote them; read again when `active` was settled since
    (bot/people.py wrote the person after this request's commit)."""
    if settled:
        async with runtime.db.uow() as uow:  # deleted by a request that raced this one: 404
            row = protocol.present(await uow.repo(ScimRepo).user(caller.tenant_id, row.id),
                                   texts.NOT_FOUND_USER, row.id)
            groups = await _groups(uow, row)
    user = resource(row, groups, protocol.base_url(runtime))
    return protocol.one(dump(user), user.meta.version, user.meta.location, status)


async def _audit(uow: UnitOfWork, caller: Caller, action: str, row: PrincipalRow) -> None:
    await Audit.add(uow, caller.tenant_id, "directory", action, "ok", actor_label="scim",
                    target=row.email, correlation_id=new_correlation_id())


@protocol.endpoint
async def list_users(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    terms = filters.terms(request.query.get("filter"), "user")
    offset, count = protocol.paging(request)
    params = protocol.response_parameters(request, UserResource)
    async with runtime.db.uow() as uow:
        repo = uow.repo(ScimRepo)
        total, rows = await repo.users(caller.tenant_id, terms, offset, count)
        groups = await repo.groups_of(r.id for r in rows)
    base = protocol.base_url(runtime)
    return protocol.listing(total, offset, [dump(resource(r, groups[r.id], base), params)
                                            for r in rows])


@protocol.endpoint
async def get_user(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    principal_id = protocol.int_id(request.match_info["id"], texts.NOT_FOUND_USER)
    params = protocol.response_parameters(request, UserResource)
    async with runtime.db.uow() as uow:
        row = protocol.present(await uow.repo(ScimRepo).user(caller.tenant_id, principal_id),
                               texts.NOT_FOUND_USER, principal_id)
        user = resource(row, await _groups(uow, row), protocol.base_url(runtime))
    if versions.unchanged(request, user.meta.version):
        return protocol.not_modified(user.meta.version)
    return protocol.one(dump(user, params), user.meta.version, user.meta.location)


@protocol.endpoint
async def create_user(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    body = await protocol.json_body(request)
    with POLICY:
        user = UserResource.model_validate(body, scim_ctx=scim.Context.RESOURCE_CREATION_REQUEST)
    email = _checked(user)
    want = user.active is not False
    async with runtime.db.uow() as uow:
        row = await _claim(uow, caller.tenant_id, user, email, None)
        if row is not None and not await uow.repo(ScimRepo).adopt(
                caller.tenant_id, row.id, user.user_name):  # a racing request adopted them
            raise scim.UniquenessException(detail=texts.EMAIL_TAKEN.format(value=email, id=row.id))
        was = row.active if row is not None else want
        if row is None:
            row = PrincipalRow(tenant_id=caller.tenant_id, email=email, display_name="",
                               active=want, created_at=utcnow())  # not after lastModified
            uow.session.add(row)
        _apply(row, user, email)
        await uow.session.flush()
        groups = await _groups(uow, row)  # an adopted person may be in some
        await _audit(uow, caller, "scim.user.create", row)
        await uow.commit()
    settled = await _settle(runtime, caller.tenant_id, row.id, was, want)
    return await _answer(runtime, caller, row, groups, 201, settled)


async def _change(runtime: Runtime, request: web.Request, caller: Caller,
                  change: Callable[[Any], Any], action: str) -> web.Response:
    """Lock the person, check If-Match, make the resource `change` answers from the current
    one, and keep it; `active` is settled after the commit (bot/people.py)."""
    principal_id = protocol.int_id(request.match_info["id"], texts.NOT_FOUND_USER)
    async with runtime.db.uow() as uow:
        row = protocol.present(
            await uow.repo(ScimRepo).user(caller.tenant_id, principal_id, lock=True),
            texts.NOT_FOUND_USER, principal_id)
        groups = await _groups(uow, row)
        versions.check(request, version(row, groups))
        user = change(resource(row, groups, protocol.base_url(runtime)))
        email = _checked(user)
        if (user.user_name.strip().lower(), email) != (row.user_name, row.email):
            await _claim(uow, caller.tenant_id, user, email, row.id)
        was = row.active
        _apply(row, user, email)
        await _audit(uow, caller, action, row)
        await uow.commit()
    settled = await _settle(runtime, caller.tenant_id, principal_id, was, user.active)
    return await _answer(runtime, caller, row, groups, 200, settled)


@protocol.endpoint
async def replace_user(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    body = await protocol.json_body(request)
    with POLICY:
        user = UserResource.model_validate(body, scim_ctx=scim.Context.RESOURCE_REPLACEMENT_REQUEST)
    return await _change(runtime, request, caller, lambda _current: user, "scim.user.replace")


@protocol.endpoint
async def patch_user(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    body = await protocol.json_body(request)
    with POLICY:
        patch = UserPatch.model_validate(body, scim_ctx=scim.Context.RESOURCE_PATCH_REQUEST)

    def patched(user: Any) -> Any:
        with POLICY:
            patch.patch(user)
        return user

    return await _change(runtime, request, caller, patched, "scim.user.patch")


@protocol.endpoint
async def delete_user(runtime: Runtime, request: web.Request, caller: Caller) -> web.Response:
    principal_id = protocol.int_id(request.match_info["id"], texts.NOT_FOUND_USER)
    async with runtime.db.uow() as uow:
        row = protocol.present(
            await uow.repo(ScimRepo).user(caller.tenant_id, principal_id, lock=True),
            texts.NOT_FOUND_USER, principal_id)
        if "If-Match" in request.headers:
            versions.check(request, version(row, await _groups(uow, row)))
        # The deactivation runs in transactions of its own, so no lock is held across it; the
        # IdP's last word is "inactive" first, which a racing PATCH's _settle then follows.
        row.scim = {**(row.scim or {}), "active": False}
        await uow.commit()
    await _settle(runtime, caller.tenant_id, principal_id, row.active, False)
    async with runtime.db.uow() as uow:
        found = await uow.repo(ScimRepo).user(caller.tenant_id, principal_id, lock=True)
        if found is not None:
            await uow.repo(ScimRepo).leave_all(found.id)
            # Deleted means no way back in: their chat links and own role grants go too, so a
            # later create with the same email starts from nothing (the audit keeps the past).
            await uow.session.execute(delete(ChatIdentity).where(
                ChatIdentity.tenant_id == caller.tenant_id, ChatIdentity.principal_id == found.id))
            await uow.session.execute(delete(RoleAssignment).where(
                RoleAssignment.tenant_id == caller.tenant_id,
                RoleAssignment.principal_id == found.id))
            found.user_name = found.scim = found.external_id = None
            found.updated_at = utcnow()
            await _audit(uow, caller, "scim.user.delete", found)
            await uow.commit()
    return web.Response(status=204)
