"""Health, readiness, metrics and the OpenAPI docs."""

from __future__ import annotations


async def test_health_and_readiness(stack):
    async with stack.client() as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


async def test_openapi_schema_documents_the_api(stack):
    async with stack.client() as http:
        spec = (await http.get("/schema/openapi.json")).json()
        ui = await http.get("/schema/swagger")
    for path in ("/v1/payments", "/v1/payments/{payment_id}/confirm", "/v1/refunds", "/v1/merchant/routing"):
        assert path in spec["paths"], path
    assert "CreatePayment" in str(spec["components"]["schemas"])
    assert ui.status_code == 200


async def test_metrics_count_requests(merchant, stack):
    await merchant.http.get("/v1/payments")
    created = (await merchant.http.post("/v1/payments", json={"amount": 1000, "currency": "INR"})).json()
    await merchant.http.get(f"/v1/payments/{created['id']}")
    async with stack.client() as http:
        text = (await http.get("/metrics")).text
    assert 'payment_engine_http_requests_total{method="GET",route="/v1/payments",status="200"}' in text
    assert 'payment_engine_http_request_seconds_count{method="GET",route="/v1/payments"}' in text
    # Ids never become label values: a retrieved payment counts under its route template.
    assert 'route="/v1/payments/{payment_id}",status="200"' in text
    assert "pay_" not in "".join(line for line in text.splitlines() if "payment_engine_http" in line)
    assert "payment_engine_gateway_calls_total" in text


async def test_gateway_calls_are_counted(merchant, stack):
    card = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    await merchant.http.post(
        "/v1/payments", json={"amount": 1000, "currency": "INR", "confirm": True, "payment_method": card}
    )
    async with stack.client() as http:
        text = (await http.get("/metrics")).text
    assert 'payment_engine_gateway_calls_total{gateway="razorpay",operation="authorize",outcome="captured"}' in text


async def test_every_response_carries_a_request_id(merchant):
    ok = await merchant.http.get("/v1/payments")
    missing = await merchant.http.get("/v1/nowhere")
    echoed = await merchant.http.get("/v1/payments", headers={"X-Request-Id": "trace-123"})
    assert ok.headers["x-request-id"].startswith("req_")
    assert missing.status_code == 404 and missing.headers["x-request-id"].startswith("req_")
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert echoed.headers["x-request-id"] == "trace-123"
