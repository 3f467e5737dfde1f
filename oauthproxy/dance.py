"""The OAuth dance and signed fetch behind makeRequest's authz=oauth|signed.

A worked example: Alice's contacts gadget (module 7) asks for
``https://sp.example/api/contacts`` with ``authz=oauth``, service
"contacts", no token yet.

1. ``fetch`` reads the spec's ``<OAuth>`` service (cached, via
   ``specfetch.get_spec``) and the consumer registration for (gadget,
   "contacts"), or falls back to the container RSA key.
2. Owner and viewer are both Alice, so she may approve. No access token is
   stored under ``token_key("alice", gadget, 7, "contacts", "")``.
3. ``start_dance`` asks the provider for a request token, sending
   ``oauth_callback=https://<gadget host>/gadgets/oauthcallback?state=S``,
   and requires ``oauth_callback_confirmed=true`` (OAuth 1.0a). The request
   token is stored encrypted in a ``PendingDance`` (expiring, single use)
   together with the SHA-256 of a random browser binding.
4. The makeRequest answer carries ``oauthApprovalUrl`` and sets the binding
   as a cookie on the gadget's own host. That is the browser whose gadget
   frame, holding Alice's security token, asked; a URL handed to anyone
   else arrives at the callback without it.
5. Alice approves; the provider sends her browser to the callback with
   ``oauth_token`` and ``oauth_verifier``. ``complete_dance`` checks the
   state (known, on the right host, open, unexpired, request token equal,
   binding cookie equal), marks it used, exchanges the request token for
   an access token and stores it encrypted. The page tells the gadget
   frame by postMessage and closes.
6. The gadget's next makeRequest finds the token (one query) and
   ``fetch_with_token`` signs the resource request with it.

Provider answers follow Shindig's classification (``client.classify``):
at most two protocol attempts per makeRequest; a revoked token is deleted
and the person gets a new approval URL; an expired one is refreshed with
its session handle (before use when its expiry is known, or after
``access_token_expired``); 5xx and timeouts leave the token alone.

Where this departs from Shindig, on purpose: the dance is completed on the
server and bound to the browser; request tokens never leave the server
(``oauthState`` only names the dance); identity parameters are not sent to
token endpoints; ``oauth_problem`` is read from the body too; programmatic
endpoint configuration is refused (a gadget must not point our signature
at endpoints of its choosing); and ``oauthErrorText`` is a sentence, with
the redacted trace stored as an ``OAuthTrace`` for the developer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from gadgets import specfetch
from gadgets.errors import GadgetError
from gadgets.locked_domain import canonical_gadget_url, gadget_origin, locked_host
from gadgets.outbound import OutboundResponse
from gadgets.security_token import SecurityToken
from gadgets.spec_model import OAuthService

from . import claims, client, conf, keys
from . import state as oauth_state
from .client import Call, Signer, Trace
from .crypto import SecretUnavailable
from .errors import (
    BAD_OAUTH_CONFIGURATION,
    INVALID_PARAMETER,
    INVALID_REQUEST,
    NOT_OWNER,
    UNAUTHENTICATED,
    UNKNOWN_PROBLEM,
    OAuthError,
)
from .models import AccessToken, AuditEvent, OAuthTrace, PendingDance, token_key
from .registrations import find_consumer
from .signing import identity_params

logger = logging.getLogger(__name__)
security_logger = logging.getLogger("gadgets.security")

ALWAYS, IF_AVAILABLE, NEVER = "always", "if_available", "never"
USE_TOKEN_VALUES = (ALWAYS, IF_AVAILABLE, NEVER)
RESERVED_PREFIXES = ("oauth", "xoauth", "opensocial")
MAX_ATTEMPTS = 2
_LAST_USED_RESOLUTION = timedelta(hours=1)


@dataclass
class OAuthFetch:
    """One makeRequest with authz=oauth or authz=signed, already parsed."""

    token: SecurityToken
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    authz: str = "oauth"
    use_token: str = ALWAYS
    service_name: str = ""
    token_name: str = ""
    sign_owner: bool = True
    sign_viewer: bool = True
    request_token: str = field(default="", repr=False)
    request_token_secret: str = field(default="", repr=False)
    received_callback: str = field(default="", repr=False)
    oauth_state: str = field(default="", repr=False)
    bypass_spec_cache: bool = False

    @property
    def key(self) -> str:
        return token_key(
            self.token.viewer,
            self.token.gadget_url,
            self.token.module_id,
            self.service_name,
            self.token_name,
        )


@dataclass
class BindingCookie:
    name: str
    value: str = field(repr=False)
    max_age_seconds: int


@dataclass
class OAuthResult:
    """What goes into the makeRequest envelope for this URL."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    approval_url: str = ""
    oauth_state: str = ""
    oauth_error: str = ""
    oauth_error_text: str = ""
    binding_cookie: BindingCookie | None = None

    @property
    def is_oauth_answer(self) -> bool:
        """Approval and error answers are synthesized and never cached."""
        return bool(self.approval_url or self.oauth_error)


