"""What POST /api/messages accepts before botbuilder parses it: a Bot Framework activity.

The body must be a JSON object of bounded depth whose fields deskhand reads have the types the
Bot Framework sends (strings, objects, lists of objects); anything else is a 400 with the reason,
checked before authentication so a malformed body never reaches msrest's deserializer.
"""

from __future__ import annotations

from typing import Any

from bot.platforms.bodies import BadBody, Body, field, json_object, strings


def check_activity(text: str) -> Body:
    """The activity as JSON; BadBody unless it has the Bot Framework's shape."""
    data = json_object(text)
    kind = field(data, "type", str, required=True)
    if kind in ("message", "invoke"):  # what deskhand answers: who, where, and how to reach it
        field(data, "serviceUrl", str, required=True)
        field(field(data, "conversation", dict, required=True), "id", str, required=True)
        field(field(data, "from", dict, required=True), "id", str, required=True)
    strings(data, "id", "name", "text", "textFormat", "serviceUrl", "channelId", "replyToId",
            "locale", "timestamp", "action")
    strings(field(data, "from", dict), "id", "name", "aadObjectId", "role")
    strings(field(data, "recipient", dict), "id", "name")
    conversation = field(data, "conversation", dict)
    strings(conversation, "id", "tenantId", "conversationType", "name")
    channel_data = field(data, "channelData", dict) or {}
    field(channel_data, "eventType", str)
    for key in ("tenant", "team", "channel"):
        strings(field(channel_data, key, dict), "id", "name")
    for key in ("entities", "attachments", "membersAdded", "membersRemoved"):
        _objects(field(data, key, list), key)
    value = data.get("value")
    if kind == "invoke" and isinstance(value, dict):
        strings(field(value, "action", dict), "type", "verb", "title")
    return data


def _objects(items: list[Any] | None, key: str) -> None:
    if items is not None and not all(isinstance(i, dict) for i in items):
        raise BadBody(f"`{key}` must be a list of objects")
