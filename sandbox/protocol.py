"""The provider's side of OAuth 1.0a, on oauthlib's endpoints.

One dance, as the sandbox sees it (HMAC-SHA1, consumer ``demo-contacts``)::

    POST /oauth/request_token   oauth_callback=https://g.example/cb ...
      <- oauth_token=R&oauth_token_secret=RS&oauth_callback_confirmed=true
    GET  /oauth/authorize?oauth_token=R        (the person logs in, allows)
      -> 302 https://g.example/cb?oauth_token=R&oauth_verifier=V
    POST /oauth/access_token    oauth_token=R, oauth_verifier=V ...
      <- oauth_token=A&oauth_token_secret=AS&oauth_session_handle=H
         &oauth_expires_in=3600&oauth_authorization_expires_in=2592000
    GET  /api/contacts          oauth_token=A ...   <- the person's contacts
    POST /oauth/access_token    oauth_token=A, oauth_session_handle=H ...
      <- a new A2/AS2 with the same handle (the session extension)

Every refusal is a ``Problem``: an HTTP status and an ``oauth_problem``
code from the Problem Reporting extension (``token_rejected``,
``token_revoked``, ``nonce_used``, ``signature_invalid``...), which the
views write into ``WWW-Authenticate`` or the body, as the consumer's
switch says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.db import transaction
from django.http import HttpRequest
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    ResourceEndpoint,
    SignatureOnlyEndpoint,
)
from oauthlib.oauth1.rfc5849 import errors
from oauthlib.oauth1.rfc5849 import signature as oauth_signature

from .models import (
    AccessToken,
    Consumer,
    ProviderUser,
    RequestToken,
    delete_stale_rows,
    new_token,
    seconds_from_now,
)
from .validator import SandboxValidator, touch

FORM = "application/x-www-form-urlencoded"
# Never echoed back: they are credentials (a PLAINTEXT signature is the
# secret itself).
CREDENTIAL_PARAMS = frozenset(
    {"oauth_signature", "oauth_token", "oauth_verifier", "oauth_session_handle"}
)
_UNAUTHORIZED = frozenset(
    {
        "consumer_key_unknown",
        "consumer_key_rejected",
        "signature_invalid",
        "nonce_used",
        "timestamp_refused",
        "token_rejected",
        "token_expired",
        "access_token_expired",
        "token_revoked",
        "permission_unknown",
        "permission_denied",
        "verifier_invalid",
    }
)
_ADVICE = {
    "consumer_key_unknown": "The sandbox has no consumer with this key.",
    "consumer_key_rejected": "This consumer key is switched off in the sandbox.",
    "signature_invalid": "The signature does not match the request.",
    "signature_method_rejected": "This consumer is registered for another "
    "signature method.",
    "nonce_used": "This nonce was already used with this timestamp.",
    "timestamp_refused": "The timestamp is too far from the provider's clock.",
    "token_rejected": "The token is not known to the sandbox.",
    "token_expired": "The token has expired; ask the person again.",
    "access_token_expired": "The access token has expired; renew it with its "
    "session handle.",
    "token_revoked": "The person revoked this token.",
    "permission_unknown": "The person has not approved this request token yet.",
    "permission_denied": "The person denied access.",
    "verifier_invalid": "The verifier does not belong to this request token.",
    "parameter_absent": "A required OAuth parameter is missing.",
    "parameter_rejected": "An OAuth parameter was not accepted.",
    "version_rejected": "Only oauth_version 1.0 is supported.",
}


class Problem(Exception):
    """A refusal with an ``oauth_problem`` code."""

    def __init__(
        self, problem: str, *, status: int | None = None, consumer_key: str = ""
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status = status or (401 if problem in _UNAUTHORIZED else 400)
        self.advice = _ADVICE.get(problem, "")
        self.consumer_key = consumer_key


@dataclass
class SignedRequest:
    """What the provider hands to oauthlib: the request as it was signed."""

    uri: str
    method: str
    body: str
    headers: dict[str, str]
    raw_body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def args(self) -> tuple[str, str, str, dict[str, str]]:
        return self.uri, self.method, self.body, self.headers


def signed_request(request: HttpRequest) -> SignedRequest:
    """Read the URI, form body and OAuth header oauthlib needs to verify."""
    content_type = request.META.get("CONTENT_TYPE", "")
    is_form = FORM in content_type.lower()
    body = request.body.decode("utf-8", "replace") if is_form else ""
    headers = {"Content-Type": content_type} if content_type else {}
    if "HTTP_AUTHORIZATION" in request.META:
        headers["Authorization"] = request.META["HTTP_AUTHORIZATION"]
    uri = request.build_absolute_uri()
    found = oauth_signature.collect_parameters(
        uri_query=request.META.get("QUERY_STRING", ""),
        headers=headers,
        body=body,
        exclude_oauth_signature=False,
    )
    return SignedRequest(
        uri,
        request.method or "GET",
        body,
        headers,
        raw_body=b"" if is_form else request.body,
        params=dict(found),
    )


def consumer_key_of(request: HttpRequest) -> str:
    """The consumer key a request claims, before anything is verified."""
    try:
        return signed_request(request).params.get("oauth_consumer_key", "")
    except (ValueError, errors.OAuth1Error):
        return ""


def _problem_from(error: errors.OAuth1Error, consumer_key: str) -> Problem:
    return _problem_named(error.error, str(error.description or ""), consumer_key)


def _problem_from_body(body: str | None, consumer_key: str) -> Problem:
    """oauthlib's form-encoded error answer, as an ``oauth_problem``."""
    answer = dict(parse_qsl(body or ""))
    return _problem_named(
        answer.get("error", ""), answer.get("error_description", ""), consumer_key
    )


