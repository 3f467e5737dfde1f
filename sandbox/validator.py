"""oauthlib's questions about consumers, tokens and nonces, answered from
the sandbox's tables.

oauthlib runs every check even after one fails (so timing says nothing
about which one did) and then reports only "invalid". The validator keeps
the first thing it found wrong in ``problem``, in the vocabulary of the
OAuth Problem Reporting extension, so the provider can say *why* in
``oauth_problem``. One validator serves one request.
"""

from __future__ import annotations

import functools
import hmac
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys
from django.utils import timezone
from oauthlib.common import Request
from oauthlib.oauth1 import RequestValidator

from . import rsa
from .models import (
    RSA_SHA1,
    SIGNATURE_METHODS,
    AccessToken,
    Consumer,
    Nonce,
    ProviderUser,
    RequestToken,
    new_token,
    seconds_from_now,
)

rsa.install()

# Printable ASCII without spaces: what consumer keys, tokens and nonces
# may contain here (oauthlib's defaults allow only 20-30 letters and digits,
# which refuses most real consumer keys).
_TOKENISH = re.compile(r"^[\x21-\x7e]{1,200}$")
REQUEST_TOKEN_TTL_SECONDS = 600


@functools.cache
def _dummy_public_pem() -> str:
    """A key that verifies nothing, for unknown RSA consumers (so they take
    as long to refuse as known ones)."""
    key = rsa_keys.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode("ascii")
    )


