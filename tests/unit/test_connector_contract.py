"""Every connector implements the whole contract, and its declared capabilities match what it
implements: the engine checks capabilities instead of probing connectors at run time."""

from __future__ import annotations

import inspect

import pytest

from engine.gateways import registry
from engine.gateways.base import CustomerConnector, GatewayConnector
from engine.gateways.http import new_client

CREDENTIALS = {
    "razorpay": {"key_id": "k", "key_secret": "s", "webhook_secret": "w"},
    "paytm": {"mid": "m", "merchant_key": "0123456789abcdef"},
    "payu": {"key": "k", "salt": "s"},
    "juspay": {"merchant_id": "m", "api_key": "a", "response_key": "r", "webhook_username": "u",
               "webhook_password": "p"},
}  # fmt: skip


def _flows(protocol: type) -> set[str]:
    return {name for name, value in vars(protocol).items() if inspect.isfunction(value) and not name.startswith("_")}


@pytest.fixture(params=registry.SUPPORTED_GATEWAYS)
def connector(request: pytest.FixtureRequest) -> object:
    gateway = request.param
    return registry.build_connector(gateway, CREDENTIALS[gateway], base_url="http://127.0.0.1:9", client=new_client())


def test_every_connector_implements_every_flow_of_the_contract(connector):
    missing = {flow for flow in _flows(GatewayConnector) if not callable(getattr(connector, flow, None))}
    assert missing == set(), f"{type(connector).__name__} lacks {missing}"
    for flow in _flows(GatewayConnector):
        assert inspect.iscoroutinefunction(getattr(connector, flow)) == inspect.iscoroutinefunction(
            getattr(GatewayConnector, flow)
        ), f"{type(connector).__name__}.{flow} is sync/async unlike the contract"


def test_the_customers_capability_is_exactly_the_connectors_that_register_customers(connector):
    declared = registry.capabilities(connector.name).customers
    assert declared == all(callable(getattr(connector, flow, None)) for flow in _flows(CustomerConnector))


def test_capabilities_are_consistent():
    for gateway in registry.SUPPORTED_GATEWAYS:
        caps = registry.capabilities(gateway)
        assert caps.methods and caps.currencies, gateway
        assert not caps.manual_capture or caps.void, f"{gateway}: an authorization it holds must be voidable"
