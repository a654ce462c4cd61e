"""Paytm PG: connector (flows, IO) plus builders, transformers and events (pure mapping)."""

from engine.gateways.paytm.connector import PaytmConnector, PaytmCredentials

__all__ = ["PaytmConnector", "PaytmCredentials"]
