"""Message bundles: the ``__MSG_x__`` values for one request's locale.

A spec declares ``<Locale>`` elements, each with inline ``<msg>`` children
or a ``messages`` URL naming an external bundle. For a request in German
from Austria (``lang=de``, ``country=AT``) the bundles are merged in this
order, later ones winning::

    all/ALL  ->  all/AT  ->  de/ALL  ->  de/AT

so a gadget can define every message once and override a few per language
or country. For each of those four locales a ``<Locale views="canvas">``
is preferred over a global one when rendering the canvas view. The text
direction (``ltr``/``rtl``) is that of the most specific bundle that has
messages at all, so an empty ``de/AT`` locale does not reset it.

External bundles are fetched through the guarded client, parsed with the
hardened parser and kept in the cache as long as specs are.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field

from django.conf import settings

from . import caches, outbound
from .errors import GadgetError, SpecError, SpecFetchError
from .spec import collect_messages
from .spec_model import LocaleSpec, Spec
from .xml import parse_xml

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MessageBundle:
    messages: dict[str, str] = field(default_factory=dict)
    direction: str = "ltr"


async def message_bundle(
    spec: Spec,
    lang: str,
    country: str,
    view: str | None,
    *,
    nocache: bool = False,
) -> MessageBundle:
    """The merged bundle for ``lang``/``country`` (and ``view``, if given)."""
    locales = _locales_in_merge_order(spec, lang, country, view)
    fetched = await asyncio.gather(
        *(_locale_messages(locale, nocache=nocache) for locale in locales)
    )
    messages: dict[str, str] = {}
    nonempty_direction, last_direction = "", "ltr"
    for locale, locale_messages in zip(locales, fetched, strict=True):
        messages.update(locale_messages)
        last_direction = locale.language_direction
        if locale_messages:
            nonempty_direction = locale.language_direction
    return MessageBundle(messages, nonempty_direction or last_direction)


def _locales_in_merge_order(
    spec: Spec, lang: str, country: str, view: str | None
) -> list[LocaleSpec]:
    lang = (lang or "").strip().lower() or "all"
    country = (country or "").strip().upper() or "ALL"
    keys = list(dict.fromkeys([("all", "ALL"), ("all", country), (lang, "ALL")]))
    keys += [] if (lang, country) in keys else [(lang, country)]
    chosen = [_locale_for(spec, key, view) for key in keys]
    return [locale for locale in chosen if locale is not None]


def _locale_for(
    spec: Spec, key: tuple[str, str], view: str | None
) -> LocaleSpec | None:
    """The view's own locale for ``key`` if it has one, else the global one."""
    candidates = [
        locale
        for locale in spec.module_prefs.locales
        if (locale.lang, locale.country) == key
    ]
    if view is not None:
        for locale in candidates:
            if view in locale.views:
                return locale
    return next((locale for locale in candidates if not locale.views), None)


async def _locale_messages(locale: LocaleSpec, *, nocache: bool) -> dict[str, str]:
    if locale.messages_url is None:
        return locale.messages
    return await external_bundle(locale.messages_url, nocache=nocache)


def _cache_key(url: str) -> str:
    return "gadgets:bundle:" + hashlib.sha256(url.encode("utf-8")).hexdigest()


async def external_bundle(url: str, *, nocache: bool = False) -> dict[str, str]:
    """The messages of the bundle at ``url``, from the cache when possible."""
    key = _cache_key(url)
    if not nocache:
        cached = await caches.aget(key)
        if cached is not None:
            return cached
    messages = await _fetch_bundle(url)
    await caches.aset(key, messages, settings.GADGETS["SPEC_TTL_SECONDS"])
    return messages


async def _fetch_bundle(url: str) -> dict[str, str]:
    limits = settings.GADGETS
    request = outbound.OutboundRequest(
        url=url,
        deadline_seconds=limits["SPEC_FETCH_DEADLINE_SECONDS"],
        max_response_bytes=limits["SPEC_MAX_BYTES"],
    )
    try:
        response = await outbound.fetch(request)
    except GadgetError as error:
        logger.warning("message bundle fetch failed url=%s error=%s", url, error.code)
        raise SpecFetchError(
            f"The message bundle at {url} could not be fetched: {error.message}"
        ) from None
    if response.status != 200:
        raise SpecFetchError(f"The message bundle at {url} answered {response.status}.")
    what = f"Message bundle at {url}"
    root = parse_xml(response.body, what=what, max_bytes=limits["SPEC_MAX_BYTES"])
    try:
        return collect_messages(root, "bundle")
    except SpecError as error:
        raise SpecError(f"{what}: {error.message}") from None