def _problem_named(error: str, description: str, consumer_key: str) -> Problem:
    text = description.lower()
    if error == errors.InvalidSignatureMethodError.error:
        problem = "signature_method_rejected"
    elif "timestamp given is invalid" in text:
        problem = "timestamp_refused"
    elif "version" in text:
        problem = "version_rejected"
    elif "missing" in text:
        problem = "parameter_absent"
    else:
        problem = "parameter_rejected"
    return Problem(problem, consumer_key=consumer_key)


def _refused(validator: SandboxValidator, signed: SignedRequest) -> Problem:
    key = signed.params.get("oauth_consumer_key", "")
    return Problem(validator.problem or "signature_invalid", consumer_key=key)


# --- Request tokens ---------------------------------------------------------


def issue_request_token(signed: SignedRequest) -> str:
    """Answer the request-token step: a form-encoded token and secret."""
    delete_stale_rows()
    validator = SandboxValidator()
    key = signed.params.get("oauth_consumer_key", "")
    endpoint = RequestTokenEndpoint(validator)
    _headers, body, status = endpoint.create_request_token_response(*signed.args)
    if status == 200 and body:
        return str(body)
    if status == 401:
        raise _refused(validator, signed)
    raise _problem_from_body(body, key)


# --- Approval ---------------------------------------------------------------


def pending_token(token: str) -> RequestToken | None:
    """An open request token nobody has answered yet, with its consumer."""
    found = RequestToken.objects.select_related("consumer").filter(token=token).first()
    if found is None or not found.is_open() or found.user_id is not None:
        return None
    return found


@dataclass
class Decision:
    """Where the browser goes after the person answered, or the verifier to
    show when the consumer asked for out-of-band delivery."""

    redirect_url: str = ""
    verifier: str = ""


def approve(user: ProviderUser, uri: str) -> Decision:
    """Record the person's "Allow" of the request token in ``uri`` (the
    authorization URL) and send them back with a verifier."""
    validator = SandboxValidator()
    validator.approving_user = user
    endpoint = AuthorizationEndpoint(validator)
    headers, body, status = endpoint.create_authorization_response(
        uri, http_method="GET"
    )
    if status == 302:
        return Decision(redirect_url=headers["Location"])
    return Decision(verifier=dict(parse_qsl(body or "")).get("oauth_verifier", ""))


def deny(pending: RequestToken, user: ProviderUser) -> Decision:
    """Record the person's "Deny"; the consumer hears ``permission_denied``."""
    RequestToken.objects.filter(pk=pending.pk).update(is_denied=True, user=user)
    if pending.callback == "oob":
        return Decision()
    query = urlencode(
        {"oauth_token": pending.token, "oauth_problem": "permission_denied"}
    )
    joiner = "&" if "?" in pending.callback else "?"
    return Decision(redirect_url=f"{pending.callback}{joiner}{query}")


# --- Access tokens ----------------------------------------------------------


def issue_access_token(signed: SignedRequest) -> str:
    """The access-token step: exchange an approved request token, or renew
    an access token with ``oauth_session_handle`` (the session extension)."""
    if "oauth_session_handle" in signed.params:
        return _renew(signed)
    validator = SandboxValidator()
    key = signed.params.get("oauth_consumer_key", "")
    endpoint = AccessTokenEndpoint(validator)
    with transaction.atomic():
        _headers, body, status = endpoint.create_access_token_response(*signed.args)
    if status == 401:
        raise _refused(validator, signed)
    if status != 200 or validator.issued_access_token is None:
        raise _problem_from_body(body, key)
    return token_answer(validator.issued_access_token)


def token_answer(token: AccessToken) -> str:
    params = {"oauth_token": token.token, "oauth_token_secret": token.secret}
    if token.session_handle:
        params["oauth_session_handle"] = token.session_handle
    lifetime = token.consumer.access_token_lifetime_seconds
    if lifetime is not None:
        params["oauth_expires_in"] = str(lifetime)
    authorization = token.consumer.authorization_lifetime_seconds
    if token.session_handle and authorization is not None:
        params["oauth_authorization_expires_in"] = str(authorization)
    return urlencode(params)


