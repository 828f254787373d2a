"""Random and hostile SCIM requests (hypothesis): whatever the body, filter or parameters, the
answer is a SCIM error or a success, never a 500, and nothing is logged as an error."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.bot.platforms.test_hostile_input import HYPOTHESIS, json_values, run_sync
from tests.handlers.scim_env import idp, issue_token, scim_server

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
KEYS = ["schemas", "userName", "emails", "active", "name", "displayName", "externalId", "members",
        "Operations", "op", "path", "value", "id", "meta", "groups", "password",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]
ops = st.fixed_dictionaries({"op": st.sampled_from(["add", "Remove", "REPLACE", "x"]) | st.text(max_size=5)},
                            optional={"path": st.sampled_from([
                                "active", "members", 'members[value eq "1"]', "name.givenName",
                                'emails[type eq "work"].value', "userName", "id", "meta",
                                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                            ]) | st.text(max_size=30), "value": json_values})
patches = st.lists(ops, max_size=4).map(lambda o: {"schemas": [PATCH], "Operations": o})
bodies = st.one_of(json_values, st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6),
                   st.dictionaries(st.sampled_from(KEYS), json_values, max_size=4).map(
                       lambda d: {"schemas": [USER], "userName": "fuzz@example.com", **d}), patches)
filters = st.one_of(st.text(max_size=60), st.builds(
    lambda a, o, v: f"{a} {o} {v}", st.sampled_from(["userName", "emails.value", "members.value",
                                                   "id", "displayName", "meta.created", "x"]),
    st.sampled_from(["eq", "ne", "co", "pr", "and", "gt"]),
    st.text(max_size=20).map(json.dumps) | st.integers().map(str) | st.just("true")))
requests = st.one_of(
    st.tuples(st.sampled_from(["POST /Users", "PUT /Users/{u}", "PATCH /Users/{u}",
                               "POST /Groups", "PUT /Groups/{g}", "PATCH /Groups/{g}"]), bodies,
              st.just({})),
    st.tuples(st.sampled_from(["GET /Users", "GET /Groups"]), st.none(), st.dictionaries(
        st.sampled_from(["filter", "startIndex", "count", "attributes", "excludedAttributes"]),
        filters, max_size=3)),
    st.tuples(st.sampled_from(["GET", "DELETE", "PATCH"]).map(lambda m: m + " /Users/") , st.none(),
              st.just({})).map(lambda t: (t[0] + "{junk}", t[1], t[2])),
)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def test_random_scim_requests_never_answer_500(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    async with scim_server(tmp_path) as server, idp(server, await issue_token(server)) as client:
        _, _, user = await client.call("POST", "/Users", {
            "schemas": [USER], "userName": "target@example.com"})
        _, _, group = await client.call("POST", "/Groups", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Target",
            "members": [{"value": user["id"]}]})
        loop = asyncio.get_running_loop()
        seen: list[int] = []

        @HYPOTHESIS
        @given(requests, st.text(max_size=12))
        def case(request: tuple[str, Any, dict[str, str]], junk: str) -> None:
            line, body, params = request
            method, path = line.split(" ", 1)
            path = path.format(u=user["id"], g=group["id"], junk=junk.replace("/", ""))
            status, _, answer = run_sync(loop, lambda: client.call(
                method, path, body, params=params or None))
            seen.append(status)
            assert status < 500, (status, line, body, params, answer)
            if status >= 400:
                assert answer["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]

        await asyncio.to_thread(case)
        assert 400 in seen and not errors(caplog), errors(caplog)[:3]
