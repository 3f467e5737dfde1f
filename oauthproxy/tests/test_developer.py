"""Claims, verification, registrations and secrets in ``developer``."""

from __future__ import annotations

import pytest
from cryptography import x509
from django.contrib.auth.models import User

from oauthproxy import developer
from oauthproxy.developer import SecretInput
from oauthproxy.models import (
    HMAC_SYMMETRIC,
    RSA_PRIVATE,
    AuditEvent,
    ConsumerRegistration,
    GadgetClaim,
)

from .conftest import DEV_GADGET, dev_spec_xml
from .keyfiles import ec_pem, private_pem, public_pem, traditional_pem

pytestmark = pytest.mark.django_db


def _register(user, secret: SecretInput, service: str = "contacts"):
    return developer.register_service(
        user,
        DEV_GADGET,
        service_name=service,
        consumer_key="dev-key",
        secret=secret,
        via="test",
    )


# --- Claims ------------------------------------------------------------------


def test_claim_is_canonical_and_idempotent(dev):
    first = developer.claim_gadget(dev, "HTTP://Gadgets.Example:80/dev.xml", via="t")
    again = developer.claim_gadget(dev, DEV_GADGET, via="t")

    assert first.pk == again.pk
    assert first.gadget_url == DEV_GADGET
    assert first.verification_token.startswith("gcv-")
    assert AuditEvent.objects.filter(kind="gadget_claimed").count() == 1


def test_non_developer_cannot_claim(db):
    person = User.objects.create_user("person")

    with pytest.raises(developer.NotDeveloper):
        developer.claim_gadget(person, DEV_GADGET, via="t")


def test_claim_of_a_bad_url_is_refused(dev):
    with pytest.raises(developer.GadgetError) as caught:
        developer.claim_gadget(dev, "ftp://gadgets.example/x.xml", via="t")
    assert caught.value.code == "invalid_url"


def test_verify_needs_the_token_in_the_spec(dev, fake_upstream):
    claim = developer.claim_gadget(dev, DEV_GADGET, via="t")
    fake_upstream.add(DEV_GADGET, dev_spec_xml("gcv-someone-elses-token"))

    with pytest.raises(developer.VerificationFailed, match="gadget-container-"):
        developer.verify_claim(dev, claim, via="t")
    claim.refresh_from_db()
    assert claim.verified_at is None


def test_verify_fetches_the_spec_afresh_through_the_guarded_client(dev, fake_upstream):
    claim = developer.claim_gadget(dev, DEV_GADGET, via="t")
    fake_upstream.add(DEV_GADGET, dev_spec_xml())
    with pytest.raises(developer.VerificationFailed):
        developer.verify_claim(dev, claim, via="t")
    fake_upstream.add(DEV_GADGET, dev_spec_xml(claim.verification_token))

    developer.verify_claim(dev, claim, via="t")

    assert GadgetClaim.objects.get(pk=claim.pk).is_verified
    assert [call.url for call in fake_upstream.calls] == [DEV_GADGET, DEV_GADGET]
    assert AuditEvent.objects.filter(kind="gadget_verified").count() == 1


def test_unreachable_spec_is_a_clear_error(dev, fake_upstream):
    claim = developer.claim_gadget(dev, DEV_GADGET, via="t")

    with pytest.raises(developer.SpecUnavailable) as caught:
        developer.verify_claim(dev, claim, via="t")
    assert DEV_GADGET in caught.value.message


def test_second_claimant_of_a_verified_gadget_is_refused(verified_claim, rival):
    with pytest.raises(developer.GadgetAlreadyClaimed) as caught:
        developer.claim_gadget(rival, DEV_GADGET, via="t")
    assert caught.value.status == 409
    assert "already verified by another developer" in caught.value.message


def test_earlier_rival_claim_cannot_be_verified_afterwards(dev, rival, fake_upstream):
    mine = developer.claim_gadget(dev, DEV_GADGET, via="t")
    theirs = developer.claim_gadget(rival, DEV_GADGET, via="t")
    fake_upstream.add(DEV_GADGET, dev_spec_xml(mine.verification_token))
    developer.verify_claim(dev, mine, via="t")
    fake_upstream.add(DEV_GADGET, dev_spec_xml(theirs.verification_token))

    with pytest.raises(developer.GadgetAlreadyClaimed):
        developer.verify_claim(rival, theirs, via="t")


