"""An IdP simulator (aiohttp) with an Entra-style and an Okta-style token endpoint that accept a
client assertion only when a certificate uploaded for that client signed it.

* Entra: `GET /{tenant}/v2.0/.well-known/openid-configuration` (what msal asks with authority
  validation and instance discovery off), `POST /{tenant}/oauth2/v2.0/token`; the assertion names
  its certificate by `x5t` (SHA-1) or `x5t#S256`; errors are AADSTS-style.
* Okta: `POST /oauth2/v1/token` (the org authorization server), `POST /oauth2/{server}/v1/token`
  and its `GET /oauth2/{server}/.well-known/openid-configuration` (a custom one);
  the assertion names its key by `kid` (the thumbprint, as deskhand registers it); Okta's errors.
* Admin (as an admin would in the Entra or Okta console): `POST /_admin/clients/{client}/certificates`
  with a PEM body uploads a certificate, `GET` lists them, `DELETE .../{thumbprint}` removes one.

Run alone: `python -m integrations.idp.simulator --port 8720` (plain http: Okta-style only,
since msal wants https; `--tls-cert/--tls-key` serve TLS).
"""

from __future__ import annotations

import base64
import secrets
import ssl
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from aiohttp import web
from aiohttp.typedefs import Handler
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from integrations.simulator_kit import LOOPBACK, FaultSwitches, VendorSimulator, arguments

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class Uploaded:
    thumbprint: str  # SHA-1 hex, upper case, as Entra shows it
    sha256: str
    certificate: x509.Certificate


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Refusal(Exception):
    def __init__(self, error: str, aadsts: int, text: str) -> None:
        super().__init__(text)
        self.error, self.aadsts, self.text = error, aadsts, text


