"""Outgoing merchant webhooks: Standard Webhooks signing, the public event types and objects,
and the address rules that keep deliveries off private networks (pure, plus DNS lookups)."""
