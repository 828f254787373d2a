"""The console's sign-in pages and its session cookie (production; bot/console_signin.py).

Opening a link (GET) only shows a "Sign in" button: chat apps and mail scanners fetch links to
preview them, and a GET that used the link up would sign nobody in. The POST uses it, from
this origin only, and answers with the cookie: HttpOnly, SameSite=Strict, Secure (with the
`__Host-` prefix) when the public URL is https, expiring with the session.
"""

from __future__ import annotations

import html
import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiohttp import web

from bot import console_signin
from bot.console_signin import GET_A_LINK, SIGNIN_PATH, SignInRefused
from bot.model import Principal
from bot.origin import same_origin

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("deskhand.console")
HEADERS = {
    "Cache-Control": "no-store",
    # The link's token never leaves in a Referer; same-origin (not no-referrer) because with
    # no-referrer a browser sends the form's POST with `Origin: null`.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
}
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>deskhand console: {title}</title>
<link rel="stylesheet" href="/console/static/console.css"></head>
<body class="signin-page"><main class="signin" data-testid="signin">
<h1><span class="brand-mark" aria-hidden="true">dh</span> {title}</h1>
{body}
</main></body></html>
"""


def page(title: str, body: str, status: int) -> web.Response:
    return web.Response(text=PAGE.format(title=html.escape(title), body=body), status=status,
                        content_type="text/html", headers=HEADERS)


def paragraph(text: str) -> str:
    """Escaped text; `backticks` show as code, as in chat."""
    return "<p>" + re.sub(r"`([^`<]+)`", r"<code>\1</code>", html.escape(text)) + "</p>"


def needed() -> web.Response:
    """What /console shows without a live session."""
    return page("Sign in", paragraph("This console signs you in with a single-use link. " + GET_A_LINK)
                + '<p class="signin-hint">Signed in already in this browser? '
                  '<a href="/console">Open the console</a>.</p>', 401)


class SignIn:
    def __init__(self, runtime: Runtime) -> None:
        self.rt = runtime
        self.secure = runtime.settings.public_url.startswith("https://")
        self.cookie_name = "__Host-deskhand-console" if self.secure else "deskhand-console"

    def routes(self, app: web.Application) -> None:
        app.router.add_get(SIGNIN_PATH + "{token}", self.confirm)
        app.router.add_post(SIGNIN_PATH + "{token}", self.redeem)
        app.router.add_post("/console/signout", self.sign_out)

    def cookie(self, request: web.Request) -> str | None:
        return request.cookies.get(self.cookie_name)

    async def person(self, request: web.Request) -> Principal | None:
        """Who this request's cookie signs in, now; None when nobody."""
        return await console_signin.session_of(self.rt.db, self.cookie(request))

    async def confirm(self, request: web.Request) -> web.Response:
        action = html.escape(SIGNIN_PATH + request.match_info["token"][:64], quote=True)
        return page("Sign in", paragraph("You are about to sign in to the deskhand console in this "
                                         "browser. The link works once.")
                    + f'<form method="post" action="{action}">'
                      '<button class="btn btn-primary" type="submit" data-testid="signin-button">'
                      "Sign in</button></form>", 200)

    async def redeem(self, request: web.Request) -> web.Response:
        if not same_origin(request, self.rt.settings.public_url):
            return page("Sign-in refused", paragraph("That sign-in came from another site."), 403)
        try:
            session = await console_signin.redeem(self.rt.db, request.match_info["token"],
                                                  self.rt.settings.console_session_hours)
        except SignInRefused as exc:
            return page("Sign-in refused", paragraph(str(exc)) + paragraph(GET_A_LINK), 403)
        response = web.HTTPSeeOther("/console", headers=HEADERS)
        response.set_cookie(
            self.cookie_name, session.token, path="/", httponly=True, samesite="Strict",
            secure=self.secure or None,
            max_age=int((session.expires_at - datetime.now(UTC)).total_seconds()))
        log.info("console: %s signed in", session.principal.email)
        raise response

    async def sign_out(self, request: web.Request) -> web.Response:
        if not same_origin(request, self.rt.settings.public_url):
            raise web.HTTPForbidden(text="sign-outs come from the console's own page")
        cookie = self.cookie(request)
        if cookie:
            await console_signin.sign_out(self.rt.db, cookie)
        response = web.Response(status=204, headers=HEADERS)
        response.del_cookie(self.cookie_name, path="/", secure=self.secure or None,
                            httponly=True, samesite="Strict")
        return response
