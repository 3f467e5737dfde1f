"""What the sandbox provider remembers: its people, consumers and tokens.

The sandbox is a service provider of its own, a stranger to the container:
its people are ``ProviderUser`` rows with their own hashed passwords (not
Django's auth users, who belong to the container), and it knows consumers
only by the key and secret (or RSA certificate) a gadget developer gave it.

A token's life, in rows::

    RequestToken  issued to a consumer, approved (or denied) by a person,
                  exchanged once for
    AccessToken   used on the contacts and echo APIs until it expires
                  (renewable with its session handle), is revoked by the
                  person, or its authorization runs out.

Fault switches live on the ``Consumer`` row, so every process serving the
sandbox sees the same switches at once.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils import timezone

HMAC_SHA1 = "HMAC-SHA1"
RSA_SHA1 = "RSA-SHA1"
PLAINTEXT = "PLAINTEXT"
SIGNATURE_METHODS = [
    (HMAC_SHA1, "HMAC-SHA1 (shared secret)"),
    (RSA_SHA1, "RSA-SHA1 (consumer's public certificate)"),
    (PLAINTEXT, "PLAINTEXT (shared secret, https only in real life)"),
]

PROBLEM_IN_HEADER = "header"
PROBLEM_IN_BODY = "body"
PROBLEM_LOCATIONS = [
    (PROBLEM_IN_HEADER, "WWW-Authenticate header"),
    (PROBLEM_IN_BODY, "response body"),
]

# Longest pause the "answer slowly" switch accepts, in seconds.
MAX_DELAY_SECONDS = 60


def new_token() -> str:
    return secrets.token_urlsafe(24)


class ProviderUser(models.Model):
    """A person with an account at the sandbox provider."""

    username = models.CharField(max_length=150, unique=True)
    password = models.CharField(max_length=256)
    display_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.username

    def set_password(self, raw_password: str) -> None:
        self.password = make_password(raw_password)

    def check_password(self, raw_password: str) -> bool:
        return check_password(raw_password, self.password)


class Contact(models.Model):
    """One entry in a provider user's address book (what gadgets read)."""

    owner = models.ForeignKey(
        ProviderUser, on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["owner", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "name"], name="sandbox_unique_contact_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Consumer(models.Model):
    """A consumer key the provider accepts, with its switches."""

    key = models.CharField(max_length=200, unique=True)
    display_name = models.CharField(max_length=200)
    # Named in the approval question: "Can <display name> on <container>...".
    container_name = models.CharField(max_length=200, default="the gadget container")
    signature_method = models.CharField(
        max_length=20, choices=SIGNATURE_METHODS, default=HMAC_SHA1
    )
    # HMAC-SHA1 and PLAINTEXT; never shown on a page or in an answer.
    secret = models.CharField(max_length=500, blank=True)
    # RSA-SHA1: the consumer's X.509 certificate or public key, in PEM.
    rsa_certificate = models.TextField(blank=True)
    # Access tokens expire this long after issue (none: they never do).
    access_token_lifetime_seconds = models.PositiveIntegerField(null=True, blank=True)
    # The session handle renews tokens for this long (none: forever).
    authorization_lifetime_seconds = models.PositiveIntegerField(
        null=True, blank=True, default=30 * 24 * 3600
    )
    issues_session_handle = models.BooleanField(default=True)
    # Fault switches.
    answers_503 = models.BooleanField(default=False)
    delay_seconds = models.FloatField(default=0)
    rejects_key = models.BooleanField(default=False)
    problem_location = models.CharField(
        max_length=10, choices=PROBLEM_LOCATIONS, default=PROBLEM_IN_HEADER
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name", "key"]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.key})"


class RequestToken(models.Model):
    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE)
    token = models.CharField(max_length=100, unique=True, default=new_token)
    secret = models.CharField(max_length=100, default=new_token)
    callback = models.CharField(max_length=2000)
    verifier = models.CharField(max_length=100, blank=True)
    # Who approved (or denied) it; empty until then.
    user = models.ForeignKey(
        ProviderUser, null=True, blank=True, on_delete=models.CASCADE
    )
    is_denied = models.BooleanField(default=False)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"request token {self.pk} of {self.consumer_id}"

    def is_open(self) -> bool:
        return self.expires_at > timezone.now()


class AccessTokenQuerySet(models.QuerySet["AccessToken"]):
    def live(self) -> AccessTokenQuerySet:
        """Tokens not revoked whose authorization has not run out."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(authorization_expires_at__isnull=True)
            | models.Q(authorization_expires_at__gt=now)
        )


class AccessToken(models.Model):
    consumer = models.ForeignKey(Consumer, on_delete=models.CASCADE)
    user = models.ForeignKey(
        ProviderUser, on_delete=models.CASCADE, related_name="access_tokens"
    )
    token = models.CharField(max_length=100, unique=True, default=new_token)
    secret = models.CharField(max_length=100, default=new_token)
    session_handle = models.CharField(max_length=100, blank=True, db_index=True)
    # This token stops working then (none: never); the handle renews it.
    expires_at = models.DateTimeField(null=True, blank=True)
    # The handle stops renewing then (none: never).
    authorization_expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = AccessTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"access token {self.pk} of {self.consumer_id} for {self.user_id}"

    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def is_authorization_expired(self) -> bool:
        return (
            self.authorization_expires_at is not None
            and self.authorization_expires_at <= timezone.now()
        )


class Nonce(models.Model):
    """A (consumer, timestamp, nonce, token) seen once; a replay is refused.

    Rows older than the timestamp window can go: oauthlib refuses those
    timestamps before the nonce is looked at.
    """

    consumer_key = models.CharField(max_length=200)
    timestamp = models.CharField(max_length=20)
    nonce = models.CharField(max_length=200)
    token = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["consumer_key", "timestamp", "nonce", "token"],
                name="sandbox_nonce_once",
            )
        ]

    def __str__(self) -> str:
        return f"nonce of {self.consumer_key} at {self.timestamp}"


# oauthlib accepts timestamps up to 600 s either side of now, so a nonce
# can be replayed for at most 1200 s after it was first seen; keep longer.
NONCE_KEEP_SECONDS = 1800


def delete_stale_rows() -> None:
    """Forget nonces nobody can replay any more and request tokens that
    expired unanswered, so neither table grows without end."""
    now = timezone.now()
    Nonce.objects.filter(
        created_at__lt=now - timedelta(seconds=NONCE_KEEP_SECONDS)
    ).delete()
    RequestToken.objects.filter(expires_at__lt=now).delete()


def seconds_from_now(seconds: int | None) -> datetime | None:
    if seconds is None:
        return None
    return timezone.now() + timedelta(seconds=seconds)
