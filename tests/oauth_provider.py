"""A scripted OAuth 1.0a service provider for tests, built on oauthlib.

The server side is oauthlib's own endpoints (request token, authorization,
access token, protected resource, signature-only) behind a
``RequestValidator`` backed by dicts, so the proxy's signatures are checked
by independent server code, not by the client that made them. It plugs
into the ``fake_upstream`` fixture::

    provider = FakeProvider()
    provider.install(fake_upstream)
    provider.add_consumer("gadget-1", "s3cret")            # HMAC
    ...  # makeRequest answers with an approval URL
    redirect = provider.approve(request_token, user="alice")
    # redirect is the callback URL with oauth_token and oauth_verifier

Switches: ``expire_access_tokens()``, ``revoke_access_tokens()``,
``fail_with = 503`` (every endpoint answers 5xx), ``timeout = True``,
``problem_in = "header" | "body"`` (where ``oauth_problem`` goes),
``session_extension`` (issue ``oauth_session_handle``/``oauth_expires_in``),
``forced_problem = (status, problem)`` on the resource, ``confirm_callback``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from oauthlib.common import Request
from oauthlib.oauth1 import (
    AccessTokenEndpoint,
    AuthorizationEndpoint,
    RequestTokenEndpoint,
    RequestValidator,
    ResourceEndpoint,
    SignatureOnlyEndpoint,
)
from oauthlib.oauth1.rfc5849 import signature as oauth_signature

from gadgets.errors import UpstreamTimeout
from gadgets.outbound import OutboundRequest, OutboundResponse
from oauthproxy.signing import install_rsa_backend

install_rsa_backend()

BASE = "https://sp.example"


@dataclass
class _Token:
    secret: str
    client_key: str
    callback: str = ""
    verifier: str = ""
    user: str = ""
    session_handle: str = ""
    expired: bool = False
    revoked: bool = False


class _Validator(RequestValidator):
    """Answers oauthlib's questions from the provider's dicts."""

    enforce_ssl = False

    def __init__(self, provider: FakeProvider) -> None:
        super().__init__()
        self.p = provider
        self.refreshing = False
        self.problem = ""

    @property
    def allowed_signature_methods(self) -> tuple[str, ...]:
        return ("HMAC-SHA1", "RSA-SHA1", "PLAINTEXT")

    def check_client_key(self, client_key: str) -> bool:
        return bool(client_key)

    def check_request_token(self, request_token: str) -> bool:
        return bool(request_token)

    def check_access_token(self, request_token: str) -> bool:
        return bool(request_token)

    def check_nonce(self, nonce: str) -> bool:
        return bool(nonce)

    def check_verifier(self, verifier: str) -> bool:
        return bool(verifier)

    def check_realms(self, realms: Any) -> bool:
        return True

    @property
    def dummy_client(self) -> str:
        return "dummy-client"

    @property
    def dummy_request_token(self) -> str:
        return "dummy-request-token"

    @property
    def dummy_access_token(self) -> str:
        return "dummy-access-token"

    def get_client_secret(self, client_key: str, request: Request) -> str:
        return self.p.consumers.get(client_key, ("dummy", "HMAC"))[0]

    def get_rsa_key(self, client_key: str, request: Request) -> str:
        return self.p.consumers.get(client_key, ("", "RSA"))[0]

    def get_request_token_secret(
        self, client_key: str, token: str, request: Request
    ) -> str:
        found = self.p.request_tokens.get(token)
        return found.secret if found else "dummy"

    def get_access_token_secret(
        self, client_key: str, token: str, request: Request
    ) -> str:
        found = self.p.access_tokens.get(token)
        return found.secret if found else "dummy"

    def get_default_realms(self, client_key: str, request: Request) -> list[str]:
        return []

    def get_realms(self, token: str, request: Request) -> list[str]:
        return []

    def get_redirect_uri(self, token: str, request: Request) -> str:
        return self.p.request_tokens[token].callback

    def invalidate_request_token(
        self, client_key: str, request_token: str, request: Request
    ) -> None:
        self.p.request_tokens.pop(request_token, None)

    def validate_client_key(self, client_key: str, request: Request) -> bool:
        if client_key not in self.p.consumers:
            self.problem = self.problem or "consumer_key_unknown"
            return False
        return True

    def validate_request_token(
        self, client_key: str, token: str, request: Request
    ) -> bool:
        found = self.p.request_tokens.get(token)
        if found is None or found.client_key != client_key:
            self.problem = self.problem or "token_rejected"
            return False
        return True

    def validate_access_token(
        self, client_key: str, token: str, request: Request
    ) -> bool:
        found = self.p.access_tokens.get(token)
        if found is None or found.client_key != client_key:
            self.problem = self.problem or "token_rejected"
        elif found.revoked:
            self.problem = self.problem or "token_revoked"
        elif found.expired and not self.refreshing:
            self.problem = self.problem or "access_token_expired"
        else:
            return True
        return False

    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: Request,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        seen = (client_key, timestamp, nonce, request_token or access_token)
        if seen in self.p.nonces:
            self.problem = self.problem or "nonce_used"
            return False
        self.p.nonces.add(seen)
        return True

    def validate_redirect_uri(
        self, client_key: str, redirect_uri: str, request: Request
    ) -> bool:
        return True

    def validate_requested_realms(
        self, client_key: str, realms: Any, request: Request
    ) -> bool:
        return True

    def validate_realms(self, *args: Any, **kwargs: Any) -> bool:
        return True

    def validate_verifier(
        self, client_key: str, token: str, verifier: str, request: Request
    ) -> bool:
        found = self.p.request_tokens.get(token)
        if found is None or not found.verifier or found.verifier != verifier:
            self.problem = self.problem or "bad_verifier"
            return False
        return True

    def verify_request_token(self, token: str, request: Request) -> bool:
        return token in self.p.request_tokens

    def verify_realms(self, token: str, realms: Any, request: Request) -> bool:
        return True

    def save_request_token(self, token: dict[str, str], request: Request) -> None:
        self.p.request_tokens[token["oauth_token"]] = _Token(
            secret=token["oauth_token_secret"],
            client_key=request.client_key,
            callback=request.redirect_uri,
        )

    def save_verifier(
        self, token: str, verifier: dict[str, str], request: Request
    ) -> None:
        found = self.p.request_tokens[token]
        found.verifier = verifier["oauth_verifier"]
        found.user = verifier.get("user", "")

    def save_access_token(self, token: dict[str, str], request: Request) -> None:
        pending = self.p.request_tokens.get(request.resource_owner_key)
        self.p.access_tokens[token["oauth_token"]] = _Token(
            secret=token["oauth_token_secret"],
            client_key=request.client_key,
            user=pending.user if pending else "",
            session_handle=secrets.token_urlsafe(12)
            if self.p.session_extension
            else "",
        )
        self.p.last_access_token = token["oauth_token"]


@dataclass
class FakeProvider:
    base: str = BASE
    consumers: dict[str, tuple[str, str]] = field(default_factory=dict)
    request_tokens: dict[str, _Token] = field(default_factory=dict)
    access_tokens: dict[str, _Token] = field(default_factory=dict)
    nonces: set[tuple[Any, ...]] = field(default_factory=set)
    received: list[dict[str, Any]] = field(default_factory=list)
    # Switches.
    fail_with: int | None = None
    timeout: bool = False
    problem_in: str = "header"
    session_extension: bool = False
    access_token_lifetime: int | None = None
    confirm_callback: bool = True
    forced_problem: tuple[int, str] | None = None
    extra_access_params: dict[str, str] = field(default_factory=dict)
    last_access_token: str = ""
    preapproved: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.validator = _Validator(self)
        self.request_endpoint = RequestTokenEndpoint(self.validator)
        self.authorization_endpoint = AuthorizationEndpoint(self.validator)
        self.access_endpoint = AccessTokenEndpoint(self.validator)
        self.resource_endpoint = ResourceEndpoint(self.validator)
        self.signature_endpoint = SignatureOnlyEndpoint(self.validator)

    # --- URLs and set-up ---------------------------------------------------

    @property
    def request_token_url(self) -> str:
        return f"{self.base}/oauth/request_token"

    @property
    def authorize_url(self) -> str:
        return f"{self.base}/oauth/authorize"

    @property
    def access_token_url(self) -> str:
        return f"{self.base}/oauth/access_token"

    @property
    def resource_url(self) -> str:
        return f"{self.base}/api/contacts"

    def add_consumer(
        self, key: str, secret_or_public_pem: str, kind: str = "HMAC"
    ) -> None:
        self.consumers[key] = (secret_or_public_pem, kind)

    def install(self, fake_upstream: Any) -> None:
        """Route this provider's URLs (any query string) to its endpoints."""
        routes = _QueryBlindRoutes(fake_upstream.routes)
        fake_upstream.routes = routes
        fake_upstream.add_handler(
            self.request_token_url, self._guarded(self._request_token)
        )
        fake_upstream.add_handler(
            self.access_token_url, self._guarded(self._access_token)
        )
        fake_upstream.add_handler(self.resource_url, self._guarded(self._resource))

    def spec_xml(
        self,
        services: tuple[str, ...] = ("contacts", "calendar"),
        method: str = "GET",
        location: str = "auth-header",
    ) -> str:
        """A gadget spec whose <OAuth> names this provider's endpoints."""
        entries = "".join(
            f"""<Service name="{name}">
<Request url="{self.request_token_url}" method="{method}" param_location="{location}"/>
<Access url="{self.access_token_url}" method="{method}" param_location="{location}"/>
<Authorization url="{self.authorize_url}"/></Service>"""
            for name in services
        )
        return f"""<?xml version="1.0"?><Module><ModulePrefs title="t">
<OAuth>{entries}</OAuth></ModulePrefs><Content type="html">x</Content></Module>"""

    # --- The person at the provider ----------------------------------------

    def approve(self, request_token: str, user: str = "alice") -> str:
        """Approve as ``user``; the URL the browser is sent back to."""
        uri = f"{self.authorize_url}?{urlencode({'oauth_token': request_token})}"
        headers, body, status = (
            self.authorization_endpoint.create_authorization_response(
                uri, credentials={"user": user}
            )
        )
        if status == 302:
            return headers["Location"]
        return body  # oob: "oauth_token=...&oauth_verifier=..."

    def expire_access_tokens(self) -> None:
        for token in self.access_tokens.values():
            token.expired = True

    def revoke_access_tokens(self) -> None:
        for token in self.access_tokens.values():
            token.revoked = True

    # --- Endpoints -----------------------------------------------------------

    def _guarded(self, handler: Any) -> Any:
        def answer(request: OutboundRequest) -> OutboundResponse:
            self.validator.problem = ""
            self.validator.refreshing = False
            self.received.append(_describe(request))
            if self.timeout:
                raise UpstreamTimeout("sp.example did not answer within 10 seconds.")
            if self.fail_with:
                return _response(request, self.fail_with, b"provider is down")
            return handler(request)

        return answer

    def _request_token(self, request: OutboundRequest) -> OutboundResponse:
        _headers, body, status = self.request_endpoint.create_request_token_response(
            *_args(request)
        )
        if status != 200:
            return self._problem(request, status, body)
        if not self.confirm_callback:
            body = body.replace("&oauth_callback_confirmed=true", "")
        return _response(request, status, body.encode())

    def _access_token(self, request: OutboundRequest) -> OutboundResponse:
        params = dict(_describe(request)["params"])
        if "oauth_session_handle" in params:
            return self._refresh(request, params)
        if (
            "oauth_verifier" not in params
            and params.get("oauth_token") in self.preapproved
        ):
            return self._exchange_preapproved(request, params)
        _headers, body, status = self.access_endpoint.create_access_token_response(
            *_args(request)
        )
        if status != 200:
            return self._problem(request, status, body)
        return _response(request, 200, self._with_extension(body).encode())

    def _with_extension(self, body: str) -> str:
        params = dict(parse_qsl(body))
        params.pop("oauth_authorized_realms", None)
        token = self.access_tokens[params["oauth_token"]]
        if token.session_handle:
            params["oauth_session_handle"] = token.session_handle
        if self.access_token_lifetime is not None:
            params["oauth_expires_in"] = str(self.access_token_lifetime)
        params.update(self.extra_access_params)
        return urlencode(params)

    def preapprove(self, consumer_key: str, user: str = "alice") -> tuple[str, str]:
        """A request token approved out of band (no verifier needed)."""
        token, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.request_tokens[token] = _Token(secret, consumer_key, user=user)
        self.preapproved.add(token)
        return token, secret

    def _exchange_preapproved(
        self, request: OutboundRequest, params: dict[str, str]
    ) -> OutboundResponse:
        endpoint = self.access_endpoint
        oauth_request = endpoint._create_request(*_args(request))
        if not endpoint._check_signature(oauth_request, is_token_request=True):
            return self._problem(request, 401, "", "signature_invalid")
        pending = self.request_tokens.pop(params["oauth_token"])
        self.preapproved.discard(params["oauth_token"])
        token, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access_tokens[token] = _Token(
            secret, pending.client_key, user=pending.user
        )
        self.last_access_token = token
        params = {"oauth_token": token, "oauth_token_secret": secret}
        params.update(self.extra_access_params)
        return _response(request, 200, urlencode(params).encode())

    def _refresh(
        self, request: OutboundRequest, params: dict[str, str]
    ) -> OutboundResponse:
        self.validator.refreshing = True
        valid, _ = self.resource_endpoint.validate_protected_resource_request(
            *_args(request)
        )
        old = self.access_tokens.get(params.get("oauth_token", ""))
        if (
            not valid
            or old is None
            or old.session_handle != params["oauth_session_handle"]
        ):
            return self._problem(
                request, 401, "", self.validator.problem or "token_rejected"
            )
        del self.access_tokens[params["oauth_token"]]
        token, secret = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.access_tokens[token] = _Token(
            secret, old.client_key, user=old.user, session_handle=old.session_handle
        )
        self.last_access_token = token
        body = {
            "oauth_token": token,
            "oauth_token_secret": secret,
            "oauth_session_handle": old.session_handle,
        }
        if self.access_token_lifetime is not None:
            body["oauth_expires_in"] = str(self.access_token_lifetime)
        return _response(request, 200, urlencode(body).encode())

    def _resource(self, request: OutboundRequest) -> OutboundResponse:
        described = _describe(request)
        params = dict(described["params"])
        if "oauth_token" in params:
            valid, _ = self.resource_endpoint.validate_protected_resource_request(
                *_args(request)
            )
            user = self.access_tokens[params["oauth_token"]].user if valid else ""
        else:
            valid, _ = self.signature_endpoint.validate_request(*_args(request))
            user = ""
        if valid and not _body_hash_matches(request, params):
            valid, self.validator.problem = False, "signature_invalid"
        if not valid:
            return self._problem(
                request, 401, "", self.validator.problem or "signature_invalid"
            )
        if self.forced_problem:
            status, problem = self.forced_problem
            return self._problem(request, status, "", problem)
        # Echo what was signed, but not the credentials themselves.
        shown = {k: "(sent)" if k in _CREDENTIALS else v for k, v in params.items()}
        data = {
            "user": user,
            "method": request.method,
            "params": shown,
            "body": (request.body or b"").decode("utf-8", "replace"),
        }
        return _response(
            request,
            200,
            json.dumps(data).encode(),
            [("content-type", "application/json")],
        )

    def _problem(
        self, request: OutboundRequest, status: int, body: str, problem: str = ""
    ) -> OutboundResponse:
        fallback = "parameter_absent" if status == 400 else "parameter_rejected"
        problem = problem or self.validator.problem or fallback
        if status == 400 and problem in (
            "token_rejected",
            "bad_verifier",
            "nonce_used",
            "signature_invalid",
        ):
            status = 401
        if self.problem_in == "body":
            return _response(
                request, status, urlencode({"oauth_problem": problem}).encode()
            )
        header = f'OAuth realm="sp.example", oauth_problem="{problem}"'
        return _response(request, status, b"", [("www-authenticate", header)])


