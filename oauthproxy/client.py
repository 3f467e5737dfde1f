"""The OAuth 1.0a consumer: signing, token responses, provider problems.

A worked example, fetching a request token from a provider whose spec says
``<Request url="https://sp.example/request_token" method="POST"
param_location="auth-header"/>`` with an HMAC consumer "gadget-1"::

    call = Call("POST", "https://sp.example/request_token",
                location="auth-header", callback="https://h.../oauthcallback?state=...")
    request = sign(Signer("gadget-1", HMAC_SYMMETRIC, "s3cret"), call)
    # request.headers["Authorization"] ==
    #   'OAuth oauth_nonce="...", oauth_timestamp="...", oauth_version="1.0",
    #    oauth_signature_method="HMAC-SHA1", oauth_consumer_key="gadget-1",
    #    oauth_callback="https%3A%2F%2Fh...", oauth_signature="..."'
    response = await send(request, trace, service="contacts", step="request token")
    tokens = parse_token_response(response, service="contacts",
                                  step="request token", require_confirmed=True)
    # tokens.token, tokens.secret; oauth_callback_confirmed=true was present

Signing is oauthlib's ``Client``; this module only decides what goes in:
the token and its secret, ``oauth_callback`` (``oob`` when no callback can
be given), ``oauth_verifier``, ``oauth_session_handle``, ``oauth_body_hash``
for bodies that are not form-encoded (raw bytes, hashed here so binary
bodies hash exactly), and the ``opensocial_*``/``xoauth_*`` parameters,
which travel in the query string because oauthlib's Authorization header
carries only ``oauth_*`` names. PLAINTEXT, which sends the secret itself,
is refused unless the endpoint is https or on ``OUTBOUND_ALLOWLIST``.

Every request goes through ``gadgets.outbound.fetch`` with redirects off:
a signature in a query string must not travel to wherever a 302 points.

Provider answers are read as RFC 5849 says, plus what real providers do:
parameters come from the form-encoded body *and* from an OAuth
``WWW-Authenticate`` header, and so does ``oauth_problem``, which
``classify`` maps onto Shindig's actions (delete and re-approve, keep and
report, refresh and retry, pass through).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from oauthlib import oauth1
from oauthlib.common import Request as OAuthRequest

from gadgets import outbound
from gadgets.errors import GadgetError
from gadgets.outbound import OutboundRequest, OutboundResponse

from .errors import (
    BAD_OAUTH_CONFIGURATION,
    INVALID_REQUEST,
    MISSING_OAUTH_PARAMETER,
    MISSING_SERVER_RESPONSE,
    OAuthError,
)
from .models import HMAC_SYMMETRIC, PLAINTEXT, RSA_PRIVATE
from .signing import install_rsa_backend

logger = logging.getLogger(__name__)

install_rsa_backend()

FORM = "application/x-www-form-urlencoded"
LOCATIONS = {
    "auth-header": oauth1.SIGNATURE_TYPE_AUTH_HEADER,
    "uri-query": oauth1.SIGNATURE_TYPE_QUERY,
    "post-body": oauth1.SIGNATURE_TYPE_BODY,
}
_METHODS = {
    HMAC_SYMMETRIC: oauth1.SIGNATURE_HMAC_SHA1,
    RSA_PRIVATE: oauth1.SIGNATURE_RSA_SHA1,
    PLAINTEXT: oauth1.SIGNATURE_PLAINTEXT,
}

# Shindig's classification of oauth_problem values.
FATAL_PROBLEMS = frozenset(
    {
        "version_rejected",
        "signature_method_rejected",
        "consumer_key_unknown",
        "consumer_key_rejected",
        "timestamp_refused",
    }
)
TEMPORARY_PROBLEMS = frozenset({"consumer_key_refused"})
EXTENSION_PROBLEMS = frozenset({"access_token_expired"})

DELETE_AND_REPORT = "delete_and_report"
KEEP_AND_REPORT = "keep_and_report"
REFRESH_AND_RETRY = "refresh_and_retry"
DELETE_AND_RETRY = "delete_and_retry"
PASS_THROUGH = "pass_through"  # noqa: S105 - an action name


@dataclass(frozen=True)
class Endpoint:
    url: str
    method: str = "GET"
    param_location: str = "auth-header"


@dataclass(frozen=True)
class Signer:
    """Consumer credentials: an HMAC or PLAINTEXT secret, or an RSA PEM."""

    consumer_key: str
    key_type: str
    secret: str = field(repr=False)
    key_name: str = ""

    def __str__(self) -> str:
        return f"consumer {self.consumer_key} ({self.key_type})"


@dataclass
class Call:
    """One request to sign: where it goes and what it carries."""

    method: str
    url: str
    location: str = "auth-header"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    token: str = field(default="", repr=False)
    token_secret: str = field(default="", repr=False)
    callback: str = ""
    verifier: str = field(default="", repr=False)
    session_handle: str = field(default="", repr=False)
    query_params: list[tuple[str, str]] = field(default_factory=list)
    body_hash: bool = False


class _Client(oauth1.Client):
    """oauthlib's client, with extra ``oauth_*`` parameters and our body hash."""

    def __init__(self, extra: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.extra = extra

    def get_oauth_params(self, request: OAuthRequest) -> list[tuple[str, str]]:
        params = [
            (name, value)
            for name, value in super().get_oauth_params(request)
            if name != "oauth_body_hash"
        ]
        return params + self.extra


def sign(signer: Signer, call: Call) -> OutboundRequest:
    """The signed, ready-to-send request for ``call``; see the docstring."""
    if signer.key_type not in _METHODS:
        raise OAuthError(
            BAD_OAUTH_CONFIGURATION,
            f"The consumer key type {signer.key_type!r} is not supported.",
        )
    _check_plaintext_transport(signer, call.url)
    location = _location(call)
    is_form = _is_form(call.headers) and call.method not in ("GET", "HEAD")
    url = _with_query(call.url, _query_params(signer, call))
    body_text = _form_text(call.body) if is_form else None
    if location == "post-body" and body_text is None:
        body_text = ""
    client = _Client(
        _extra_oauth(call, is_form),
        client_key=signer.consumer_key,
        client_secret=signer.secret if signer.key_type != RSA_PRIVATE else None,
        rsa_key=signer.secret if signer.key_type == RSA_PRIVATE else None,
        resource_owner_key=call.token or None,
        resource_owner_secret=call.token_secret or None,
        callback_uri=call.callback or None,
        verifier=call.verifier or None,
        signature_method=_METHODS[signer.key_type],
        signature_type=LOCATIONS[location],
    )
    oauth_headers = {"Content-Type": FORM} if body_text is not None else {}
    try:
        uri, signed, body = client.sign(
            url,
            http_method=call.method,  # type: ignore[arg-type]
            body=body_text,
            headers=oauth_headers,
        )
    except ValueError as exc:
        raise OAuthError(
            INVALID_REQUEST, f"The request cannot be signed: {exc}."
        ) from None
    return _outbound(call, uri, signed, body, body_text is not None)


def _outbound(
    call: Call, uri: str, signed: dict[str, str], body: str | None, is_form: bool
) -> OutboundRequest:
    headers = {k: v for k, v in call.headers.items() if k.lower() != "authorization"}
    if "Authorization" in signed:
        headers["Authorization"] = signed["Authorization"]
    if is_form:
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        headers["Content-Type"] = FORM
        data = (
            (body or "").encode("utf-8") if call.method not in ("GET", "HEAD") else None
        )
    else:
        data = call.body
    return OutboundRequest(
        url=uri, method=call.method, headers=headers, body=data, follow_redirects=False
    )


def _location(call: Call) -> str:
    location = call.location or "auth-header"
    if location not in LOCATIONS:
        raise OAuthError(
            BAD_OAUTH_CONFIGURATION,
            f"The OAuth parameter location {location!r} is not one of "
            "auth-header, uri-query or post-body.",
        )
    if location == "post-body" and call.method != "POST":
        # Shindig's fallback: a GET has no body to put parameters in.
        return "auth-header"
    if location == "post-body" and call.body and not _is_form(call.headers):
        raise OAuthError(
            INVALID_REQUEST,
            "OAuth parameters can only go in the body of a request whose "
            f"Content-Type is {FORM}.",
        )
    return location


def _is_form(headers: dict[str, str]) -> bool:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value.split(";")[0].strip().lower() == FORM
    return False


def _form_text(body: bytes | None) -> str:
    try:
        return (body or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise OAuthError(
            INVALID_REQUEST, "A form-encoded request body must be UTF-8."
        ) from None


def _extra_oauth(call: Call, is_form: bool) -> list[tuple[str, str]]:
    extra = []
    if call.session_handle:
        extra.append(("oauth_session_handle", call.session_handle))
    if call.body_hash and not is_form:
        digest = hashlib.sha1(call.body or b"").digest()  # noqa: S324 - the spec's hash
        extra.append(("oauth_body_hash", base64.b64encode(digest).decode("ascii")))
    return extra


def _query_params(signer: Signer, call: Call) -> list[tuple[str, str]]:
    params = list(call.query_params)
    if signer.key_name:
        params.append(("xoauth_signature_publickey", signer.key_name))
        params.append(("xoauth_public_key", signer.key_name))
    return params


def _with_query(url: str, params: list[tuple[str, str]]) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    added = urlencode(params)
    query = f"{parts.query}&{added}" if parts.query else added
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _check_plaintext_transport(signer: Signer, url: str) -> None:
    if signer.key_type != PLAINTEXT:
        return
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    pair = f"{(parts.hostname or '').lower()}:{port}"
    if parts.scheme == "https" or pair in settings.OUTBOUND_ALLOWLIST:
        return
    raise OAuthError(
        BAD_OAUTH_CONFIGURATION,
        f"PLAINTEXT signatures send the consumer secret itself, so they are only "
        f"sent over https; {parts.hostname} is plain http.",
    )


# --- Sending ---------------------------------------------------------------

_REDACT = re.compile(
    r"(oauth_token_secret|oauth_token|oauth_session_handle|oauth_verifier"
    r"|oauth_signature|oauth_callback|oauth_nonce)(=\"?|\":\s*\"|%3D)"
    r"([^&\s\",]*)",
    re.IGNORECASE,
)
_TRACE_BODY_CHARS = 1000


def redact(text: str) -> str:
    """``text`` with every token, secret, verifier and signature removed."""
    return _REDACT.sub(lambda m: f"{m.group(1)}{m.group(2)}REMOVED", text)


@dataclass
class Trace:
    """A redacted account of the exchanges of one makeRequest."""

    lines: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.lines.append(redact(text))

    def sent(self, request: OutboundRequest) -> None:
        number = sum(1 for line in self.lines if line.startswith("==== Sent")) + 1
        parts = urlsplit(request.url)
        self.lines.append(f"==== Sent request {number}:")
        self.lines.append(redact(f"{request.method} {parts.path}?{parts.query}"))
        self.lines.append(f"Host: {parts.netloc}")
        for name in request.headers:
            if name.lower() == "authorization":
                self.lines.append(redact(f"{name}: {request.headers[name]}"))

    def received(self, response: OutboundResponse) -> None:
        self.lines.append("==== Received response:")
        self.lines.append(f"HTTP/1.1 {response.status}")
        for name, value in response.headers:
            if name.lower() in ("www-authenticate", "content-type", "location"):
                self.lines.append(redact(f"{name}: {value}"))
        body = response.body[:_TRACE_BODY_CHARS].decode("utf-8", "replace")
        self.lines.append(redact(body))

    def text(self) -> str:
        return "\n".join(self.lines)


async def send(
    request: OutboundRequest, trace: Trace, *, service: str, step: str
) -> OutboundResponse:
    """Send one signed request, never following redirects."""
    request.follow_redirects = False
    trace.sent(request)
    try:
        response = await outbound.fetch(request)
    except GadgetError as exc:
        trace.note(f"==== No response: {exc.message}")
        raise OAuthError(
            MISSING_SERVER_RESPONSE,
            f"No response from the service provider {_named(service)} for the "
            f"{step}: {exc.message} Try again later.",
        ) from None
    trace.received(response)
    return response


def _named(service: str) -> str:
    return f"'{service}'" if service else "(default service)"


# --- Reading answers -------------------------------------------------------


def _header(response: OutboundResponse, name: str) -> list[str]:
    return [value for key, value in response.headers if key.lower() == name]


def _auth_header_params(response: OutboundResponse) -> list[tuple[str, str]]:
    params = []
    for value in _header(response, "www-authenticate"):
        if not value.lower().startswith("oauth"):
            continue
        for key, raw in re.findall(r'([\w.-]+)\s*=\s*"([^"]*)"', value[5:]):
            if key.lower() != "realm":
                params.append((key, _unescape(raw)))
    return params


def _unescape(value: str) -> str:
    from urllib.parse import unquote

    return unquote(value)


def _body_params(response: OutboundResponse) -> list[tuple[str, str]]:
    try:
        text = response.body.decode("utf-8").strip()
    except UnicodeDecodeError:
        return []
    if not text or text.startswith(("{", "[", "<")) or "=" not in text:
        return []
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return []


def response_params(response: OutboundResponse) -> dict[str, str]:
    """Parameters from the form body, overlaid with the OAuth header."""
    params = dict(_body_params(response))
    params.update(_auth_header_params(response))
    return params


def find_problem(response: OutboundResponse) -> str:
    """The provider's ``oauth_problem``, from the header or the body."""
    for key, value in _auth_header_params(response):
        if key == "oauth_problem":
            return value
    return dict(_body_params(response)).get("oauth_problem", "")


def classify(status: int, problem: str) -> str:
    """Shindig's action for a provider answer (see the reference table)."""
    if problem in FATAL_PROBLEMS:
        return DELETE_AND_REPORT
    if problem in TEMPORARY_PROBLEMS:
        return KEEP_AND_REPORT
    if problem in EXTENSION_PROBLEMS:
        return REFRESH_AND_RETRY
    if status == 401:
        return DELETE_AND_RETRY
    if problem and status in (400, 403):
        return KEEP_AND_REPORT
    return PASS_THROUGH


@dataclass
class TokenResponse:
    token: str = field(repr=False)
    secret: str = field(repr=False)
    callback_confirmed: bool = False
    expires_in: int | None = None
    session_handle: str = field(default="", repr=False)
    authorization_expires_in: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


def parse_token_response(
    response: OutboundResponse, *, service: str, step: str, require_confirmed: bool
) -> TokenResponse:
    """Read a token endpoint's answer; raise ``OAuthError`` if incomplete."""
    params = response_params(response)
    for name in ("oauth_token", "oauth_token_secret"):
        if not params.get(name):
            raise OAuthError(
                MISSING_OAUTH_PARAMETER,
                f"The service provider {_named(service)} answered the {step} "
                f"request (HTTP {response.status}) without {name}.",
            )
    confirmed = params.get("oauth_callback_confirmed", "").lower() == "true"
    if require_confirmed and not confirmed:
        raise OAuthError(
            MISSING_OAUTH_PARAMETER,
            f"The service provider {_named(service)} did not confirm the callback "
            "(oauth_callback_confirmed=true) when issuing the request token; "
            "OAuth 1.0 providers without it are refused because of the session "
            "fixation attack. Ask the provider for OAuth 1.0a.",
        )
    return TokenResponse(
        token=params["oauth_token"],
        secret=params["oauth_token_secret"],
        callback_confirmed=confirmed,
        expires_in=_seconds(params.get("oauth_expires_in")),
        session_handle=params.get("oauth_session_handle", ""),
        authorization_expires_in=_seconds(params.get("oauth_authorization_expires_in")),
        extra={k: v for k, v in params.items() if not k.startswith("oauth")},
    )


def _seconds(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        logger.warning("Ignoring a non-numeric token lifetime from a provider")
        return None
