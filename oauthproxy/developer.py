"""What gadget developers do in the dashboard, the API and the admin.

A developer proves control of a gadget URL before registering consumer
keys for it: they claim the URL, put the claim's verification token in the
spec, and ask the container to check. For example, for the claim token
``gcv-3q9...`` the spec carries::

    <ModulePrefs title="Contacts">
      <Link rel="gadget-container-verification" href="gcv-3q9..."/>
    </ModulePrefs>

``verify_claim`` fetches the spec through the guarded client (bypassing
the spec cache) and marks the claim verified when the link's href holds
the token. At most one claim per URL is ever verified; later claimants
are refused.

The verified owner then registers a consumer key per OAuth service of the
spec, with a pasted secret, a pasted RSA private key (validated here) or a
key pair the container generates so that only the certificate ever leaves
the server. Secrets are write-only: every function here takes them and
none returns them. Each change writes an ``AuditEvent`` naming who changed
what, never the value.

Every function takes the acting user and checks ownership itself, so the
views, the REST API and the admin cannot disagree about who may do what.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from gadgets import specfetch
from gadgets.errors import GadgetError
from gadgets.locked_domain import canonical_gadget_url
from gadgets.spec_model import Spec

from . import keys
from .models import (
    HMAC_SYMMETRIC,
    KEY_TYPES,
    PLAINTEXT,
    RSA_PRIVATE,
    ApiToken,
    AuditEvent,
    ConsumerRegistration,
    GadgetClaim,
)

logger = logging.getLogger(__name__)

DEVELOPER_GROUP = "gadget-developers"
VERIFICATION_REL = "gadget-container-verification"
MIN_RSA_BITS = 2048
GENERATED_RSA_BITS = 2048
MAX_SECRET_CHARS = 8192
MAX_CONSUMER_KEY_CHARS = 500
MAX_GADGET_URL_BYTES = 2000
CERTIFICATE_DAYS = 365 * 10
API_TOKEN_PREFIX = "gct_"  # noqa: S105 - a label, not a secret

User = AbstractBaseUser | AnonymousUser


# --- Errors ----------------------------------------------------------------


class DeveloperError(GadgetError):
    """Something a developer asked for that cannot be done, and why."""

    status = 400
    code = "invalid_request"


class NotDeveloper(DeveloperError):
    status = 403
    code = "not_a_developer"
    default_message = (
        f"Only gadget developers may use this. Ask an operator to add you to "
        f"the {DEVELOPER_GROUP!r} group."
    )


class NotFound(DeveloperError):
    status = 404
    code = "not_found"
    default_message = "No such object."


class GadgetAlreadyClaimed(DeveloperError):
    status = 409
    code = "gadget_already_claimed"
    default_message = (
        "This gadget URL is already verified by another developer. If you "
        "control it, ask an operator to transfer it."
    )


class ClaimNotVerified(DeveloperError):
    status = 409
    code = "claim_not_verified"
    default_message = (
        "Verify your claim on this gadget URL before registering services."
    )


class VerificationFailed(DeveloperError):
    code = "verification_failed"


class SpecUnavailable(DeveloperError):
    status = 502
    code = "spec_unavailable"


class UnknownService(DeveloperError):
    code = "unknown_service"


class InvalidSecret(DeveloperError):
    code = "invalid_secret"


class InvalidPrivateKey(DeveloperError):
    code = "invalid_private_key"


class RegistrationExists(DeveloperError):
    status = 409
    code = "registration_exists"


class ClaimInUse(DeveloperError):
    status = 409
    code = "claim_in_use"
    default_message = (
        "Delete the service registrations of this gadget before its claim."
    )


class NoCertificate(DeveloperError):
    status = 404
    code = "no_certificate"
    default_message = (
        "This registration has no certificate: it does not use an RSA key."
    )


class InvalidField(DeveloperError):
    code = "invalid_field"


# --- Who may do what -------------------------------------------------------


def is_developer(user: User) -> bool:
    """Members of the ``gadget-developers`` group (see docs)."""
    if not user.is_authenticated or not user.is_active:
        return False
    groups = getattr(user, "groups", None)
    return groups is not None and groups.filter(name=DEVELOPER_GROUP).exists()


def require_developer(user: User) -> None:
    if not is_developer(user):
        raise NotDeveloper()


def claims_of(user: User) -> QuerySet[GadgetClaim]:
    return GadgetClaim.objects.filter(owner_id=user.pk).order_by("gadget_url")


def registrations_of(user: User) -> QuerySet[ConsumerRegistration]:
    return ConsumerRegistration.objects.filter(owner_id=user.pk).order_by(
        "gadget_url", "service_name"
    )


def own_claim(user: User, claim_id: Any) -> GadgetClaim:
    """The user's claim, or ``NotFound``: another's claim looks like none."""
    claim = _by_id(claims_of(user), claim_id)
    if claim is None:
        raise NotFound("No such gadget claim.")
    return claim


def own_registration(user: User, registration_id: Any) -> ConsumerRegistration:
    registration = _by_id(registrations_of(user), registration_id)
    if registration is None:
        raise NotFound("No such service registration.")
    return registration


def _by_id(query: QuerySet[Any], object_id: Any) -> Any:
    try:
        return query.filter(pk=int(object_id)).first()
    except (TypeError, ValueError):
        return None


def verified_claim(user: User, gadget_url: str) -> GadgetClaim:
    claim = GadgetClaim.objects.filter(
        gadget_url=canonical_gadget_url(gadget_url),
        owner_id=user.pk,
        verified_at__isnull=False,
    ).first()
    if claim is None:
        raise ClaimNotVerified()
    return claim


# --- Claims ----------------------------------------------------------------


def claim_gadget(user: User, gadget_url: str, *, via: str) -> GadgetClaim:
    """Start (or return) the user's claim on a gadget URL."""
    require_developer(user)
    url = canonical_gadget_url(gadget_url)
    if len(url.encode("utf-8")) > MAX_GADGET_URL_BYTES:
        # The unique index on the URL holds at most about 2.7 kB per row.
        raise InvalidField(
            f"The gadget URL is longer than {MAX_GADGET_URL_BYTES} bytes."
        )
    if _verified_by_other(url, user):
        raise GadgetAlreadyClaimed()
    claim, created = GadgetClaim.objects.get_or_create(gadget_url=url, owner_id=user.pk)
    if created:
        audit(user, "gadget_claimed", url, target=claim.pk, via=via)
    return claim