_CREDENTIALS = frozenset({"oauth_token", "oauth_signature", "oauth_verifier"})


class _QueryBlindRoutes(dict):
    """Routes that also match a URL once its query string is removed."""

    def get(self, url: str, default: Any = None) -> Any:  # type: ignore[override]
        if url in self:
            return self[url]
        bare = url.split("?", 1)[0]
        return super().get(bare, default)


def _args(request: OutboundRequest) -> tuple[str, str, str, dict[str, str]]:
    body = (request.body or b"").decode("utf-8", "replace")
    return request.url, request.method, body, dict(request.headers)


def _describe(request: OutboundRequest) -> dict[str, Any]:
    params = list(
        oauth_signature.collect_parameters(
            uri_query=urlsplit(request.url).query,
            headers=request.headers,
            body=_form_body(request),
            exclude_oauth_signature=False,
        )
    )
    return {
        "method": request.method,
        "url": request.url,
        "params": params,
        "headers": dict(request.headers),
        "body": request.body,
    }


def _form_body(request: OutboundRequest) -> str:
    content_type = {k.lower(): v for k, v in request.headers.items()}.get(
        "content-type", ""
    )
    if "application/x-www-form-urlencoded" not in content_type:
        return ""
    return (request.body or b"").decode("utf-8")


def _body_hash_matches(request: OutboundRequest, params: dict[str, str]) -> bool:
    claimed = params.get("oauth_body_hash")
    if claimed is None:
        return True
    digest = base64.b64encode(hashlib.sha1(request.body or b"").digest()).decode()  # noqa: S324
    return claimed == digest


def _response(
    request: OutboundRequest,
    status: int,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
) -> OutboundResponse:
    return OutboundResponse(
        status=status, headers=headers or [], body=body, url=request.url
    )
