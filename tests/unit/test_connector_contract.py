"""Every connector implements the whole contract, and its declared capabilities match what it
implements: the engine checks capabilities instead of probing connectors at run time. Webhooks:
each connector only declares its proof (``webhook_proof``), and one core function compares it in
constant time (``common.webhook_verified``) -- genuine, tampered, foreign, missing and malformed
proofs of every gateway, signed with the sandbox's code (the other side of the wire)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
from urllib.parse import urlencode

import pytest

from engine import signing
from engine.gateways import registry
from engine.gateways.base import CustomerConnector, GatewayConnector, WebhookProof
from engine.gateways.common import webhook_verified
from engine.gateways.http import new_client
from sandbox.paytm import checksum as paytm_checksum
from sandbox.payu import hashes as payu_hashes

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


# --- webhook proofs: connectors declare, the core compares -----------------------------------------

OTHER_CREDENTIALS = {
    "razorpay": {**CREDENTIALS["razorpay"], "webhook_secret": "w2"},
    "paytm": {**CREDENTIALS["paytm"], "merchant_key": "fedcba9876543210"},
    "payu": {**CREDENTIALS["payu"], "salt": "s2"},
    "juspay": {**CREDENTIALS["juspay"], "webhook_password": "p2"},
}
PAYU_FIELDS = {"key": "k", "txnid": "txn1", "amount": "10.00", "productinfo": "Order", "firstname": "Asha",
               "email": "asha@example.com", "status": "success", "mihpayid": "403993715"}  # fmt: skip
PAYU_REFUND = {"action": "refund", "request_id": "rq1", "mihpayid": "403993715", "status": "success",
               "amt": "10.00", "key": "k"}  # fmt: skip
PAYTM_FIELDS = {"ORDERID": "att_1", "MID": "m", "TXNID": "T1", "TXNAMOUNT": "10.00", "STATUS": "TXN_SUCCESS"}
PAYTM_REFUND_BODY = '{"orderId":"att_1","refId":"re_1","refundAmount":"1.00","status":"SUCCESS"}'


def _basic(user: str, password: str, scheme: str = "Basic", gap: str = " ") -> dict[str, str]:
    return {"Authorization": scheme + gap + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _signed(gateway: str, variant: str = "payment") -> tuple[dict[str, str], bytes]:
    """A genuine webhook for ``CREDENTIALS[gateway]``, signed with the sandbox's own code (the other
    side of the wire), never the connector's."""
    if gateway == "razorpay":
        body = b'{"entity":"event","event":"payment.captured","payload":{"payment":{"entity":{"amount":1000}}}}'
        return {"X-Razorpay-Signature": hmac.new(b"w", body, hashlib.sha256).hexdigest()}, body
    if gateway == "juspay":
        return _basic("u", "p"), b'{"id":"evt_1","event_name":"ORDER_SUCCEEDED","content":{"amount":1000}}'
    if gateway == "payu" and variant == "refund":
        signed = "|".join(["s", *(PAYU_REFUND[n] for n in ("status", "amt", "request_id", "mihpayid", "key"))])
        return {}, json.dumps({**PAYU_REFUND, "hash": payu_hashes.sha512(signed)}).encode()
    if gateway == "payu":
        return {}, urlencode({**PAYU_FIELDS, "hash": payu_hashes.reverse_hash(PAYU_FIELDS, "s")}).encode()
    if variant == "refund":
        signature = paytm_checksum.generate(PAYTM_REFUND_BODY, "0123456789abcdef")
        return {}, (
            '{"head":{"signature":"' + signature + '","version":"v1"},"body":' + PAYTM_REFUND_BODY + "}"
        ).encode()
    fields = {**PAYTM_FIELDS, "CHECKSUMHASH": paytm_checksum.generate(PAYTM_FIELDS, "0123456789abcdef")}
    return {}, urlencode(fields).encode()


VARIANTS = [(g, "payment") for g in registry.SUPPORTED_GATEWAYS] + [("payu", "refund"), ("paytm", "refund")]
# Juspay's Basic auth does not cover the body (reference §4.8: no HMAC is documented), so only the
# other three can tell a tampered body.
BODY_SIGNED = [v for v in VARIANTS if v[0] != "juspay"]
WITHOUT_PROOF = {"razorpay": ({}, b"{}"), "juspay": ({"X-Other": "1"}, b"{}"),
                 "payu": ({}, urlencode(PAYU_FIELDS).encode()), "paytm": ({}, urlencode(PAYTM_FIELDS).encode())}  # fmt: skip
