"""Vendor integrations: one package per vendor, each an httpx client plus an aiohttp simulator."""
