"""One package per capability; each declares what it adds in its `CAPABILITY` (bot/capability.py).

The composition root (bot/bootstrap.py) lists them; nothing here imports them all.
"""
