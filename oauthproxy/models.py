"""What the OAuth proxy remembers: consumers, dances, tokens and events.

Secret columns (names ending ``_encrypted``) hold ``crypto`` ciphertexts
bound to their row; the models expose ``get_*``/``set_*`` pairs so no
caller handles the ciphertext format. Access tokens are found through one
key, ``token_key(viewer, gadget_url, module_id, service_name, token_name)``,
used for the database row, cache entries and deletion alike.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from gadgets.locked_domain import canonical_gadget_url

from . import crypto, fingerprints

HMAC_SYMMETRIC = "HMAC_SYMMETRIC"
RSA_PRIVATE = "RSA_PRIVATE"
PLAINTEXT = "PLAINTEXT"
KEY_TYPES = [
    (HMAC_SYMMETRIC, "HMAC-SHA1 shared secret"),
    (RSA_PRIVATE, "RSA-SHA1 private key"),
    (PLAINTEXT, "PLAINTEXT secret"),
]


def token_key(
    viewer: str, gadget_url: str, module_id: int, service_name: str, token_name: str
) -> str:
    """The one key of an access token: DB row, cache entry and deletion.

    The parts are length-prefixed before hashing so no two different
    combinations can run together into the same string.
    """
    parts = (
        viewer,
        canonical_gadget_url(gadget_url),
        str(int(module_id)),
        service_name,
        token_name,
    )
    joined = "".join(f"{len(part)}:{part};" for part in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def _sealed(table: str, column: str, row: str, plaintext: str) -> str:
    return crypto.encrypt(plaintext, table=table, column=column, row=row)


def _opened(table: str, column: str, row: str, value: str) -> str:
    if not value:
        return ""
    return crypto.decrypt(value, table=table, column=column, row=row)


class ConsumerRegistration(models.Model):
    """A gadget's consumer key and secret at one service provider."""

    gadget_url = models.CharField(max_length=2000)
    service_name = models.CharField(max_length=200, blank=True, default="")
    consumer_key = models.CharField(max_length=500)
    secret_encrypted = models.TextField(blank=True, default="")
    key_type = models.CharField(
        max_length=20, choices=KEY_TYPES, default=HMAC_SYMMETRIC
    )
    callback_url = models.URLField(max_length=2000, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="consumer_registrations",
    )
    verified = models.BooleanField(default=False)
    enabled = models.BooleanField(default=True)
    # What the dashboard shows instead of the secret (see fingerprints).
    secret_fingerprint = models.CharField(max_length=80, blank=True, default="")
    secret_set_at = models.DateTimeField(null=True, blank=True)
    # The self-signed certificate of a key pair the container generated:
    # the only half the developer ever downloads.
    certificate_pem = models.TextField(blank=True, default="")
    # A cheap protected resource the revocation probe GETs with a token.
    probe_url = models.URLField(max_length=2000, blank=True, default="")
    # Where the provider takes a signed POST that revokes the token it is
    # signed with; empty when the provider offers no such endpoint.
    revocation_url = models.URLField(max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gadget_url", "service_name"],
                name="oauthproxy_unique_consumer_per_service",
            )
        ]

    def __str__(self) -> str:
        return f"{self.gadget_url} [{self.service_name or '(default)'}]"

    def save(self, *args: object, **kwargs: object) -> None:
        self.gadget_url = canonical_gadget_url(self.gadget_url)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def row_identity(self) -> str:
        return f"{canonical_gadget_url(self.gadget_url)}|{self.service_name}"

    def set_secret(self, secret: str) -> None:
        self.gadget_url = canonical_gadget_url(self.gadget_url)
        self.secret_encrypted = _sealed(
            self._meta.db_table, "secret", self.row_identity, secret
        )
        self.secret_fingerprint = fingerprints.secret_fingerprint(self.key_type, secret)
        self.secret_set_at = timezone.now()

    def get_secret(self) -> str:
        return _opened(
            self._meta.db_table, "secret", self.row_identity, self.secret_encrypted
        )


class ContainerKey(models.Model):
    """The container's own RSA key for signed fetch and unregistered gadgets."""

    name = models.CharField(max_length=100, unique=True)
    private_key_encrypted = models.TextField()
    certificate_pem = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def set_private_key(self, pem: str) -> None:
        self.private_key_encrypted = _sealed(
            self._meta.db_table, "private_key", self.name, pem
        )

    def get_private_key(self) -> str:
        return _opened(
            self._meta.db_table, "private_key", self.name, self.private_key_encrypted
        )


def new_state_id() -> str:
    return secrets.token_urlsafe(24)


class PendingDance(models.Model):
    """A request token waiting for the person's approval at the provider.

    ``state`` travels in the callback URL; ``binding_digest`` is the SHA-256
    of the browser-binding cookie set by the viewer's own makeRequest
    response, so only that browser can complete the dance at the callback.
    """

    state = models.CharField(max_length=64, unique=True, default=new_state_id)
    key = models.CharField(max_length=64, db_index=True)
    viewer = models.CharField(max_length=200)
    owner = models.CharField(max_length=200)
    gadget_url = models.CharField(max_length=2000)
    module_id = models.BigIntegerField(default=0)
    service_name = models.CharField(max_length=200, blank=True, default="")
    token_name = models.CharField(max_length=200, blank=True, default="")
    request_token_encrypted = models.TextField()
    request_token_secret_encrypted = models.TextField()
    binding_digest = models.CharField(max_length=64, blank=True, default="")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"dance {self.state[:8]} for {self.viewer} ({self.service_name})"

    def set_request_token(self, token: str, secret: str) -> None:
        table = self._meta.db_table
        self.request_token_encrypted = _sealed(
            table, "request_token", self.state, token
        )
        self.request_token_secret_encrypted = _sealed(
            table, "request_token_secret", self.state, secret
        )

    def get_request_token(self) -> tuple[str, str]:
        table = self._meta.db_table
        token = _opened(
            table, "request_token", self.state, self.request_token_encrypted
        )
        secret = _opened(
            table,
            "request_token_secret",
            self.state,
            self.request_token_secret_encrypted,
        )
        return token, secret

    def is_open(self, now: datetime | None = None) -> bool:
        return self.used_at is None and self.expires_at > (now or timezone.now())


