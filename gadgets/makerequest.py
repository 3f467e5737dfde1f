"""makeRequest: the gadget-facing proxy, its parameters and its envelope.

A gadget on its own origin cannot read other sites, so it asks the server::

    GET /gadgets/makeRequest?url=https%3A%2F%2Fexample.com%2Fnews.xml
        &httpMethod=GET&contentType=FEED&numEntries=2&st=<security token>

and the server fetches the URL through the guarded client and answers
HTTP 200 with Shindig's envelope: a prefix that makes the answer useless as
a ``<script>`` (against JSON hijacking), then JSON keyed by the URL exactly
as the gadget sent it::

    throw 1; < don't be evil' >{"https://example.com/news.xml":
        {"rc":200,"body":"{\\"Title\\":\\"News\\",...}","headers":{}}}

The result contract (what ``proxy_fetch`` returns and every authz handler
must return too):

``rc``
    The upstream's HTTP status, or the status we stand in for it (below).
``body``
    Always a string: the upstream body decoded with the charset of its
    Content-Type (UTF-8 by default, undecodable bytes replaced); for
    ``contentType=FEED`` and a 2xx answer, the feed as JSON text
    (``gadgets.feeds``). The browser side parses JSON, DOM and FEED bodies.
``headers``
    Lower-case names to lists of values: only ``location`` unless the
    gadget asked for ``getFullHeaders``. ``set-cookie`` is never passed on:
    no Cookie header is ever forwarded upstream, so a gadget could not use
    it, and a cached answer is shared between gadgets and people, so
    passing it would hand one person's upstream session to another.
``oauthApprovalUrl``, ``oauthError``, ``oauthErrorText``, ``oauthState``
    Added by the OAuth handlers only.
``COOKIES_KEY``
    Cookies a handler needs set on the gadget's own host (the OAuth
    browser binding), as ``ResultCookie`` values. ``envelope`` sets them
    and never serializes them; a result carrying them is never cached.

Request headers come from the gadget's ``headers`` parameter only, never
from the browser's own request. Hop-by-hop headers, Host, Content-Length,
Cookie, Accept-Encoding, Forwarded, Via, X-Forwarded-*, Proxy-* and the
security token are dropped (see ``_DROPPED_HEADERS``); names must be HTTP
tokens and values may not hold line breaks. Unlike Shindig, a Cookie the
gadget supplies is dropped too: the only cookies a gadget could know are
ones it was never meant to replay. An Authorization header the gadget
supplies is forwarded for ``authz=none`` (the gadget's own API key, as in
Shindig) and dropped for the other kinds, which set their own. Parameters
named oauth*, xoauth* or opensocial* in the URL's query or in form-encoded
postData are refused for every authz (``ReservedParameter``).

Failures map as follows. A request we refuse to make answers a plain-text
error with its own HTTP status, not the envelope: bad parameters 400
(``InvalidParameter``, ``ReservedParameter``, ``InvalidUrl``), a private or
reserved destination 403 (``DestinationBlocked``), a missing handler 501.
A request we made that failed upstream keeps the envelope, as in Shindig,
with the sentence in ``body`` so a developer can read it: a timeout gives
``rc`` 504; an unreachable host, too many redirects or an answer over the
size cap gives 502; a 2xx answer to ``contentType=FEED`` that is not a feed
gives 502 with ``body`` ``{"ErrorMsg": "<sentence>"}`` (Shindig answered
502 here too; the ``ErrorMsg`` key is what iGoogle-era feed gadgets read).

Caching (unsigned GET only, never for any other authz): answers with
``rc`` 200 are kept in the Django cache under a key made of the URL, the
forwarded request headers, the content type and, for feeds, the entry
count and summary flag. Requests carrying their own Authorization header
are never cached. ``nocache=1`` skips the cache both ways. The lifetime is
``refresh`` when the gadget gives it (Shindig's "refresh interval", which
overrides upstream headers), else the upstream's ``s-maxage``/``max-age``,
else ``DEFAULT_FETCH_TTL_SECONDS``; ``no-store``, ``no-cache`` and
``private`` are always honoured. Every kept answer stays available for
``STALE_SECONDS`` past its freshness, and is served instead of an upstream
answer of 500 or more (including our own 502 and 504). Errors themselves
are not cached: a failed upstream is retried on the next request, so a
recovery shows at once, and the stale copy already covers an outage.
Concurrent identical cacheable requests in one process share a single
upstream call.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit

from django.conf import settings
from django.http import HttpResponse

from . import caches, outbound
from .errors import (
    AuthzNotSupported,
    GadgetError,
    InvalidParameter,
    InvalidUrl,
    MalformedFeed,
    ReservedParameter,
    ResponseTooLarge,
    TooManyRedirects,
    UpstreamError,
    UpstreamTimeout,
)
from .feeds import feed_to_json
from .security_token import SecurityToken

UNPARSEABLE_PREFIX = "throw 1; < don't be evil' >"
HTTP_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD")
AUTHZ_KINDS = ("none", "signed", "oauth", "oauth2")
CONTENT_TYPES = ("TEXT", "DOM", "JSON", "FEED")
OAUTH_PARAM_NAMES = (
    "OAUTH_SERVICE_NAME",
    "OAUTH_TOKEN_NAME",
    "OAUTH_USE_TOKEN",
    "OAUTH_REQUEST_TOKEN",
    "OAUTH_REQUEST_TOKEN_SECRET",
    "OAUTH_RECEIVED_CALLBACK",
    "oauthState",
)
MAX_NUM_ENTRIES = 100
# How long a kept answer may still be served, past its freshness, when the
# upstream fails.
STALE_SECONDS = 24 * 3600
_CACHE_PREFIX = "makerequest:v1:"

# Never forwarded. Hop-by-hop headers belong to our connection, not the
# gadget's; Host and Content-Length are ours to set; Cookie could only be
# the container's or a replayed one (gadgets do not get upstream cookies
# either); X-Forwarded-*, Forwarded and Via would let a gadget speak for us;
# Accept-Encoding is negotiated by the client, which decodes for the size
# cap; X-Shindig-ST is the gadget's security token and must not leak.
_DROPPED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "cookie",
        "cookie2",
        "accept-encoding",
        "forwarded",
        "via",
        "x-real-ip",
        "x-shindig-dos",
        "x-shindig-st",
    }
)
_DROPPED_PREFIXES = ("x-forwarded-", "proxy-")
_RESERVED_PREFIXES = ("oauth", "xoauth", "opensocial")
_TOKEN_CHARS = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_UNSAFE_VALUE_CHARS = re.compile(r"[\x00\r\n]")
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})
_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_UPSTREAM_FAILURES = (
    UpstreamTimeout,
    UpstreamError,
    ResponseTooLarge,
    TooManyRedirects,
)

Result = dict[str, Any]
COOKIES_KEY = "_cookies"
AuthzHandler = Callable[["ProxyRequest", SecurityToken], Awaitable[Result]]
_authz_handlers: dict[str, AuthzHandler] = {}
_in_flight: dict[tuple[int, str], asyncio.Task[Result]] = {}


@dataclass(frozen=True)
class ResultCookie:
    """A cookie for the gadget host, set by ``envelope`` (see the docstring).

    It is sent with ``SameSite=None; Secure`` because the gadget frame is a
    cross-site frame of the container page: a Lax cookie set from there is
    refused by browsers. It reaches only ``path`` on this gadget's host.
    """

    name: str
    value: str = field(repr=False)
    max_age_seconds: int
    path: str


@dataclass
class ProxyRequest:
    """One makeRequest call, validated; ``url`` is exactly what was sent."""

    url: str
    http_method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    post_data: bytes = b""
    authz: str = "none"
    st: str = ""
    content_type: str = "TEXT"
    num_entries: int = 3
    get_summaries: bool = False
    sign_owner: bool = True
    sign_viewer: bool = True
    get_full_headers: bool = False
    nocache: bool = False
    refresh: int | None = None
    bypass_spec_cache: bool = False
    oauth_params: dict[str, str] = field(default_factory=dict)

    @property
    def fetch_url(self) -> str:
        """The URL to fetch: the fragment is the browser's, never sent."""
        return self.url.partition("#")[0]


