"""JSON log lines with request ids, and redaction of card data, keys and secrets."""

from __future__ import annotations

import io
import json
import logging

import pytest

from api.middleware import RequestIdMiddleware, new_request_id, request_id_from_headers
from engine.logs import REDACTED, JsonFormatter, configure_logging, redact, redact_text, request_id_var


@pytest.fixture
def capture() -> logging.Logger:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.logs")
    logger.handlers = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.stream = stream  # type: ignore[attr-defined]
    return logger


def lines(logger: logging.Logger) -> list[dict]:
    raw = logger.stream.getvalue().splitlines()  # type: ignore[attr-defined]
    return [json.loads(line) for line in raw]


@pytest.mark.parametrize(
    "pan",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "378282246310005",
        "6521111111111110123",
    ],
)
def test_pan_is_masked(pan: str) -> None:
    out = redact_text(f"charging card {pan} now")
    assert pan not in out
    assert "****" + pan.replace(" ", "").replace("-", "")[-4:] in out


def test_short_and_long_digit_runs_are_left_alone() -> None:
    assert redact_text("order 123456789012 total") == "order 123456789012 total"  # 12 digits
    twenty = "1" * 20
    assert redact_text(f"trace {twenty}") == f"trace {twenty}"


def test_keys_and_tokens_are_redacted() -> None:
    out = redact_text("key sk_test_abcDEF123456 and sk_live_XYZ789 auth Bearer eyJhbGciOi.payload.sig")
    assert "abcDEF123456" not in out and "XYZ789" not in out and "eyJhbGciOi" not in out
    assert "sk_test_[REDACTED]" in out and "sk_live_[REDACTED]" in out and "Bearer [REDACTED]" in out


def test_inline_secret_pairs_are_redacted() -> None:
    out = redact_text('body {"cvc": "123", "password": "hunter2"} cvv=987 key_secret=abcd')
    for secret in ("123", "hunter2", "987", "abcd"):
        assert secret not in out


def test_structured_values_are_redacted_by_key() -> None:
    value = {
        "card": {"number": "4242424242424242", "cvc": "314", "exp_month": 12},
        "Authorization": "Bearer sk_test_secretvalue",
        "api_key": "anything",
        "key_secret": "rzp-secret",
        "password": "pw",
        "secret": "s",
        "card_number": 4242424242424242,
        "amount": 49900,
        "items": ["4000000000000002", {"cvv": "999"}],
    }
    out = redact(value)
    text = json.dumps(out)
    for secret in ("4242424242424242", "314", "secretvalue", "anything", "rzp-secret", "999"):
        assert secret not in text
    assert out["card"]["number"] == REDACTED and out["card"]["cvc"] == REDACTED
    assert out["card"]["exp_month"] == 12 and out["amount"] == 49900
    assert out["items"][0] == "****0002"


def test_one_json_object_per_line_with_fields(capture: logging.Logger) -> None:
    capture.info("first")
    capture.warning("second\nwith newline", extra={"payment_id": "pay_1", "amount": 100})
    records = lines(capture)
    assert len(records) == 2
    first, second = records
    assert set(first) >= {"ts", "level", "logger", "msg", "request_id"}
    assert first["level"] == "INFO" and first["logger"] == "test.logs" and first["msg"] == "first"
    assert first["ts"].endswith("Z")
    assert second["msg"] == "second\nwith newline"
    assert second["payment_id"] == "pay_1" and second["amount"] == 100


def test_request_id_comes_from_the_context_var(capture: logging.Logger) -> None:
    token = request_id_var.set("req_abc")
    try:
        capture.info("inside")
    finally:
        request_id_var.reset(token)
    capture.info("outside")
    inside, outside = lines(capture)
    assert inside["request_id"] == "req_abc"
    assert outside["request_id"] is None


def test_messages_args_extras_and_exceptions_are_redacted(capture: logging.Logger) -> None:
    capture.info("card %s key %s", "4111111111111111", "sk_test_12345678abc", extra={"cvc": "123"})
    try:
        raise ValueError("bad card 5555555555554444")
    except ValueError:
        capture.exception("failed")
    text = capture.stream.getvalue()  # type: ignore[attr-defined]
    for secret in ("4111111111111111", "sk_test_12345678abc", '"123"', "5555555555554444"):
        assert secret not in text
    first, second = lines(capture)
    assert first["msg"] == "card ****1111 key sk_test_[REDACTED]"
    assert first["cvc"] == REDACTED
    assert "****4444" in second["exc"]


def test_extra_cannot_overwrite_the_standard_fields(capture: logging.Logger) -> None:
    capture.info("real", extra={"level": "fake", "ts": "x"})
    (record,) = lines(capture)
    assert record["level"] == "INFO" and record["extra_level"] == "fake"


def test_configure_logging_routes_uvicorn_through_the_formatter(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("INFO")
    try:
        logging.getLogger("uvicorn.error").info("started with sk_live_abcdef")
        logging.getLogger("uvicorn.access").info("access line")
        err = capsys.readouterr().err.strip().splitlines()
        records = [json.loads(line) for line in err if line.startswith("{")]
        assert [r["logger"] for r in records] == ["uvicorn.error"]
        assert "abcdef" not in records[0]["msg"]
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.captureWarnings(False)


def test_request_id_header_rules() -> None:
    assert request_id_from_headers([(b"x-request-id", b"abc-123_X.y:z")]) == "abc-123_X.y:z"
    for bad in (b"", b"has space", b"x" * 65, b"semi;colon", "é".encode()):
        generated = request_id_from_headers([(b"X-Request-Id", bad)])
        assert generated.startswith("req_") and len(generated) == 36
    assert new_request_id() != new_request_id()


async def test_middleware_sets_context_and_header() -> None:
    seen: list[str | None] = []

    async def app(scope, receive, send) -> None:
        seen.append(request_id_var.get())
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-request-id", b"old")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def call(headers: list[tuple[bytes, bytes]]) -> list[dict]:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b""}

        async def send(message: dict) -> None:
            sent.append(message)

        await RequestIdMiddleware(app)({"type": "http", "headers": headers, "state": {}}, receive, send)
        return sent

    sent = await call([(b"x-request-id", b"client-id-1")])
    assert seen == ["client-id-1"]
    assert [v for k, v in sent[0]["headers"] if k == b"x-request-id"] == [b"client-id-1"]
    assert request_id_var.get() is None

    sent = await call([])
    generated = [v for k, v in sent[0]["headers"] if k == b"x-request-id"]
    assert len(generated) == 1 and generated[0].startswith(b"req_") and seen[-1] == generated[0].decode()
