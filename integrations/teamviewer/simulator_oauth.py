"""The simulator's OAuth half: the authorize page and the token endpoint (integrations.md 1.2).

Codes last 10 minutes and work once; PKCE is optional but enforced once a challenge was sent;
refresh tokens rotate (each works once); `expire_tokens` ends every access token issued so far.
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web


def error(status: int, error: str, description: str, code: int = 1,
          headers: dict[str, str] | None = None) -> web.Response:
    """TeamViewer's error format: {error, error_description, error_code, error_signature}."""
    body = {"error": error, "error_description": description, "error_code": code,
            "error_signature": secrets.token_hex(4)}
    return web.json_response(body, status=status, headers=headers)


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str | None
    method: str
    expires: float
    used: bool = False


class SimulatedOAuth:
    """Mixed into the simulator; `token_ttl` comes from its switches."""

    token_ttl: int

    def init_oauth(self, clients: dict[str, str]) -> None:
        self.clients = dict(clients)  # OAuth client_id -> client_secret
        self.access: dict[str, float] = {}  # access token -> expiry (monotonic)
        self.refresh: set[str] = set()  # refresh tokens not yet used
        self.grants: dict[str, Grant] = {}
        self.token_requests: list[dict[str, str]] = []  # form fields seen, secrets included
        self.issued: list[str] = []  # every access and refresh token handed out

    def oauth_routes(self, app: web.Application, api: str) -> None:
        app.router.add_post(f"{api}/oauth2/token", self.token)
        app.router.add_get("/oauth2/authorize", self.authorize_page)
        app.router.add_post("/oauth2/authorize", self.authorize_decision)

    def expire_tokens(self) -> None:
        """Every access token issued so far stops working (as if 24 h had passed)."""
        for token in self.access:
            self.access[token] = 0.0

    def access_valid(self, token: str) -> bool:
        return self.access.get(token, 0.0) > time.monotonic()

    async def authorize_page(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("response_type") != "code" or q.get("client_id") not in self.clients:
            return web.Response(status=400, text="Unknown client or response_type is not code.")
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in q.items())
        return web.Response(content_type="text/html", text=(
            "<!doctype html><title>TeamViewer sign-in (simulator)</title>"
            "<h1>Allow deskhand to use TeamViewer?</h1><p>Session management for this account.</p>"
            f'<form method="post">{hidden}<button name="decision" value="allow">Allow</button> '
            '<button name="decision" value="deny">Deny</button></form>'))

    async def authorize_decision(self, request: web.Request) -> web.Response:
        form = await request.post()
        f = {k: str(v) for k, v in form.items()}
        if f.get("client_id") not in self.clients or not f.get("redirect_uri"):
            return web.Response(status=400, text="Unknown client.")
        back: dict[str, str] = {"state": f.get("state", "")}
        if f.get("decision") != "allow":
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(f["client_id"], f["redirect_uri"], f.get("code_challenge"),
                                      f.get("code_challenge_method", "plain"), time.monotonic() + 600)
            back["code"] = code
        raise web.HTTPFound(f"{f['redirect_uri']}?{urlencode(back)}")

    async def token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_requests.append(form)
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = request.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if self.clients.get(client_id) != secret or not secret:
            return error(401, "invalid_client", "Client authentication failed.", 2)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            refused = self._check_code(form, client_id)
            if refused:
                return error(400, "invalid_grant", refused, 3)
        elif grant_type == "refresh_token":
            old = form.get("refresh_token", "")
            if old not in self.refresh:
                return error(400, "invalid_grant", "The refresh token is invalid or was used.", 3)
            self.refresh.discard(old)  # rotation: a refresh token works once
        else:
            return error(400, "unsupported_grant_type", "Use authorization_code or refresh_token.", 4)
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.access[access] = time.monotonic() + self.token_ttl
        self.refresh.add(refresh)
        self.issued += [access, refresh]
        return web.json_response({"access_token": access, "token_type": "bearer",
                                  "expires_in": self.token_ttl, "refresh_token": refresh})

    def _check_code(self, form: dict[str, str], client_id: str) -> str | None:
        grant = self.grants.get(form.get("code", ""))
        if grant is None or grant.used or grant.expires < time.monotonic():
            return "The authorization code is invalid, used or expired."
        grant.used = True
        if grant.client_id != client_id:
            return "The code was issued to another client."
        if form.get("redirect_uri") and form["redirect_uri"] != grant.redirect_uri:
            return "redirect_uri does not match the authorize request."
        if grant.challenge:  # PKCE is optional, but once a challenge was sent it is enforced
            verifier = form.get("code_verifier", "")
            if grant.method == "S256":
                digest = hashlib.sha256(verifier.encode()).digest()
                derived = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            else:
                derived = verifier
            if not verifier or not secrets.compare_digest(derived, grant.challenge):
                return "code_verifier does not match the code_challenge."
        return None