# Parsing ------------------------------------------------------------------


def parse_proxy_request(params: Mapping[str, str]) -> ProxyRequest:
    """Validate makeRequest's parameters; each error names the bad one."""
    url = _target_url(params)
    http_method = _choice(params, "httpMethod", HTTP_METHODS, "GET", upper=True)
    headers = parse_headers(params.get("headers", ""))
    post_data = params.get("postData", "").encode("utf-8")
    if len(post_data) > settings.GADGETS["MAX_POST_BYTES"]:
        raise InvalidParameter(
            f"The postData parameter is larger than "
            f"{settings.GADGETS['MAX_POST_BYTES']} bytes."
        )
    if http_method == "POST" and not _header(headers, "content-type"):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    authz = _choice(params, "authz", AUTHZ_KINDS, "none")
    if authz != "none":
        # Signed and OAuth requests carry the container's Authorization.
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
    request = ProxyRequest(
        url=url,
        http_method=http_method,
        headers=headers,
        post_data=post_data,
        authz=authz,
        st=params.get("st", ""),
        content_type=_choice(params, "contentType", CONTENT_TYPES, "TEXT", upper=True),
        num_entries=_num_entries(params.get("numEntries")),
        get_summaries=_flag(params, "getSummaries", default=False),
        sign_owner=_flag(params, "signOwner", default=True),
        sign_viewer=_flag(params, "signViewer", default=True),
        get_full_headers=_flag(params, "getFullHeaders", default=False),
        nocache=_flag(params, "nocache", default=False),
        refresh=_refresh(params.get("refresh")),
        bypass_spec_cache=_flag(params, "bypassSpecCache", default=False),
        oauth_params={k: params[k] for k in OAUTH_PARAM_NAMES if k in params},
    )
    check_reserved_parameters(request)
    return request