# --- Parsing the gadget's parameters --------------------------------------


def parse_use_token(value: str | None, authz: str) -> str:
    if not value:
        return NEVER if authz == "signed" else ALWAYS
    mode = value.strip().lower()
    if mode not in USE_TOKEN_VALUES:
        raise GadgetError(
            f"OAUTH_USE_TOKEN must be always, if_available or never, not {value!r}."
        )
    return mode


def check_reserved(url: str, headers: dict[str, str], body: bytes | None) -> None:
    """Refuse gadget parameters that would impersonate ours."""
    names = [name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)]
    if client._is_form(headers) and body:
        text = body.decode("utf-8", "replace")
        names += [name for name, _ in parse_qsl(text, keep_blank_values=True)]
    for name in names:
        if name.strip().lower().startswith(RESERVED_PREFIXES):
            raise OAuthError(
                INVALID_PARAMETER,
                f"Invalid parameter name {name[:80]}: applications may not set "
                "oauth, xoauth or opensocial parameters; the container adds them.",
            )


# --- Entry point ----------------------------------------------------------


async def fetch(request: OAuthFetch) -> OAuthResult:
    """Serve one signed or OAuth makeRequest; errors come back in the result."""
    trace = Trace()
    try:
        check_reserved(request.url, request.headers, request.body)
        if request.use_token == NEVER:
            return await signed_fetch(request, trace)
        return await _fetch_oauth(request, trace)
    except OAuthError as error:
        return await _failed(request, error, trace)
    except SecretUnavailable as error:
        # Fail closed: never sign with a guess, never delete what a restored
        # key would open again. The operator must act; the gadget is told.
        logger.error("OAuth request refused: %s", error.message)
        unavailable = OAuthError(
            BAD_OAUTH_CONFIGURATION,
            f"The container cannot open the stored secret needed to sign for "
            f"service {_named(request.service_name)}: its encryption key is "
            "missing or changed. This is the container operator's to fix.",
        )
        return await _failed(request, unavailable, trace)


async def _fetch_oauth(request: OAuthFetch, trace: Trace) -> OAuthResult:
    service = await _service(request)
    signer = await _signer(request.token.gadget_url, request.service_name)
    may_use = _may_use_tokens(request.token)
    if request.use_token == ALWAYS and not may_use:
        raise _not_allowed(request.token)
    if not may_use:
        return await _two_legged(request, service, signer, trace)
    exchanged = await _exchange_from_request(request, service, signer, trace)
    if exchanged is not None and _same_url(request.url, service.access.url):
        return _access_data(exchanged)
    return await fetch_with_token(request, service, signer, trace)


def _may_use_tokens(token: SecurityToken) -> bool:
    if not token.viewer or not token.owner:
        return False
    return token.viewer == token.owner or bool(conf.get("VIEWER_ACCESS_TOKENS"))


def _not_allowed(token: SecurityToken) -> OAuthError:
    if not token.viewer or not token.owner:
        return OAuthError(
            UNAUTHENTICATED,
            "Only a signed-in person can approve access to a service; this "
            "gadget's security token has no viewer or no owner.",
        )
    return OAuthError(
        NOT_OWNER,
        "Only page owners can grant OAuth approval: the viewer of this gadget "
        "is not the owner of the page it is on.",
    )


