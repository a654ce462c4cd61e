"""``/schema/openapi.json`` documents every response body and status, and real responses
conform: each is decoded strictly (unknown fields refused) into the Struct the spec names for
its status."""

from __future__ import annotations

import httpx
import msgspec

from api.docs import MerchantCreated, PaymentMethodList, PaymentWithSecret, RoutingObject, WebhookAck
from engine.merchant_webhooks.events import EventList, EventObject
from engine.merchant_webhooks.objects import (
    DeletedEndpoint,
    DeliveryAttemptList,
    Redelivery,
    WebhookEndpointList,
    WebhookEndpointObject,
)
from engine.views import (
    CustomerList,
    CustomerObject,
    ErrorObject,
    PaymentList,
    PaymentObject,
    RefundList,
    RefundObject,
)
from tests.e2e.test_gateways_e2e import card
from tests.support.stack import ADMIN_TOKEN

STRUCTS = {s.__name__: s for s in (PaymentObject, PaymentList, RefundObject, RefundList, CustomerObject, CustomerList, ErrorObject,
                                   MerchantCreated, RoutingObject, WebhookAck, EventList, EventObject,
                                   DeletedEndpoint, DeliveryAttemptList, Redelivery, WebhookEndpointList,
                                   WebhookEndpointObject, PaymentWithSecret, PaymentMethodList)}  # fmt: skip
NOT_JSON = "/v1/callbacks/"  # the browser's return: an HTML page or a redirect


async def openapi(stack) -> dict:
    async with stack.client() as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_every_v1_operation_documents_a_body_for_every_status(stack):
    spec = await openapi(stack)
    undocumented = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/v1/") or path.startswith(NOT_JSON):
            continue
        for method, operation in operations.items():
            assert len(operation["responses"]) >= 3, (method, path)  # success and its errors
            for status, response in operation["responses"].items():
                ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
                if ref.rsplit("/", 1)[-1] not in STRUCTS:
                    undocumented.append((method.upper(), path, status))
    assert undocumented == []


def documented(spec: dict, method: str, path: str, status: int) -> type:
    response = spec["paths"][path][method]["responses"].get(str(status))
    assert response is not None, f"{method.upper()} {path} answered {status}, which it does not document"
    return STRUCTS[response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]