class SandboxValidator(RequestValidator):
    enforce_ssl = False

    def __init__(self, *, honour_faults: bool = True) -> None:
        super().__init__()
        self.honour_faults = honour_faults
        self.problem = ""
        # The session extension's renewal may present an expired token.
        self.refreshing = False
        # Set by the approval view before oauthlib saves the verifier.
        self.approving_user: ProviderUser | None = None
        self.consumer: Consumer | None = None
        self.access_token: AccessToken | None = None
        self.issued_access_token: AccessToken | None = None
        # oauthlib asks about the same token several times in one request:
        # each row is read once (and forgotten where this validator writes it).
        self._request_tokens: dict[str, RequestToken | None] = {}
        self._access_tokens: dict[str, AccessToken | None] = {}

    def refuse(self, problem: str) -> bool:
        self.problem = self.problem or problem
        return False

    # --- Formats and dummies ----------------------------------------------

    @property
    def allowed_signature_methods(self) -> tuple[str, ...]:
        return tuple(method for method, _ in SIGNATURE_METHODS)

    def check_client_key(self, client_key: str) -> bool:
        return bool(_TOKENISH.match(client_key))

    def check_request_token(self, request_token: str) -> bool:
        return bool(_TOKENISH.match(request_token))

    def check_access_token(self, request_token: str) -> bool:
        return bool(_TOKENISH.match(request_token))

    def check_nonce(self, nonce: str) -> bool:
        return bool(_TOKENISH.match(nonce))

    def check_verifier(self, verifier: str) -> bool:
        return bool(_TOKENISH.match(verifier))

    def check_realms(self, realms: Any) -> bool:
        return True

    @property
    def dummy_client(self) -> str:
        return "sandbox-dummy-consumer"

    @property
    def dummy_request_token(self) -> str:
        return "sandbox-dummy-request-token"

    @property
    def dummy_access_token(self) -> str:
        return "sandbox-dummy-access-token"

    # --- Consumers ----------------------------------------------------------

    def _consumer(self, client_key: str) -> Consumer | None:
        if self.consumer is None or self.consumer.key != client_key:
            self.consumer = Consumer.objects.filter(key=client_key).first()
        return self.consumer

    def validate_client_key(self, client_key: str, request: Request) -> bool:
        consumer = self._consumer(client_key)
        if consumer is None:
            return self.refuse("consumer_key_unknown")
        if self.honour_faults and consumer.rejects_key:
            return self.refuse("consumer_key_rejected")
        if request.signature_method != consumer.signature_method:
            return self.refuse("signature_method_rejected")
        return True

    def get_client_secret(self, client_key: str, request: Request) -> str:
        consumer = self._consumer(client_key)
        if consumer is None or consumer.signature_method == RSA_SHA1:
            return "sandbox-dummy-secret"
        return consumer.secret

    def get_rsa_key(self, client_key: str, request: Request) -> str:
        consumer = self._consumer(client_key)
        if consumer is not None and rsa.is_rsa_public_pem(consumer.rsa_certificate):
            return consumer.rsa_certificate
        return _dummy_public_pem()

    # --- Request tokens -----------------------------------------------------

    def validate_redirect_uri(
        self, client_key: str, redirect_uri: str, request: Request
    ) -> bool:
        if redirect_uri == "oob":
            return True
        parts = urlsplit(redirect_uri)
        if parts.scheme in ("http", "https") and parts.hostname:
            return True
        return self.refuse("parameter_rejected")

    def validate_requested_realms(
        self, client_key: str, realms: Any, request: Request
    ) -> bool:
        return True

    def get_default_realms(self, client_key: str, request: Request) -> list[str]:
        return []

    def save_request_token(  # type: ignore[override]
        self, token: dict[str, str], request: Request
    ) -> None:
        consumer = self._consumer(request.client_key or "")
        assert consumer is not None  # oauthlib saves only valid requests
        RequestToken.objects.create(
            consumer=consumer,
            token=token["oauth_token"],
            secret=token["oauth_token_secret"],
            callback=request.redirect_uri or "oob",
            expires_at=timezone.now() + timedelta(seconds=REQUEST_TOKEN_TTL_SECONDS),
        )

    def _request_token(self, token: str) -> RequestToken | None:
        if token not in self._request_tokens:
            self._request_tokens[token] = (
                RequestToken.objects.select_related("consumer", "user")
                .filter(token=token)
                .first()
            )
        return self._request_tokens[token]

    def verify_request_token(self, token: str, request: Request) -> bool:
        found = self._request_token(token)
        return found is not None and found.is_open() and found.user_id is None

    def verify_realms(self, token: str, realms: Any, request: Request) -> bool:
        return True

    def get_redirect_uri(self, token: str, request: Request) -> str:
        found = self._request_token(token)
        return found.callback if found else "oob"

    def save_verifier(
        self, token: str, verifier: dict[str, str], request: Request
    ) -> None:
        assert self.approving_user is not None
        self._request_tokens.pop(token, None)
        RequestToken.objects.filter(token=token).update(
            verifier=verifier["oauth_verifier"], user=self.approving_user
        )

    def validate_request_token(
        self, client_key: str, token: str, request: Request
    ) -> bool:
        found = self._request_token(token)
        if found is None or found.consumer.key != client_key:
            return self.refuse("token_rejected")
        if not found.is_open():
            return self.refuse("token_expired")
        if found.is_denied:
            return self.refuse("permission_denied")
        if found.user_id is None:
            return self.refuse("permission_unknown")
        return True

    def get_request_token_secret(
        self, client_key: str, token: str, request: Request
    ) -> str:
        found = self._request_token(token)
        return found.secret if found else "sandbox-dummy-secret"

    def validate_verifier(
        self, client_key: str, token: str, verifier: str, request: Request
    ) -> bool:
        found = self._request_token(token)
        if found is None or not found.verifier:
            return self.refuse("permission_unknown")
        if not hmac.compare_digest(found.verifier, verifier):
            return self.refuse("verifier_invalid")
        return True

    def invalidate_request_token(
        self, client_key: str, request_token: str, request: Request
    ) -> None:
        self._request_tokens.pop(request_token, None)
        RequestToken.objects.filter(token=request_token).delete()

    # --- Access tokens ------------------------------------------------------

    def get_realms(self, token: str, request: Request) -> list[str]:
        return []

    def save_access_token(  # type: ignore[override]
        self, token: dict[str, str], request: Request
    ) -> None:
        pending = self._request_token(request.resource_owner_key or "")
        assert pending is not None and pending.user is not None
        consumer = pending.consumer
        self.issued_access_token = AccessToken.objects.create(
            consumer=consumer,
            user=pending.user,
            token=token["oauth_token"],
            secret=token["oauth_token_secret"],
            session_handle=new_token() if consumer.issues_session_handle else "",
            expires_at=seconds_from_now(consumer.access_token_lifetime_seconds),
            authorization_expires_at=seconds_from_now(
                consumer.authorization_lifetime_seconds
            ),
        )

    def validate_access_token(
        self, client_key: str, token: str, request: Request
    ) -> bool:
        found = self._access_token(token)
        if found is None or found.consumer.key != client_key:
            return self.refuse("token_rejected")
        if found.revoked_at is not None:
            return self.refuse("token_revoked")
        if found.is_authorization_expired():
            return self.refuse("token_expired")
        if found.is_expired() and not self.refreshing:
            # A token its session handle can renew says so in Shindig's
            # word; one that cannot be renewed is simply expired.
            return self.refuse(
                "access_token_expired" if found.session_handle else "token_expired"
            )
        self.access_token = found
        return True

    def get_access_token_secret(
        self, client_key: str, token: str, request: Request
    ) -> str:
        found = self._access_token(token)
        return found.secret if found else "sandbox-dummy-secret"

    def _access_token(self, token: str) -> AccessToken | None:
        if token not in self._access_tokens:
            self._access_tokens[token] = (
                AccessToken.objects.select_related("consumer", "user")
                .filter(token=token)
                .first()
            )
        return self._access_tokens[token]

    def validate_realms(
        self,
        client_key: str,
        token: str,
        request: Request,
        uri: str | None = None,
        realms: Any = None,
    ) -> bool:
        return True

    # --- Nonces -------------------------------------------------------------

    def validate_timestamp_and_nonce(
        self,
        client_key: str,
        timestamp: str,
        nonce: str,
        request: Request,
        request_token: str | None = None,
        access_token: str | None = None,
    ) -> bool:
        _, created = Nonce.objects.get_or_create(
            consumer_key=client_key[:200],
            timestamp=timestamp[:20],
            nonce=nonce[:200],
            token=(request_token or access_token or "")[:100],
        )
        return True if created else self.refuse("nonce_used")


def touch(token: AccessToken) -> None:
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
