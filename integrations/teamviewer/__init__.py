"""TeamViewer: Web API client (`client`), OAuth with a pluggable token store (`oauth`), and a
simulator speaking the same HTTP (`simulator`, `simulator_oauth`).

Imports nothing of deskhand's: the capability that uses it (handlers/remote) supplies the
configuration and keeps the tokens; the simulator also runs as its own process.
"""