def test_claim_with_registrations_cannot_be_deleted(verified_claim, dev):
    _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret"))

    with pytest.raises(developer.ClaimInUse):
        developer.delete_claim(dev, verified_claim, via="t")


# --- Registrations -----------------------------------------------------------


def test_only_the_verified_owner_registers(dev, rival, fake_upstream):
    developer.claim_gadget(dev, DEV_GADGET, via="t")

    with pytest.raises(developer.ClaimNotVerified):
        _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret"))
    with pytest.raises(developer.ClaimNotVerified):
        _register(rival, SecretInput(HMAC_SYMMETRIC, "s3cret"))


def test_service_must_be_declared_by_the_spec(verified_claim, dev):
    with pytest.raises(developer.UnknownService) as caught:
        _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret"), service="mail")
    assert "'contacts', 'calendar'" in caught.value.message


def test_shared_secret_is_stored_encrypted_with_a_keyed_fingerprint(
    verified_claim, dev
):
    registration = _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret-value"))

    row = ConsumerRegistration.objects.get(pk=registration.pk)
    assert row.get_secret() == "s3cret-value"
    assert "s3cret-value" not in row.secret_encrypted
    assert row.secret_fingerprint.startswith("hmac:")
    assert len(row.secret_fingerprint) == len("hmac:") + 16
    assert row.owner == dev and row.verified
    assert developer.secret_summary(row) == f"set ({row.secret_fingerprint})"
    kinds = list(AuditEvent.objects.values_list("kind", flat=True))
    assert "registration_created" in kinds and "secret_submitted" in kinds
    assert "s3cret-value" not in repr(list(AuditEvent.objects.values()))


def test_pasted_rsa_key_is_normalised_and_fingerprinted(verified_claim, dev):
    registration = _register(dev, SecretInput(RSA_PRIVATE, traditional_pem()))

    assert registration.get_secret().startswith("-----BEGIN PRIVATE KEY-----")
    assert registration.secret_fingerprint.startswith("sha256:")
    certificate = x509.load_pem_x509_certificate(
        developer.certificate(dev, registration).encode()
    )
    assert certificate.public_key().public_numbers() == (
        x509.load_pem_x509_certificate(registration.certificate_pem.encode())
        .public_key()
        .public_numbers()
    )


@pytest.mark.parametrize(
    ("pem", "reason"),
    [
        (public_pem, "public key or certificate"),
        (lambda: private_pem(password=b"pass"), "protected by a passphrase"),
        (lambda: private_pem(bits=1024), "1024 bits; at least 2048"),
        (ec_pem, "not an RSA key"),
        (lambda: "just some junk", "not a PEM private key"),
        (
            lambda: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            "damaged or truncated",
        ),
    ],
)
def test_bad_private_keys_are_refused_with_the_reason(verified_claim, dev, pem, reason):
    value = pem()

    with pytest.raises(developer.InvalidPrivateKey) as caught:
        _register(dev, SecretInput(RSA_PRIVATE, value))

    assert reason in caught.value.message
    assert value.strip().splitlines()[-1] not in caught.value.message
    assert not ConsumerRegistration.objects.exists()


def test_generated_key_pair_offers_only_the_certificate(verified_claim, dev):
    registration = _register(dev, SecretInput(RSA_PRIVATE, generate=True))

    pem = developer.certificate(dev, registration)
    certificate = x509.load_pem_x509_certificate(pem.encode())
    assert certificate.public_key().key_size == 2048
    assert "PRIVATE" not in pem
    assert registration.key_type == RSA_PRIVATE
    assert registration.get_secret().startswith("-----BEGIN PRIVATE KEY-----")
    assert AuditEvent.objects.filter(kind="key_pair_generated").exists()


