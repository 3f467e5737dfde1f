"""Fetch, parse and cache gadget specs: ``get_spec(url)``.

Every render, metadata call and OAuth makeRequest needs the parsed spec,
so the warm path is one cache read: no SQL, no outbound request. The cache
entry remembers when it goes stale (``SPEC_TTL_SECONDS`` after the fetch)
but outlives that by ``STALE_GRACE_SECONDS``, as Shindig's soft expiry
does, so a refresh that fails can still serve the spec it had.

A cold or stale lookup, for ``http://example.com/g.xml``:

1. read the last good copy from ``GadgetSpec`` (one query);
2. fetch the URL through the guarded client, sending ``If-None-Match`` and
   ``If-Modified-Since`` from that copy; a 304 reuses its XML;
3. parse; on success save the copy and cache the ``Spec``;
4. on any failure (HTTP error, timeout, bad XML) serve the stale cache
   entry or the last good copy and record the error on the row; with
   neither, raise the error with a sentence naming the URL.

``nocache=True`` (``/gadgets/ifr?nocache=1``, a developer's reload) skips
the cache read and goes straight to step 1; it still falls back on failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import timezone

from . import caches, outbound
from .errors import DestinationBlocked, GadgetError, SpecError, SpecFetchError
from .locked_domain import canonical_gadget_url
from .models import GadgetSpec
from .spec import parse_spec
from .spec_model import Spec

logger = logging.getLogger(__name__)

# How long a stale spec stays in the cache as a fallback for failed refreshes.
STALE_GRACE_SECONDS = 24 * 3600

# Bump when Spec or _Entry change shape, so old pickles are never read back.
CACHE_FORMAT_VERSION = 1

_refreshing: dict[str, asyncio.Task[Spec]] = {}


@dataclass(frozen=True)
class _Entry:
    spec: Spec
    fresh_until: float  # time.time() after which the spec is refetched


@dataclass(frozen=True)
class _Fetched:
    xml: bytes
    etag: str
    last_modified: str


def cache_key(url: str) -> str:
    """The cache key of the parsed spec at a canonical ``url``."""
    digest = hashlib.sha256(url.encode("utf-8")).hexdigest()
    return f"gadgets:spec:v{CACHE_FORMAT_VERSION}:{digest}"


async def get_spec(url: str, *, nocache: bool = False) -> Spec:
    """The parsed spec at ``url``, from the cache when it is fresh."""
    canonical = canonical_gadget_url(url)
    entry = await caches.aget(cache_key(canonical))
    if entry is not None and not nocache and entry.fresh_until > time.time():
        return entry.spec
    return await _refresh_once(canonical, stale=entry.spec if entry else None)


def get_spec_sync(url: str, nocache: bool = False) -> Spec:
    """``get_spec`` for management commands and other synchronous callers."""
    return async_to_sync(get_spec)(url, nocache=nocache)


async def _refresh_once(url: str, stale: Spec | None) -> Spec:
    """Share one refresh among concurrent callers in this process.

    A popular gadget whose entry just expired would otherwise be fetched
    (and its row written) once per request in flight.
    """
    loop = asyncio.get_running_loop()
    task = _refreshing.get(url)
    if task is None or task.get_loop() is not loop:
        task = loop.create_task(_refresh(url, stale))
        _refreshing[url] = task
        task.add_done_callback(lambda done: _forget(url, done))
    # One caller giving up (a client disconnect) must not cancel the others.
    return await asyncio.shield(task)


def _forget(url: str, task: asyncio.Task[Spec]) -> None:
    if _refreshing.get(url) is task:
        del _refreshing[url]


async def _refresh(url: str, stale: Spec | None) -> Spec:
    stored = await GadgetSpec.objects.filter(url=url).afirst()
    try:
        fetched = await _fetch(url, stored)
        spec = parse_spec(fetched.xml, url)
    except DestinationBlocked:
        raise  # a policy refusal, not an outage: never serve around it
    except GadgetError as error:
        return await _fall_back(url, error, stale, stored)
    await _save(url, fetched, spec)
    await _cache(url, spec)
    return spec


async def _fetch(url: str, stored: GadgetSpec | None) -> _Fetched:
    limits = settings.GADGETS
    request = outbound.OutboundRequest(
        url=url,
        headers=_validators(stored),
        deadline_seconds=limits["SPEC_FETCH_DEADLINE_SECONDS"],
        max_response_bytes=limits["SPEC_MAX_BYTES"],
    )
    try:
        response = await outbound.fetch(request)
    except DestinationBlocked:
        raise
    except GadgetError as error:
        raise SpecFetchError(
            f"The gadget spec at {url} could not be fetched: {error.message}"
        ) from None
    if response.status == 304 and stored is not None:
        return _Fetched(bytes(stored.xml), stored.etag, stored.last_modified)
    if response.status != 200:
        raise SpecFetchError(f"The gadget spec at {url} answered {response.status}.")
    headers = {name.lower(): value for name, value in response.headers}
    return _Fetched(
        response.body, headers.get("etag", ""), headers.get("last-modified", "")
    )


def _validators(stored: GadgetSpec | None) -> dict[str, str]:
    headers = {}
    if stored is not None and stored.etag:
        headers["If-None-Match"] = stored.etag
    if stored is not None and stored.last_modified:
        headers["If-Modified-Since"] = stored.last_modified
    return headers


async def _fall_back(
    url: str, error: GadgetError, stale: Spec | None, stored: GadgetSpec | None
) -> Spec:
    """Serve the last good spec after a failed refresh, or raise ``error``."""
    logger.warning("spec refresh failed url=%s error=%s", url, error.code)
    spec = stale or _parse_stored(url, stored)
    if spec is None:
        raise error
    await GadgetSpec.objects.filter(url=url).aupdate(
        last_error=error.message, last_error_at=timezone.now()
    )
    await _cache(url, spec)  # retry after another TTL, not on every request
    return spec


def _parse_stored(url: str, stored: GadgetSpec | None) -> Spec | None:
    if stored is None:
        return None
    try:
        return parse_spec(bytes(stored.xml), url)
    except SpecError:
        return None  # a copy that no longer parses (stricter rules) is no copy


async def _save(url: str, fetched: _Fetched, spec: Spec) -> None:
    await GadgetSpec.objects.aupdate_or_create(
        url=url,
        defaults={
            "xml": fetched.xml,
            "checksum": spec.checksum,
            "fetched_at": timezone.now(),
            "etag": fetched.etag[:512],
            "last_modified": fetched.last_modified[:128],
            "last_error": "",
            "last_error_at": None,
        },
    )


async def _cache(url: str, spec: Spec) -> None:
    ttl_seconds = settings.GADGETS["SPEC_TTL_SECONDS"]
    entry = _Entry(spec, fresh_until=time.time() + ttl_seconds)
    await caches.aset(cache_key(url), entry, ttl_seconds + STALE_GRACE_SECONDS)
