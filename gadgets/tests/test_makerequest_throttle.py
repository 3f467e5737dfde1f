"""makeRequest's rate limit: per viewer of one gadget instance, fail-open."""

from __future__ import annotations

import pytest

from gadgets import throttling
from gadgets.security_token import encode_token

from .test_makerequest_view import WEATHER, make_request, result_of, token_for


@pytest.fixture
def three_per_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        throttling.GadgetRateThrottle, "THROTTLE_RATES", {"makerequest": "3/min"}
    )


async def test_requests_over_the_rate_get_429_with_retry_after(
    fake_upstream, three_per_minute
) -> None:
    fake_upstream.add("https://api.example.com/data", "ok")
    for _ in range(3):
        result_of(await make_request({"nocache": "1"}))

    response = await make_request({"nocache": "1"})

    assert response.status_code == 429
    assert b"too many requests" in response.content
    assert 1 <= int(response["Retry-After"]) <= 61
    assert len(fake_upstream.calls) == 3


async def test_the_limit_is_per_viewer_and_module(
    fake_upstream, three_per_minute
) -> None:
    fake_upstream.add("https://api.example.com/data", "ok")
    for _ in range(3):
        await make_request({"nocache": "1"})

    assert (await make_request({"nocache": "1"})).status_code == 429
    bob = encode_token(owner="bob", viewer="bob", gadget_url=WEATHER)
    result_of(await make_request({"nocache": "1", "st": bob}))
    other_module = token_for(WEATHER, module_id=2)
    result_of(await make_request({"nocache": "1", "st": other_module}))


async def test_a_cache_that_does_not_answer_lets_requests_through(
    fake_upstream, three_per_minute, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_upstream.add("https://api.example.com/data", "ok")

    def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("cache down")

    monkeypatch.setattr(throttling.cache, "add", broken)
    for _ in range(5):
        result_of(await make_request({"nocache": "1"}))


def test_off_disables_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        throttling.GadgetRateThrottle, "THROTTLE_RATES", {"makerequest": None}
    )
    throttle = throttling.GadgetRateThrottle()
    assert throttle.allow_request(None, None)  # type: ignore[arg-type]