def _renew(signed: SignedRequest) -> str:
    validator = SandboxValidator()
    validator.refreshing = True
    _verify_token_request(validator, signed)
    old = validator.access_token
    handle = signed.params.get("oauth_session_handle", "")
    key = signed.params.get("oauth_consumer_key", "")
    if old is None or not old.session_handle:
        raise Problem("token_rejected", consumer_key=key)
    if not hmac.compare_digest(old.session_handle, handle):
        raise Problem("token_rejected", consumer_key=key)
    with transaction.atomic():
        # The old token goes at once: a handle renews one token at a time.
        claimed = AccessToken.objects.filter(pk=old.pk, revoked_at__isnull=True)
        if not claimed.delete()[0]:
            raise Problem("token_rejected", consumer_key=key)
        renewed = AccessToken.objects.create(
            consumer=old.consumer,
            user=old.user,
            token=new_token(),
            secret=new_token(),
            session_handle=old.session_handle,
            expires_at=seconds_from_now(old.consumer.access_token_lifetime_seconds),
            authorization_expires_at=old.authorization_expires_at,
        )
    return token_answer(renewed)


# --- Protected resources ----------------------------------------------------


@dataclass
class Verified:
    """A verified resource request: who signed it and for whom."""

    consumer: Consumer
    signature_method: str
    access_token: AccessToken | None
    params: dict[str, str]


def verify_resource(signed: SignedRequest, *, token_required: bool) -> Verified:
    """Check a signed API call; raise ``Problem`` when it does not hold.

    With an ``oauth_token`` it is three-legged (the token's person); without
    one, and where allowed, two-legged (signed fetch: the consumer vouches
    for the opensocial_* ids it sent).
    """
    validator = SandboxValidator()
    if "oauth_token" in signed.params or token_required:
        _verify_token_request(validator, signed)
    else:
        _verify_two_legged(validator, signed)
    if not _body_hash_matches(signed):
        raise Problem("signature_invalid", consumer_key=_key(signed))
    assert validator.consumer is not None
    if validator.access_token is not None:
        touch(validator.access_token)
    return Verified(
        consumer=validator.consumer,
        signature_method=signed.params.get("oauth_signature_method", ""),
        access_token=validator.access_token,
        params=signed.params,
    )


def verify_switch_request(signed: SignedRequest) -> Consumer:
    """The consumer that signed a fault-switch call (two-legged), whatever
    its switches say: a developer can always switch them back."""
    validator = SandboxValidator(honour_faults=False)
    _verify_two_legged(validator, signed)
    if validator.consumer is None:
        raise _refused(validator, signed)
    if signed.raw_body and "oauth_body_hash" not in signed.params:
        # A JSON body is outside the signature base string; only its
        # oauth_body_hash ties it to the signature.
        raise Problem("parameter_absent", consumer_key=_key(signed))
    if not _body_hash_matches(signed):
        raise Problem("signature_invalid", consumer_key=_key(signed))
    return validator.consumer


def _verify_two_legged(validator: SandboxValidator, signed: SignedRequest) -> None:
    endpoint = SignatureOnlyEndpoint(validator)
    _check_shape(endpoint, signed)
    valid, _ = endpoint.validate_request(*signed.args)
    if not valid:
        raise _refused(validator, signed)


def _verify_token_request(validator: SandboxValidator, signed: SignedRequest) -> None:
    endpoint = ResourceEndpoint(validator)
    _check_shape(endpoint, signed)
    if "oauth_token" not in signed.params:
        raise Problem("parameter_absent", consumer_key=_key(signed))
    valid, _ = endpoint.validate_protected_resource_request(*signed.args)
    if not valid:
        raise _refused(validator, signed)


def _check_shape(endpoint: Any, signed: SignedRequest) -> None:
    """oauthlib's resource checks answer only yes or no; run its format
    checks first so a malformed request hears what is wrong."""
    try:
        request = endpoint._create_request(*signed.args)
        endpoint._check_mandatory_parameters(request)
    except errors.OAuth1Error as error:
        raise _problem_from(error, _key(signed)) from None


def _key(signed: SignedRequest) -> str:
    return signed.params.get("oauth_consumer_key", "")


def _body_hash_matches(signed: SignedRequest) -> bool:
    claimed = signed.params.get("oauth_body_hash")
    if claimed is None:
        return True
    digest = hashlib.sha1(signed.raw_body).digest()  # noqa: S324 - the spec's hash
    return hmac.compare_digest(claimed, base64.b64encode(digest).decode("ascii"))


def echoed_params(params: dict[str, str]) -> dict[str, str]:
    """The signed parameters, without the credentials among them."""
    return {k: v for k, v in sorted(params.items()) if k not in CREDENTIAL_PARAMS}
