"""deskhand runtime: settings, wiring, router, RBAC, audit, scheduler and platform adapters."""