async def _service(request: OAuthFetch) -> OAuthService:
    try:
        spec = await specfetch.get_spec(
            request.token.gadget_url, nocache=request.bypass_spec_cache
        )
    except GadgetError as exc:
        raise OAuthError(
            BAD_OAUTH_CONFIGURATION,
            f"The gadget spec could not be read to find its OAuth services: "
            f"{exc.message}",
        ) from None
    services = spec.module_prefs.oauth_services
    if not services:
        raise OAuthError(
            BAD_OAUTH_CONFIGURATION,
            "The gadget spec does not contain an OAuth element; add "
            "<OAuth><Service> to its ModulePrefs to use authz=oauth.",
        )
    if request.service_name not in services:
        known = ", ".join(repr(name) for name in services)
        raise OAuthError(
            BAD_OAUTH_CONFIGURATION,
            f"The gadget spec does not contain OAuth service "
            f"{request.service_name!r}. Known services: {known}.",
        )
    return services[request.service_name]


async def _signer(gadget_url: str, service_name: str) -> Signer:
    consumer = await find_consumer(gadget_url, service_name)
    if consumer is not None:
        return Signer(consumer.consumer_key, consumer.key_type, consumer.secret())
    key = await sync_to_async(keys.container_key)()
    return Signer(key.consumer_key, "RSA_PRIVATE", key.private_key_pem, key.name)


def _same_url(first: str, second: str) -> bool:
    try:
        return canonical_gadget_url(first) == canonical_gadget_url(second)
    except GadgetError:
        return False


def _access_data(tokens: client.TokenResponse) -> OAuthResult:
    body = json.dumps(tokens.extra).encode("utf-8")
    headers = [("content-type", "application/json; charset=utf-8")]
    return OAuthResult(status=200, body=body, headers=headers)


# --- Using a stored token --------------------------------------------------


async def fetch_with_token(
    request: OAuthFetch, service: OAuthService, signer: Signer, trace: Trace
) -> OAuthResult:
    """The resource request with the stored token, refreshing or re-asking."""
    stored = await _stored_token(request.key)
    if stored is not None and _needs_refresh(stored):
        stored = await refresh_token(request, service, signer, stored, trace)
    if stored is None:
        if request.use_token == ALWAYS:
            return await start_dance(request, service, signer, trace)
        return await _two_legged(request, service, signer, trace)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        response = await _resource(request, service, signer, stored, trace)
        action = client.classify(response.status, client.find_problem(response))
        if action == client.REFRESH_AND_RETRY and not stored.session_handle_encrypted:
            action = client.DELETE_AND_RETRY
        if attempt == MAX_ATTEMPTS or action not in _RETRIED:
            break
        if action == client.REFRESH_AND_RETRY:
            stored = await refresh_token(request, service, signer, stored, trace)
            if stored is not None:
                continue
        else:
            await delete_token(request.key, reason=client.find_problem(response))
        if request.use_token == ALWAYS:
            return await start_dance(request, service, signer, trace)
        return await _two_legged(request, service, signer, trace)
    return await _resource_result(request, response, action, trace)


_RETRIED = (client.REFRESH_AND_RETRY, client.DELETE_AND_RETRY)


async def _stored_token(key: str) -> AccessToken | None:
    stored = await AccessToken.objects.filter(key=key, revoked=False).afirst()
    if (
        stored is not None
        and stored.last_used_at < timezone.now() - _LAST_USED_RESOLUTION
    ):
        # Coarse on purpose: the warm path must not write on every call.
        stored.last_used_at = timezone.now()
        await AccessToken.objects.filter(pk=stored.pk).aupdate(
            last_used_at=stored.last_used_at
        )
    return stored


def _needs_refresh(stored: AccessToken) -> bool:
    ahead = timedelta(seconds=conf.get("REFRESH_AHEAD_SECONDS"))
    return bool(stored.session_handle_encrypted) and stored.is_expired(
        timezone.now() + ahead
    )


async def _resource(
    request: OAuthFetch,
    service: OAuthService,
    signer: Signer,
    stored: AccessToken | None,
    trace: Trace,
) -> OutboundResponse:
    token, secret = ("", "")
    if stored is not None:
        token, secret, _ = stored.get_credentials()
    call = Call(
        method=request.method,
        url=request.url,
        location=service.request.param_location,
        headers=request.headers,
        body=request.body,
        token=token,
        token_secret=secret,
        query_params=identity_params(
            request.token,
            sign_owner=request.sign_owner,
            sign_viewer=request.sign_viewer,
        ),
        body_hash=True,
    )
    return await client.send(
        client.sign(signer, call), trace, service=request.service_name, step="resource"
    )


