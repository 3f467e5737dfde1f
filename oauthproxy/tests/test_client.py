from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import override_settings

from gadgets.outbound import OutboundResponse
from oauthproxy import client
from oauthproxy.client import Call, Signer, Trace
from oauthproxy.errors import OAuthError
from tests.oauth_provider import FakeProvider, _Token

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = PRIVATE.private_bytes(
    serialization.Encoding.PEM,
    serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption(),
).decode()
PUBLIC_PEM = (
    PRIVATE.public_key()
    .public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    .decode()
)

SIGNERS = {
    "HMAC_SYMMETRIC": Signer("hmac-consumer", "HMAC_SYMMETRIC", "hmac-secret"),
    "RSA_PRIVATE": Signer("rsa-consumer", "RSA_PRIVATE", PRIVATE_PEM),
    "PLAINTEXT": Signer("plain-consumer", "PLAINTEXT", "plain-secret"),
}


@pytest.fixture
def provider(fake_upstream):
    sp = FakeProvider()
    sp.install(fake_upstream)
    sp.add_consumer("hmac-consumer", "hmac-secret")
    sp.add_consumer("rsa-consumer", PUBLIC_PEM, "RSA")
    sp.add_consumer("plain-consumer", "plain-secret")
    for key in ("hmac-consumer", "rsa-consumer", "plain-consumer"):
        sp.access_tokens[f"tok-{key}"] = _Token("tok-secret", key, user="alice")
    return sp


def _send(request):
    return async_to_sync(client.send)(
        request, Trace(), service="contacts", step="resource"
    )


