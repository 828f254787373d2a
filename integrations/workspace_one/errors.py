"""Workspace ONE's error answers (integrations.md 3.2) mapped to plain messages for chat.

The body is `{"errorCode": 1005, "message": "...", "activityId": "<guid>"}`; a few legacy
endpoints answer `{"Faults": {"Fault": [{"ErrorCode": ..., "Message": ...}]}}`, and a gateway
may answer with no JSON at all. The activity id is what Workspace ONE support asks for, so it is
kept on the error and said in the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.http import Cause, VendorError, attempts_of, scrub

if TYPE_CHECKING:
    import httpx

VENDOR = "Workspace ONE"


class WorkspaceOneError(VendorError):
    def __init__(self, status: int | None, code: str, message: str, correlation_id: str, *,
                 activity_id: str = "", maybe_applied: bool = False, attempts: int = 1,
                 cause: Cause | None = None) -> None:
        super().__init__(VENDOR, status, code, message, correlation_id,
                         maybe_applied=maybe_applied, attempts=attempts, cause=cause)
        self.activity_id = activity_id


def _fields(response: httpx.Response) -> tuple[str, str, str]:
    """(errorCode, message, activityId), empty where the body does not say."""
    try:
        body: Any = response.json()
    except ValueError:
        return "", "", ""
    if not isinstance(body, dict):
        return "", "", ""
    faults = (body.get("Faults") or {}).get("Fault") if isinstance(body.get("Faults"), dict) else None
    if isinstance(faults, list) and faults and isinstance(faults[0], dict):
        body = faults[0]
    lowered = {str(k).lower(): v for k, v in body.items()}
    return (str(lowered.get("errorcode") or ""), str(lowered.get("message") or ""),
            str(lowered.get("activityid") or ""))


def error_of(response: httpx.Response, cid: str, *, auth_mode: str, secrets: list[str],
             command: bool = False) -> WorkspaceOneError:
    """The error for an answer deskhand did not expect; `command`: the request asked a device
    to do something, so an answer that may hide a success must say so."""
    status = response.status_code
    code, said, activity = _fields(response)
    said = scrub(said, secrets)[:300].strip()
    tries = attempts_of(response)
    detail = f"error {code}: {said}" if code and said else said or (f"error {code}" if code else "")
    maybe_applied = False
    if status == 401:
        text = (f"{VENDOR} refused deskhand's sign-in (401{', ' + detail if detail else ''}). An "
                "administrator should check " + (
                    "the API account (a Basic admin with an API role) and the tenant code "
                    "(aw-tenant-code)." if auth_mode == "basic" else
                    "the OAuth client (its role in Workspace ONE) and the tenant code."))
    elif status == 403:
        text = (f"{VENDOR} says deskhand's account may not do this (403"
                f"{', ' + detail if detail else ''}). Give its API role this permission.")
    elif status in (404, 410):
        text = f"{VENDOR} does not know that device ({status}{', ' + detail if detail else ''})."
    elif status == 429:
        text = f"{VENDOR} is rate limiting deskhand (its API quota); try again later."
    elif status >= 500 and command:
        maybe_applied = status in (500, 502, 504)
        text = (f"{VENDOR} had a problem (HTTP {status}{', ' + detail if detail else ''}) and "
                "the command may or may not have reached the device. Check the device in "
                f"{VENDOR} before sending it again." if maybe_applied else
                f"{VENDOR} is unavailable (HTTP {status}); nothing was sent. Try again later.")
    elif status >= 500:
        text = (f"{VENDOR} had a problem (HTTP {status}{', ' + detail if detail else ''}) and it "
                f"persisted after {tries} {'try' if tries == 1 else 'tries'}. Try again in a few "
                "minutes.")
    else:
        text = f"{VENDOR} rejected the request (HTTP {status}): {detail or 'no detail'}."
    if activity:
        text += f" {VENDOR} activity id: {activity}."
    return WorkspaceOneError(status, f"ws1_{code}" if code else f"http_{status}", text, cid,
                             activity_id=activity, maybe_applied=maybe_applied, attempts=tries)


def not_json(status: int, path: str, cid: str) -> WorkspaceOneError:
    return WorkspaceOneError(status, "bad_response", (
        f"{VENDOR} answered {path} with something that is not JSON; is the API URL the tenant's "
        "API host (https://asNNN.awmdm.com/api/)?"), cid, cause=Cause.UNAVAILABLE)
