"""The developer dashboard pages at /developer/ on the container host."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from oauthproxy import developer
from oauthproxy.developer import SecretInput
from oauthproxy.models import (
    HMAC_SYMMETRIC,
    AccessToken,
    AuditEvent,
    ConsumerRegistration,
    GadgetClaim,
    OAuthTrace,
    token_key,
)

from .conftest import DEV_GADGET, dev_spec_xml
from .keyfiles import private_pem, public_pem

pytestmark = pytest.mark.django_db

SECRET = "dashboard-secret-value-0123"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _registration(dev, secret: str = SECRET) -> ConsumerRegistration:
    return developer.register_service(
        dev,
        DEV_GADGET,
        service_name="contacts",
        consumer_key="dev-key",
        secret=SecretInput(HMAC_SYMMETRIC, secret),
        via="test",
    )


def test_anonymous_is_sent_to_log_in(client):
    response = client.get("/developer/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_non_developer_is_told_how_to_become_one(db):
    person = User.objects.create_user("person")

    response = _client(person).get("/developer/")

    assert response.status_code == 403
    assert "gadget-developers" in response.content.decode()


def test_overview_has_strict_policy_and_no_caching(dev):
    response = _client(dev).get("/developer/")

    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "script-src" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"


def test_forms_need_the_csrf_token(dev):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dev)

    response = client.post("/developer/", {"gadget_url": DEV_GADGET})

    assert response.status_code == 403
    assert not GadgetClaim.objects.exists()


def test_claim_shows_the_verification_link_then_verifies(dev, fake_upstream):
    client = _client(dev)

    response = client.post("/developer/", {"gadget_url": DEV_GADGET})
    claim = GadgetClaim.objects.get(owner=dev)
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "gadget-container-verification" in page
    assert claim.verification_token in page

    fake_upstream.add(DEV_GADGET, dev_spec_xml(claim.verification_token))
    response = client.post(f"/developer/claims/{claim.pk}/verify", follow=True)

    assert "Verified" in response.content.decode()
    assert GadgetClaim.objects.get(pk=claim.pk).is_verified


def test_failed_verification_says_why(dev, fake_upstream):
    claim = developer.claim_gadget(dev, DEV_GADGET, via="t")
    fake_upstream.add(DEV_GADGET, dev_spec_xml())

    response = _client(dev).post(f"/developer/claims/{claim.pk}/verify", follow=True)

    assert "whose href contains your verification token" in response.content.decode()
    assert not GadgetClaim.objects.get(pk=claim.pk).is_verified


def test_second_claimant_gets_a_clear_message(verified_claim, rival):
    response = _client(rival).post("/developer/", {"gadget_url": DEV_GADGET})

    assert response.status_code == 400
    assert "already verified by another developer" in response.content.decode()
    assert not GadgetClaim.objects.filter(owner=rival).exists()


def test_register_with_a_pasted_secret_never_shows_it(verified_claim, dev):
    client = _client(dev)

    response = client.post(
        f"/developer/claims/{verified_claim.pk}/register",
        {
            "service_name": "contacts",
            "consumer_key": "dev-key",
            "key_type": HMAC_SYMMETRIC,
            "source": "paste",
            "secret": SECRET,
        },
    )

    registration = ConsumerRegistration.objects.get(service_name="contacts")
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert SECRET not in page
    assert registration.secret_fingerprint in page
    assert "registration_created" in page and "secret_submitted" in page


def test_rejected_key_is_not_echoed_back(verified_claim, dev):
    pem = public_pem()

    response = _client(dev).post(
        f"/developer/claims/{verified_claim.pk}/register",
        {
            "service_name": "contacts",
            "consumer_key": "dev-key",
            "key_type": "RSA_PRIVATE",
            "source": "paste",
            "secret": pem,
        },
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "This is a public key or certificate" in page
    assert pem.splitlines()[1] not in page
    assert not ConsumerRegistration.objects.exists()


def test_unknown_service_is_refused_by_the_form(verified_claim, dev):
    response = _client(dev).post(
        f"/developer/claims/{verified_claim.pk}/register",
        {
            "service_name": "mail",
            "consumer_key": "k",
            "key_type": HMAC_SYMMETRIC,
            "source": "paste",
            "secret": "x",
        },
    )

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_generated_key_pair_and_certificate_download(verified_claim, dev):
    client = _client(dev)
    response = client.post(
        f"/developer/claims/{verified_claim.pk}/register",
        {
            "service_name": "calendar",
            "consumer_key": "dev-key",
            "key_type": HMAC_SYMMETRIC,
            "source": "generate",
        },
    )
    registration = ConsumerRegistration.objects.get(service_name="calendar")
    assert response.status_code == 302
    assert registration.key_type == "RSA_PRIVATE"

    download = client.get(f"/developer/registrations/{registration.pk}/certificate.pem")

    assert download.status_code == 200
    assert download["Content-Type"] == "application/x-pem-file"
    assert "attachment" in download["Content-Disposition"]
    assert download.content.startswith(b"-----BEGIN CERTIFICATE-----")
    assert b"PRIVATE" not in download.content


def test_edit_keeps_the_secret(verified_claim, dev):
    registration = _registration(dev)
    sealed = registration.secret_encrypted

    response = _client(dev).post(
        f"/developer/registrations/{registration.pk}/edit",
        {"consumer_key": "renamed", "callback_url": ""},
    )

    registration.refresh_from_db()
    assert response.status_code == 302
    assert registration.consumer_key == "renamed"
    assert registration.secret_encrypted == sealed


def test_replace_secret_with_a_valid_rsa_key(verified_claim, dev):
    registration = _registration(dev)

    response = _client(dev).post(
        f"/developer/registrations/{registration.pk}/secret",
        {"key_type": "RSA_PRIVATE", "source": "paste", "secret": private_pem()},
    )

    registration.refresh_from_db()
    assert response.status_code == 302
    assert registration.key_type == "RSA_PRIVATE"
    assert registration.secret_fingerprint.startswith("sha256:")
    assert AuditEvent.objects.filter(kind="secret_replaced").exists()


def test_replace_secret_with_junk_keeps_the_old_one(verified_claim, dev):
    registration = _registration(dev)

    response = _client(dev).post(
        f"/developer/registrations/{registration.pk}/secret",
        {"key_type": "RSA_PRIVATE", "source": "paste", "secret": "junk-value-xyz"},
    )

    assert response.status_code == 400
    assert "junk-value-xyz" not in response.content.decode()
    assert ConsumerRegistration.objects.get(pk=registration.pk).get_secret() == SECRET


def test_disable_and_enable(verified_claim, dev):
    registration = _registration(dev)
    client = _client(dev)

    client.post(f"/developer/registrations/{registration.pk}/enabled", {"enabled": "0"})
    assert not ConsumerRegistration.objects.get(pk=registration.pk).enabled
    client.post(f"/developer/registrations/{registration.pk}/enabled", {"enabled": "1"})
    assert ConsumerRegistration.objects.get(pk=registration.pk).enabled
    kinds = set(AuditEvent.objects.values_list("kind", flat=True))
    assert {"registration_disabled", "registration_enabled"} <= kinds


def test_usage_chart_table_and_traces(verified_claim, dev):
    registration = _registration(dev)
    for module_id in (1, 2):
        token = AccessToken(
            key=token_key("alice", DEV_GADGET, module_id, "contacts", ""),
            viewer="alice",
            gadget_url=DEV_GADGET,
            module_id=module_id,
            service_name="contacts",
        )
        token.set_credentials("t", "s", "")
        token.save()
    AuditEvent.objects.create(
        kind="token_created", gadget_url=DEV_GADGET, service_name="contacts"
    )
    OAuthTrace.objects.create(
        gadget_url=DEV_GADGET,
        service_name="contacts",
        oauth_error="token_rejected",
        summary="The provider said token_rejected",
        trace="POST http://provider.example/access -> 401",
    )

    page = _client(dev).get(f"/developer/registrations/{registration.pk}/")
    text = page.content.decode()

    assert page.status_code == 200
    assert "People connected now: <strong>2</strong>" in text
    assert "<svg" in text and 'class="bar-created"' in text
    assert ": 1 created</title>" in text and ": 1 errors</title>" in text
    assert "token_rejected" in text and "provider.example/access" in text


def test_rival_gets_404_everywhere(verified_claim, dev, rival):
    registration = _registration(dev)
    client = _client(rival)
    claim_urls = [f"/developer/claims/{verified_claim.pk}/{s}" for s in ("",)]
    posts = [
        f"/developer/claims/{verified_claim.pk}/verify",
        f"/developer/claims/{verified_claim.pk}/delete",
        f"/developer/claims/{verified_claim.pk}/register",
        f"/developer/registrations/{registration.pk}/edit",
        f"/developer/registrations/{registration.pk}/secret",
        f"/developer/registrations/{registration.pk}/enabled",
        f"/developer/registrations/{registration.pk}/delete",
    ]
    gets = [
        *claim_urls,
        f"/developer/registrations/{registration.pk}/",
        f"/developer/registrations/{registration.pk}/certificate.pem",
    ]

    for url in gets:
        assert client.get(url).status_code == 404, url
    for url in posts:
        response = client.post(url, {"consumer_key": "x", "enabled": "0"})
        assert response.status_code == 404, url

    registration.refresh_from_db()
    assert registration.enabled and registration.consumer_key == "dev-key"
    assert GadgetClaim.objects.filter(pk=verified_claim.pk).exists()
    overview = client.get("/developer/").content.decode()
    assert DEV_GADGET not in overview


def test_delete_registration_then_claim(verified_claim, dev):
    registration = _registration(dev)
    client = _client(dev)

    refused = client.post(f"/developer/claims/{verified_claim.pk}/delete", follow=True)
    assert "Delete the service registrations" in refused.content.decode()
    client.post(f"/developer/registrations/{registration.pk}/delete")
    client.post(f"/developer/claims/{verified_claim.pk}/delete")

    assert not ConsumerRegistration.objects.exists()
    assert not GadgetClaim.objects.exists()


def test_api_token_is_shown_once(dev):
    client = _client(dev)

    page = client.post(reverse("developer-api-token"), {"name": "ci"})

    assert page.status_code == 200
    assert "shown only this once" in page.content.decode()
    again = client.get("/developer/").content.decode()
    assert "shown only this once" not in again and "gct_" in again


def test_usage_counts_refreshes_and_deletions_named_only_by_token(verified_claim, dev):
    from oauthproxy import usage

    target = "0123456789abcdef"
    AuditEvent.objects.create(
        kind="token_created",
        gadget_url=DEV_GADGET,
        service_name="contacts",
        target=target,
    )
    AuditEvent.objects.create(kind="token_refreshed", target=target)
    AuditEvent.objects.create(kind="token_refreshed", target=target)
    AuditEvent.objects.create(kind="token_deleted", target=target)
    AuditEvent.objects.create(kind="token_deleted", target="another-gadgets")

    totals = usage.usage(DEV_GADGET, "contacts").totals()
    other_service = usage.usage(DEV_GADGET, "calendar").totals()

    assert totals == {"created": 1, "refreshed": 2, "revoked": 1, "errors": 0}
    assert other_service["refreshed"] == 0


def test_usage_follows_a_real_dance_refresh_and_revocation(world, client):
    from oauthproxy import usage

    from .conftest import GADGET

    world.provider.session_extension = True
    world.connect(client)
    world.provider.expire_access_tokens()
    world.fetch()
    world.provider.revoke_access_tokens()
    world.fetch()

    result = usage.usage(GADGET, "contacts")

    totals = result.totals()
    assert (totals["created"], totals["refreshed"], totals["revoked"]) == (1, 1, 1)
    assert result.connected == 0
