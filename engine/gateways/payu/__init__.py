"""PayU India: connector (flows, IO) plus builders, transformers and events (pure mapping)."""

from engine.gateways.payu.connector import PayuConnector, PayuCredentials

__all__ = ["PayuConnector", "PayuCredentials"]
