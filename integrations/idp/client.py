"""A client-assertion token request, the proof that the IdP trusts a certificate.

Entra goes through msal's `ConfidentialClientApplication` with a certificate credential: msal is
synchronous (requests), so it runs in a thread; its authority is the token URL without
`/oauth2/v2.0/token`, with authority validation and instance discovery off, so it only asks that
authority's `v2.0/.well-known/openid-configuration`. msal refuses plain-http authorities, so a
private or test IdP needs TLS (`ca_file` trusts its CA). A fresh application per request: msal
caches tokens, and a proof must reach the IdP.

Okta takes a `private_key_jwt` assertion (RS256, `kid` = the certificate's SHA-1 thumbprint,
`iss` = `sub` = client id, `aud` = the token URL) posted with httpx through the shared policy.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
import ssl
import time
from dataclasses import dataclass
from typing import Any, Literal

from integrations.http import Cause, RetryPolicy, VendorError, new_client, send
from integrations.idp import ENTRA_TOKEN_PATH

Kind = Literal["entra", "okta"]
VENDORS = {"entra": "Microsoft Entra ID", "okta": "Okta"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEFAULT_SCOPES = {"entra": "https://graph.microsoft.com/.default", "okta": "okta.apps.read"}
POLICY = RetryPolicy(attempts=3, backoff=0.25, max_backoff=2.0)
TIMEOUT = 15.0


@dataclass(frozen=True)
class Credential:
    """A certificate and its private key, both PEM; `thumbprint` is the SHA-1 hex of the DER."""

    thumbprint: str
    certificate_pem: str
    private_key_pem: str


@dataclass(frozen=True)
class IssuedToken:
    token_type: str
    expires_in: int  # seconds; the token itself is not kept: it only proved the certificate


@dataclass(frozen=True)
class IdpConfig:
    kind: Kind
    token_url: str
    client_id: str
    scope: str = ""  # empty: DEFAULT_SCOPES[kind]
    ca_file: str = ""  # a CA bundle to trust for this IdP (a private CA, the simulator)

    @property
    def vendor(self) -> str:
        return VENDORS[self.kind]

    @property
    def scopes(self) -> str:
        return self.scope or DEFAULT_SCOPES[self.kind]

    @property
    def authority(self) -> str:
        """Entra's authority (https://login.microsoftonline.com/<tenant>) from its token URL."""
        if not self.token_url.endswith(ENTRA_TOKEN_PATH):
            raise ValueError(f"an Entra token URL ends with {ENTRA_TOKEN_PATH}")
        return self.token_url.removesuffix(ENTRA_TOKEN_PATH)


def refused(config: IdpConfig, status: int | None, body: dict[str, Any], cid: str) -> VendorError:
    """The IdP's own words (`error: error_description`), which say why it refused."""
    code = str(body.get("error") or "error")[:60]
    about = str(body.get("error_description") or body.get("errorSummary") or "no reason given")
    message = f"{config.vendor} refused the token request: {code}: {about[:600]}"
    cause = Cause.UNAVAILABLE if status is not None and status >= 500 else Cause.REJECTED
    return VendorError(config.vendor, status, code, message, cid, cause=cause)


async def request_token(config: IdpConfig, credential: Credential, cid: str) -> IssuedToken:
    """Ask the IdP for a token with a client assertion signed by `credential`; VendorError with
    the IdP's error when it refuses."""
    if config.kind == "entra":
        return await asyncio.to_thread(_entra, config, credential, cid)
    return await _okta(config, credential, cid)


def _entra(config: IdpConfig, credential: Credential, cid: str) -> IssuedToken:
    import msal  # imported here: a deployment on Okta never loads it
    import requests

    session = requests.Session()
    # Per request: requests lets REQUESTS_CA_BUNDLE override a session's `verify` (msal's).
    session.request = functools.partial(  # type: ignore[method-assign]
        session.request, timeout=TIMEOUT, verify=config.ca_file or True)
    try:
        app = msal.ConfidentialClientApplication(
            config.client_id, authority=config.authority, validate_authority=False,
            instance_discovery=False, http_client=session,
            client_credential={"private_key": credential.private_key_pem,
                               "thumbprint": credential.thumbprint})
        result = app.acquire_token_for_client(scopes=[config.scopes])
    except requests.RequestException as exc:
        raise VendorError(config.vendor, None, "unreachable",
                          f"{config.vendor} could not be reached ({type(exc).__name__}).",
                          cid) from None
    except ValueError as exc:  # the authority's discovery document was refused or unreadable
        raise VendorError(config.vendor, None, "discovery",
                          f"{config.vendor} did not describe its authority: {str(exc)[:300]}",
                          cid, cause=Cause.REJECTED) from None
    finally:
        session.close()
    if "access_token" not in result:
        raise refused(config, None, result, cid)
    return IssuedToken(str(result.get("token_type", "Bearer")), int(result.get("expires_in", 0)))


def okta_assertion(config: IdpConfig, credential: Credential, now: float | None = None) -> str:
    import jwt  # imported here, as msal is: only a deployment signing in to Okta needs it

    issued = int(now if now is not None else time.time())
    claims = {"iss": config.client_id, "sub": config.client_id, "aud": config.token_url,
              "iat": issued, "exp": issued + 300, "jti": secrets.token_urlsafe(16)}
    return jwt.encode(claims, credential.private_key_pem, algorithm="RS256",
                      headers={"kid": credential.thumbprint})


async def _okta(config: IdpConfig, credential: Credential, cid: str) -> IssuedToken:
    import httpx

    transport = None
    if config.ca_file:
        transport = httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=config.ca_file))
    async with new_client(timeout=TIMEOUT, transport=transport) as http:
        form = {"grant_type": "client_credentials", "scope": config.scopes,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": okta_assertion(config, credential)}
        # `send` resends a POST only when it never arrived (or a 429/503): the jti is unused.
        response = await send(http, "POST", config.token_url, vendor=config.vendor,
                              correlation_id=cid, policy=POLICY, data=form,
                              headers={"Accept": "application/json"})
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code != 200 or "access_token" not in body:
        raise refused(config, response.status_code, body or {"error": f"HTTP {response.status_code}"},
                      cid)
    return IssuedToken(str(body.get("token_type", "Bearer")), int(body.get("expires_in", 0)))
