"""Each workspace's own vendor configuration: `integrations list|set|unset|test`.

The integrations themselves are declared by their capabilities (`Capability.integration`,
bot/integration.py); their clients per tenant live in bot/tenant_clients.py. `deskhand check`
(bot/check_cli.py) runs the same checks from the command line.
"""

from __future__ import annotations

from bot.capability import Capability

CAPABILITY = Capability(name="integration_admin", work="handlers.integration_admin.work:WORK")
