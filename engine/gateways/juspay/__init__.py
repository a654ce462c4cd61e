"""Juspay Express Checkout: connector (flows, IO) plus builders, transformers and events (pure mapping)."""

from engine.gateways.juspay.connector import JuspayConnector, JuspayCredentials

__all__ = ["JuspayConnector", "JuspayCredentials"]
