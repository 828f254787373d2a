"""TeamViewer: Web API client (`client`), OAuth (`oauth`), the tenant's connection and OAuth
callback (`service`), and a simulator speaking the same HTTP (`simulator`).

Kept import-light on purpose: the simulator runs as its own process without deskhand's runtime.
"""
