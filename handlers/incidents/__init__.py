"""Incident context from ServiceNow: `incident <number>`, `incident list [mine|open]`.

The client is built per tenant (service.py: the tenant's `integrations set servicenow ...`
record, or DESKHAND_SERVICENOW_* for the deployment's own tenant). The incident card's buttons
start a remote session (`remote.start`), a run (`incident.run`, through the instructions' own
`run`) or open the device card (`device.card`). Two listeners (bot/events.py) write back to
ServiceNow: a work note after any command run `for` an incident (notes.py), and a completed
run's results attached to its incident (attach.py). It provides the core's
`bot.tickets.TicketEndUsers` (lookup.END_USERS): the caller of an incident, which the device
actions' email validation checks without importing this package.
"""

from __future__ import annotations

from bot.capability import Capability
from handlers.incidents.config import ServiceNowConfig

CAPABILITY = Capability(
    name="incidents",
    work="handlers.incidents.work:WORK",
    config=ServiceNowConfig,
    demo="handlers.incidents.demo:demo_part",
)
