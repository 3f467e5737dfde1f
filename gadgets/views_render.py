"""``/gadgets/ifr`` on a gadget's own host: read the parameters, render.

The page is made to be framed by the container and nobody else: it carries
``Content-Security-Policy: frame-ancestors <container origin>`` instead of
the site-wide ``X-Frame-Options: DENY``, and ``Referrer-Policy:
no-referrer`` so the iframe URL (which names the gadget, its module and
its user prefs) is not sent to every image host the gadget uses.

Every error is answered as Shindig answers it: the HTTP status of the
``GadgetError`` and its sentence, HTML-escaped, never a traceback.
"""

from __future__ import annotations

import html
import re

from django.conf import settings
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from .errors import GadgetError
from .render import RenderParams, render_gadget

LOOP_GUARD_HEADER = "X-shindig-dos"
_LANG = re.compile(r"^(?:all|[a-z]{2,3})$")
_COUNTRY = re.compile(r"^(?:ALL|[A-Z]{2}|\d{3})$")
_FEATURE_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_TRUE = {"1", "true"}


class LoopDetected(GadgetError):
    status = 403
    code = "loop_detected"
    default_message = (
        "This server does not render gadgets for its own outbound requests."
    )


# The gadget's host has no session and no container cookies, so there is
# nothing for a forged POST to ride on; Shindig accepts POST here.
@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "HEAD", "POST"])
async def ifr(request: HttpRequest) -> HttpResponse:
    try:
        if LOOP_GUARD_HEADER in request.headers:
            raise LoopDetected()
        result = await render_gadget(render_params(request))
    except GadgetError as error:
        return _frameable(error_page(error), "no-store")
    if result.redirect_url is not None:
        response: HttpResponse = HttpResponseRedirect(result.redirect_url)
    else:
        response = HttpResponse(result.html, content_type="text/html; charset=UTF-8")
    return _frameable(response, result.cache_control)


def render_params(request: HttpRequest) -> RenderParams:
    """Read and check the Shindig parameters; bad input is a 400 naming it."""
    params = _merged(request)
    url = params.get("url", "").strip()
    if not url:
        raise GadgetError("The url parameter (the gadget spec URL) is required.")
    lang, country = _locale(params)
    return RenderParams(
        url=url,
        host=request.get_host(),
        view=params.get("view", "").strip() or "default",
        module_id=_module_id(params.get("mid", "")),
        lang=lang,
        country=country,
        user_prefs={
            key[3:]: params.get(key, "") for key in params if key.startswith("up_")
        },
        nocache=params.get("nocache", "") in _TRUE,
        debug=params.get("debug", "") in _TRUE,
        parent=params.get("parent") or None,
        libs=_libs(params.get("libs", "")),
        version=params.get("v") or None,
    )


def error_page(error: GadgetError) -> HttpResponse:
    """Shindig's error answer: the status and an HTML-escaped sentence."""
    body = (
        "<!DOCTYPE html><html><head><title>Gadget error</title></head>"
        f"<body><p>{html.escape(error.message)}</p></body></html>"
    )
    return HttpResponse(
        body, status=error.status, content_type="text/html; charset=UTF-8"
    )


def _merged(request: HttpRequest) -> QueryDict:
    params = request.GET.copy()
    if request.method == "POST":
        params.update(request.POST)
    return params


def _module_id(raw: str) -> int:
    raw = raw.strip()
    if not raw:
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise GadgetError(f"The mid parameter must be a whole number, not {raw!r}.")
    return int(raw)


def _locale(params: QueryDict) -> tuple[str, str]:
    lang = (params.get("lang") or "all").strip().lower()
    country = (params.get("country") or "ALL").strip().upper()
    if not _LANG.match(lang):
        raise GadgetError(
            f"The lang parameter must be a language code such as en, not {lang!r}."
        )
    if not _COUNTRY.match(country):
        raise GadgetError(
            f"The country parameter must be a country code such as US, not {country!r}."
        )
    return lang, country


def _libs(raw: str) -> tuple[str, ...]:
    names = tuple(name for name in raw.split(":") if name)
    for name in names:
        if not _FEATURE_NAME.match(name):
            raise GadgetError(f"The libs parameter names an invalid feature {name!r}.")
    return names


def _frameable(response: HttpResponse, cache_control: str) -> HttpResponse:
    response["Cache-Control"] = cache_control
    response["Content-Security-Policy"] = f"frame-ancestors {settings.CONTAINER_ORIGIN}"
    response["Referrer-Policy"] = "no-referrer"
    response.xframe_options_exempt = True
    return response
