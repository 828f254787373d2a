"""IdP certificates: `cert list|download|activate`, the rollover job and the IdP proof.

deskhand signs its client assertions to Entra or Okta with a certificate it makes itself
(lifecycle.py: a new one when none is usable, at 90% of the active one's validity); an admin
uploads the public half to the IdP and activates it, which a real token request must prove
(activation.py, integrations/idp). Private keys are sealed with the secret key ring.
"""

from __future__ import annotations

from bot.capability import Capability
from handlers.certificates.config import IdpSettings

CAPABILITY = Capability(
    name="certificates",
    work="handlers.certificates.work:WORK",
    config=IdpSettings,
    demo="handlers.certificates.demo:demo_part",
)