class AccessToken(models.Model):
    """An access token, found by ``token_key`` and nothing else."""

    key = models.CharField(max_length=64, unique=True)
    viewer = models.CharField(max_length=200)
    gadget_url = models.CharField(max_length=2000)
    module_id = models.BigIntegerField(default=0)
    service_name = models.CharField(max_length=200, blank=True, default="")
    token_name = models.CharField(max_length=200, blank=True, default="")
    token_encrypted = models.TextField()
    secret_encrypted = models.TextField()
    session_handle_encrypted = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    authorization_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(default=timezone.now)
    revoked = models.BooleanField(default=False)
    # Who may refresh: set for a short while by the one process that
    # spends the session handle, so no other process (web or worker)
    # spends it too. See ``oauthproxy.claims``.
    refresh_claimed_until = models.DateTimeField(null=True, blank=True)
    # When the revocation probe last asked the provider about this token.
    probed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"token of {self.viewer} for {self.service_name or '(default)'}"

    def set_credentials(self, token: str, secret: str, session_handle: str) -> None:
        table = self._meta.db_table
        self.token_encrypted = _sealed(table, "token", self.key, token)
        self.secret_encrypted = _sealed(table, "secret", self.key, secret)
        self.session_handle_encrypted = (
            _sealed(table, "session_handle", self.key, session_handle)
            if session_handle
            else ""
        )

    def get_credentials(self) -> tuple[str, str, str]:
        table = self._meta.db_table
        return (
            _opened(table, "token", self.key, self.token_encrypted),
            _opened(table, "secret", self.key, self.secret_encrypted),
            _opened(table, "session_handle", self.key, self.session_handle_encrypted),
        )

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (
            now or timezone.now()
        )


class AuditEvent(models.Model):
    """Something that happened to a secret or token; never the value."""

    kind = models.CharField(max_length=50)
    actor = models.CharField(max_length=200, blank=True, default="")
    gadget_url = models.CharField(max_length=2000, blank=True, default="")
    service_name = models.CharField(max_length=200, blank=True, default="")
    target = models.CharField(max_length=200, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} by {self.actor or 'system'}"


class OAuthTrace(models.Model):
    """A redacted account of one failed OAuth exchange for the developer.

    Written only when something went wrong, so the warm path never writes.
    """

    gadget_url = models.CharField(max_length=2000, db_index=True)
    viewer = models.CharField(max_length=200, blank=True, default="")
    module_id = models.BigIntegerField(default=0)
    service_name = models.CharField(max_length=200, blank=True, default="")
    oauth_error = models.CharField(max_length=100, blank=True, default="")
    summary = models.TextField(blank=True, default="")
    trace = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.oauth_error or 'trace'} for {self.gadget_url}"


def new_verification_token() -> str:
    return "gcv-" + secrets.token_urlsafe(24)


class GadgetClaim(models.Model):
    """A developer's claim to control a gadget URL, proved by its spec.

    The spec at ``gadget_url`` proves the claim by carrying
    ``verification_token`` (see ``oauthproxy.developer``). Many developers
    may claim a URL; at most one claim per URL is ever verified.
    """

    gadget_url = models.CharField(max_length=2000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="gadget_claims",
    )
    verification_token = models.CharField(
        max_length=64, unique=True, default=new_verification_token
    )
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["gadget_url", "owner"], name="oauthproxy_one_claim_per_owner"
            ),
            models.UniqueConstraint(
                fields=["gadget_url"],
                condition=models.Q(verified_at__isnull=False),
                name="oauthproxy_one_verified_claim_per_gadget",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gadget_url} claimed by {self.owner_id}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.gadget_url = canonical_gadget_url(self.gadget_url)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class ApiToken(models.Model):
    """A developer's token for the REST API, kept only as a SHA-256 digest.

    The token itself is shown once when created; a database dump holds
    nothing that authenticates.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True, default="")
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"API token {self.prefix}… of {self.user_id}"


class PendingRevocation(models.Model):
    """An access token to revoke at the provider, after it went locally.

    The token and secret are sealed to this row, so the task that tells
    the provider carries only the row's id. The row is deleted once the
    provider answered, or after the last attempt.
    """

    ref = models.CharField(max_length=64, unique=True, default=new_state_id)
    registration = models.ForeignKey(ConsumerRegistration, on_delete=models.CASCADE)
    viewer = models.CharField(max_length=200, blank=True, default="")
    token_encrypted = models.TextField()
    secret_encrypted = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"revocation {self.ref[:8]} for {self.viewer}"

    def set_credentials(self, token: str, secret: str) -> None:
        table = self._meta.db_table
        self.token_encrypted = _sealed(table, "token", self.ref, token)
        self.secret_encrypted = _sealed(table, "secret", self.ref, secret)

    def get_credentials(self) -> tuple[str, str]:
        table = self._meta.db_table
        return (
            _opened(table, "token", self.ref, self.token_encrypted),
            _opened(table, "secret", self.ref, self.secret_encrypted),
        )
