"""The `filter` parameter: parsed by scim2-models, then narrowed to what Okta and Entra send
(`eq` comparisons joined by `and`, on the attributes they look people and groups up by), which
storage/scim.py turns into bound SQL parameters. Anything else is `invalidFilter`, so no text of
a filter ever reaches SQL.
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
)

from handlers.scim import texts
from handlers.scim.models import ENTERPRISE, Group, UserResource

MAX_FILTER = 1000
USER_SCHEMA = str(scim.User.__schema__).lower()
GROUP_SCHEMA = str(scim.Group.__schema__).lower()

# lower-cased attribute path -> the name storage/scim.py knows it by
USER_ATTRS = {"username": "userName", "externalid": "externalId", "id": "id",
              "displayname": "displayName", "emails.value": "emails.value",
              "emails": "emails.value"}
GROUP_ATTRS = {"displayname": "displayName", "externalid": "externalId", "id": "id",
               "members.value": "members.value", "members": "members.value"}
EXAMPLES = {"user": 'userName eq "ada@example.com"', "group": 'displayName eq "Help Desk"'}


def terms(raw: str | None, kind: str) -> list[tuple[str, str]]:
    """The (attribute, value) pairs a filter ands together; [] without a filter."""
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
    found: list[tuple[str, str]] = []
    _collect(node, kind, found)
    return found


def _collect(node: FilterNode, kind: str, out: list[tuple[str, str]]) -> None:
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        for term in node.terms:
            _collect(term, kind, out)
        return
    if isinstance(node, Comparison) and node.op == CompareOperator.eq:
        name = _attribute(node.attr_path, kind)
        if name is not None:
            if not isinstance(node.value, str):
                raise scim.InvalidFilterException(
                    detail=texts.FILTER_VALUE.format(attr=name, value=node.value))
            out.append((name, node.value))
            return
    attrs = USER_ATTRS if kind == "user" else GROUP_ATTRS
    raise scim.InvalidFilterException(detail=texts.FILTER_ONLY.format(
        attrs=", ".join(sorted(set(attrs.values()))),
        example=EXAMPLES[kind]))


def _attribute(path: AttrPath, kind: str) -> str | None:
    uri = (path.uri or "").lower()
    own = USER_SCHEMA if kind == "user" else GROUP_SCHEMA
    if uri and uri != own and uri != ENTERPRISE.lower():
        return None
    if uri == ENTERPRISE.lower():
        return None  # enterprise attributes are kept, not indexed: not a lookup key
    key = path.attr.lower() + (f".{path.sub_attr.lower()}" if path.sub_attr else "")
    return (USER_ATTRS if kind == "user" else GROUP_ATTRS).get(key)
