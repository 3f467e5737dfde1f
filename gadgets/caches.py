"""Async access to the Django cache without needless thread hops.

Django's async cache methods run the synchronous ones through
``sync_to_async``, one thread hop each. The in-process cache does no I/O,
so on the laptop set-up (and in tests) it is called directly; a cache
that does network I/O (Redis) keeps Django's async methods so the event
loop never blocks on a socket. The warm render and makeRequest paths read
the cache several times per request, which is where this matters.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache


def _store() -> Any:
    return caches["default"]


async def aget(key: str, default: Any = None) -> Any:
    store = _store()
    if isinstance(store, LocMemCache):
        return store.get(key, default)
    return await store.aget(key, default)


async def aset(key: str, value: Any, timeout_seconds: float | None) -> None:
    store = _store()
    if isinstance(store, LocMemCache):
        store.set(key, value, timeout_seconds)
    else:
        await store.aset(key, value, timeout_seconds)


async def adelete(key: str) -> None:
    store = _store()
    if isinstance(store, LocMemCache):
        store.delete(key)
    else:
        await store.adelete(key)
