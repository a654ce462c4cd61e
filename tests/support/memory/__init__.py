"""An in-memory stand-in for engine/store (see tests/support/memory_store.py)."""
