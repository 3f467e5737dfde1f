"""The contacts API, the echo endpoint and the session extension."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from lxml import etree

from sandbox.models import AccessToken, Consumer

from .conftest import HMAC_SECRET, PLAINTEXT_SECRET, Signer, dance, with_token

pytestmark = pytest.mark.django_db


def test_contacts_come_as_json_for_the_token_s_person(
    ada: object, grace: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)

    answer = hmac_signer.send("/api/contacts", **with_token(hmac_signer, tokens))

    assert answer.status == 200
    data = json.loads(answer.text)
    assert data["user"] == "ada"
    assert [c["name"] for c in data["contacts"]] == [
        "Charles Babbage",
        "Mary Somerville",
    ]


def test_contacts_come_as_atom_when_asked(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)

    answer = hmac_signer.send(
        "/api/contacts?format=atom", **with_token(hmac_signer, tokens)
    )

    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/atom+xml")
    feed = etree.fromstring(answer.text.encode())
    titles = feed.findall(
        "{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}title"
    )
    assert [t.text for t in titles] == ["Charles Babbage", "Mary Somerville"]


def test_contacts_need_an_access_token(hmac_signer: Signer) -> None:
    answer = hmac_signer.send("/api/contacts")

    assert answer.status == 400
    assert answer.problem == "parameter_absent"


def test_an_unknown_access_token_is_rejected(hmac_signer: Signer) -> None:
    answer = hmac_signer.send(
        "/api/contacts", resource_owner_key="made-up", resource_owner_secret="x"
    )

    assert answer.status == 401
    assert answer.problem == "token_rejected"


def test_another_consumer_cannot_use_the_token(
    ada: object, hmac_signer: Signer, plaintext_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)

    answer = plaintext_signer.send("/api/contacts", **with_token(hmac_signer, tokens))

    assert answer.status == 401
    assert answer.problem == "token_rejected"


def test_echo_shows_a_signed_fetch_and_its_identity(hmac_signer: Signer) -> None:
    answer = hmac_signer.send(
        "/api/echo?opensocial_owner_id=alice&opensocial_viewer_id=bob"
        "&opensocial_app_url=http%3A%2F%2Fg.example%2Fs.xml"
    )

    assert answer.status == 200
    data = json.loads(answer.text)
    assert data["verified"] is True
    assert data["consumer_key"] == "hmac-consumer"
    assert data["signature_method"] == "HMAC-SHA1"
    assert data["three_legged"] is False
    assert data["opensocial_owner_id"] == "alice"
    assert data["opensocial_viewer_id"] == "bob"
    assert data["opensocial_app_url"] == "http://g.example/s.xml"


def test_echo_never_shows_the_signature_or_secrets(
    plaintext_signer: Signer,
) -> None:
    answer = plaintext_signer.send("/api/echo")

    assert answer.status == 200
    assert 'oauth_signature"' not in answer.text
    assert PLAINTEXT_SECRET not in answer.text
    assert json.loads(answer.text)["signature_method"] == "PLAINTEXT"


def test_echo_shows_the_user_of_a_three_legged_call(
    ada: object, rsa_signer: Signer, provider: Client
) -> None:
    tokens = dance(rsa_signer, provider)

    answer = rsa_signer.send("/api/echo", **with_token(rsa_signer, tokens))

    data = json.loads(answer.text)
    assert data["user"] == "ada"
    assert data["three_legged"] is True
    assert data["signature_method"] == "RSA-SHA1"
    assert tokens["oauth_token"] not in answer.text


def test_a_tampered_echo_request_is_refused(hmac_signer: Signer) -> None:
    answer = hmac_signer.send("/api/echo", tamper=True)

    assert answer.status == 401
    assert answer.problem == "signature_invalid"


def test_a_body_that_does_not_match_its_hash_is_refused(
    hmac_consumer: Consumer, client: Client
) -> None:
    from oauthlib import oauth1

    from .conftest import BASE, send_raw

    signer = oauth1.Client(hmac_consumer.key, client_secret=HMAC_SECRET)
    # oauth_body_hash of the empty body, then a different body is sent.
    uri = BASE + "/api/echo"
    _, headers, _ = signer.sign(
        uri, http_method="POST", headers={"Content-Type": "application/json"}
    )
    headers["Authorization"] += ', oauth_body_hash="2jmj7l5rSw0yVb%2FvlWAYkK%2FYBwk%3D"'

    answer = send_raw(client, "POST", uri, headers, '{"changed": true}')

    assert answer.status == 401
    assert answer.problem == "signature_invalid"


def test_a_revoked_token_is_refused_as_revoked(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)
    AccessToken.objects.update(revoked_at=timezone.now())

    answer = hmac_signer.send("/api/contacts", **with_token(hmac_signer, tokens))

    assert answer.status == 401
    assert answer.problem == "token_revoked"


def test_an_expired_token_with_a_handle_asks_for_renewal(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)
    AccessToken.objects.update(expires_at=timezone.now())

    answer = hmac_signer.send("/api/contacts", **with_token(hmac_signer, tokens))

    assert answer.status == 401
    assert answer.problem == "access_token_expired"


def test_an_expired_token_without_a_handle_is_just_expired(
    ada: object, hmac_signer: Signer, hmac_consumer: Consumer, provider: Client
) -> None:
    hmac_consumer.issues_session_handle = False
    hmac_consumer.save()
    tokens = dance(hmac_signer, provider)
    AccessToken.objects.update(expires_at=timezone.now())

    answer = hmac_signer.send("/api/contacts", **with_token(hmac_signer, tokens))

    assert "oauth_session_handle" not in tokens
    assert answer.problem == "token_expired"


def test_the_session_handle_renews_an_expired_token(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)
    AccessToken.objects.update(expires_at=timezone.now())

    renewed = hmac_signer.send(
        "/oauth/access_token?oauth_session_handle=" + tokens["oauth_session_handle"],
        signature_type="QUERY",
        **with_token(hmac_signer, tokens),
    )
    data = hmac_signer.send("/api/contacts", **with_token(hmac_signer, renewed.form))
    old = hmac_signer.send("/api/contacts", **with_token(hmac_signer, tokens))

    assert renewed.status == 200, renewed.text
    assert renewed.form["oauth_token"] != tokens["oauth_token"]
    assert renewed.form["oauth_session_handle"] == tokens["oauth_session_handle"]
    assert renewed.form["oauth_expires_in"] == "3600"
    assert "oauth_authorization_expires_in" in renewed.form
    assert data.status == 200
    assert old.problem == "token_rejected"


def test_a_wrong_session_handle_renews_nothing(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)

    answer = hmac_signer.send(
        "/oauth/access_token?oauth_session_handle=guessed",
        signature_type="QUERY",
        **with_token(hmac_signer, tokens),
    )

    assert answer.status == 401
    assert answer.problem == "token_rejected"
    assert AccessToken.objects.filter(token=tokens["oauth_token"]).exists()


def test_a_revoked_token_cannot_be_renewed(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)
    AccessToken.objects.update(revoked_at=timezone.now())

    answer = hmac_signer.send(
        "/oauth/access_token?oauth_session_handle=" + tokens["oauth_session_handle"],
        signature_type="QUERY",
        **with_token(hmac_signer, tokens),
    )

    assert answer.problem == "token_revoked"


def test_an_ended_authorization_cannot_be_renewed(
    ada: object, hmac_signer: Signer, provider: Client
) -> None:
    tokens = dance(hmac_signer, provider)
    AccessToken.objects.update(
        authorization_expires_at=timezone.now() - timedelta(seconds=1)
    )

    answer = hmac_signer.send(
        "/oauth/access_token?oauth_session_handle=" + tokens["oauth_session_handle"],
        signature_type="QUERY",
        **with_token(hmac_signer, tokens),
    )

    assert answer.status == 401
    assert answer.problem == "token_expired"