async def _resource_result(
    request: OAuthFetch, response: OutboundResponse, action: str, trace: Trace
) -> OAuthResult:
    problem = client.find_problem(response)
    if action == client.DELETE_AND_REPORT:
        await delete_token(request.key, reason=problem)
    if action in (client.DELETE_AND_REPORT, client.KEEP_AND_REPORT) or (
        action == client.DELETE_AND_RETRY and problem
    ):
        raise OAuthError(
            problem or UNKNOWN_PROBLEM, _rejected(request, response, problem)
        )
    result = OAuthResult(response.status, response.body, response.headers)
    if response.status >= 400:
        result.oauth_error_text = _rejected(request, response, problem)
        await _record(request, "", result.oauth_error_text, trace)
        if conf.get("TRACE_TO_GADGET"):
            result.oauth_error_text += "\n" + trace.text()
    return result


def _rejected(request: OAuthFetch, response: OutboundResponse, problem: str) -> str:
    said = f"oauth_problem={problem}" if problem else "no oauth_problem"
    advice = {
        "consumer_key_unknown": "Register this gadget's consumer key with the "
        "provider.",
        "consumer_key_refused": "The provider refused the consumer key for now "
        "(often a quota); the access token was kept, try again later.",
        "timestamp_refused": "Check the container's clock.",
        "signature_invalid": "Check the consumer key and secret registered for "
        "this gadget and service.",
    }.get(problem, "See the developer dashboard for the redacted exchange.")
    return (
        f"The service provider {_named(request.service_name)} rejected the request "
        f"to {urlsplit(request.url).netloc} with HTTP {response.status} ({said}). "
        f"{advice}"
    )


def _named(service: str) -> str:
    return f"'{service}'" if service else "(default service)"


async def delete_token(key: str, *, reason: str) -> None:
    """Forget a token the provider no longer honours (one key, everywhere).

    The audit event names the person, gadget and service, so Connected
    services can tell the person why the gadget asks for approval again.
    """
    row = await AccessToken.objects.filter(key=key).afirst()
    deleted, _ = await AccessToken.objects.filter(key=key).adelete()
    if deleted and row is not None:
        await AuditEvent.objects.acreate(
            kind="token_deleted",
            actor=row.viewer,
            gadget_url=row.gadget_url,
            service_name=row.service_name,
            target=key[:16],
            details={"reason": reason[:100], "module_id": row.module_id},
        )


# --- Session extension -----------------------------------------------------


async def refresh_token(
    request: OAuthFetch,
    service: OAuthService,
    signer: Signer,
    stored: AccessToken,
    trace: Trace,
) -> AccessToken | None:
    """Renew ``stored`` with its session handle; None if it must be re-approved.

    One refresh at a time per token, in every process (web or worker):
    a second caller waits for the first and then reads what it stored,
    instead of spending the same handle (``claims``).
    """
    claim = await claims.claim_refresh(stored)
    if claim is None:
        wait_seconds = settings.GADGETS["FETCH_DEADLINE_SECONDS"] + 2
        return await claims.wait_for_refresh(stored.key, wait_seconds)
    try:
        return await _refresh(request, service, signer, stored, trace)
    finally:
        await claims.release_refresh(stored.key, claim)


async def _refresh(
    request: OAuthFetch,
    service: OAuthService,
    signer: Signer,
    stored: AccessToken,
    trace: Trace,
) -> AccessToken | None:
    token, secret, handle = stored.get_credentials()
    if not handle:
        return stored
    call = Call(
        method=service.access.method,
        url=service.access.url,
        location=service.access.param_location,
        headers=_token_endpoint_headers(service.access.method),
        token=token,
        token_secret=secret,
        session_handle=handle,
    )
    step = "access token refresh"
    response = await client.send(
        client.sign(signer, call), trace, service=request.service_name, step=step
    )
    if response.status != 200:
        return await _refresh_failed(request, response, trace)
    tokens = client.parse_token_response(
        response, service=request.service_name, step=step, require_confirmed=False
    )
    tokens.session_handle = tokens.session_handle or handle
    await AuditEvent.objects.acreate(kind="token_refreshed", target=stored.key[:16])
    return await store_token(_identity_of(request), tokens)