def _verified_by_other(url: str, user: User) -> bool:
    return (
        GadgetClaim.objects.filter(gadget_url=url, verified_at__isnull=False)
        .exclude(owner_id=user.pk)
        .exists()
    )


def verify_claim(user: User, claim: GadgetClaim, *, via: str) -> GadgetClaim:
    """Fetch the spec afresh and mark the claim verified if it proves it."""
    require_developer(user)
    if claim.owner_id != user.pk:
        raise NotFound("No such gadget claim.")
    if claim.is_verified:
        return claim
    if _verified_by_other(claim.gadget_url, user):
        raise GadgetAlreadyClaimed()

    spec = _fetch_spec(claim.gadget_url, fresh=True)
    link = spec.module_prefs.links.get(VERIFICATION_REL)
    if link is None or claim.verification_token not in link.href:
        raise VerificationFailed(
            f"The spec at {claim.gadget_url} has no <Link "
            f'rel="{VERIFICATION_REL}"> whose href contains your '
            "verification token. Add it to ModulePrefs, publish the spec "
            "and try again."
        )

    try:
        with transaction.atomic():
            claim.verified_at = timezone.now()
            claim.save(update_fields=["verified_at"])
    except IntegrityError:
        claim.verified_at = None
        raise GadgetAlreadyClaimed() from None
    audit(user, "gadget_verified", claim.gadget_url, target=claim.pk, via=via)
    return claim


def delete_claim(user: User, claim: GadgetClaim, *, via: str) -> None:
    require_developer(user)
    if claim.owner_id != user.pk:
        raise NotFound("No such gadget claim.")
    if registrations_of(user).filter(gadget_url=claim.gadget_url).exists():
        raise ClaimInUse()
    claim_id = claim.pk
    claim.delete()
    audit(user, "gadget_claim_deleted", claim.gadget_url, target=claim_id, via=via)


def _fetch_spec(url: str, *, fresh: bool = False) -> Spec:
    try:
        return specfetch.get_spec_sync(url, nocache=fresh)
    except GadgetError as exc:
        raise SpecUnavailable(
            f"The gadget spec at {url} could not be read: {exc.message}"
        ) from None


def spec_services(gadget_url: str) -> list[str]:
    """The OAuth service names the gadget's spec declares."""
    spec = _fetch_spec(gadget_url)
    return list(spec.module_prefs.oauth_services)


