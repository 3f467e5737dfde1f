from __future__ import annotations

import pytest
from django.db import connection

from oauthproxy import crypto
from oauthproxy.models import AccessToken, ConsumerRegistration, PendingDance, token_key

pytestmark = pytest.mark.django_db


def _raw_columns(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
        return repr(cursor.fetchall())


def test_registration_secret_is_sealed_and_bound_to_its_row():
    row = ConsumerRegistration(
        gadget_url="HTTP://Example.com:80/g.xml",
        service_name="contacts",
        consumer_key="ck",
    )
    row.set_secret("canary-registration-secret")
    row.save()
    assert row.gadget_url == "http://example.com/g.xml"
    assert "canary-registration-secret" not in _raw_columns(row._meta.db_table)
    assert (
        ConsumerRegistration.objects.get().get_secret() == "canary-registration-secret"
    )


def test_secrets_swapped_between_rows_fail_closed():
    first = ConsumerRegistration(
        gadget_url="http://a.example/g.xml", service_name="x", consumer_key="a"
    )
    first.set_secret("first-secret")
    first.save()
    second = ConsumerRegistration(
        gadget_url="http://a.example/g.xml", service_name="y", consumer_key="b"
    )
    second.set_secret("second-secret")
    second.save()
    ConsumerRegistration.objects.filter(pk=second.pk).update(
        secret_encrypted=first.secret_encrypted
    )
    with pytest.raises(crypto.SecretUnavailable) as caught:
        ConsumerRegistration.objects.get(pk=second.pk).get_secret()
    assert "first-secret" not in caught.value.message


def test_access_token_columns_hold_no_clear_text():
    key = token_key("alice", "http://a.example/g.xml", 1, "svc", "")
    row = AccessToken(
        key=key,
        viewer="alice",
        gadget_url="http://a.example/g.xml",
        module_id=1,
        service_name="svc",
    )
    row.set_credentials("canary-token", "canary-token-secret", "canary-handle")
    row.save()
    raw = _raw_columns(row._meta.db_table)
    for canary in ("canary-token", "canary-token-secret", "canary-handle"):
        assert canary not in raw
    assert AccessToken.objects.get().get_credentials() == (
        "canary-token",
        "canary-token-secret",
        "canary-handle",
    )


def test_pending_dance_request_token_is_sealed():
    from datetime import timedelta

    from django.utils import timezone

    dance = PendingDance(
        key="k",
        viewer="alice",
        owner="alice",
        gadget_url="http://a.example/g.xml",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    dance.set_request_token("canary-request-token", "canary-request-secret")
    dance.save()
    raw = _raw_columns(dance._meta.db_table)
    assert "canary-request-token" not in raw and "canary-request-secret" not in raw
    assert PendingDance.objects.get().get_request_token() == (
        "canary-request-token",
        "canary-request-secret",
    )


def test_token_key_is_canonical_and_unambiguous():
    assert token_key("a", "HTTP://X.example:80/g.xml", 1, "s", "t") == token_key(
        "a", "http://x.example/g.xml", 1, "s", "t"
    )
    assert token_key("ab", "http://x.example/g.xml", 1, "", "c") != token_key(
        "a", "http://x.example/g.xml", 1, "b", "c"
    )
