"""The local web console: a third chat platform over the same router (demo and dev)."""