# --- Secrets ---------------------------------------------------------------


@dataclass(frozen=True)
class SecretInput:
    """What the developer submitted for a registration's secret.

    ``generate`` asks for a fresh RSA key pair; otherwise ``value`` is the
    shared secret or the PEM private key, depending on ``key_type``.
    """

    key_type: str
    value: str = ""
    generate: bool = False

    def __repr__(self) -> str:  # keep the value out of tracebacks and logs
        return f"SecretInput(key_type={self.key_type!r}, generate={self.generate})"


def check_key_type(key_type: str) -> str:
    if key_type not in dict(KEY_TYPES):
        known = ", ".join(dict(KEY_TYPES))
        raise InvalidField(f"key_type must be one of {known}.")
    return key_type


def check_shared_secret(value: str) -> str:
    if not value.strip():
        raise InvalidSecret("The consumer secret is empty.")
    if len(value) > MAX_SECRET_CHARS:
        raise InvalidSecret(
            f"The consumer secret is longer than {MAX_SECRET_CHARS} characters."
        )
    return value


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """An unencrypted RSA private key of at least 2048 bits, or why not.

    The messages name what is wrong with the value, never the value.
    """
    text = pem.strip()
    if "PUBLIC KEY-----" in text or "CERTIFICATE-----" in text:
        raise InvalidPrivateKey(
            "This is a public key or certificate. Paste the private key "
            "(-----BEGIN PRIVATE KEY-----); the provider gets the public half."
        )
    if "-----BEGIN" not in text:
        raise InvalidPrivateKey(
            "This is not a PEM private key: it should start with "
            "-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----."
        )
    if "ENCRYPTED" in text:
        raise InvalidPrivateKey(_ENCRYPTED_KEY)
    try:
        key = serialization.load_pem_private_key(text.encode("utf-8"), password=None)
    except TypeError:
        raise InvalidPrivateKey(_ENCRYPTED_KEY) from None
    except (ValueError, UnicodeEncodeError, UnsupportedAlgorithm):
        raise InvalidPrivateKey(
            "The PEM private key could not be read: it is damaged or "
            "truncated. Paste the whole key, BEGIN and END lines included."
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InvalidPrivateKey(
            "This is a private key, but not an RSA key; RSA-SHA1 needs RSA."
        )
    if key.key_size < MIN_RSA_BITS:
        raise InvalidPrivateKey(
            f"This RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} "
            "are required."
        )
    return key


_ENCRYPTED_KEY = (
    "This private key is protected by a passphrase. Remove it first "
    "(openssl pkey -in key.pem -out plain.pem) or let the container "
    "generate a key pair."
)


def certificate_for(key: rsa.RSAPrivateKey, consumer_key: str) -> str:
    """A self-signed X.509 certificate of the key, for the provider."""
    return keys.self_signed_certificate(
        key,
        common_name=consumer_key or "consumer",
        not_before=timezone.now() - datetime.timedelta(days=1),
        days=CERTIFICATE_DAYS,
        serial=x509.random_serial_number(),
    )


def apply_secret(registration: ConsumerRegistration, given: SecretInput) -> str:
    """Seal the secret into the row (unsaved); returns the audit kind.

    Validates first: a refused value leaves the row as it was.
    """
    key: rsa.RSAPrivateKey | None = None
    if given.generate:
        key = keys.new_rsa_key(GENERATED_RSA_BITS)
    elif check_key_type(given.key_type) == RSA_PRIVATE:
        key = load_private_key(given.value)
    else:
        shared = check_shared_secret(given.value)

    if key is None:
        registration.key_type = given.key_type
        registration.set_secret(shared)
        registration.certificate_pem = ""
    else:
        registration.key_type = RSA_PRIVATE
        registration.set_secret(keys.pkcs8_pem(key))
        registration.certificate_pem = certificate_for(key, registration.consumer_key)
    return "key_pair_generated" if given.generate else "secret_submitted"


# --- Registrations ---------------------------------------------------------


def check_consumer_key(value: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidField("consumer_key is empty.")
    if len(value) > MAX_CONSUMER_KEY_CHARS:
        raise InvalidField(
            f"consumer_key is longer than {MAX_CONSUMER_KEY_CHARS} characters."
        )
    return value


def check_callback_url(value: str) -> str:
    value = value.strip()
    if not value or value == "oob":
        return value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidField(
            "callback_url must be an absolute http or https URL, or oob."
        )
    if len(value) > 2000:
        raise InvalidField("callback_url is longer than 2000 characters.")
    return value


def register_service(
    user: User,
    gadget_url: str,
    *,
    service_name: str,
    consumer_key: str,
    secret: SecretInput,
    callback_url: str = "",
    via: str,
) -> ConsumerRegistration:
    """Create the consumer registration of a verified gadget's service."""
    require_developer(user)
    claim = verified_claim(user, gadget_url)
    _check_service(claim.gadget_url, service_name, user)
    registration = ConsumerRegistration(
        gadget_url=claim.gadget_url,
        service_name=service_name,
        consumer_key=check_consumer_key(consumer_key),
        callback_url=check_callback_url(callback_url),
        owner_id=user.pk,
        verified=True,
    )
    kind = apply_secret(registration, secret)

    try:
        with transaction.atomic():
            registration.save()
    except IntegrityError:
        # Registered by someone else between the check and the save.
        raise RegistrationExists(
            f"Service {service_name!r} of this gadget is already registered."
        ) from None

    audit(user, "registration_created", registration, via=via)
    audit(user, kind, registration, via=via, key_type=registration.key_type)
    return registration


def _check_service(gadget_url: str, service_name: str, user: User) -> None:
    """The spec declares the service and nobody registered it yet."""
    known = spec_services(gadget_url)
    if service_name not in known:
        names = ", ".join(repr(name) for name in known) or "none"
        raise UnknownService(
            f"The spec declares no OAuth service {service_name!r}. "
            f"Services in <OAuth>: {names}."
        )
    existing = ConsumerRegistration.objects.filter(
        gadget_url=gadget_url, service_name=service_name
    ).first()
    if existing is not None:
        raise RegistrationExists(_exists_message(existing, user, service_name))


def _exists_message(
    existing: ConsumerRegistration, user: User, service_name: str
) -> str:
    if existing.owner_id == user.pk:
        return (
            f"You have registered service {service_name!r} already; edit that "
            "registration or replace its secret."
        )
    return (
        f"Service {service_name!r} of this gadget is registered by the "
        "operator; ask them to remove that registration first."
    )


EDITABLE_FIELDS = ("consumer_key", "callback_url", "enabled")


def update_registration(
    user: User,
    registration: ConsumerRegistration,
    changes: dict[str, Any],
    *,
    via: str,
) -> ConsumerRegistration:
    """Change non-secret fields; the stored secret stays as it is."""
    _check_owner(user, registration)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidField(
            f"These fields cannot be changed here: {', '.join(sorted(unknown))}. "
            "Replace the secret or key type with the separate action."
        )
    cleaned = _clean_changes(changes)
    changed = [
        name for name, value in cleaned.items() if getattr(registration, name) != value
    ]
    if not changed:
        return registration
    for name in changed:
        setattr(registration, name, cleaned[name])
    registration.save(update_fields=[*changed, "updated_at"])
    audit(user, "registration_updated", registration, via=via, fields=changed)
    if "enabled" in changed:
        kind = (
            "registration_enabled" if registration.enabled else "registration_disabled"
        )
        audit(user, kind, registration, via=via)
    return registration


def _clean_changes(changes: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    if "consumer_key" in changes:
        cleaned["consumer_key"] = check_consumer_key(str(changes["consumer_key"]))
    if "callback_url" in changes:
        cleaned["callback_url"] = check_callback_url(str(changes["callback_url"]))
    if "enabled" in changes:
        if not isinstance(changes["enabled"], bool):
            raise InvalidField("enabled must be true or false.")
        cleaned["enabled"] = changes["enabled"]
    return cleaned


def set_enabled(
    user: User, registration: ConsumerRegistration, enabled: bool, *, via: str
) -> ConsumerRegistration:
    """Disabling takes effect at once: makeRequest refuses the service."""
    return update_registration(user, registration, {"enabled": enabled}, via=via)


def operator_set_enabled(
    actor: User, registrations: Iterable[ConsumerRegistration], enabled: bool
) -> int:
    """The operator's switch (admin): no ownership check, same audit."""
    changed = 0
    for registration in registrations:
        if registration.enabled == enabled:
            continue
        registration.enabled = enabled
        registration.save(update_fields=["enabled", "updated_at"])
        kind = "registration_enabled" if enabled else "registration_disabled"
        audit(actor, kind, registration, via="admin")
        changed += 1
    return changed


def replace_secret(
    user: User,
    registration: ConsumerRegistration,
    secret: SecretInput,
    *,
    via: str,
) -> ConsumerRegistration:
    """Replace the secret (or key pair); the old one is gone for good."""
    _check_owner(user, registration)
    kind = apply_secret(registration, secret)
    registration.save()
    audit(
        user,
        "key_pair_generated" if kind == "key_pair_generated" else "secret_replaced",
        registration,
        via=via,
        key_type=registration.key_type,
    )
    return registration


def delete_registration(
    user: User, registration: ConsumerRegistration, *, via: str
) -> None:
    _check_owner(user, registration)
    registration_id = registration.pk
    registration.delete()
    registration.pk = registration_id
    audit(user, "registration_deleted", registration, via=via)


def certificate(user: User, registration: ConsumerRegistration) -> str:
    _check_owner(user, registration)
    if registration.key_type != RSA_PRIVATE or not registration.certificate_pem:
        raise NoCertificate()
    return registration.certificate_pem


def _check_owner(user: User, registration: ConsumerRegistration) -> None:
    require_developer(user)
    if registration.owner_id != user.pk:
        raise NotFound("No such service registration.")


def secret_summary(registration: ConsumerRegistration) -> str:
    """What pages show for a secret: "set" and a fingerprint, or "not set"."""
    if not registration.secret_encrypted:
        return "not set"
    if registration.secret_fingerprint:
        return f"set ({registration.secret_fingerprint})"
    return "set"


# --- API tokens ------------------------------------------------------------


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_api_token(user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new API token; the raw value is returned once and kept nowhere."""
    require_developer(user)
    raw = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    assert user.pk is not None
    token = ApiToken.objects.create(
        user_id=user.pk,
        name=name.strip()[:100],
        digest=token_digest(raw),
        prefix=raw[: len(API_TOKEN_PREFIX) + 4],
    )
    audit(user, "api_token_created", "", target=token.pk, via="dashboard")
    return token, raw


def revoke_api_token(user: User, token_id: Any) -> None:
    token = _by_id(ApiToken.objects.filter(user__pk=user.pk or 0), token_id)
    if token is None:
        raise NotFound("No such API token.")
    token.delete()
    audit(user, "api_token_revoked", "", target=token_id, via="dashboard")


# --- Audit -----------------------------------------------------------------


def audit(
    user: User,
    kind: str,
    subject: ConsumerRegistration | str,
    *,
    via: str,
    target: Any = "",
    **details: Any,
) -> AuditEvent:
    """Record who did what to which gadget or registration; never a value."""
    if isinstance(subject, ConsumerRegistration):
        gadget_url, service_name = subject.gadget_url, subject.service_name
        target = target or subject.pk
    else:
        gadget_url, service_name = subject, ""
    event = AuditEvent.objects.create(
        kind=kind,
        actor=user.get_username() if user.is_authenticated else "",
        gadget_url=gadget_url,
        service_name=service_name,
        target=str(target),
        details={"via": via, **details},
    )
    logger.info("developer %s target=%s via=%s", kind, target, via)
    return event


DEVELOPER_KINDS = (
    "gadget_claimed",
    "gadget_verified",
    "gadget_claim_deleted",
    "registration_created",
    "registration_updated",
    "registration_enabled",
    "registration_disabled",
    "registration_deleted",
    "secret_submitted",
    "secret_replaced",
    "secret_imported",
    "key_pair_generated",
    "api_token_created",
    "api_token_revoked",
)


def audit_log(user: User, gadget_url: str | None = None) -> QuerySet[AuditEvent]:
    """Changes to the user's verified gadgets, and the user's own actions.

    Token events name the people who connected; they feed the statistics,
    not this log.
    """
    verified = claims_of(user).filter(verified_at__isnull=False)
    urls = verified.values_list("gadget_url", flat=True)
    events = AuditEvent.objects.filter(kind__in=DEVELOPER_KINDS).filter(
        Q(gadget_url__in=urls) | Q(actor=user.get_username())
    )
    if gadget_url is not None:
        events = events.filter(gadget_url=gadget_url)
    return events.order_by("-created_at", "-pk")


__all__ = [
    "HMAC_SYMMETRIC",
    "PLAINTEXT",
    "RSA_PRIVATE",
    "DeveloperError",
    "SecretInput",
]