async def _refresh_failed(
    request: OAuthFetch, response: OutboundResponse, trace: Trace
) -> AccessToken | None:
    problem = client.find_problem(response)
    action = client.classify(response.status, problem)
    if action in (client.DELETE_AND_RETRY, client.DELETE_AND_REPORT):
        await delete_token(request.key, reason=problem or "refresh refused")
        return None
    raise OAuthError(
        problem or UNKNOWN_PROBLEM,
        f"The service provider {_named(request.service_name)} did not renew the "
        f"access token (HTTP {response.status}, {problem or 'no oauth_problem'}); "
        "the stored token was kept. Try again later.",
    )


def _token_endpoint_headers(method: str) -> dict[str, str]:
    return {"Content-Type": client.FORM} if method == "POST" else {}


# --- Storing tokens --------------------------------------------------------


@dataclass(frozen=True)
class TokenIdentity:
    viewer: str
    gadget_url: str
    module_id: int
    service_name: str
    token_name: str

    @property
    def key(self) -> str:
        return token_key(
            self.viewer,
            self.gadget_url,
            self.module_id,
            self.service_name,
            self.token_name,
        )


def _identity_of(request: OAuthFetch) -> TokenIdentity:
    return TokenIdentity(
        request.token.viewer,
        canonical_gadget_url(request.token.gadget_url),
        request.token.module_id,
        request.service_name,
        request.token_name,
    )


async def store_token(
    identity: TokenIdentity, tokens: client.TokenResponse
) -> AccessToken:
    """Create or replace the access token under ``identity.key``."""
    now = timezone.now()
    row = AccessToken(
        key=identity.key,
        viewer=identity.viewer,
        gadget_url=identity.gadget_url,
        module_id=identity.module_id,
        service_name=identity.service_name,
        token_name=identity.token_name,
        expires_at=_after(now, tokens.expires_in),
        authorization_expires_at=_after(now, tokens.authorization_expires_in),
        last_used_at=now,
    )
    row.set_credentials(tokens.token, tokens.secret, tokens.session_handle)
    await sync_to_async(_replace_token)(row)
    return row


def _replace_token(row: AccessToken) -> None:
    # One transaction: a concurrent reader sees the old token or the new
    # one, never no token (which would send the person to approve again).
    with transaction.atomic():
        AccessToken.objects.filter(key=row.key).delete()
        row.save()


def _after(now: datetime, seconds: int | None) -> datetime | None:
    return None if seconds is None else now + timedelta(seconds=seconds)


# --- Starting a dance ------------------------------------------------------


async def start_dance(
    request: OAuthFetch, service: OAuthService, signer: Signer, trace: Trace
) -> OAuthResult:
    """Get a request token and answer with the approval URL and a binding."""
    dance = PendingDance(
        key=request.key,
        viewer=request.token.viewer,
        owner=request.token.owner,
        gadget_url=canonical_gadget_url(request.token.gadget_url),
        module_id=request.token.module_id,
        service_name=request.service_name,
        token_name=request.token_name,
        expires_at=timezone.now()
        + timedelta(seconds=conf.get("PENDING_DANCE_TTL_SECONDS")),
    )
    tokens = await _request_token(request, service, signer, dance, trace)
    binding = secrets.token_urlsafe(32)
    dance.binding_digest = _digest(binding)
    dance.set_request_token(tokens.token, tokens.secret)
    await dance.asave()
    await _record(
        request, "", "Approval needed; a new request token was issued.", trace
    )
    return OAuthResult(
        approval_url=_approval_url(service.authorization_url, tokens.token),
        oauth_state=oauth_state.seal(request.key, dance.state),
        binding_cookie=BindingCookie(
            binding_cookie_name(dance.state),
            binding,
            conf.get("PENDING_DANCE_TTL_SECONDS"),
        ),
    )


