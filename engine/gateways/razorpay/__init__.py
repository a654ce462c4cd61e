"""Razorpay: connector (flows, IO) plus transformers and events (wire types, pure mapping)."""

from engine.gateways.razorpay.connector import RazorpayConnector, RazorpayCredentials

__all__ = ["RazorpayConnector", "RazorpayCredentials"]
