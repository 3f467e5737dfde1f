"""The /gadgets/makeRequest view, served on gadget hosts only.

The view is thin: read the parameters, open the security token, check that
the request comes from that gadget's own host, apply the rate limit, and
hand the rest to ``gadgets.makerequest``. It is async so that a slow
upstream costs a coroutine, not a worker, and for unsigned requests it
touches neither the database nor the gadget spec: the token says
everything needed.

It is a DRF ``APIView``: DRF's request object and parsers read the form
(``MakeRequestFormParser`` bounds it by makeRequest's own postData limit,
not Django's upload limit) and DRF's throttle machinery applies
``GadgetRateThrottle``. DRF's own ``dispatch`` is synchronous, and under
ASGI a synchronous view shares one thread with every other, so this view
keeps DRF's pieces and awaits the proxy in an async ``dispatch`` of its
own. The answer is Shindig's envelope, byte for byte, not a DRF
``Response``: gadgets parse it.

It is exempt from CSRF checks because it is authenticated by the security
token, not by cookies; gadget hosts carry no session at all.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.utils.decorators import classonlymethod
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.views import APIView

from .errors import (
    GadgetError,
    InvalidParameter,
    RateLimited,
    RequestTooLarge,
    WrongHost,
)
from .locked_domain import is_gadget_host
from .makerequest import envelope, parse_proxy_request, proxy_fetch
from .security_token import SecurityToken, decode_token
from .throttling import GadgetRateThrottle

logger = logging.getLogger(__name__)

# Form encoding can triple postData's size; the rest of the form is small.
_FORM_OVERHEAD_BYTES = 64 * 1024
_MAX_FORM_FIELDS = 100


def form_limit_bytes() -> int:
    return int(settings.GADGETS["MAX_POST_BYTES"]) * 3 + _FORM_OVERHEAD_BYTES


class MakeRequestFormParser(BaseParser):
    """Form bodies up to makeRequest's own limit (Django's upload limit is
    lower than the largest postData makeRequest accepts)."""

    media_type = "application/x-www-form-urlencoded"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, str]:
        if stream is None:
            return {}
        limit = form_limit_bytes()
        raw = stream.read(limit + 1)
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


class IgnoredBodyParser(BaseParser):
    """Any other body: Shindig reads parameters from forms only."""

    media_type = "*/*"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, str]:
        return {}


class MakeRequestView(APIView):
    """Proxy one gadgets.io.makeRequest call and answer Shindig's envelope."""

    authentication_classes: list[Any] = []  # the security token, below
    permission_classes: list[Any] = []
    parser_classes = [MakeRequestFormParser, MultiPartParser, IgnoredBodyParser]
    throttle_classes = [GadgetRateThrottle]
    security_token: SecurityToken | None = None

    @classonlymethod
    def as_view(cls, **initkwargs: Any) -> Any:
        view = super().as_view(**initkwargs)
        view.csrf_exempt = True
        return view

    async def get(self, request: Request) -> HttpResponse:
        return await self._serve(request)

    async def post(self, request: Request) -> HttpResponse:
        return await self._serve(request)

    async def dispatch(  # type: ignore[override]
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        self.args, self.kwargs = args, kwargs
        if request.method not in ("GET", "POST"):
            return HttpResponseNotAllowed(["GET", "POST"])
        drf_request = self.initialize_request(request, *args, **kwargs)
        self.request = drf_request
        self.headers = self.default_response_headers
        if request.method == "GET":
            return await self.get(drf_request)
        return await self.post(drf_request)

    async def _serve(self, request: Request) -> HttpResponse:
        try:
            params = _read_params(request)
            self.security_token = _authenticate(request, params)
            self._throttle(request)
            proxy_request = parse_proxy_request(params)
            result = await proxy_fetch(proxy_request, self.security_token)
        except GadgetError as exc:
            return error_response(exc)
        except Exception:
            logger.exception("makeRequest failed unexpectedly")
            return error_response(
                GadgetError("The request could not be completed."), 502
            )
        logger.debug(
            "makeRequest %s %s authz=%s rc=%s",
            proxy_request.http_method,
            urlsplit(proxy_request.url).hostname,
            proxy_request.authz,
            result.get("rc"),
        )
        return envelope(proxy_request.url, result)

    def _throttle(self, request: Request) -> None:
        for throttle in self.get_throttles():
            if not throttle.allow_request(request, self):
                error = RateLimited()
                error.retry_after_seconds = int(throttle.wait() or 0) + 1
                raise error


make_request = MakeRequestView.as_view()


def error_response(exc: GadgetError, status: int | None = None) -> HttpResponse:
    response = HttpResponse(
        exc.message,
        status=status or exc.status,
        content_type="text/plain; charset=utf-8",
    )
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after_seconds)
    return response


def _authenticate(request: Request, params: dict[str, str]) -> SecurityToken:
    token = decode_token(params.get("st") or request.headers.get("X-Shindig-ST", ""))
    # A token replayed from another gadget's origin is refused: each gadget
    # may only proxy from the host derived from its own URL.
    if not is_gadget_host(token.gadget_url, request.get_host()):
        raise WrongHost()
    return token


def _read_params(request: Request) -> dict[str, str]:
    params: dict[str, str] = request.query_params.dict()
    if request.method == "POST":
        params.update(_form_params(request))
    return params


def _form_params(request: Request) -> dict[str, str]:
    if _content_length(request) > form_limit_bytes():
        raise RequestTooLarge()
    try:
        data = request.data
    except RequestDataTooBig:
        raise RequestTooLarge() from None
    except TooManyFieldsSent:
        raise InvalidParameter("The form has too many fields.") from None
    except ParseError:
        raise InvalidParameter("The form could not be read.") from None
    if hasattr(data, "dict"):
        return data.dict()
    return dict(data)


def _content_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidParameter("The Content-Length header is not a number.") from None
