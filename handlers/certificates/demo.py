"""`deskhand demo`: the IdP simulator on the demo's own listener, Okta-style, with the first
certificate already uploaded to it, so `cert activate` succeeds for that one and fails (with the
IdP's error) for one that was never uploaded.

Okta-style because the listener speaks plain http and msal only calls https authorities; to try
Entra, run `python -m integrations.idp.simulator` with TLS and set DESKHAND_IDP_* (docs/certificates.md).
Unless DESKHAND_IDP_KIND is set, the demo configures the simulator.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aiohttp import web

from bot.demo import listener_url
from bot.settings import CoreSettings, section
from handlers.certificates.config import IdpSettings
from handlers.certificates.lifecycle import ensure
from integrations.idp.simulator import IdpSimulator
from storage.certificates import CertificateRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime

PREFIX = "/_sim/idp"
DEMO_CLIENT_ID = "0oa-deskhand-demo"


def demo_part(settings: CoreSettings) -> DemoIdp | None:
    return None if "DESKHAND_IDP_KIND" in os.environ else DemoIdp(settings)


class DemoIdp:
    def __init__(self, settings: CoreSettings) -> None:
        config = section(settings, IdpSettings)
        self.sim = IdpSimulator()
        config.idp_kind = "okta"
        config.idp_token_url = listener_url(settings, f"{PREFIX}/oauth2/v1/token")
        config.idp_client_id = DEMO_CLIENT_ID

    def mount(self, app: web.Application) -> None:
        self.sim.mount(app, PREFIX)

    async def seed(self, runtime: Runtime) -> None:
        await ensure(runtime, runtime.tenant_id)
        async with runtime.db.uow() as uow:
            rows = await uow.repo(CertificateRepo).current(runtime.tenant_id)
        if rows:  # the first one, as an admin would have uploaded it to the IdP app
            self.sim.trust(DEMO_CLIENT_ID, min(rows, key=lambda r: r.id).certificate_pem)
