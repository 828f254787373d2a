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
from bot.events import COMMAND_FINISHED, Listener
from handlers.incidents import commands
from handlers.incidents.attach import attach_results
from handlers.incidents.cards import RUNS
from handlers.incidents.config import ServiceNowConfig
from handlers.incidents.lookup import END_USERS
from handlers.incidents.notes import write_note
from handlers.incidents.service import INTEGRATION
from handlers.instructions.states import RUN_FINISHED

CAPABILITY = Capability(
    name="incidents",
    commands=commands.COMMANDS,
    actions=commands.ACTIONS,
    permissions=("incident.read", *RUNS),
    config=ServiceNowConfig,
    integration=INTEGRATION,
    services=(END_USERS,),
    listeners=(Listener(COMMAND_FINISHED, write_note), Listener(RUN_FINISHED, attach_results)),
    demo="handlers.incidents.demo:demo_part",
)