async def test_real_responses_conform_to_what_the_spec_documents(stack, merchant):
    spec = await openapi(stack)
    http = merchant.http
    seen: list[tuple[str, int]] = []

    async def check(method: str, template: str, response: httpx.Response) -> dict:
        struct = documented(spec, method, template, response.status_code)
        msgspec.json.decode(response.content, type=struct, strict=True)  # raises on any drift
        seen.append((template, response.status_code))
        return response.json()

    ok = {"type": "card", "card": {"number": "4111111111111111", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    created = await check(
        "post", "/v1/payments", await http.post("/v1/payments", json={"amount": 900, "currency": "INR"})
    )
    item = "/v1/payments/{payment_id}"
    await check(
        "post", item + "/confirm", await http.post(f"/v1/payments/{created['id']}/confirm", json={"payment_method": ok})
    )
    await check("get", item, await http.get(f"/v1/payments/{created['id']}"))
    await check("get", item, await http.get("/v1/payments/pay_doesnotexist0000000"))
    await check("get", "/v1/payments", await http.get("/v1/payments", params={"limit": 2}))
    await check("get", "/v1/payments", await http.get("/v1/payments", params={"limit": 0}))
    declined = await http.post(
        "/v1/payments",
        json={"amount": 900, "currency": "INR", "confirm": True, "payment_method": card("4000000000000002")},
    )
    await check("post", "/v1/payments", declined)
    await check("post", item + "/capture", await http.post(f"/v1/payments/{created['id']}/capture"))
    await check("post", item + "/cancel", await http.post(f"/v1/payments/{created['id']}/cancel"))
    await check("post", item + "/sync", await http.post(f"/v1/payments/{created['id']}/sync"))
    await check(
        "post", "/v1/refunds", await http.post("/v1/refunds", json={"payment_id": created["id"], "amount": 100})
    )
    again = await http.post("/v1/payments", json={"amount": 5, "currency": "INR"}, headers={"Idempotency-Key": "x"})
    await check("post", "/v1/payments", again)
    reused = await http.post("/v1/payments", json={"amount": 6, "currency": "INR"}, headers={"Idempotency-Key": "x"})
    await check("post", "/v1/payments", reused)
    customer = await check("post", "/v1/customers", await http.post("/v1/customers", json={"name": "Lata"}))
    await check("get", "/v1/customers/{customer_id}", await http.get(f"/v1/customers/{customer['id']}"))
    await check("get", "/v1/customers", await http.get("/v1/customers", params={"ending_before": customer["id"]}))
    await check("get", "/v1/customers", await http.get("/v1/customers", params={"limit": 500}))
    await check("get", "/v1/refunds", await http.get("/v1/refunds", params={"payment_id": created["id"]}))
    await check("get", "/v1/refunds", await http.get("/v1/refunds", params={"starting_after": "re_nope0000000000"}))
    await check("get", "/v1/payments", await http.get("/v1/payments", params={"ending_before": created["id"]}))
    await check("get", "/v1/merchant/routing", await http.get("/v1/merchant/routing"))
    await check("put", "/v1/merchant/routing", await http.put("/v1/merchant/routing", json={"gateways": ["razorpay"]}))
    await check("post", "/v1/payments", await http.post("/v1/payments", json={"amount": "ten", "currency": "INR"}))
    async with stack.client() as anonymous:
        await check("post", "/v1/payments", await anonymous.post("/v1/payments", json={"amount": 5, "currency": "INR"}))
        hook = await anonymous.post(f"/v1/webhooks/razorpay/{merchant.id}", content=b"{}")
        await check("post", "/v1/webhooks/{gateway}/{merchant_id}", hook)
    hooks, hook = "/v1/webhook_endpoints", "/v1/webhook_endpoints/{endpoint_id}"
    body = {"url": "http://127.0.0.1:9/hook", "enabled_events": ["payment.created"]}
    endpoint = await check("post", hooks, await http.post(hooks, json=body))
    await check("post", hooks, await http.post(hooks, json={"url": "ftp://x", "enabled_events": ["*"]}))
    await check("get", hooks, await http.get(hooks))
    await check("get", hook, await http.get(f"{hooks}/{endpoint['id']}"))
    await check("get", hook, await http.get(f"{hooks}/we_doesnotexist00000"))
    await check("post", hook, await http.post(f"{hooks}/{endpoint['id']}", json={"status": "disabled"}))
    await check("post", hook + "/rotate_secret", await http.post(f"{hooks}/{endpoint['id']}/rotate_secret"))
    await check("get", hook + "/deliveries", await http.get(f"{hooks}/{endpoint['id']}/deliveries"))
    events = await check("get", "/v1/events", await http.get("/v1/events", params={"limit": 3}))
    await check("get", "/v1/events", await http.get("/v1/events", params={"type": "nope"}))
    event_id = events["data"][0]["id"]
    await check("get", "/v1/events/{event_id}", await http.get(f"/v1/events/{event_id}"))
    await check("post", "/v1/events/{event_id}/redeliver", await http.post(f"/v1/events/{event_id}/redeliver"))
    await check("delete", hook, await http.delete(f"{hooks}/{endpoint['id']}"))
    async with stack.client(ADMIN_TOKEN) as admin:
        await check("post", "/v1/admin/merchants", await admin.post("/v1/admin/merchants", json={"name": "Docs"}))
    statuses = {status for _, status in seen}
    assert {200, 201, 400, 401, 402, 404, 409, 422} <= statuses, sorted(statuses)
