"""The /gadgets/makeRequest view, served on gadget hosts only.

The view is thin: read the parameters, open the security token, check that
the request comes from that gadget's own host, and hand the rest to
``gadgets.makerequest``. It is async so that a slow upstream costs a
coroutine, not a worker, and for unsigned requests it touches neither the
database nor the gadget spec: the token says everything needed.

It is exempt from CSRF checks because it is authenticated by the security
token, not by cookies; gadget hosts carry no session at all.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from .errors import GadgetError, InvalidParameter, RequestTooLarge, WrongHost
from .locked_domain import is_gadget_host
from .makerequest import envelope, parse_proxy_request, proxy_fetch
from .security_token import SecurityToken, decode_token

logger = logging.getLogger(__name__)

# Form encoding can triple postData's size; the rest of the form is small.
_FORM_OVERHEAD_BYTES = 64 * 1024
_MAX_FORM_FIELDS = 100


@csrf_exempt
async def make_request(request: HttpRequest) -> HttpResponse:
    """Proxy one gadgets.io.makeRequest call and answer Shindig's envelope."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    try:
        params = _read_params(request)
        token = _authenticate(request, params)
        proxy_request = parse_proxy_request(params)
        result = await proxy_fetch(proxy_request, token)
    except GadgetError as exc:
        return error_response(exc)
    except Exception:
        logger.exception("makeRequest failed unexpectedly")
        return error_response(GadgetError("The request could not be completed."), 502)
    logger.debug(
        "makeRequest %s %s authz=%s rc=%s",
        proxy_request.http_method,
        urlsplit(proxy_request.url).hostname,
        proxy_request.authz,
        result.get("rc"),
    )
    return envelope(proxy_request.url, result)


def error_response(exc: GadgetError, status: int | None = None) -> HttpResponse:
    return HttpResponse(
        exc.message,
        status=status or exc.status,
        content_type="text/plain; charset=utf-8",
    )


def _authenticate(request: HttpRequest, params: dict[str, str]) -> SecurityToken:
    token = decode_token(params.get("st") or request.headers.get("X-Shindig-ST", ""))
    # A token replayed from another gadget's origin is refused: each gadget
    # may only proxy from the host derived from its own URL.
    if not is_gadget_host(token.gadget_url, request.get_host()):
        raise WrongHost()
    return token


def _read_params(request: HttpRequest) -> dict[str, str]:
    params = request.GET.dict()
    if request.method == "POST":
        params.update(_form_params(request))
    return params


def _form_params(request: HttpRequest) -> dict[str, str]:
    limit = settings.GADGETS["MAX_POST_BYTES"] * 3 + _FORM_OVERHEAD_BYTES
    if _content_length(request) > limit:
        raise RequestTooLarge()
    if request.content_type == "multipart/form-data":
        return _multipart_params(request)
    if request.content_type not in ("application/x-www-form-urlencoded", ""):
        return {}
    # Read the stream ourselves: Django's own form parsing stops at
    # DATA_UPLOAD_MAX_MEMORY_SIZE, below makeRequest's postData limit.
    raw = request.read(limit + 1)
    if len(raw) > limit:
        raise RequestTooLarge()
    try:
        pairs = parse_qsl(
            raw.decode("utf-8", "replace"),
            keep_blank_values=True,
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except ValueError:
        raise InvalidParameter("The form has too many fields.") from None
    return dict(pairs)


def _multipart_params(request: HttpRequest) -> dict[str, str]:
    try:
        return request.POST.dict()
    except RequestDataTooBig:
        raise RequestTooLarge() from None
    except TooManyFieldsSent:
        raise InvalidParameter("The form has too many fields.") from None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidParameter("The Content-Length header is not a number.") from None
