"""The rate limiter on real Redis: the moving window, bursts, and failing open when Redis is down."""

from __future__ import annotations

import logging
import secrets

import pytest

from engine.store.ratelimit import MerchantRateLimiter, limits_uri, window_of
from tests.support.servers import free_port
from tests.support.stack import Services


def test_window_of_rate_and_burst() -> None:
    assert window_of(10, 0) == (10, 1)
    assert window_of(10, 25) == (30, 3)  # a 3 s window: 30 requests, a burst of 25 fits
    assert window_of(0.5, 0) == (1, 1)
    assert window_of(2, 1) == (2, 1)


def test_limits_uri() -> None:
    assert limits_uri("redis://h:6379/2") == "async+redis://h:6379/2"
    assert limits_uri("rediss://h:6380/0") == "async+rediss://h:6380/0"
    assert limits_uri("unix:///tmp/r.sock?db=3") == "async+redis+unix:///tmp/r.sock?db=3"
    with pytest.raises(ValueError, match="not a Redis URL"):
        limits_uri("http://h")


async def test_a_burst_is_admitted_then_refused_per_merchant(svc: Services) -> None:
    limiter = MerchantRateLimiter(svc.redis_url, per_s=2, burst=4)  # 4 in any 2 s
    merchant, other = f"mer_{secrets.token_hex(6)}", f"mer_{secrets.token_hex(6)}"
    try:
        assert [await limiter.admit(merchant) for _ in range(4)] == [None] * 4
        assert await limiter.admit(merchant) == 2  # retry after the window's length
        assert await limiter.admit(other) is None
    finally:
        await limiter.close()


async def test_redis_down_fails_open_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    limiter = MerchantRateLimiter(f"redis://127.0.0.1:{free_port()}/0", per_s=1)
    try:
        with caplog.at_level(logging.WARNING, logger="engine.ratelimit"):
            assert [await limiter.admit("mer_x") for _ in range(3)] == [None] * 3
    finally:
        await limiter.close()
    warnings = [r for r in caplog.records if r.name == "engine.ratelimit"]
    assert len(warnings) == 1 and "admitting" in warnings[0].getMessage()
