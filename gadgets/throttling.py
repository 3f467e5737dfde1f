"""Rate limits for makeRequest, per gadget instance and viewer.

DRF's ``SimpleRateThrottle`` keeps every request time of the window in one
cache entry and rewrites the whole list on each request, which costs more
the higher the rate. The proxy's rates are high (thousands a minute), so
this throttle keeps DRF's configuration (``DEFAULT_THROTTLE_RATES`` with
the ``makerequest`` scope, rates such as ``"6000/min"``) but counts in
fixed windows with one atomic increment: O(1) per request in Redis and in
the local-memory cache alike.

A cache that does not answer (Redis down) lets the request through with a
warning: a rate limit must not take the proxy down with it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .security_token import SecurityToken

logger = logging.getLogger(__name__)


class GadgetRateThrottle(SimpleRateThrottle):
    """At most ``rate`` makeRequests per window for one viewer of one gadget
    instance; the view sets ``security_token`` before throttles run."""

    scope = "makerequest"

    def __init__(self) -> None:
        super().__init__()
        limit, seconds = self.parse_rate(self.rate)
        self.limit: int = limit or 0
        self.window_seconds: int = seconds or 0

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token: SecurityToken | None = getattr(view, "security_token", None)
        if token is None:
            return None
        material = f"{token.viewer}\n{token.gadget_url}\n{token.module_id}"
        ident = hashlib.sha256(material.encode("utf-8")).hexdigest()[:32]
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        if not self.limit or not self.window_seconds:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        window = int(time.time() // self.window_seconds)
        self.key = f"{key}:{window}"
        try:
            count = self._count(self.key)
        except Exception:  # any cache failure fails open
            logger.warning("makeRequest throttle skipped: the cache did not answer")
            return True
        return count <= self.limit

    def _count(self, key: str) -> int:
        # add() wins for exactly one request per window; the rest increment.
        if cache.add(key, 1, timeout=self.window_seconds + 1):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=self.window_seconds + 1)
            return 1

    def wait(self) -> float | None:
        if not self.window_seconds:
            return None
        return self.window_seconds - (time.time() % self.window_seconds)