MALFORMED = {"razorpay": ({"X-Razorpay-Signature": "zz"}, b"{}"), "juspay": ({"Authorization": "Basic !!!"}, b"{}"),
             "payu": ({}, urlencode({**PAYU_FIELDS, "hash": "not-a-hash"}).encode()),
             "paytm": ({}, urlencode({**PAYTM_FIELDS, "CHECKSUMHASH": "%%%notbase64"}).encode())}  # fmt: skip


def _connector(gateway: str, credentials: dict[str, str] | None = None) -> GatewayConnector:
    creds = credentials or CREDENTIALS[gateway]
    return registry.build_connector(gateway, creds, base_url="http://127.0.0.1:9", client=new_client())


@pytest.mark.parametrize(("gateway", "variant"), VARIANTS)
def test_a_genuine_webhook_verifies(gateway: str, variant: str) -> None:
    headers, body = _signed(gateway, variant)
    proof = _connector(gateway).webhook_proof(headers, body)
    assert proof is not None and proof.presented and proof.expected
    assert webhook_verified(_connector(gateway), headers, body)


@pytest.mark.parametrize(("gateway", "variant"), BODY_SIGNED)
def test_a_tampered_body_does_not_verify(gateway: str, variant: str) -> None:
    headers, body = _signed(gateway, variant)
    tampered = body.replace(b"10.00", b"99.00").replace(b"1000", b"9000").replace(b"1.00", b"9.00")
    assert tampered != body and not webhook_verified(_connector(gateway), headers, tampered)


@pytest.mark.parametrize(("gateway", "variant"), VARIANTS)
def test_a_webhook_for_another_secret_does_not_verify(gateway: str, variant: str) -> None:
    headers, body = _signed(gateway, variant)
    assert not webhook_verified(_connector(gateway, OTHER_CREDENTIALS[gateway]), headers, body)


@pytest.mark.parametrize("gateway", registry.SUPPORTED_GATEWAYS)
def test_no_proof_is_none_and_never_verifies(gateway: str) -> None:
    headers, body = WITHOUT_PROOF[gateway]
    assert _connector(gateway).webhook_proof(headers, body) is None
    assert not webhook_verified(_connector(gateway), headers, body)


@pytest.mark.parametrize("gateway", registry.SUPPORTED_GATEWAYS)
def test_a_malformed_proof_does_not_verify(gateway: str) -> None:
    headers, body = MALFORMED[gateway]
    assert not webhook_verified(_connector(gateway), headers, body)


@pytest.mark.parametrize(
    ("headers", "ok"),
    [(_basic("u", "p", "basic"), True), (_basic("u", "p", "BASIC"), True), (_basic("u", "p", gap="  \t"), True),
     ({"authorization": " " + _basic("u", "p")["Authorization"] + " "}, True), (_basic("u", "p", "Bearer"), False),
     ({"Authorization": "Basic"}, False), (_basic("u", "p:x"), False), (_basic("U", "p"), False)],
)  # fmt: skip
def test_juspay_basic_scheme_is_case_insensitive_and_whitespace_tolerant(headers: dict[str, str], ok: bool) -> None:
    assert webhook_verified(_connector("juspay"), headers, b"{}") is ok


@pytest.mark.parametrize(("gateway", "variant"), VARIANTS)
def test_the_comparison_is_the_cores_one_constant_time_function(
    gateway: str, variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers, body = _signed(gateway, variant)
    connector = _connector(gateway)
    proof = connector.webhook_proof(headers, body)
    assert proof is not None
    calls: list[tuple[object, object]] = []
    real = signing.constant_time_equal

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return bool(real(a, b))

    monkeypatch.setattr(signing, "constant_time_equal", spy)
    assert webhook_verified(connector, headers, body)
    assert calls == [(proof.presented, proof.expected)]
    # The decision is the comparer's: if it says no, no connector overrides it.
    monkeypatch.setattr(signing, "constant_time_equal", lambda a, b: False)
    assert not webhook_verified(connector, headers, body)


def test_an_empty_proof_never_verifies_and_repr_hides_secrets() -> None:
    class Empty:
        def webhook_proof(self, headers: dict[str, str], body: bytes) -> WebhookProof:
            return WebhookProof("test", b"", b"")

    assert not webhook_verified(Empty(), {}, b"")  # type: ignore[arg-type]
    assert "s3cr3t" not in repr(WebhookProof("http-basic", b"u:s3cr3t", b"u:s3cr3t"))
