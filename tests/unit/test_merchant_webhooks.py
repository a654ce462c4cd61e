"""Pure parts of merchant webhooks: signatures checked against the official ``standardwebhooks``
package both ways, the address rules of the SSRF guard, event objects and the retry ladder."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
import standardwebhooks

from engine.config import load_settings
from engine.merchant_webhooks.addresses import (
    AddressRefused,
    PublicOnlyResolver,
    check_url,
    public_address,
    split_url,
)
from engine.merchant_webhooks.events import PUBLIC_TYPES, event_object, internal_types_of
from engine.merchant_webhooks.signing import headers, new_secret, sign


def test_our_signature_is_what_the_official_package_computes() -> None:
    secret = new_secret()
    body = b'{"id":"evt_1","type":"payment.succeeded"}'
    stamp = datetime(2026, 12, 2, 20, 0, tzinfo=UTC)
    ours = sign(secret, "evt_1", int(stamp.timestamp()), body)
    theirs = standardwebhooks.Webhook(secret).sign("evt_1", stamp, body.decode())
    assert ours == theirs


def test_secret_format_and_spec_vector() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert new_secret() != secret
    # The example of the Standard Webhooks specification.
    spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert sign(spec_secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_two_secrets_give_two_signatures_each_verifying() -> None:
    old, new = new_secret(), new_secret()
    body = b'{"x":1}'
    now = int(datetime.now(UTC).timestamp())
    signed = headers([new, old], "evt_2", now, body)
    assert len(signed["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        standardwebhooks.Webhook(secret).verify(body, signed)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(new_secret()).verify(body, signed)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("93.184.215.14", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("::1", False),
        ("10.1.2.3", False),
        ("172.31.255.255", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("fe80::1%eth0", False),
        ("fd00:ec2::254", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("0.0.0.0", False),
        ("100.64.0.1", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
    ],
)
def test_public_address(address: str, public: bool) -> None:
    assert public_address(address) is public


@pytest.mark.parametrize("url", ["ftp://x.example/", "https://", "http://u:p@x.example/", "http://x.example:99999/"])
def test_split_url_refuses(url: str) -> None:
    with pytest.raises(AddressRefused):
        split_url(url)


async def test_check_url_resolves_and_checks_every_address() -> None:
    with pytest.raises(AddressRefused):
        await check_url("http://localhost:8080/", allow_private=False)
    await check_url("http://localhost:8080/", allow_private=True)
    await check_url("https://8.8.8.8/hook", allow_private=False)


def test_event_object_uses_public_names_and_drops_client_secret() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = event_object("evt_3", "payment.payment_failed", {"id": "pay_1", "client_secret": "cs_x"}, created)
    assert event.type == "payment.failed" and event.created == int(created.timestamp())
    assert event.data.object == {"id": "pay_1"}
    assert internal_types_of("payment.requires_capture") == ["payment.amount_capturable_updated"]
    assert not any(t.startswith("attempt.") for t in PUBLIC_TYPES)


def test_retry_schedule_setting() -> None:
    assert load_settings({}).webhook_retry_schedule == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert load_settings({"WEBHOOK_RETRY_SCHEDULE": "0,0.5,1"}).webhook_retry_schedule == (0, 0.5, 1)


async def test_the_delivery_resolver_refuses_a_host_with_a_private_address() -> None:
    resolver = PublicOnlyResolver()
    try:
        with pytest.raises(OSError, match="non-public"):
            await resolver.resolve("localhost", 80)
        assert [r["host"] for r in await resolver.resolve("8.8.8.8", 443)] == ["8.8.8.8"]
    finally:
        await resolver.close()