class IdpSimulator(VendorSimulator[FaultSwitches]):
    def __init__(self, *, switches: FaultSwitches | None = None, seed: int | None = None) -> None:
        super().__init__(switches or FaultSwitches(), seed)
        self.clients: dict[str, dict[str, Uploaded]] = {}  # client id -> thumbprint -> cert
        self.issued: list[dict[str, str]] = []  # {client, thumbprint, style} per token handed out
        self.refusals: list[str] = []

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self.entra_discovery)
        r.add_post("/{tenant}/oauth2/v2.0/token", self.entra_token)
        r.add_get("/oauth2/{server}/.well-known/openid-configuration", self.okta_discovery)
        r.add_post("/oauth2/{server}/v1/token", self.okta_token)  # a custom authorization server
        r.add_post("/oauth2/v1/token", self.okta_token)  # the org authorization server (okta.* scopes)
        r.add_get("/_admin/clients/{client}/certificates", self.list_certificates)
        r.add_post("/_admin/clients/{client}/certificates", self.upload)
        r.add_delete("/_admin/clients/{client}/certificates/{thumbprint}", self.remove)

    # --- uploads ---------------------------------------------------------------------------

    def trust(self, client_id: str, pem: str | bytes) -> str:
        """Upload a certificate for a client (the admin route, and tests); its thumbprint."""
        cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
        found = Uploaded(cert.fingerprint(hashes.SHA1()).hex().upper(),  # SHA-1: the x5t Entra shows
                         cert.fingerprint(hashes.SHA256()).hex().upper(), cert)
        self.clients.setdefault(client_id, {})[found.thumbprint] = found
        return found.thumbprint

    async def upload(self, request: web.Request) -> web.Response:
        try:
            thumbprint = self.trust(request.match_info["client"], await request.read())
        except ValueError:
            return web.json_response({"error": "invalid_request",
                                      "error_description": "The body is not a PEM certificate."},
                                     status=400)
        return web.json_response({"thumbprint": thumbprint}, status=201)

    async def list_certificates(self, request: web.Request) -> web.Response:
        found = self.clients.get(request.match_info["client"], {})
        return web.json_response([{"thumbprint": u.thumbprint,
                                   "subject": u.certificate.subject.rfc4514_string(),
                                   "not_after": u.certificate.not_valid_after_utc.isoformat()}
                                  for u in found.values()])

    async def remove(self, request: web.Request) -> web.Response:
        found = self.clients.get(request.match_info["client"], {})
        gone = found.pop(request.match_info["thumbprint"].upper(), None)
        return web.Response(status=204 if gone else 404)

    # --- discovery -------------------------------------------------------------------------

    def _base(self, request: web.Request) -> str:
        return f"{request.scheme}://{request.host}{self.prefix}"

    async def entra_discovery(self, request: web.Request) -> web.Response:
        root = f"{self._base(request)}/{request.match_info['tenant']}"
        return web.json_response({
            "issuer": f"{root}/v2.0", "token_endpoint": f"{root}/oauth2/v2.0/token",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "jwks_uri": f"{root}/discovery/v2.0/keys"})

    async def okta_discovery(self, request: web.Request) -> web.Response:
        root = f"{self._base(request)}/oauth2/{request.match_info['server']}"
        return web.json_response({
            "issuer": root, "token_endpoint": f"{root}/v1/token",
            "authorization_endpoint": f"{root}/v1/authorize",
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"]})

    # --- tokens ----------------------------------------------------------------------------

    def _check(self, form: dict[str, str], audience: str, entra: bool) -> tuple[str, Uploaded]:
        if form.get("grant_type") != "client_credentials":
            raise Refusal("unsupported_grant_type", 70003, "The grant type must be client_credentials.")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise Refusal("invalid_client", 7000218,
                          "The request body must contain client_assertion (private_key_jwt).")
        assertion = form["client_assertion"]
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Refusal("invalid_client", 50027, "The client assertion is not a JWT.") from None
        client = str(claims.get("iss") or "")
        if form.get("client_id") and form["client_id"] != client:
            raise Refusal("invalid_client", 700021, "client_id does not match the assertion's issuer.")
        known = self.clients.get(client)
        if not client or known is None:
            raise Refusal("invalid_client", 700016,
                          f"Application with identifier '{client}' was not found.")
        found = self._key(known, header, entra)
        if found is None:
            named = header.get("x5t") or header.get("x5t#S256") or header.get("kid") or "-"
            raise Refusal("invalid_client", 700027,
                          "Client assertion contains an invalid signature. [Reason - The key was not "
                          f"found., Thumbprint of key used by client: '{named}']")
        now = datetime.now(UTC)
        cert = found.certificate
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise Refusal("invalid_client", 700027, "The certificate used by the client has expired.")
        try:
            jwt.decode(assertion, cert.public_key(), algorithms=["RS256", "PS256"],  # type: ignore[arg-type]
                       audience=audience, issuer=client, leeway=60,
                       options={"require": ["exp", "aud", "iss", "sub"]})
        except jwt.InvalidAudienceError:
            raise Refusal("invalid_client", 700212,
                          f"The client assertion's audience must be '{audience}'.") from None
        except jwt.ExpiredSignatureError:
            raise Refusal("invalid_client", 700024,
                          "Client assertion is not within its valid time range.") from None
        except jwt.PyJWTError as exc:
            raise Refusal("invalid_client", 700027,
                          f"Client assertion contains an invalid signature. ({exc})") from None
        if claims.get("sub") != client:
            raise Refusal("invalid_client", 700023, "The assertion's sub must be the client id.")
        return client, found

    @staticmethod
    def _key(known: dict[str, Uploaded], header: dict[str, Any], entra: bool) -> Uploaded | None:
        if entra:  # msal pads the base64url thumbprint, RFC 7515 does not: accept both
            x5t = str(header.get("x5t") or "").rstrip("=")
            s256 = str(header.get("x5t#S256") or "").rstrip("=")
            for u in known.values():
                if x5t == _b64(bytes.fromhex(u.thumbprint)) or s256 == _b64(bytes.fromhex(u.sha256)):
                    return u
            return None
        return known.get(str(header.get("kid") or "").upper())

    async def _token(self, request: web.Request, entra: bool) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        audience = f"{request.scheme}://{request.host}{request.path}"
        try:
            client, found = self._check(form, audience, entra)
        except Refusal as no:
            self.refusals.append(no.text)
            return self._refused(no, entra)
        self.issued.append({"client": client, "thumbprint": found.thumbprint,
                            "style": "entra" if entra else "okta"})
        token = secrets.token_urlsafe(32)
        return web.json_response({"token_type": "Bearer", "expires_in": 3599,
                                  "ext_expires_in": 3599, "access_token": token,
                                  "scope": form.get("scope", "")})

    def _refused(self, no: Refusal, entra: bool) -> web.Response:
        status = 401 if no.error == "invalid_client" else 400
        if not entra:
            return web.json_response({"error": no.error, "error_description": no.text}, status=status)
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        return web.json_response({
            "error": no.error, "error_description": f"AADSTS{no.aadsts}: {no.text} Trace ID: {trace} "
                                                    f"Correlation ID: {corr}",
            "error_codes": [no.aadsts], "timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": trace, "correlation_id": corr}, status=status)

    async def entra_token(self, request: web.Request) -> web.Response:
        return await self._token(request, entra=True)

    async def okta_token(self, request: web.Request) -> web.Response:
        return await self._token(request, entra=False)

    # --- the kit's hooks -------------------------------------------------------------------

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix(self.prefix)
        if path.startswith(("/_control", "/_admin")):
            return await handler(request)
        self.hits[f"{request.method} {path}"] += 1
        fault = await self.inject_faults(f"{request.method} {path}")
        return fault if fault is not None else await handler(request)

    def rate_limited(self, retry_after: int) -> web.Response:
        return web.json_response({"error": "temporarily_unavailable",
                                  "error_description": "Too many requests."},
                                 status=429, headers={"Retry-After": str(retry_after)})

    def failed(self, status: int, message: str) -> web.Response:
        return web.json_response({"error": "server_error", "error_description": message},
                                 status=status)

    def control_state(self) -> dict[str, Any]:
        return {"clients": {c: sorted(k) for c, k in self.clients.items()},
                "issued": len(self.issued), "refused": len(self.refusals)}


async def serve_tls(sim: IdpSimulator, certificate_file: str, key_file: str,
                    host: str = LOOPBACK, port: int = 0) -> tuple[web.AppRunner, str]:
    """Listen with TLS (msal calls only https authorities); returns the runner and base URL."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate_file, key_file)
    runner = web.AppRunner(sim.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=context).start()
    return runner, f"https://{host}:{runner.addresses[0][1]}"


def main() -> None:
    p = arguments("IdP simulator (Entra- and Okta-style token endpoints)", 8720)
    p.add_argument("--tls-cert", default="")
    p.add_argument("--tls-key", default="")
    args = p.parse_args()
    sim = IdpSimulator(switches=FaultSwitches(latency=args.latency))
    context = None
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key or None)
    web.run_app(sim.app(), host=args.host, port=args.port, access_log=None, print=None,
                ssl_context=context)


if __name__ == "__main__":
    main()

