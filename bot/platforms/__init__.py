"""Platform adapters: each turns its requests into the neutral model and renders cards."""
