"""``seed_sandbox``: idempotent people, contacts and consumers."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from sandbox.models import Consumer, Contact, ProviderUser

from .conftest import RSA_CERTIFICATE_PEM

pytestmark = pytest.mark.django_db


def seed(*args: str, **options: Any) -> str:
    out = StringIO()
    call_command("seed_sandbox", *args, stdout=out, **options)
    return out.getvalue()


def test_seeding_twice_creates_everything_once(tmp_path: Path) -> None:
    (tmp_path / "consumer.cer").write_text(RSA_CERTIFICATE_PEM)
    config = tmp_path / "sandbox.json"
    config.write_text(
        json.dumps(
            {
                "consumers": [
                    {
                        "key": "demo-rsa",
                        "signature_method": "RSA-SHA1",
                        "certificate_file": "consumer.cer",
                        "display_name": "RSA demo",
                    },
                    {
                        "key": "demo-plain",
                        "signature_method": "PLAINTEXT",
                        "secret": "plain-secret",
                        "access_token_lifetime_seconds": 60,
                    },
                ]
            }
        )
    )

    first = seed("--config", str(config), "--consumer", "demo-hmac:hmac-secret")
    second = seed("--config", str(config), "--consumer", "demo-hmac:hmac-secret")

    assert ProviderUser.objects.count() == 2
    assert Contact.objects.count() == 5
    assert Consumer.objects.count() == 3
    assert "sandbox provider user ada / ada-sandbox-password (created)" in first
    assert "sandbox provider user ada / ada-sandbox-password (exists)" in second
    assert "sandbox consumer demo-rsa (created)" in first
    assert "sandbox consumer demo-rsa (unchanged)" in second
    assert "hmac-secret" not in first + second
    assert Consumer.objects.get(key="demo-plain").access_token_lifetime_seconds == 60


def test_the_demo_users_can_sign_in_with_the_printed_passwords() -> None:
    seed()

    assert ProviderUser.objects.get(username="ada").check_password(
        "ada-sandbox-password"
    )
    assert ProviderUser.objects.get(username="grace").check_password(
        "grace-sandbox-password"
    )


def test_a_changed_secret_updates_the_consumer_in_place() -> None:
    seed(consumers_json='[{"key": "k1", "secret": "old"}]')

    out = seed(consumers_json='[{"key": "k1", "secret": "new", "display_name": "K"}]')

    consumer = Consumer.objects.get(key="k1")
    assert (consumer.secret, consumer.display_name) == ("new", "K")
    assert "sandbox consumer k1 (updated)" in out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"consumers_json": "{nope"}, "--consumers-json is not JSON"),
        ({"consumers_json": '"x"'}, "must hold a list of consumer objects"),
        ({"consumers_json": '[{"key": "k"}]'}, "HMAC-SHA1 needs a secret"),
        (
            {"consumers_json": '[{"key": "k", "signature_method": "RSA-SHA1"}]'},
            "RSA-SHA1 needs an RSA certificate",
        ),
        ({"consumers_json": '[{"key": "k", "colour": 1}]'}, "unknown consumer field"),
        (
            {
                "consumers_json": '[{"key": "k", "secret": "s", '
                '"access_token_lifetime_seconds": "soon"}]'
            },
            "must be a positive whole number",
        ),
        ({"consumer": ["no-secret"]}, "--consumer must look like KEY:SECRET"),
        ({"config": "/no/such/file.json"}, "Cannot read /no/such/file.json"),
    ],
)
def test_bad_input_is_refused_with_a_sentence(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        seed(**options)
