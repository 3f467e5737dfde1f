"""The developer REST API under /api/: auth, ownership, errors, secrets."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from oauthproxy import developer
from oauthproxy.developer import SecretInput
from oauthproxy.models import (
    HMAC_SYMMETRIC,
    ApiToken,
    AuditEvent,
    ConsumerRegistration,
    GadgetClaim,
)

from .conftest import DEV_GADGET, dev_spec_xml
from .keyfiles import private_pem

pytestmark = pytest.mark.django_db

SECRET = "api-secret-value-4567"


def _api(user) -> Client:
    _token, raw = developer.create_api_token(user, "test")
    return Client(HTTP_AUTHORIZATION=f"Token {raw}")


def _post(client: Client, url: str, body: dict | None = None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def _patch(client: Client, url: str, body: dict):
    return client.patch(url, json.dumps(body), content_type="application/json")


def _registration(dev) -> ConsumerRegistration:
    return developer.register_service(
        dev,
        DEV_GADGET,
        service_name="contacts",
        consumer_key="dev-key",
        secret=SecretInput(HMAC_SYMMETRIC, SECRET),
        via="test",
    )


def test_without_credentials_is_401_with_an_error_code(db):
    response = Client().get("/api/claims/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_bad_token_is_refused(db):
    response = Client(HTTP_AUTHORIZATION="Token gct_nope").get("/api/claims/")

    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": "Invalid or revoked API token.",
    }


def test_non_developer_is_403(db):
    person = User.objects.create_user("person")
    client = Client()
    client.force_login(person)

    response = client.get("/api/claims/")

    assert response.status_code == 403
    assert "gadget-developers" in response.json()["error"]["message"]


def test_session_auth_needs_csrf_for_writes(dev):
    client = Client(enforce_csrf_checks=True)
    client.force_login(dev)

    assert client.get("/api/claims/").status_code == 200
    response = _post(client, "/api/claims/", {"gadget_url": DEV_GADGET})
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]["message"]


def test_token_use_is_recorded_without_storing_the_token(dev):
    token, raw = developer.create_api_token(dev)
    Client(HTTP_AUTHORIZATION=f"Token {raw}").get("/api/claims/")

    token.refresh_from_db()
    assert token.last_used_at is not None
    assert raw not in repr(list(ApiToken.objects.values()))


def test_claim_verify_register_flow(dev, fake_upstream):
    client = _api(dev)

    created = _post(client, "/api/claims/", {"gadget_url": DEV_GADGET})
    assert created.status_code == 201
    claim = created.json()
    assert claim["verified"] is False
    assert claim["verification_token"] in claim["verification_link"]

    fake_upstream.add(DEV_GADGET, dev_spec_xml(claim["verification_token"]))
    verified = _post(client, f"/api/claims/{claim['id']}/verify/")
    assert verified.status_code == 200 and verified.json()["verified"] is True

    registered = _post(
        client,
        "/api/registrations/",
        {
            "gadget_url": DEV_GADGET,
            "service_name": "contacts",
            "consumer_key": "dev-key",
            "key_type": HMAC_SYMMETRIC,
            "secret": SECRET,
        },
    )
    assert registered.status_code == 201
    body = registered.json()
    assert SECRET not in registered.content.decode()
    assert body["secret"]["set"] is True
    assert body["secret"]["fingerprint"].startswith("hmac:")
    assert ConsumerRegistration.objects.get(pk=body["id"]).get_secret() == SECRET


def test_verification_failure_has_a_stable_code(dev, fake_upstream):
    claim = developer.claim_gadget(dev, DEV_GADGET, via="t")
    fake_upstream.add(DEV_GADGET, dev_spec_xml())

    response = _post(_api(dev), f"/api/claims/{claim.pk}/verify/")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "verification_failed"


def test_second_claimant_is_409(verified_claim, rival):
    response = _post(_api(rival), "/api/claims/", {"gadget_url": DEV_GADGET})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "gadget_already_claimed"


def test_bad_url_is_a_clear_400(dev):
    response = _post(_api(dev), "/api/claims/", {"gadget_url": "not a url"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_url"


def test_missing_fields_name_the_field(verified_claim, dev):
    response = _post(_api(dev), "/api/registrations/", {"gadget_url": DEV_GADGET})

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "invalid_request"
    assert "service_name" in error["fields"] and "consumer_key" in error["fields"]


def test_bad_key_is_refused_and_not_echoed(verified_claim, dev):
    pem = private_pem(bits=1024)

    response = _post(
        _api(dev),
        "/api/registrations/",
        {
            "gadget_url": DEV_GADGET,
            "service_name": "contacts",
            "consumer_key": "k",
            "key_type": "RSA_PRIVATE",
            "secret": pem,
        },
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_private_key"
    assert pem.splitlines()[1] not in response.content.decode()


def test_update_keeps_the_secret_and_refuses_secret_fields(verified_claim, dev):
    registration = _registration(dev)
    client = _api(dev)

    response = _patch(
        client, f"/api/registrations/{registration.pk}/", {"consumer_key": "new"}
    )
    assert response.status_code == 200 and response.json()["consumer_key"] == "new"
    assert ConsumerRegistration.objects.get(pk=registration.pk).get_secret() == SECRET

    refused = _patch(
        client, f"/api/registrations/{registration.pk}/", {"secret": "other"}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid_field"


def test_rotate_secret_generate_key_and_certificate(verified_claim, dev):
    registration = _registration(dev)
    client = _api(dev)

    no_cert = client.get(f"/api/registrations/{registration.pk}/certificate/")
    assert no_cert.status_code == 404
    assert no_cert.json()["error"]["code"] == "no_certificate"

    rotated = _post(
        client,
        f"/api/registrations/{registration.pk}/rotate-secret/",
        {"key_type": HMAC_SYMMETRIC, "secret": "rotated-secret"},
    )
    assert rotated.status_code == 200
    assert ConsumerRegistration.objects.get(pk=registration.pk).get_secret() == (
        "rotated-secret"
    )

    generated = _post(client, f"/api/registrations/{registration.pk}/generate-key/")
    assert generated.status_code == 200
    assert generated.json()["key_type"] == "RSA_PRIVATE"
    assert generated.json()["has_certificate"] is True
    certificate = client.get(f"/api/registrations/{registration.pk}/certificate/")
    assert certificate.status_code == 200
    assert certificate.content.startswith(b"-----BEGIN CERTIFICATE-----")
    kinds = set(AuditEvent.objects.values_list("kind", flat=True))
    assert {"secret_replaced", "key_pair_generated"} <= kinds


def test_disable_and_stats(verified_claim, dev):
    registration = _registration(dev)
    client = _api(dev)

    disabled = _post(client, f"/api/registrations/{registration.pk}/disable/")
    stats = client.get(f"/api/registrations/{registration.pk}/stats/?days=7")
    claim_stats = client.get(f"/api/claims/{verified_claim.pk}/stats/")
    bad_days = client.get(f"/api/registrations/{registration.pk}/stats/?days=x")

    assert disabled.json()["enabled"] is False
    assert stats.status_code == 200 and len(stats.json()["days"]) == 7
    assert set(stats.json()["days"][0]) == {
        "day",
        "created",
        "refreshed",
        "revoked",
        "failed",
    }
    assert claim_stats.json()["connected"] == 0
    assert bad_days.status_code == 400
    assert bad_days.json()["error"]["code"] == "invalid_field"


def test_list_is_paginated_and_audit_listed(verified_claim, dev):
    client = _api(dev)
    _registration(dev)

    claims = client.get("/api/claims/?page_size=1").json()
    audit = client.get("/api/audit/").json()

    assert claims["count"] == 1 and len(claims["results"]) == 1
    assert {"next", "previous"} <= set(claims)
    assert audit["results"][0]["kind"] in {"secret_submitted", "registration_created"}


def test_rival_gets_404_for_every_object(verified_claim, dev, rival):
    registration = _registration(dev)
    client = _api(rival)
    claim_url = f"/api/claims/{verified_claim.pk}/"
    registration_url = f"/api/registrations/{registration.pk}/"

    answers = [
        client.get(claim_url),
        _post(client, claim_url + "verify/"),
        client.get(claim_url + "stats/"),
        client.delete(claim_url),
        client.get(registration_url),
        _patch(client, registration_url, {"consumer_key": "x"}),
        _post(client, registration_url + "rotate-secret/", {"generate_key_pair": True}),
        _post(client, registration_url + "generate-key/"),
        client.get(registration_url + "certificate/"),
        _post(client, registration_url + "disable/"),
        client.get(registration_url + "stats/"),
        client.delete(registration_url),
    ]

    assert [answer.status_code for answer in answers] == [404] * len(answers)
    assert all(a.json()["error"]["code"] == "not_found" for a in answers)
    assert client.get("/api/claims/").json()["count"] == 0
    assert client.get("/api/registrations/").json()["count"] == 0
    audit = client.get("/api/audit/").json()["results"]
    assert [event["kind"] for event in audit] == ["api_token_created"]
    registration.refresh_from_db()
    assert registration.enabled and registration.consumer_key == "dev-key"
    assert GadgetClaim.objects.filter(pk=verified_claim.pk).exists()


def test_delete_registration_and_claim(verified_claim, dev):
    registration = _registration(dev)
    client = _api(dev)

    in_use = client.delete(f"/api/claims/{verified_claim.pk}/")
    assert in_use.status_code == 409
    assert in_use.json()["error"]["code"] == "claim_in_use"
    assert client.delete(f"/api/registrations/{registration.pk}/").status_code == 204
    assert client.delete(f"/api/claims/{verified_claim.pk}/").status_code == 204


def test_openapi_schema_and_docs_come_from_this_server(dev):
    client = Client()
    client.force_login(dev)

    schema = client.get("/api/schema/?format=json")
    docs = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "/api/registrations/{id}/rotate-secret/" in paths
    assert all(path.startswith("/api/") for path in paths)
    page = docs.content.decode()
    assert docs.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "cdn" not in page.lower() and "https://" not in page
    assert "script-src 'self'" in docs["Content-Security-Policy"]
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
