"""Finding a gadget's consumer registration, cheaply and safely.

The warm makeRequest path reads the registration on every call, so rows
are cached (the ciphertext, never the opened secret: a cache such as
Redis must not hold clear secrets) and dropped from the cache whenever a
row is saved or deleted. Unregistered (gadget, service) pairs are cached
too, as "none", so they cost no query either.

A disabled registration is not the same as none: falling back to the
container's own key would keep signing for a consumer its developer or
the operator just switched off. ``find_consumer`` refuses it with
``BAD_OAUTH_CONFIGURATION`` instead, from the next request on (saving the
row drops the cached copy).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from gadgets import caches
from gadgets.locked_domain import canonical_gadget_url

from . import conf, crypto
from .errors import BAD_OAUTH_CONFIGURATION, OAuthError
from .models import ConsumerRegistration

_NONE = "none"
_DISABLED = "disabled"


@dataclass(frozen=True)
class Consumer:
    """What signing needs from a registration; ``secret()`` opens it."""

    gadget_url: str
    service_name: str
    consumer_key: str
    key_type: str
    callback_url: str
    secret_encrypted: str

    def secret(self) -> str:
        return crypto.decrypt(
            self.secret_encrypted,
            table=ConsumerRegistration._meta.db_table,
            column="secret",
            row=f"{self.gadget_url}|{self.service_name}",
        )


def cache_key(gadget_url: str, service_name: str) -> str:
    raw = f"{canonical_gadget_url(gadget_url)}|{service_name}".encode()
    return "oauthproxy:consumer:" + hashlib.sha256(raw).hexdigest()


def _from_row(row: ConsumerRegistration) -> Consumer:
    return Consumer(
        gadget_url=row.gadget_url,
        service_name=row.service_name,
        consumer_key=row.consumer_key,
        key_type=row.key_type,
        callback_url=row.callback_url,
        secret_encrypted=row.secret_encrypted,
    )


async def find_consumer(gadget_url: str, service_name: str) -> Consumer | None:
    """The registration for (gadget, service), or None if there is none.

    Raises ``OAuthError`` (BAD_OAUTH_CONFIGURATION) when it is disabled.
    """
    key = cache_key(gadget_url, service_name)
    cached = await caches.aget(key)
    if cached is None:
        row = await ConsumerRegistration.objects.filter(
            gadget_url=canonical_gadget_url(gadget_url), service_name=service_name
        ).afirst()
        cached = _NONE if row is None else _from_row(row) if row.enabled else _DISABLED
        await caches.aset(key, cached, conf.get("REGISTRATION_CACHE_SECONDS"))
    if cached == _DISABLED:
        raise OAuthError(
            BAD_OAUTH_CONFIGURATION,
            f"The consumer registration of this gadget for service "
            f"{service_name!r} is disabled. Its developer (or the container "
            "operator) must enable it in the developer dashboard.",
        )
    return cached if isinstance(cached, Consumer) else None


def forget(sender: Any, instance: ConsumerRegistration, **kwargs: Any) -> None:
    """Signal receiver: a saved or deleted row leaves the cache."""
    cache.delete(cache_key(instance.gadget_url, instance.service_name))
