"""gadgets.caches: direct local-memory calls, and a cache outage as a miss."""

from __future__ import annotations

import logging

import pytest
from django.test import override_settings

from gadgets import caches

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # A port nothing listens on: every call fails at once.
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
    }
}


async def test_local_memory_round_trip() -> None:
    await caches.aset("k", {"a": 1}, 60)
    assert await caches.aget("k") == {"a": 1}
    await caches.adelete("k")
    assert await caches.aget("k", "gone") == "gone"


async def test_a_cache_that_does_not_answer_is_a_miss_with_one_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(caches, "_last_warning", 0.0)
    caplog.set_level(logging.WARNING, logger="gadgets.caches")
    with override_settings(CACHES=DEAD_REDIS):
        await caches.aset("k", "v", 60)
        assert await caches.aget("k", "missing") == "missing"
        await caches.adelete("k")

    warnings = [r for r in caplog.records if r.name == "gadgets.caches"]
    assert len(warnings) == 1
    assert "carrying on without the cache" in warnings[0].getMessage()


async def test_makerequest_answers_while_the_cache_is_down(fake_upstream) -> None:
    from .test_makerequest_view import API, make_request, result_of

    fake_upstream.add(API, "still here")
    with override_settings(CACHES=DEAD_REDIS):
        first = result_of(await make_request({}))
        second = result_of(await make_request({}))

    assert first["body"] == second["body"] == "still here"
    assert len(fake_upstream.calls) == 2
