"""Same-origin checks for the forms and sockets deskhand serves to browsers.

A browser names the page a POST or a WebSocket came from (`Origin`). Only deskhand's own site
counts: the host the request reached, or the public URL's host, which is what a browser sees
behind a reverse proxy that rewrites `Host`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web


def same_origin(request: web.Request, public_url: str = "") -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    own = {request.host, urlsplit(public_url).netloc} - {""}
    return origin.split("://", 1)[-1] in own