def _target_url(params: Mapping[str, str]) -> str:
    url = params.get("url", "")
    if not url:
        raise InvalidParameter("The url parameter is missing.")
    if _UNSAFE_URL_CHARS.search(url):
        raise InvalidUrl(
            "The url parameter may not contain spaces or control characters."
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidUrl(
            f"The url parameter {url[:200]!r} is not a valid URL."
        ) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidUrl("The url parameter must be an absolute http or https URL.")
    if "@" in parts.netloc:
        # Userinfo is where URL parsers disagree (CVE-2019-8451); refuse it.
        raise InvalidUrl("The url parameter may not contain a user name or password.")
    return url


def _choice(
    params: Mapping[str, str],
    name: str,
    allowed: tuple[str, ...],
    default: str,
    *,
    upper: bool = False,
) -> str:
    raw = params.get(name, "")
    if not raw:
        return default
    value = raw.upper() if upper else raw.lower()
    if value not in allowed:
        raise InvalidParameter(
            f"The {name} parameter must be one of {', '.join(allowed)}, "
            f"not {raw[:40]!r}."
        )
    return value


def _flag(params: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = params.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE_WORDS:
        return True
    if raw in _FALSE_WORDS:
        return False
    raise InvalidParameter(
        f"The {name} parameter must be true or false, not {raw[:40]!r}."
    )


def _num_entries(raw: str | None) -> int:
    if not raw:
        return 3
    try:
        wanted = int(raw)
    except ValueError:
        raise InvalidParameter(
            f"The numEntries parameter must be a whole number, not {raw[:40]!r}."
        ) from None
    # Old gadgets ask for 0 or for "everything"; both get a sane bound.
    return min(max(wanted, 1), MAX_NUM_ENTRIES)


def _refresh(raw: str | None) -> int | None:
    if raw is None or raw == "":
        return None
    seconds = _seconds(raw)
    if seconds is None:
        raise InvalidParameter(
            "The refresh parameter must be a whole number of seconds, "
            f"not {raw[:40]!r}."
        )
    return seconds


def _seconds(text: str) -> int | None:
    """A non-negative whole number in ASCII digits, else None."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def parse_headers(encoded: str) -> dict[str, str]:
    """Decode the form-encoded ``headers`` parameter, keeping safe headers."""
    headers: dict[str, str] = {}
    for pair in encoded.split("&"):
        if not pair:
            continue
        raw_name, sep, raw_value = pair.partition("=")
        name, value = unquote_plus(raw_name).strip(), unquote_plus(raw_value)
        if not sep or not _TOKEN_CHARS.fullmatch(name):
            raise InvalidParameter(
                f"The headers parameter has a malformed entry {pair[:80]!r}."
            )
        if _UNSAFE_VALUE_CHARS.search(value):
            raise InvalidParameter(
                f"The headers parameter has a line break or NUL in header {name!r}."
            )
        if is_forwardable_header(name):
            _add_header(headers, name, value.strip())
    return headers


def is_forwardable_header(name: str) -> bool:
    lowered = name.lower()
    return lowered not in _DROPPED_HEADERS and not lowered.startswith(_DROPPED_PREFIXES)


def _add_header(headers: dict[str, str], name: str, value: str) -> None:
    for existing in headers:
        if existing.lower() == name.lower():
            headers[existing] = f"{headers[existing]}, {value}"
            return
    headers[name] = value


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def check_reserved_parameters(request: ProxyRequest) -> None:
    """Refuse gadget-supplied oauth*, xoauth* and opensocial* parameters.

    Signed fetch adds the identity parameters (opensocial_owner_id and so
    on) itself; a gadget that could send its own would speak for someone
    else. The rule applies to every authz so a gadget sees one behaviour.
    """
    # Some servers also split a query on ";", so check those pieces too.
    query = urlsplit(request.fetch_url).query.replace(";", "&")
    _refuse_reserved(parse_qsl(query, keep_blank_values=True), "the url's query")
    content_type = _header(request.headers, "content-type").lower()
    if request.post_data and (
        not content_type or content_type.startswith("application/x-www-form-urlencoded")
    ):
        form = request.post_data.decode("utf-8", "replace")
        _refuse_reserved(parse_qsl(form, keep_blank_values=True), "postData")


def _refuse_reserved(pairs: list[tuple[str, str]], where: str) -> None:
    for name, _value in pairs:
        if name.lower().startswith(_RESERVED_PREFIXES):
            raise ReservedParameter(
                f"The parameter {name[:60]!r} in {where} is reserved for the "
                f"container: names starting with oauth, xoauth or opensocial "
                f"may not be sent by a gadget."
            )


# Fetching -----------------------------------------------------------------


def register_authz_handler(authz: str, handler: AuthzHandler) -> None:
    """Install the handler for ``signed``, ``oauth`` or ``oauth2`` requests.

    The OAuth app registers itself here from its ``AppConfig.ready`` so that
    this app never imports it (dependencies run one way).
    """
    if authz not in AUTHZ_KINDS or authz == "none":
        raise ValueError(f"Cannot register a handler for authz {authz!r}.")
    _authz_handlers[authz] = handler


async def proxy_fetch(req: ProxyRequest, token: SecurityToken) -> Result:
    """Make the upstream call for ``req`` and build the result dict.

    Raises ``GadgetError`` only for requests that must not be made at all
    (see the module docstring); upstream failures come back as results.
    """
    if req.authz != "none":
        handler = _authz_handlers.get(req.authz)
        if handler is None:
            raise AuthzNotSupported()
        return await handler(req, token)
    key = cache_key(req)
    if key is None:
        result, _ttl_seconds = await _fetch_unsigned(req)
        return result
    kept = await caches.aget(key)
    if kept is not None and kept[0] > time.time():
        return kept[1]
    return await _shared(key, lambda: _fetch_and_keep(req, key, kept))


async def _fetch_and_keep(req: ProxyRequest, key: str, kept: Any) -> Result:
    result, ttl_seconds = await _fetch_unsigned(req)
    if result["rc"] >= 500 and kept is not None:
        return kept[1]  # the last good answer beats an outage
    await _remember(key, result, ttl_seconds, had_entry=kept is not None)
    return result


async def _shared(key: str, start: Callable[[], Coroutine[Any, Any, Result]]) -> Result:
    """Let concurrent identical cacheable requests share one upstream call.

    A popular feed whose cache entry just expired would otherwise be fetched
    once per waiting browser. Tasks belong to one event loop, so the loop is
    part of the key. The task is shielded: one browser going away must not
    cancel the fetch the others are waiting for.
    """
    loop = asyncio.get_running_loop()
    flight = (id(loop), key)
    task = _in_flight.get(flight)
    if task is None:
        task = loop.create_task(start())
        _in_flight[flight] = task
        task.add_done_callback(lambda done: _forget(flight, done))
    return await asyncio.shield(task)


def _forget(flight: tuple[int, str], done: asyncio.Task[Result]) -> None:
    _in_flight.pop(flight, None)
    if not done.cancelled():
        # Each waiter re-raises its own copy; this stops asyncio reporting
        # the error as never retrieved when every waiter went away.
        done.exception()


async def _fetch_unsigned(req: ProxyRequest) -> tuple[Result, int]:
    request = outbound.OutboundRequest(
        url=req.fetch_url,
        method=req.http_method,
        headers=dict(req.headers),
        body=req.post_data or None,
        follow_redirects=True,
        deadline_seconds=settings.GADGETS["FETCH_DEADLINE_SECONDS"],
        max_response_bytes=settings.GADGETS["MAX_RESPONSE_BYTES"],
    )
    try:
        response = await outbound.fetch(request)
    except _UPSTREAM_FAILURES as exc:
        return failure_result(exc), 0
    result = await build_result(req, response)
    return result, cache_ttl_seconds(req, response) if result["rc"] == 200 else 0


def failure_result(exc: GadgetError) -> Result:
    """The envelope result standing in for an upstream that failed."""
    return {"rc": exc.status, "body": exc.message, "headers": {}}


async def build_result(
    req: ProxyRequest, response: outbound.OutboundResponse
) -> Result:
    """Turn an upstream answer into the result dict (shared by every authz)."""
    headers = response_headers(response.headers, full=req.get_full_headers)
    content_type = _first_header(response.headers, "content-type")
    if req.content_type == "FEED" and 200 <= response.status < 300 and response.body:
        rc, body = await _feed_body(req, response.body, content_type)
    else:
        rc, body = response.status, decode_body(response.body, content_type)
    return {"rc": rc, "body": body, "headers": headers}


async def _feed_body(
    req: ProxyRequest, raw: bytes, content_type: str
) -> tuple[int, str]:
    try:
        # feedparser is pure Python and can take a while on a big feed: keep
        # it off the event loop so other requests keep flowing.
        feed = await asyncio.to_thread(
            feed_to_json,
            raw,
            num_entries=req.num_entries,
            get_summaries=req.get_summaries,
            url=req.url,
            content_type=content_type,
        )
    except MalformedFeed as exc:
        return exc.status, dumps({"ErrorMsg": exc.message})
    return 200, dumps(feed)


def response_headers(
    headers: list[tuple[str, str]], *, full: bool
) -> dict[str, list[str]]:
    """Lower-case names to value lists; Location only unless ``full``."""
    kept: dict[str, list[str]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in ("set-cookie", "set-cookie2"):
            continue
        if full or lowered == "location":
            kept.setdefault(lowered, []).append(value)
    return kept


def _first_header(headers: list[tuple[str, str]], name: str) -> str:
    for key, value in headers:
        if key.lower() == name:
            return value
    return ""


def decode_body(body: bytes, content_type: str) -> str:
    try:
        return body.decode(_charset(content_type), "replace")
    except LookupError:
        # Unknown names, and codecs that are not text encodings ("base64",
        # "rot13"), which an upstream may name to make us misbehave.
        return body.decode("utf-8", "replace")


def _charset(content_type: str) -> str:
    if "charset" not in content_type.lower():
        return "utf-8"
    message = Message()
    message["content-type"] = content_type
    return message.get_content_charset() or "utf-8"


# Caching ------------------------------------------------------------------


def cache_key(req: ProxyRequest) -> str | None:
    """The shared-cache key of an unsigned GET, or None when not cacheable."""
    if req.authz != "none" or req.http_method != "GET" or req.nocache:
        return None
    if _header(req.headers, "authorization"):
        return None  # the gadget's own credentials make the answer private
    headers = sorted((k.lower(), v) for k, v in req.headers.items())
    feed = (
        f"{req.num_entries}:{int(req.get_summaries)}"
        if req.content_type == "FEED"
        else ""
    )
    material = json.dumps(
        [req.fetch_url, req.content_type, feed, req.get_full_headers, headers],
        separators=(",", ":"),
    )
    return _CACHE_PREFIX + hashlib.sha256(material.encode("utf-8")).hexdigest()


def cache_ttl_seconds(req: ProxyRequest, response: outbound.OutboundResponse) -> int:
    """How long a 200 answer stays fresh; 0 means do not keep it."""
    directives = _cache_control(response.headers)
    if {"no-store", "no-cache", "private"} & directives.keys():
        return 0
    if _first_header(response.headers, "pragma").lower() == "no-cache":
        return 0
    if req.refresh is not None:
        return req.refresh
    for name in ("s-maxage", "max-age"):
        seconds = _seconds(directives.get(name, ""))
        if seconds is not None:
            return seconds
    return int(settings.GADGETS["DEFAULT_FETCH_TTL_SECONDS"])


def _cache_control(headers: list[tuple[str, str]]) -> dict[str, str]:
    directives: dict[str, str] = {}
    for name, value in headers:
        if name.lower() != "cache-control":
            continue
        for item in value.split(","):
            key, _, arg = item.strip().partition("=")
            if key:
                directives[key.lower()] = arg.strip().strip('"')
    return directives


async def _remember(
    key: str, result: Result, ttl_seconds: int, *, had_entry: bool
) -> None:
    if ttl_seconds > 0:
        entry = (time.time() + ttl_seconds, result)
        await caches.aset(key, entry, ttl_seconds + STALE_SECONDS)
    elif had_entry and result["rc"] < 500:
        # The upstream now answers differently (no-store, or an error it
        # means): an old copy must not come back as a stale fallback.
        await caches.adelete(key)


# Answering ----------------------------------------------------------------


def dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def envelope(url: str, result: Mapping[str, object]) -> HttpResponse:
    """The makeRequest answer: the unparseable prefix, then ``{url: result}``."""
    entry = dict(result)
    cookies = entry.pop(COOKIES_KEY, None) or []
    payload = UNPARSEABLE_PREFIX + dumps({url: entry})
    response = HttpResponse(
        payload.encode("utf-8"), content_type="application/json; charset=utf-8"
    )
    set_cookies(response, cookies)  # type: ignore[arg-type]
    # Opened directly, the answer downloads instead of rendering on our origin.
    response["Content-Disposition"] = "attachment; filename=p.txt"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def set_cookies(response: HttpResponse, cookies: list[ResultCookie]) -> None:
    for cookie in cookies:
        response.set_cookie(
            cookie.name,
            cookie.value,
            max_age=cookie.max_age_seconds,
            path=cookie.path,
            secure=True,
            httponly=True,
            samesite="None",
        )