@pytest.mark.parametrize("key_type", list(SIGNERS))
@pytest.mark.parametrize("location", ["auth-header", "uri-query", "post-body"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_provider_accepts_every_signature_method_location_and_verb(
    provider, key_type, location, method
):
    signer = SIGNERS[key_type]
    is_post = method == "POST"
    call = Call(
        method,
        provider.resource_url + "?q=1",
        location=location,
        headers={"Content-Type": client.FORM} if is_post else {},
        body=b"a=b&c=d" if is_post else None,
        token=f"tok-{signer.consumer_key}",
        token_secret="tok-secret",
    )
    response = _send(client.sign(signer, call))
    assert response.status == 200, response.headers
    data = json.loads(response.body)
    assert data["user"] == "alice"
    assert (
        dict(data["params"])["oauth_signature_method"]
        == {
            "HMAC_SYMMETRIC": "HMAC-SHA1",
            "RSA_PRIVATE": "RSA-SHA1",
            "PLAINTEXT": "PLAINTEXT",
        }[key_type]
    )
    if is_post:
        assert dict(data["params"])["a"] == "b"


def test_signed_request_never_follows_redirects(provider):
    call = Call(
        "GET",
        provider.resource_url,
        token="tok-hmac-consumer",
        token_secret="tok-secret",
    )
    assert client.sign(SIGNERS["HMAC_SYMMETRIC"], call).follow_redirects is False


def test_non_form_body_carries_a_verified_body_hash(provider):
    body = b"\x00\x01binary \xff"
    call = Call(
        "POST",
        provider.resource_url,
        headers={"Content-Type": "application/octet-stream"},
        body=body,
        token="tok-hmac-consumer",
        token_secret="tok-secret",
        body_hash=True,
    )
    request = client.sign(SIGNERS["HMAC_SYMMETRIC"], call)
    assert request.body == body
    assert "oauth_body_hash" in request.headers["Authorization"]
    assert _send(request).status == 200
    request.body = b"tampered"
    assert _send(request).status == 401


def test_empty_get_body_hash_is_the_sha1_of_nothing(provider):
    call = Call(
        "GET",
        provider.resource_url,
        token="tok-hmac-consumer",
        token_secret="tok-secret",
        body_hash=True,
    )
    request = client.sign(SIGNERS["HMAC_SYMMETRIC"], call)
    assert "2jmj7l5rSw0yVb%2FvlWAYkK%2FYBwk%3D" in request.headers["Authorization"]
    assert _send(request).status == 200


def test_wrong_secret_is_refused_by_the_provider(provider):
    call = Call(
        "GET", provider.resource_url, token="tok-hmac-consumer", token_secret="nope"
    )
    response = _send(client.sign(SIGNERS["HMAC_SYMMETRIC"], call))
    assert response.status == 401
    assert client.find_problem(response) == "signature_invalid"


def test_plaintext_is_refused_over_http_unless_allow_listed():
    signer = SIGNERS["PLAINTEXT"]
    with pytest.raises(OAuthError) as caught:
        client.sign(signer, Call("GET", "http://sp.example/api"))
    assert caught.value.oauth_code == "BAD_OAUTH_CONFIGURATION"
    assert "https" in caught.value.message
    with override_settings(OUTBOUND_ALLOWLIST=["sp.example:80"]):
        assert client.sign(signer, Call("GET", "http://sp.example/api"))


def test_post_body_location_with_a_non_form_body_is_refused():
    call = Call(
        "POST",
        "https://sp.example/api",
        location="post-body",
        headers={"Content-Type": "application/json"},
        body=b"{}",
    )
    with pytest.raises(OAuthError) as caught:
        client.sign(SIGNERS["HMAC_SYMMETRIC"], call)
    assert caught.value.oauth_code == "INVALID_REQUEST"


def test_post_body_location_on_get_falls_back_to_the_header():
    call = Call("GET", "https://sp.example/api", location="post-body")
    request = client.sign(SIGNERS["HMAC_SYMMETRIC"], call)
    assert request.headers["Authorization"].startswith("OAuth ")


def test_key_name_and_identity_params_go_in_the_query(provider):
    signer = Signer(
        "rsa-consumer", "RSA_PRIVATE", PRIVATE_PEM, key_name="container-key"
    )
    call = Call(
        "GET",
        provider.resource_url,
        query_params=[("opensocial_owner_id", "alice")],
        body_hash=True,
    )
    request = client.sign(signer, call)
    assert "xoauth_signature_publickey=container-key" in request.url
    assert "opensocial_owner_id=alice" in request.url
    assert _send(request).status == 200


def _answer(body: str = "", status: int = 200, headers=None) -> OutboundResponse:
    return OutboundResponse(
        status, headers or [], body.encode(), "https://sp.example/x"
    )


def test_token_response_reads_the_session_extension_and_extra_data():
    tokens = client.parse_token_response(
        _answer(
            "oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=true"
            "&oauth_expires_in=3600&oauth_session_handle=h"
            "&oauth_authorization_expires_in=86400&user_id=42&xoauth_yahoo_guid=G"
        ),
        service="contacts",
        step="access token",
        require_confirmed=True,
    )
    assert (tokens.token, tokens.secret, tokens.session_handle) == ("t", "s", "h")
    assert tokens.expires_in == 3600 and tokens.authorization_expires_in == 86400
    assert tokens.extra == {"user_id": "42", "xoauth_yahoo_guid": "G"}


def test_token_response_without_token_names_what_is_missing():
    with pytest.raises(OAuthError) as caught:
        client.parse_token_response(
            _answer("oauth_token=t"),
            service="contacts",
            step="request token",
            require_confirmed=False,
        )
    assert caught.value.oauth_code == "MISSING_OAUTH_PARAMETER"
    assert (
        "oauth_token_secret" in caught.value.message
        and "'contacts'" in caught.value.message
    )


def test_unconfirmed_callback_is_refused():
    with pytest.raises(OAuthError, match="oauth_callback_confirmed"):
        client.parse_token_response(
            _answer("oauth_token=t&oauth_token_secret=s"),
            service="c",
            step="request token",
            require_confirmed=True,
        )


def test_token_params_are_read_from_the_www_authenticate_header():
    header = (
        "www-authenticate",
        'OAuth realm="x", oauth_token="t", oauth_token_secret="s%2F"',
    )
    params = client.response_params(_answer(headers=[header]))
    assert params == {"oauth_token": "t", "oauth_token_secret": "s/"}


def test_problem_is_read_from_header_and_from_body():
    header = ("www-authenticate", 'OAuth oauth_problem="token_revoked"')
    assert client.find_problem(_answer(status=401, headers=[header])) == "token_revoked"
    assert (
        client.find_problem(_answer("oauth_problem=token_expired&x=1", 401))
        == "token_expired"
    )
    assert client.find_problem(_answer('{"oauth_problem": "x"}', 401)) == ""


@pytest.mark.parametrize(
    ("status", "problem", "action"),
    [
        (401, "consumer_key_unknown", client.DELETE_AND_REPORT),
        (401, "timestamp_refused", client.DELETE_AND_REPORT),
        (403, "consumer_key_refused", client.KEEP_AND_REPORT),
        (401, "access_token_expired", client.REFRESH_AND_RETRY),
        (401, "token_revoked", client.DELETE_AND_RETRY),
        (401, "", client.DELETE_AND_RETRY),
        (400, "parameter_absent", client.KEEP_AND_REPORT),
        (403, "", client.PASS_THROUGH),
        (404, "", client.PASS_THROUGH),
        (503, "", client.PASS_THROUGH),
    ],
)
def test_problems_are_classified_as_shindig_did(status, problem, action):
    assert client.classify(status, problem) == action


def test_trace_redacts_tokens_secrets_and_signatures():
    text = client.redact(
        'oauth_token=abc&oauth_token_secret=def&x=1 oauth_signature="ghi", '
        "oauth_session_handle=jkl oauth_verifier=mno"
    )
    for value in ("abc", "def", "ghi", "jkl", "mno"):
        assert value not in text
    assert "x=1" in text


def test_provider_timeout_is_missing_server_response(provider):
    provider.timeout = True
    call = Call(
        "GET",
        provider.resource_url,
        token="tok-hmac-consumer",
        token_secret="tok-secret",
    )
    with pytest.raises(OAuthError) as caught:
        _send(client.sign(SIGNERS["HMAC_SYMMETRIC"], call))
    assert caught.value.oauth_code == "MISSING_SERVER_RESPONSE"
