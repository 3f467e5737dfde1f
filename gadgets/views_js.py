"""``GET /gadgets/js/<features>.js``: the gadget feature JavaScript.

The path lists features separated by colons, optionally followed by ``!``
and the features the page already loaded, which are left out:
``/gadgets/js/dynamic-height:views!core.js``. A request carrying the current
``v`` (``features.version()``) is cached for a year, since any change to the
sources changes ``v``; others for an hour. The code is public, so any origin
may fetch it. No database, no network: the answer is a cached string.
"""

from __future__ import annotations

import functools
import hashlib

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from . import features as feature_registry
from .errors import UnsupportedFeature

_LONG_CACHE = "public, max-age=31536000, immutable"
_SHORT_CACHE = "public, max-age=3600"


@require_safe
async def feature_js(request: HttpRequest, features: str) -> HttpResponse:
    # Async although it does no I/O: on gadget hosts it then costs no thread.
    wanted, _, loaded = features.partition("!")
    debug = request.GET.get("debug") in {"1", "true"}
    try:
        names = _resolve(wanted, loaded)
    except UnsupportedFeature as error:
        return _not_found(error.message)

    body, etag = _body_and_etag(tuple(names), debug)
    is_current = request.GET.get("v") == feature_registry.version()
    response = _javascript_response(request, body, etag)
    response["Cache-Control"] = _LONG_CACHE if is_current else _SHORT_CACHE
    return _public(response)


def _resolve(wanted: str, loaded: str) -> list[str]:
    names = feature_registry.resolve_names(_split(wanted))
    if not loaded:
        return names
    skip = set(feature_registry.resolve_names(_split(loaded)))
    return [name for name in names if name not in skip]


def _split(names: str) -> list[str]:
    return [name for name in names.split(":") if name]


@functools.lru_cache(maxsize=256)
def _body_and_etag(names: tuple[str, ...], debug: bool) -> tuple[str, str]:
    body = feature_registry.javascript(list(names), debug=debug)
    return body, '"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'


def _javascript_response(request: HttpRequest, body: str, etag: str) -> HttpResponse:
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="application/javascript")
    response["ETag"] = etag
    return response


def _not_found(message: str) -> HttpResponse:
    comment = message.replace("*/", "* /")
    response = HttpResponse(
        f"/* {comment} */\n", status=404, content_type="application/javascript"
    )
    response["Cache-Control"] = "no-cache"
    return _public(response)


def _public(response: HttpResponse) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    return response