async def _request_token(
    request: OAuthFetch,
    service: OAuthService,
    signer: Signer,
    dance: PendingDance,
    trace: Trace,
) -> client.TokenResponse:
    call = Call(
        method=service.request.method,
        url=service.request.url,
        location=service.request.param_location,
        headers=_token_endpoint_headers(service.request.method),
        callback=await _callback_for(request, dance.state),
    )
    response = await client.send(
        client.sign(signer, call),
        trace,
        service=request.service_name,
        step="request token",
    )
    if response.status != 200:
        problem = client.find_problem(response)
        raise OAuthError(
            problem or UNKNOWN_PROBLEM,
            f"The service provider {_named(request.service_name)} refused to issue a "
            f"request token (HTTP {response.status}, {problem or 'no oauth_problem'}). "
            "Check the consumer key registered for this gadget and the spec's "
            "<Request> URL.",
        )
    return client.parse_token_response(
        response,
        service=request.service_name,
        step="request token",
        require_confirmed=True,
    )


async def _callback_for(request: OAuthFetch, dance_state: str) -> str:
    """Our callback; or the consumer's registered one (which must lead to
    ours) with the state added; or ``oob`` when the registration says the
    provider cannot redirect (OAuth 1.0a's out-of-band callback)."""
    consumer = await find_consumer(request.token.gadget_url, request.service_name)
    registered = consumer.callback_url if consumer is not None else ""
    if registered == "oob":
        return "oob"
    if registered:
        joiner = "&" if urlsplit(registered).query else "?"
        return f"{registered}{joiner}{urlencode({'state': dance_state})}"
    return callback_url(request.token.gadget_url, dance_state)


def callback_url(gadget_url: str, dance_state: str) -> str:
    """Where the provider sends the browser back: the gadget's own host."""
    query = urlencode({"state": dance_state})
    host = locked_host(gadget_url)
    return f"{settings.CONTAINER_SCHEME}://{host}/gadgets/oauthcallback?{query}"


def binding_cookie_name(dance_state: str) -> str:
    return "oauth_binding_" + hashlib.sha256(dance_state.encode()).hexdigest()[:16]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _approval_url(authorization_url: str, request_token: str) -> str:
    joiner = "&" if urlsplit(authorization_url).query else "?"
    return f"{authorization_url}{joiner}{urlencode({'oauth_token': request_token})}"


# --- Finishing a dance -----------------------------------------------------


async def _exchange_from_request(
    request: OAuthFetch, service: OAuthService, signer: Signer, trace: Trace
) -> client.TokenResponse | None:
    """Exchange a preapproved token, or one named by OAUTH_RECEIVED_CALLBACK."""
    if request.use_token != ALWAYS:
        return None
    if request.received_callback:
        return await _exchange_received_callback(request, service, signer, trace)
    if request.request_token and request.request_token_secret:
        if await AccessToken.objects.filter(key=request.key, revoked=False).aexists():
            return None
        tokens = await exchange(
            request,
            service,
            signer,
            request.request_token,
            request.request_token_secret,
            "",
            trace,
        )
        await store_token(_identity_of(request), tokens)
        return tokens
    return None


async def _exchange_received_callback(
    request: OAuthFetch, service: OAuthService, signer: Signer, trace: Trace
) -> client.TokenResponse | None:
    params = _callback_params(request.received_callback)
    dance = await PendingDance.objects.filter(state=params.get("state", "")).afirst()
    if dance is None or dance.key != request.key or not dance.is_open():
        # Already completed at the callback, or not this gadget's: ignore.
        trace.note("Ignored a received callback that names no open dance.")
        return None
    token, secret = dance.get_request_token()
    if not hmac.compare_digest(token, params.get("oauth_token", "")):
        trace.note("Ignored a received callback for another request token.")
        return None
    if not await _claim(dance):
        return None
    tokens = await exchange(
        request, service, signer, token, secret, params.get("oauth_verifier", ""), trace
    )
    await store_token(_identity_of(request), tokens)
    return tokens


def _callback_params(url: str) -> dict[str, str]:
    try:
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
    except ValueError:
        params = {}
    if not params:
        raise OAuthError(
            INVALID_REQUEST, "Invalid received callback URL: it has no query string."
        )
    return params


async def _claim(dance: PendingDance) -> bool:
    """Mark the dance used; only one caller ever wins."""
    now = timezone.now()
    claimed = await PendingDance.objects.filter(
        pk=dance.pk, used_at__isnull=True, expires_at__gt=now
    ).aupdate(used_at=now)
    return claimed == 1


