"""Personas and a signing helper for the sandbox provider's tests.

Requests are signed with oauthlib's own ``Client`` (never with the
container's OAuth code) and sent through Django's test client with the
sandbox's ``Host``, so they take the same route a real consumer's do.

Personas: ``ada`` (a provider user with contacts), ``grace`` (another
one), and consumers ``hmac-consumer``, ``rsa-consumer`` and
``plaintext-consumer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.test import Client
from django.utils import timezone
from oauthlib import oauth1

from sandbox import rsa as sandbox_rsa
from sandbox.models import (
    HMAC_SHA1,
    PLAINTEXT,
    RSA_SHA1,
    Consumer,
    Contact,
    ProviderUser,
)

sandbox_rsa.install()

HOST = settings.SANDBOX_HOST
BASE = f"http://{HOST}"
FORM = "application/x-www-form-urlencoded"
CALLBACK = "http://abc.gadgets.localhost:8000/gadgets/oauthcallback?state=s1"
HMAC_SECRET = "hmac-consumer-secret-value"
PLAINTEXT_SECRET = "plaintext-consumer-secret-value"
ADA_PASSWORD = "ada-provider-password"
GRACE_PASSWORD = "grace-provider-password"


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rsa-consumer")])
    now = timezone.now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timezone.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return private, certificate.public_bytes(serialization.Encoding.PEM).decode()


RSA_PRIVATE_PEM, RSA_CERTIFICATE_PEM = _rsa_pair()


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.text))

    @property
    def problem(self) -> str:
        header = self.headers.get("WWW-Authenticate", "")
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name == "oauth_problem":
                return value.strip('"')
        return self.form.get("oauth_problem", "")


@dataclass
class Signer:
    """Signs and sends requests to the sandbox as one consumer."""

    client: Client
    key: str
    secret: str = ""
    method: str = HMAC_SHA1
    rsa_key: str = ""

    def oauth(self, **kwargs: Any) -> oauth1.Client:
        return oauth1.Client(
            self.key,
            client_secret=self.secret or None,
            signature_method=self.method,
            rsa_key=self.rsa_key or None,
            **kwargs,
        )

    def send(
        self,
        path: str,
        *,
        method: str = "GET",
        form: dict[str, str] | None = None,
        tamper: bool = False,
        replay: tuple[str, dict[str, str], str] | None = None,
        **oauth: Any,
    ) -> Answer:
        body = urlencode(form) if form is not None else None
        headers = {"Content-Type": FORM} if form is not None else {}
        if replay is None:
            uri, headers, body = self.oauth(**oauth).sign(
                BASE + path, http_method=method, body=body, headers=headers
            )
        else:
            uri, headers, body = replay
        self.last = (uri, dict(headers), body or "")
        if tamper:
            uri += ("&" if "?" in uri else "?") + "tampered=1"
        return send_raw(self.client, method, uri, headers, body or "")


def send_raw(
    client: Client, method: str, uri: str, headers: dict[str, str], body: str
) -> Answer:
    parts = urlsplit(uri)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    extra: dict[str, Any] = {"HTTP_HOST": HOST}
    if "Authorization" in headers:
        extra["HTTP_AUTHORIZATION"] = headers["Authorization"]
    response = client.generic(
        method, path, data=body, content_type=headers.get("Content-Type", ""), **extra
    )
    return Answer(
        response.status_code,
        response.content.decode("utf-8", "replace"),
        dict(response.items()),
    )


@pytest.fixture
def ada(db: Any) -> ProviderUser:
    user = ProviderUser(username="ada", display_name="Ada Lovelace")
    user.set_password(ADA_PASSWORD)
    user.save()
    Contact.objects.create(owner=user, name="Charles Babbage", email="cb@example.org")
    Contact.objects.create(owner=user, name="Mary Somerville", phone="+44 20 7946")
    return user


@pytest.fixture
def grace(db: Any) -> ProviderUser:
    user = ProviderUser(username="grace")
    user.set_password(GRACE_PASSWORD)
    user.save()
    Contact.objects.create(owner=user, name="Howard Aiken")
    return user


@pytest.fixture
def hmac_consumer(db: Any) -> Consumer:
    return Consumer.objects.create(
        key="hmac-consumer",
        display_name="Contacts gadget",
        container_name="Gadget container demo",
        secret=HMAC_SECRET,
        access_token_lifetime_seconds=3600,
    )


@pytest.fixture
def rsa_consumer(db: Any) -> Consumer:
    return Consumer.objects.create(
        key="rsa-consumer",
        display_name="RSA gadget",
        signature_method=RSA_SHA1,
        rsa_certificate=RSA_CERTIFICATE_PEM,
    )


@pytest.fixture
def plaintext_consumer(db: Any) -> Consumer:
    return Consumer.objects.create(
        key="plaintext-consumer",
        display_name="Plaintext gadget",
        signature_method=PLAINTEXT,
        secret=PLAINTEXT_SECRET,
    )


@pytest.fixture
def provider(client: Client) -> Client:
    """A browser at the sandbox host (Django's client, sandbox Host)."""
    client.defaults["HTTP_HOST"] = HOST
    return client


@pytest.fixture
def hmac_signer(hmac_consumer: Consumer) -> Signer:
    return Signer(Client(), hmac_consumer.key, HMAC_SECRET)


@pytest.fixture
def rsa_signer(rsa_consumer: Consumer) -> Signer:
    return Signer(Client(), rsa_consumer.key, method=RSA_SHA1, rsa_key=RSA_PRIVATE_PEM)


@pytest.fixture
def plaintext_signer(plaintext_consumer: Consumer) -> Signer:
    return Signer(Client(), plaintext_consumer.key, PLAINTEXT_SECRET, PLAINTEXT)


def log_in(
    browser: Client, username: str = "ada", password: str = ADA_PASSWORD
) -> None:
    response = browser.post(
        "/login", {"username": username, "password": password, "next": "/tokens"}
    )
    assert response.status_code == 302, response.content


def request_token(signer: Signer, callback: str = CALLBACK) -> tuple[str, str]:
    answer = signer.send(
        "/oauth/request_token", method="POST", form={}, callback_uri=callback
    )
    assert answer.status == 200, (answer.status, answer.text, answer.headers)
    return answer.form["oauth_token"], answer.form["oauth_token_secret"]


def approve(browser: Client, token: str, decision: str = "allow") -> str:
    """The person answers; returns where the browser was sent."""
    response = browser.post(
        "/oauth/authorize", {"oauth_token": token, "decision": decision}
    )
    assert response.status_code == 302, response.content
    return response["Location"]


def verifier_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["oauth_verifier"][0]


def dance(signer: Signer, browser: Client, username: str = "ada") -> dict[str, str]:
    """A full three-legged dance; the access token answer's parameters."""
    password = ADA_PASSWORD if username == "ada" else GRACE_PASSWORD
    log_in(browser, username, password)
    token, secret = request_token(signer)
    location = approve(browser, token)
    answer = signer.send(
        "/oauth/access_token",
        method="POST",
        form={},
        resource_owner_key=token,
        resource_owner_secret=secret,
        verifier=verifier_of(location),
    )
    assert answer.status == 200, (answer.status, answer.text, answer.headers)
    return answer.form


def with_token(signer: Signer, tokens: dict[str, str]) -> dict[str, str]:
    return {
        "resource_owner_key": tokens["oauth_token"],
        "resource_owner_secret": tokens["oauth_token_secret"],
    }
