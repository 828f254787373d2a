"""The `filter` parameter: parsed by scim2-models, then narrowed to what Okta and Entra send
(`eq` comparisons joined by `and`, on the attributes they look people and groups up by, and the
value-path forms Entra uses: `emails[type eq "work"].value eq "..."`, `members[value eq "..."]`),
which storage/scim.py turns into bound SQL parameters. Anything else is `invalidFilter` naming
what is supported, so no text of a filter ever reaches SQL.
"""

from __future__ import annotations

from typing import Any

import scim2_models as scim
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    ValuePath,
)

from handlers.scim import texts
from handlers.scim.models import ENTERPRISE, Group, UserResource
from storage.scim import Term

MAX_FILTER = 1000
USER_SCHEMA = str(scim.User.__schema__).lower()
GROUP_SCHEMA = str(scim.Group.__schema__).lower()

# lower-cased attribute path -> the name storage/scim.py knows it by
USER_ATTRS = {"username": "userName", "externalid": "externalId", "id": "id",
              "displayname": "displayName", "emails.value": "emails.value",
              "emails": "emails.value"}
GROUP_ATTRS = {"displayname": "displayName", "externalid": "externalId", "id": "id",
               "members.value": "members.value", "members": "members.value"}
# the multi-valued attribute a value path may filter -> the sub-attributes it may compare
VALUE_PATHS = {"user": ("emails", {"value", "type"}), "group": ("members", {"value"})}
SUPPORTED = {
    "user": "userName, emails.value, emails[type eq \"...\"].value, externalId, id, displayName",
    "group": "displayName, externalId, id, members (members.value, members[value eq \"...\"])",
}
EXAMPLES = {"user": 'userName eq "ada@example.com"', "group": 'displayName eq "Help Desk"'}


def terms(raw: str | None, kind: str) -> list[Term]:
    """The terms a filter ands together; [] without a filter."""
    if raw is None or not raw.strip():
        return []
    if len(raw) > MAX_FILTER:
        raise scim.InvalidFilterException(detail=texts.FILTER_TOO_LONG.format(limit=MAX_FILTER))
    model: Any = UserResource if kind == "user" else Group
    try:
        node = scim.ScimFilter[model](raw).ast
    except scim.SCIMException:
        raise
    except (ValueError, RecursionError) as exc:  # the parser's own refusals, deep nesting
        raise scim.InvalidFilterException(detail=str(exc)[:200]) from None
    found: list[Term] = []
    _collect(node, kind, found)
    return found


def _unsupported(kind: str) -> scim.InvalidFilterException:
    return scim.InvalidFilterException(detail=texts.FILTER_ONLY.format(
        attrs=SUPPORTED[kind], example=EXAMPLES[kind]))


def _collect(node: FilterNode, kind: str, out: list[Term]) -> None:
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        for term in node.terms:
            _collect(term, kind, out)
        return
    if isinstance(node, Comparison) and node.op == CompareOperator.eq:
        name = _attribute(node.attr_path, kind)
        if name is not None:
            out.append(Term(name, _text(name, node.value)))
            return
    if isinstance(node, ValuePath):
        out.append(_value_path(node, kind))
        return
    raise _unsupported(kind)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise scim.InvalidFilterException(detail=texts.FILTER_VALUE.format(attr=name, value=value))
    return value


def _own(path: AttrPath, kind: str) -> bool:
    """The path names an attribute of the resource's core schema (with or without its URI)."""
    uri = (path.uri or "").lower()
    return not uri or uri == (USER_SCHEMA if kind == "user" else GROUP_SCHEMA)


def _attribute(path: AttrPath, kind: str) -> str | None:
    # Enterprise attributes are kept, not indexed: not a lookup key.
    if not _own(path, kind) or (path.uri or "").lower() == ENTERPRISE.lower():
        return None
    key = path.attr.lower() + (f".{path.sub_attr.lower()}" if path.sub_attr else "")
    return (USER_ATTRS if kind == "user" else GROUP_ATTRS).get(key)


def _value_path(node: ValuePath, kind: str) -> Term:
    """`emails[type eq "work" and value eq "x"]` (which `emails[type eq "work"].value eq "x"`
    parses to), `emails[value eq "x"]`, `members[value eq "x"]`: one term."""
    attr, allowed = VALUE_PATHS[kind]
    path = node.attr_path
    if path.attr.lower() != attr or path.sub_attr or node.sub_attr or not _own(path, kind):
        raise _unsupported(kind)
    inner = node.val_filter
    anded = isinstance(inner, LogicalExpr) and inner.op == LogicalOperator.and_
    parts = inner.terms if isinstance(inner, LogicalExpr) and anded else (inner,)
    compared: dict[str, str] = {}
    for part in parts:
        if not (isinstance(part, Comparison) and part.op == CompareOperator.eq):
            raise _unsupported(kind)
        sub = part.attr_path.attr.lower()
        if part.attr_path.sub_attr or part.attr_path.uri or sub not in allowed or sub in compared:
            raise _unsupported(kind)
        compared[sub] = _text(f"{attr}.{sub}", part.value)
    if "value" not in compared:
        raise _unsupported(kind)
    return Term(f"{attr}.value", compared["value"], compared.get("type"))