async def exchange(
    request: OAuthFetch,
    service: OAuthService,
    signer: Signer,
    request_token: str,
    request_secret: str,
    verifier: str,
    trace: Trace,
) -> client.TokenResponse:
    """Trade an approved request token for an access token."""
    call = Call(
        method=service.access.method,
        url=service.access.url,
        location=service.access.param_location,
        headers=_token_endpoint_headers(service.access.method),
        token=request_token,
        token_secret=request_secret,
        verifier=verifier,
    )
    step = "access token"
    response = await client.send(
        client.sign(signer, call), trace, service=request.service_name, step=step
    )
    if response.status != 200:
        problem = client.find_problem(response)
        raise OAuthError(
            problem or UNKNOWN_PROBLEM,
            f"The service provider {_named(request.service_name)} refused to exchange "
            f"the approved request token (HTTP {response.status}, "
            f"{problem or 'no oauth_problem'}). Ask the person to approve again.",
        )
    tokens = client.parse_token_response(
        response, service=request.service_name, step=step, require_confirmed=False
    )
    await AuditEvent.objects.acreate(
        kind="token_created",
        actor=request.token.viewer,
        gadget_url=canonical_gadget_url(request.token.gadget_url),
        service_name=request.service_name,
        target=request.key[:16],
    )
    return tokens


@dataclass
class CallbackOutcome:
    """How the callback went; ``ask_session`` means the browser lacks the
    binding cookie (a browser that refuses cookies from frames, or another
    person's browser), so the view sends it on to the container host, where
    the container session decides (``complete_dance_for_session``)."""

    completed: bool
    message: str
    gadget_origin: str = ""
    status: int = 200
    ask_session: bool = False


async def complete_dance(
    *, state: str, oauth_token: str, verifier: str, binding: str, host: str
) -> CallbackOutcome:
    """The callback on the gadget's host: the binding cookie vouches for the
    browser. Without it the view sends the browser on to the container
    host, where ``complete_dance_for_session`` asks the session instead."""
    dance = await _open_dance(state)
    refusal = _refusal(dance, oauth_token, host=host)
    if refusal is None and dance is not None and not _bound(dance, binding):
        refusal = _OTHER_BROWSER
    if refusal is not None or dance is None:
        security_logger.info("OAuth callback refused: %s", refusal)
        return _refused(dance, refusal or "", host)
    return await _complete(dance, verifier)


async def complete_dance_for_session(
    *, state: str, oauth_token: str, verifier: str, viewer: str
) -> CallbackOutcome:
    """The callback on the container host: completes only when the browser's
    container session belongs to the dance's viewer. An approval URL handed
    to someone else arrives here with that person's session (or none) and
    completes nothing, so the session-fixation attack of 2009 fails."""
    dance = await _open_dance(state)
    refusal = _refusal(dance, oauth_token, host=None)
    if refusal is None and dance is not None and not viewer:
        refusal = _SIGN_IN
    elif refusal is None and dance is not None and viewer != dance.viewer:
        refusal = _OTHER_PERSON
    if refusal is not None or dance is None:
        security_logger.info("OAuth callback refused on the container: %s", refusal)
        origin = gadget_origin(dance.gadget_url) if dance is not None else ""
        status = 401 if refusal == _SIGN_IN else 403 if dance is not None else 400
        return CallbackOutcome(False, refusal or "", origin, status)
    return await _complete(dance, verifier)


async def _open_dance(state: str) -> PendingDance | None:
    return await PendingDance.objects.filter(state=state).afirst() if state else None


def _bound(dance: PendingDance, binding: str) -> bool:
    return bool(binding) and hmac.compare_digest(_digest(binding), dance.binding_digest)


async def _complete(dance: PendingDance, verifier: str) -> CallbackOutcome:
    origin = gadget_origin(dance.gadget_url)
    if not await _claim(dance):
        return CallbackOutcome(
            False, "This approval link was already used.", origin, 400
        )
    request = await _request_for(dance)
    trace = Trace()
    try:
        service = await _service(request)
        signer = await _signer(dance.gadget_url, dance.service_name)
        token, secret = dance.get_request_token()
        tokens = await exchange(
            request, service, signer, token, secret, verifier, trace
        )
    except OAuthError as error:
        await _failed(request, error, trace)
        return CallbackOutcome(False, error.message, origin, 502)
    await store_token(_identity_of(request), tokens)
    return CallbackOutcome(True, "Access approved.", origin)


