"""The chaos suite: a seeded mixed workload against real engine processes while a driver kills the
engine, restarts PostgreSQL, stops Redis and injects gateway faults; then checks against the
sandbox's own ledger (``make chaos``; README "Chaos suite")."""
