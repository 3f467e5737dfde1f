"""Async access to the Django cache: no needless thread hops, no outage.

Django's async cache methods run the synchronous ones through
``sync_to_async``, one thread hop each. The in-process cache does no I/O,
so on the laptop set-up (and in tests) it is called directly; a cache
that does network I/O (Redis) keeps Django's async methods so the event
loop never blocks on a socket. The warm render and makeRequest paths read
the cache several times per request, which is where this matters.

Every value kept here can be rebuilt (specs, bundles, answers,
registrations), so a cache that does not answer is treated as empty: reads
miss, writes are dropped, and a warning says so at most every
``_WARN_EVERY_SECONDS``. Requests get slower, not broken, while Redis is
down; the cache's socket timeouts (settings) bound each attempt.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

logger = logging.getLogger(__name__)

_WARN_EVERY_SECONDS = 10.0
_last_warning = 0.0


def _store() -> Any:
    return caches["default"]


def _unavailable(operation: str, error: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= _WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning(
            "Cache %s failed (%s); carrying on without the cache",
            operation,
            type(error).__name__,
        )


async def aget(key: str, default: Any = None) -> Any:
    store = _store()
    if isinstance(store, LocMemCache):
        return store.get(key, default)
    try:
        return await store.aget(key, default)
    except Exception as error:  # the cache is an optimisation only
        _unavailable("read", error)
        return default


async def aset(key: str, value: Any, timeout_seconds: float | None) -> None:
    store = _store()
    if isinstance(store, LocMemCache):
        store.set(key, value, timeout_seconds)
        return
    try:
        await store.aset(key, value, timeout_seconds)
    except Exception as error:
        _unavailable("write", error)


async def adelete(key: str) -> None:
    store = _store()
    if isinstance(store, LocMemCache):
        store.delete(key)
        return
    try:
        await store.adelete(key)
    except Exception as error:
        _unavailable("delete", error)