def _refused(dance: PendingDance | None, refusal: str, host: str) -> CallbackOutcome:
    if dance is None or host.lower() != locked_host(dance.gadget_url):
        return CallbackOutcome(False, refusal, status=400)
    origin = gadget_origin(dance.gadget_url)
    ask_session = refusal == _OTHER_BROWSER
    return CallbackOutcome(
        False, refusal, origin, 403 if ask_session else 400, ask_session
    )


_OTHER_BROWSER = (
    "This approval was opened in a browser other than the one that asked "
    "for it; nothing was stored. Return to the gadget to finish."
)
_OTHER_PERSON = (
    "This approval was asked for by another person's gadget; nothing was "
    "stored. If you did not ask for it, you can ignore it."
)
_SIGN_IN = (
    "Sign in to the container in this browser to finish approving; nothing "
    "was stored yet."
)


def _refusal(
    dance: PendingDance | None, oauth_token: str, *, host: str | None
) -> str | None:
    """What is wrong with this callback apart from who the browser is;
    ``host`` is the gadget host it arrived on (None: the container)."""
    if dance is None:
        return "This approval link is not valid."
    if host is not None and host.lower() != locked_host(dance.gadget_url):
        return "This approval link belongs to another gadget."
    if dance.used_at is not None:
        return "This approval link was already used."
    if not dance.is_open():
        return "This approval link has expired; start again from the gadget."
    token, _ = dance.get_request_token()
    if not hmac.compare_digest(token, oauth_token):
        return "The provider sent back a different request token; nothing was stored."
    return None


async def _request_for(dance: PendingDance) -> OAuthFetch:
    token = SecurityToken(
        owner=dance.owner,
        viewer=dance.viewer,
        gadget_url=dance.gadget_url,
        module_id=dance.module_id,
        container=settings.GADGETS["CONTAINER_NAME"],
        issued_at=0,
        expires_at=0,
    )
    return OAuthFetch(
        token=token,
        url="",
        service_name=dance.service_name,
        token_name=dance.token_name,
    )


# --- Two-legged and signed fetch ------------------------------------------


async def _two_legged(
    request: OAuthFetch, service: OAuthService, signer: Signer, trace: Trace
) -> OAuthResult:
    response = await _resource(request, service, signer, None, trace)
    return await _resource_result(request, response, client.PASS_THROUGH, trace)


async def signed_fetch(request: OAuthFetch, trace: Trace) -> OAuthResult:
    """authz=signed (or OAUTH_USE_TOKEN=never): consumer key only, no token."""
    signer = await _signer(request.token.gadget_url, request.service_name)
    call = Call(
        method=request.method,
        url=request.url,
        location="uri-query",
        headers=request.headers,
        body=request.body,
        query_params=identity_params(
            request.token,
            sign_owner=request.sign_owner,
            sign_viewer=request.sign_viewer,
        ),
        body_hash=True,
    )
    response = await client.send(
        client.sign(signer, call),
        trace,
        service=request.service_name,
        step="signed fetch",
    )
    return await _resource_result(request, response, client.PASS_THROUGH, trace)


# --- Errors ----------------------------------------------------------------


async def _failed(request: OAuthFetch, error: OAuthError, trace: Trace) -> OAuthResult:
    await _record(request, error.oauth_code, error.message, trace)
    text = error.message
    if conf.get("TRACE_TO_GADGET") and trace.lines:
        text += "\n" + trace.text()
    return OAuthResult(status=403, oauth_error=error.oauth_code, oauth_error_text=text)


async def _record(request: OAuthFetch, code: str, summary: str, trace: Trace) -> None:
    logger.info(
        "OAuth %s gadget=%s module=%s service=%r",
        code or "notice",
        request.token.gadget_url,
        request.token.module_id,
        request.service_name,
    )
    await OAuthTrace.objects.acreate(
        gadget_url=canonical_gadget_url(request.token.gadget_url),
        viewer=request.token.viewer,
        module_id=request.token.module_id,
        service_name=request.service_name,
        oauth_error=code,
        summary=client.redact(summary),
        trace=trace.text(),
    )
