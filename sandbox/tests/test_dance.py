"""Request token, sign-in, approval or denial, and access token."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from sandbox.models import AccessToken, Consumer, RequestToken

from .conftest import (
    ADA_PASSWORD,
    CALLBACK,
    HOST,
    Signer,
    approve,
    dance,
    log_in,
    request_token,
    verifier_of,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "signer_name", ["hmac_signer", "rsa_signer", "plaintext_signer"]
)
def test_each_signature_method_gets_a_confirmed_request_token(
    signer_name: str, request: pytest.FixtureRequest
) -> None:
    signer: Signer = request.getfixturevalue(signer_name)

    answer = signer.send(
        "/oauth/request_token", method="POST", form={}, callback_uri=CALLBACK
    )

    assert answer.status == 200
    assert answer.form["oauth_callback_confirmed"] == "true"
    stored = RequestToken.objects.get(token=answer.form["oauth_token"])
    assert stored.callback == CALLBACK
    assert stored.consumer.key == signer.key


def test_request_token_by_get_with_query_parameters(hmac_signer: Signer) -> None:
    answer = hmac_signer.send(
        "/oauth/request_token?scope=contacts", callback_uri=CALLBACK
    )

    assert answer.status == 200
    assert "oauth_token_secret" in answer.form


def test_unknown_consumer_key_is_refused(hmac_signer: Signer) -> None:
    stranger = Signer(hmac_signer.client, "nobody-knows-me", "whatever")

    answer = stranger.send("/oauth/request_token", callback_uri=CALLBACK)

    assert answer.status == 401
    assert answer.problem == "consumer_key_unknown"


def test_wrong_signature_is_refused(hmac_signer: Signer) -> None:
    answer = hmac_signer.send(
        "/oauth/request_token", callback_uri=CALLBACK, tamper=True
    )

    assert answer.status == 401
    assert answer.problem == "signature_invalid"


def test_wrong_secret_is_refused(hmac_consumer: Consumer, client: Client) -> None:
    impostor = Signer(client, hmac_consumer.key, "not-the-secret")

    answer = impostor.send("/oauth/request_token", callback_uri=CALLBACK)

    assert answer.status == 401
    assert answer.problem == "signature_invalid"


def test_rsa_signature_by_another_key_is_refused(rsa_consumer: Consumer) -> None:
    from .conftest import _rsa_pair

    other_private, _ = _rsa_pair()
    impostor = Signer(
        Client(), rsa_consumer.key, method="RSA-SHA1", rsa_key=other_private
    )

    answer = impostor.send("/oauth/request_token", callback_uri=CALLBACK)

    assert answer.status == 401
    assert answer.problem == "signature_invalid"


def test_replayed_nonce_is_refused(hmac_signer: Signer) -> None:
    first = hmac_signer.send("/oauth/request_token", callback_uri=CALLBACK)

    again = hmac_signer.send("/oauth/request_token", replay=hmac_signer.last)

    assert first.status == 200
    assert again.status == 401
    assert again.problem == "nonce_used"


def test_signature_method_other_than_registered_is_refused(
    hmac_consumer: Consumer,
) -> None:
    plaintext = Signer(
        Client(), hmac_consumer.key, "hmac-consumer-secret-value", "PLAINTEXT"
    )

    answer = plaintext.send("/oauth/request_token", callback_uri=CALLBACK)

    assert answer.status == 400
    assert answer.problem == "signature_method_rejected"


def test_missing_oauth_parameters_are_named(
    hmac_consumer: Consumer, client: Client
) -> None:
    response = client.get("/oauth/request_token", HTTP_HOST=HOST)

    assert response.status_code == 400
    assert 'oauth_problem="parameter_absent"' in response["WWW-Authenticate"]


def test_approval_needs_the_provider_login_first(
    hmac_signer: Signer, provider: Client
) -> None:
    token, _ = request_token(hmac_signer)

    response = provider.get(f"/oauth/authorize?oauth_token={token}")

    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def test_a_wrong_password_is_refused_with_a_sentence(
    ada: object, provider: Client
) -> None:
    response = provider.post("/login", {"username": "ada", "password": "nope"})

    assert response.status_code == 401
    assert b"do not match" in response.content


def test_login_does_not_redirect_off_the_provider(
    ada: object, provider: Client
) -> None:
    response = provider.post(
        "/login",
        {"username": "ada", "password": ADA_PASSWORD, "next": "https://evil.example/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/tokens"


def test_approval_page_names_consumer_and_container(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    log_in(provider)
    token, _ = request_token(hmac_signer)

    response = provider.get(f"/oauth/authorize?oauth_token={token}")

    assert response.status_code == 200
    text = response.content.decode()
    assert "Can <strong>Contacts gadget</strong> on" in text
    assert "<strong>Gadget container demo</strong> read your contacts?" in text
    assert 'value="allow"' in text and 'value="deny"' in text
    assert response["X-Frame-Options"] == "DENY"


def test_allow_redirects_to_the_callback_with_a_verifier(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    log_in(provider)
    token, _ = request_token(hmac_signer)

    location = approve(provider, token)

    assert location.startswith(CALLBACK + "&")
    query = parse_qs(urlsplit(location).query)
    assert query["oauth_token"] == [token]
    assert query["state"] == ["s1"]
    assert verifier_of(location)


def test_deny_redirects_back_with_a_denial_and_no_token_follows(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    log_in(provider)
    token, secret = request_token(hmac_signer)

    location = approve(provider, token, decision="deny")
    exchange = hmac_signer.send(
        "/oauth/access_token",
        resource_owner_key=token,
        resource_owner_secret=secret,
        verifier="guessed-verifier",
    )

    assert parse_qs(urlsplit(location).query)["oauth_problem"] == ["permission_denied"]
    assert "oauth_verifier" not in location
    assert exchange.status == 401
    assert exchange.problem == "permission_denied"
    assert not AccessToken.objects.exists()


def test_approval_form_is_protected_by_csrf(ada: object, hmac_signer: Signer) -> None:
    browser = Client(enforce_csrf_checks=True, HTTP_HOST=HOST)
    page = browser.get("/login")
    csrf = page.cookies["csrftoken"].value
    browser.post(
        "/login",
        {"username": "ada", "password": ADA_PASSWORD, "csrfmiddlewaretoken": csrf},
    )
    token, _ = request_token(hmac_signer)

    forged = browser.post(
        "/oauth/authorize", {"oauth_token": token, "decision": "allow"}
    )

    assert forged.status_code == 403
    assert RequestToken.objects.get(token=token).verifier == ""


def test_exchange_answers_token_with_session_extension(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)

    assert tokens["oauth_token"] and tokens["oauth_token_secret"]
    assert tokens["oauth_session_handle"]
    assert tokens["oauth_expires_in"] == "3600"
    assert tokens["oauth_authorization_expires_in"] == str(30 * 24 * 3600)
    stored = AccessToken.objects.get(token=tokens["oauth_token"])
    assert stored.user.username == "ada"
    assert not RequestToken.objects.exists()


@pytest.mark.parametrize("signer_name", ["rsa_signer", "plaintext_signer"])
def test_the_dance_works_with_rsa_and_plaintext(
    signer_name: str, ada: object, provider: Client, request: pytest.FixtureRequest
) -> None:
    signer: Signer = request.getfixturevalue(signer_name)

    tokens = dance(signer, provider)

    assert AccessToken.objects.filter(token=tokens["oauth_token"]).exists()


def test_wrong_verifier_is_refused(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    log_in(provider)
    token, secret = request_token(hmac_signer)
    approve(provider, token)

    answer = hmac_signer.send(
        "/oauth/access_token",
        resource_owner_key=token,
        resource_owner_secret=secret,
        verifier="not-the-verifier",
    )

    assert answer.status == 401
    assert answer.problem == "verifier_invalid"


def test_a_request_token_is_exchanged_only_once(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    log_in(provider)
    token, secret = request_token(hmac_signer)
    verifier = verifier_of(approve(provider, token))
    exchange = {
        "resource_owner_key": token,
        "resource_owner_secret": secret,
        "verifier": verifier,
    }
    first = hmac_signer.send("/oauth/access_token", **exchange)

    second = hmac_signer.send("/oauth/access_token", **exchange)

    assert first.status == 200
    assert second.status == 401
    assert second.problem == "token_rejected"


def test_an_answered_approval_link_cannot_be_used_again(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    log_in(provider)
    token, _ = request_token(hmac_signer)
    approve(provider, token)

    again = provider.get(f"/oauth/authorize?oauth_token={token}")

    assert again.status_code == 400
    assert b"not valid any more" in again.content


def test_sandbox_pages_are_not_served_on_the_container_host(client: Client) -> None:
    response = client.get("/oauth/request_token")

    assert response.status_code == 404


def test_stale_nonces_and_expired_request_tokens_are_forgotten(
    hmac_signer: Signer, hmac_consumer: Consumer
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from sandbox.models import Nonce

    old = Nonce.objects.create(consumer_key="k", timestamp="1", nonce="n")
    Nonce.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    expired = RequestToken.objects.create(
        consumer=hmac_consumer,
        callback="oob",
        expires_at=timezone.now() - timedelta(seconds=1),
    )

    request_token(hmac_signer)

    assert not Nonce.objects.filter(pk=old.pk).exists()
    assert not RequestToken.objects.filter(pk=expired.pk).exists()
    assert Nonce.objects.count() == 1


def test_an_answer_other_than_allow_or_deny_is_refused(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    log_in(provider)
    token, _ = request_token(hmac_signer)

    response = provider.post("/oauth/authorize", {"oauth_token": token})

    assert response.status_code == 400
    assert b"Choose Allow or Deny." in response.content
    assert RequestToken.objects.get(token=token).user is None


def test_out_of_band_approval_shows_the_verifier(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    log_in(provider)
    token, secret = request_token(hmac_signer, callback="oob")

    response = provider.post(
        "/oauth/authorize", {"oauth_token": token, "decision": "allow"}
    )
    verifier = RequestToken.objects.get(token=token).verifier
    exchange = hmac_signer.send(
        "/oauth/access_token",
        resource_owner_key=token,
        resource_owner_secret=secret,
        verifier=verifier,
    )

    assert response.status_code == 200
    assert f'<code id="verifier">{verifier}</code>'.encode() in response.content
    assert exchange.status == 200
