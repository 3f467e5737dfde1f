"""``rotate_keys`` moves every sealed value to the newest key, in batches."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from oauthproxy import crypto, keys, rotation
from oauthproxy.models import (
    AccessToken,
    ConsumerRegistration,
    ContainerKey,
    PendingDance,
    token_key,
)

pytestmark = pytest.mark.django_db

OLD_KEY = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW_KEY = base64.urlsafe_b64encode(b"n" * 32).decode()
GADGET = "http://gadgets.example/rotate.xml"


def _seed(count: int = 3) -> None:
    keys.forget()
    keys.container_key()
    keys.forget()
    for number in range(count):
        row = ConsumerRegistration(
            gadget_url=GADGET, service_name=f"svc{number}", consumer_key="ck"
        )
        row.set_secret(f"shared-secret-{number}")
        row.save()
        dance = PendingDance(
            key="k" * 64,
            viewer="alice",
            owner="alice",
            gadget_url=GADGET,
            expires_at=timezone.now() + timedelta(minutes=5),
        )
        dance.set_request_token(f"rt-{number}", f"rts-{number}")
        dance.save()
        token = AccessToken(
            key=token_key("alice", GADGET, number, "svc", ""),
            viewer="alice",
            gadget_url=GADGET,
            module_id=number,
        )
        token.set_credentials(f"at-{number}", f"ats-{number}", f"sh-{number}")
        token.save()


def _sealed_values() -> list[str]:
    values: list[str] = []
    for table in rotation.SEALED_TABLES:
        for row in table.model._default_manager.all():
            values += [getattr(row, name) for name in table.columns]
    return [value for value in values if value]


def _open_everything() -> list[str]:
    opened = [r.get_secret() for r in ConsumerRegistration.objects.order_by("pk")]
    opened += [row.get_private_key() for row in ContainerKey.objects.all()]
    for dance in PendingDance.objects.order_by("pk"):
        opened += dance.get_request_token()
    for token in AccessToken.objects.order_by("pk"):
        opened += token.get_credentials()
    return opened


def test_rotation_reencrypts_everything_and_the_old_key_can_go():
    with override_settings(ENCRYPTION_KEYS=[OLD_KEY]):
        _seed()
        before = _open_everything()
    out = io.StringIO()

    with override_settings(ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_keys", stdout=out)
        new_id = crypto.key_id_of(crypto.encrypt("x", table="t", column="c", row="r"))

    values = _sealed_values()
    assert len(values) == 3 + 1 + 6 + 9
    assert {crypto.key_id_of(value) for value in values} == {new_id}
    with override_settings(ENCRYPTION_KEYS=[NEW_KEY]):
        assert _open_everything() == before
    assert "Summary: 10 rows checked, 10 re-encrypted, 0 values" in out.getvalue()


def test_second_run_changes_nothing():
    with override_settings(ENCRYPTION_KEYS=[OLD_KEY]):
        _seed()
    with override_settings(ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_keys", stdout=io.StringIO())
        first = _sealed_values()
        out = io.StringIO()
        call_command("rotate_keys", stdout=out)

    assert _sealed_values() == first
    assert "0 re-encrypted, 0 values" in out.getvalue()


def test_progress_is_printed_per_batch():
    with override_settings(ENCRYPTION_KEYS=[OLD_KEY]):
        _seed(count=5)
    out = io.StringIO()

    with override_settings(ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        call_command("rotate_keys", "--batch-size", "2", stdout=out)

    lines = out.getvalue().splitlines()
    assert "oauthproxy_accesstoken: 2/5 rows checked, 2 re-encrypted" in lines
    assert "oauthproxy_accesstoken: 5/5 rows checked, 5 re-encrypted" in lines


def test_reads_keep_working_between_batches():
    with override_settings(ENCRYPTION_KEYS=[OLD_KEY]):
        _seed(count=4)
        expected = _open_everything()
    seen: list[list[str]] = []

    with override_settings(ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        rotation.rotate_all(
            batch_size=1, on_batch=lambda progress: seen.append(_open_everything())
        )

    assert seen and all(opened == expected for opened in seen)


def test_unreadable_values_are_reported_and_the_command_fails():
    with override_settings(ENCRYPTION_KEYS=[OLD_KEY]):
        _seed(count=1)
    out, err = io.StringIO(), io.StringIO()

    with (
        override_settings(ENCRYPTION_KEYS=[NEW_KEY]),
        pytest.raises(Exception, match="keep every old key"),
    ):
        call_command("rotate_keys", stdout=out, stderr=err)

    assert "not in ENCRYPTION_KEYS" in err.getvalue()
    assert "shared-secret" not in err.getvalue() + out.getvalue()


def test_bad_batch_size_is_refused():
    with pytest.raises(Exception, match="--batch-size must be at least 1"):
        call_command("rotate_keys", "--batch-size", "0")


def test_every_sealed_column_of_the_platform_is_rotated():
    """A new ``*_encrypted`` column must be added to ``SEALED_TABLES``."""
    from django.apps import apps

    covered = {
        (table.model, field_name)
        for table in rotation.SEALED_TABLES
        for field_name in table.columns
    }
    sealed = {
        (model, field.name)
        for app in ("gadgets", "oauthproxy", "container")
        for model in apps.get_app_config(app).get_models()
        for field in model._meta.get_fields()
        if field.name.endswith("_encrypted")
    }

    assert sealed - covered == set()
