"""What POST /slack/events accepts, checked before slack-bolt sees the request.

A request must carry a well-formed timestamp and signature, be fresh (Slack's 5-minute window)
and signed with our signing secret (or, while it is being rotated, the previous one: both are
tried): otherwise 401. Its body must then be what Slack sends: a
slash command form, an interactive `payload` (a JSON object of a known shape) or an Events API
JSON object, nested no deeper than Slack ever nests: otherwise 400. Each refusal is one WARNING
line and a short reason in the answer; nothing malformed reaches bolt, the inbox or a handler.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs

from bot.platforms.bodies import BadBody, Body, field, json_object, strings

WINDOW = 300  # seconds either side of now, as Slack documents
_HEX = frozenset("0123456789abcdef")


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def verify(headers: Mapping[str, str], body: bytes, secrets: Sequence[str],
           now: float | None = None) -> str:
    """The request's signature (used as its replay key) if Slack signed this body with one of
    `secrets` (the current signing secret, then the previous); else Refused(401)."""
    stamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise Refused(401, "missing or malformed X-Slack-Request-Timestamp")
    if not (signature.isascii() and signature.startswith("v0=") and len(signature) == 67
            and set(signature[3:]) <= _HEX):
        raise Refused(401, "missing or malformed X-Slack-Signature")
    if abs((now if now is not None else time.time()) - int(stamp)) > WINDOW:
        raise Refused(401, "the request is older than Slack's five-minute window")
    signed = b"v0:" + stamp.encode() + b":" + body
    if not any(hmac.compare_digest(signature[3:], hmac.new(
            secret.encode(), signed, hashlib.sha256).hexdigest()) for secret in secrets if secret):
        raise Refused(401, "the signature does not match this body")
    return signature


def check_body(content_type: str, body: bytes) -> dict[str, str] | None:
    """Refused(400) unless the body has the shape Slack gives each kind of request. A slash
    command's form is returned, read (the adapter takes it in without bolt); None otherwise."""
    try:
        text = body.decode("utf-8")
        if content_type == "application/json":
            _event(json_object(text))
            return None
        if content_type == "application/x-www-form-urlencoded":
            return _form(parse_qs(text, keep_blank_values=True, strict_parsing=False,
                                  max_num_fields=100))
        raise BadBody("the body must be a form or JSON")
    except UnicodeDecodeError:
        raise Refused(400, "the body must be UTF-8") from None
    except BadBody as exc:
        raise Refused(400, str(exc)) from None
    except ValueError:  # parse_qs: more fields than any Slack form has
        raise Refused(400, "the form has too many fields") from None


def _form(form: dict[str, list[str]]) -> dict[str, str] | None:
    if any(len(values) != 1 for values in form.values()):
        raise BadBody("a form field is repeated")
    if "payload" in form:
        _interaction(json_object(form["payload"][0], "payload"))
        return None
    if not form.get("command", [""])[0].startswith("/"):
        raise BadBody("a form body is a slash command (command=/...) or a payload")
    return {name: values[0] for name, values in form.items()}


def _event(body: Body) -> None:
    kind = field(body, "type", str, required=True)
    if kind == "url_verification":
        field(body, "challenge", str, required=True)
    elif kind == "event_callback":
        field(body, "event_id", str, required=True)
        strings(field(body, "event", dict, required=True), "type", "user", "text", "channel",
                "channel_type", "ts", "thread_ts", "subtype", "bot_id")


# The string fields deskhand reads from the objects of an interactive payload.
_STRINGS = {"user": ("id", "username", "name", "team_id"), "team": ("id",), "channel": ("id",),
            "container": ("type", "channel_id", "message_ts"), "message": ("ts", "thread_ts")}


def _interaction(payload: Body) -> None:
    kind = field(payload, "type", str, required=True)
    field(payload, "user", dict, required=True)
    for key in ("view", "state", "actions", *_STRINGS):  # bolt reads these when present
        if key in payload and payload[key] is None:
            raise BadBody(f"`{key}` is null")
    field(payload, "view", dict)
    strings(payload, "response_url", "trigger_id")
    for key, names in _STRINGS.items():
        strings(field(payload, key, dict), *names)
    _state(field(payload, "state", dict))
    actions = field(payload, "actions", list, required=kind == "block_actions")
    if actions is not None:  # bolt matches every action by its action_id
        if not actions or not all(isinstance(a, dict) and isinstance(a.get("action_id"), str)
                                  for a in actions):
            raise BadBody("`actions` must be a list of objects, each with an action_id")
        for action in actions:
            strings(action, "block_id", "value")
    if kind == "view_submission":
        view = field(payload, "view", dict, required=True)
        strings(view, "private_metadata")
        _state(field(view, "state", dict))


def _state(state: Body | None) -> None:
    """state.values: block id -> action id -> the input's value object."""
    values = field(state, "values", dict) if state else None
    for block in (values or {}).values():
        if not isinstance(block, dict) or not all(isinstance(v, dict) for v in block.values()):
            raise BadBody("`state.values` has the wrong shape")
