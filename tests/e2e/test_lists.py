"""Lists where merchants expect them: payments, refunds (all or one payment's) and customers,
newest first, paged forwards with ``starting_after`` and back with ``ending_before``, each
merchant seeing only its own objects -- over real HTTP, against PostgreSQL and the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

EXP_YEAR = datetime.now(UTC).year + 4
CARD = {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": EXP_YEAR, "cvc": "739"}}


@dataclass
class Shop:
    """A merchant with two paid payments, five refunds (three of the first) and four customers."""

    http: httpx.AsyncClient
    payments: list[str]
    refunds: list[str]  # creation order
    first_payment_refunds: list[str]
    customers: list[str]


async def _shop(stack: Any, name: str) -> AsyncIterator[Shop]:
    _, api_key = await stack.new_merchant(name)
    async with stack.client(api_key) as http:
        payments, refunds, first = [], [], []
        for _ in range(2):
            paid = await http.post(
                "/v1/payments", json={"amount": 50000, "currency": "INR", "confirm": True, "payment_method": CARD}
            )
            assert paid.json()["status"] == "succeeded", paid.text
            payments.append(paid.json()["id"])
        for payment_id in (payments[0], payments[1], payments[0], payments[1], payments[0]):
            refund = await http.post("/v1/refunds", json={"payment_id": payment_id, "amount": 1000})
            assert refund.status_code == 200, refund.text
            refunds.append(refund.json()["id"])
            if payment_id == payments[0]:
                first.append(refund.json()["id"])
        customers = []
        for n in range(4):
            created = await http.post("/v1/customers", json={"name": f"Customer {n}"})
            assert created.status_code == 201, created.text
            customers.append(created.json()["id"])
        yield Shop(http, payments, refunds, first, customers)


@pytest_asyncio.fixture
async def shop(stack: Any) -> AsyncIterator[Shop]:
    async for s in _shop(stack, "List Pharmacy"):
        yield s


@pytest_asyncio.fixture
async def rival(stack: Any) -> AsyncIterator[Shop]:
    async for s in _shop(stack, "Rival Pharmacy"):
        yield s


async def _walk(http: httpx.AsyncClient, path: str, query: str = "") -> tuple[list[str], list[str]]:
    """Every id, newest first, paging forwards two at a time; then paging back from the end."""
    forwards: list[str] = []
    cursor = None
    while True:
        response = await http.get(f"{path}?limit=2{query}" + (f"&starting_after={cursor}" if cursor else ""))
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["object"] == "list" and len(page["data"]) <= 2
        forwards += [o["id"] for o in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["data"][-1]["id"]
    backwards: list[str] = []
    cursor = forwards[-1]
    while True:
        response = await http.get(f"{path}?limit=2{query}&ending_before={cursor}")
        assert response.status_code == 200, response.text
        page = response.json()
        ids = [o["id"] for o in page["data"]]
        backwards = ids + backwards  # each page is still newest first
        if not page["has_more"]:
            break
        cursor = ids[0]
    return forwards, backwards


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/payments", lambda s: s.payments),
        ("/v1/refunds", lambda s: s.refunds),
        ("/v1/customers", lambda s: s.customers),
    ],
)
async def test_every_list_pages_forwards_and_back_over_the_same_objects(shop: Shop, path: str, expected) -> None:
    forwards, backwards = await _walk(shop.http, path)
    newest_first = expected(shop)[::-1]
    assert forwards == newest_first
    assert backwards == newest_first[:-1]  # everything newer than the oldest, in the same order


async def test_a_payments_refunds_are_listed_on_their_own(shop: Shop) -> None:
    forwards, backwards = await _walk(shop.http, "/v1/refunds", f"&payment_id={shop.payments[0]}")
    assert forwards == shop.first_payment_refunds[::-1]
    assert backwards == shop.first_payment_refunds[::-1][:-1]
    whole = (await shop.http.get(f"/v1/refunds?payment_id={shop.payments[1]}&limit=100")).json()
    assert {r["payment_id"] for r in whole["data"]} == {shop.payments[1]} and whole["has_more"] is False


async def test_a_full_page_just_before_a_cursor_says_there_is_more(shop: Shop) -> None:
    newest_first = shop.customers[::-1]
    page = (await shop.http.get(f"/v1/customers?limit=2&ending_before={newest_first[-1]}")).json()
    assert [c["id"] for c in page["data"]] == newest_first[1:3] and page["has_more"] is True
    page = (await shop.http.get(f"/v1/customers?limit=5&ending_before={newest_first[-1]}")).json()
    assert [c["id"] for c in page["data"]] == newest_first[:3] and page["has_more"] is False


async def test_each_merchant_lists_only_its_own(shop: Shop, rival: Shop) -> None:
    for path, mine, theirs in (
        ("/v1/refunds", shop.refunds, rival.refunds),
        ("/v1/customers", shop.customers, rival.customers),
    ):
        page = (await shop.http.get(f"{path}?limit=100")).json()
        ids = {o["id"] for o in page["data"]}
        assert ids == set(mine) and not ids & set(theirs), path


@pytest.mark.parametrize("path", ["/v1/payments", "/v1/refunds", "/v1/customers"])
@pytest.mark.parametrize(
    ("query", "status", "param"),
    [
        ("limit=0", 400, "limit"),
        ("limit=101", 400, "limit"),
        ("limit=ten", 400, "limit"),
        ("starting_after=x_1&ending_before=x_2", 400, "ending_before"),
        ("starting_after=nope_000000000000000000000000", 404, "starting_after"),
        ("ending_before=nope_000000000000000000000000", 404, "ending_before"),
        ("ending_before=%27%3B%20DROP%20TABLE%20payments%3B--", 404, "ending_before"),
        ("starting_after=" + "a" * 65, 400, None),
    ],
)
async def test_bad_page_arguments_get_a_clear_error(shop: Shop, path: str, query: str, status: int, param) -> None:
    response = await shop.http.get(f"{path}?{query}")
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error.get("param") == param, error


async def test_another_merchants_ids_are_unknown_cursors_and_filters(shop: Shop, rival: Shop) -> None:
    cases = [
        (f"/v1/refunds?starting_after={rival.refunds[0]}", "starting_after"),
        (f"/v1/refunds?ending_before={rival.refunds[0]}", "ending_before"),
        (f"/v1/customers?starting_after={rival.customers[0]}", "starting_after"),
        (f"/v1/payments?ending_before={rival.payments[0]}", "ending_before"),
        (f"/v1/refunds?payment_id={rival.payments[0]}", "payment_id"),
        ("/v1/refunds?payment_id=pay_000000000000000000000000", "payment_id"),
        (f"/v1/refunds?starting_after={shop.customers[0]}", "starting_after"),  # the wrong kind of id
    ]
    for url, param in cases:
        response = await shop.http.get(url)
        assert response.status_code == 404, f"{url}: {response.text}"
        assert response.json()["error"]["param"] == param, url
