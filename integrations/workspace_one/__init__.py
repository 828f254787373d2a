"""Workspace ONE UEM: REST API client (`client`, with `auth` and `models`), the platforms each
device action applies to (`actions`), and a simulator speaking the same HTTP (`simulator`).

Imports nothing of deskhand's: the capability that uses it supplies the configuration (URLs,
credentials, tenant code) and decides what a person may do; the simulator also runs alone.
"""