def test_editing_keeps_the_secret_and_is_audited(verified_claim, dev):
    registration = _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret"))
    sealed = registration.secret_encrypted

    developer.update_registration(
        dev, registration, {"consumer_key": "new-key", "callback_url": "oob"}, via="t"
    )

    row = ConsumerRegistration.objects.get(pk=registration.pk)
    assert row.consumer_key == "new-key" and row.callback_url == "oob"
    assert row.secret_encrypted == sealed
    event = AuditEvent.objects.get(kind="registration_updated")
    assert event.details["fields"] == ["consumer_key", "callback_url"]
    assert event.actor == "dev"


def test_secret_cannot_be_changed_by_editing(verified_claim, dev):
    registration = _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret"))

    with pytest.raises(developer.InvalidField, match="secret_encrypted"):
        developer.update_registration(
            dev, registration, {"secret_encrypted": "x"}, via="t"
        )


def test_replacing_the_secret_is_a_separate_audited_action(verified_claim, dev):
    registration = _register(dev, SecretInput(HMAC_SYMMETRIC, "old-secret"))
    before = registration.secret_fingerprint

    developer.replace_secret(
        dev, registration, SecretInput(HMAC_SYMMETRIC, "new-secret"), via="t"
    )

    row = ConsumerRegistration.objects.get(pk=registration.pk)
    assert row.get_secret() == "new-secret"
    assert row.secret_fingerprint != before
    assert AuditEvent.objects.filter(kind="secret_replaced").count() == 1


def test_certificate_is_refused_for_a_shared_secret(verified_claim, dev):
    registration = _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret"))

    with pytest.raises(developer.NoCertificate):
        developer.certificate(dev, registration)


def test_rival_cannot_touch_a_registration(verified_claim, dev, rival):
    registration = _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret"))

    with pytest.raises(developer.NotFound):
        developer.own_registration(rival, registration.pk)
    for action in (
        lambda: developer.update_registration(
            rival, registration, {"consumer_key": "x"}, via="t"
        ),
        lambda: developer.replace_secret(
            rival, registration, SecretInput(HMAC_SYMMETRIC, "x"), via="t"
        ),
        lambda: developer.set_enabled(rival, registration, False, via="t"),
        lambda: developer.delete_registration(rival, registration, via="t"),
        lambda: developer.certificate(rival, registration),
    ):
        with pytest.raises(developer.NotFound):
            action()
    assert ConsumerRegistration.objects.get(pk=registration.pk).enabled


def test_rival_sees_none_of_the_audit_log(verified_claim, dev, rival):
    _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret"))

    assert developer.audit_log(dev).exists()
    assert not developer.audit_log(rival).exists()


def test_api_token_is_kept_only_as_a_digest(dev):
    token, raw = developer.create_api_token(dev, "ci")

    assert raw.startswith("gct_") and raw not in repr(token.__dict__)
    assert token.digest == developer.token_digest(raw)


def test_verification_goes_through_the_outbound_guard(dev):
    claim = developer.claim_gadget(dev, "http://169.254.169.254/spec.xml", via="t")

    with pytest.raises(developer.SpecUnavailable) as caught:
        developer.verify_claim(dev, claim, via="t")

    assert caught.value.status == 502
    assert "is not on the public internet" in caught.value.message


def test_registering_twice_is_a_conflict(verified_claim, dev):
    _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret"))

    with pytest.raises(developer.RegistrationExists) as caught:
        _register(dev, SecretInput(HMAC_SYMMETRIC, "other"))
    assert caught.value.status == 409
    assert "edit that registration" in caught.value.message


def test_operator_registration_is_not_taken_over(verified_claim, dev):
    row = ConsumerRegistration(
        gadget_url=DEV_GADGET, service_name="contacts", consumer_key="op"
    )
    row.set_secret("operator-secret")
    row.save()

    with pytest.raises(developer.RegistrationExists, match="by the operator"):
        _register(dev, SecretInput(HMAC_SYMMETRIC, "s3cret"))
    assert ConsumerRegistration.objects.get().get_secret() == "operator-secret"


def test_overlong_gadget_url_is_refused(dev):
    url = "http://gadgets.example/" + "é" * 1000 + ".xml"

    with pytest.raises(developer.InvalidField, match="longer than 2000 bytes"):
        developer.claim_gadget(dev, url, via="t")
