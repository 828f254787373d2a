"""ServiceNow: Table and Attachment API client (`client`, with `auth` and `records`) and a
simulator speaking the same HTTP (`simulator`, `sim_tables`).

Imports nothing of deskhand's: the capability that uses it supplies the instance URL, the
credentials and which incident field names the device; the simulator also runs on its own.
"""
