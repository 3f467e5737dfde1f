from __future__ import annotations

import pytest
from cryptography import x509

from oauthproxy import keys
from oauthproxy.models import ContainerKey

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_key():
    keys.forget()
    yield
    keys.forget()


def test_key_is_created_once_and_stored_encrypted():
    first = keys.container_key()
    keys.forget()
    again = keys.container_key()
    assert first == again
    row = ContainerKey.objects.get()
    assert "PRIVATE KEY" not in row.private_key_encrypted
    assert first.name.endswith(keys.public_fingerprint(first.private_key_pem)[:16])


def test_certificate_is_published_on_the_container_host(client):
    response = client.get("/gadgets/oauth/public.cer")
    assert response.status_code == 200
    certificate = x509.load_pem_x509_certificate(response.content)
    key = keys.container_key()
    assert response["X-Key-Name"] == key.name
    assert b"PRIVATE" not in response.content
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(key.private_key_pem.encode(), None)
    assert (
        certificate.public_key().public_numbers()
        == private.public_key().public_numbers()
    )
