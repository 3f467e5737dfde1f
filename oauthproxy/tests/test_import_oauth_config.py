from __future__ import annotations

import io
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import CommandError, call_command

from oauthproxy.models import RSA_PRIVATE, AuditEvent, ConsumerRegistration

pytestmark = pytest.mark.django_db


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _run(path) -> tuple[str, str | None]:
    out = io.StringIO()
    try:
        call_command("import_oauth_config", str(path), stdout=out)
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


CONFIG = """/* Licensed to the Apache Software Foundation (ASF) */
{
  // a comment line
  "http://gadget.example/contacts.xml": {
    "": {"consumer_key": "container.example", "consumer_secret": "hmac-secret-canary",
         "key_type": "HMAC_SYMMETRIC"},
    "plain": {"consumer_key": "pk",
              "consumer_secret": "plain // not a comment /* nor this */",
              "key_type": "PLAINTEXT", "callback_url": "https://c.example/cb"}
  }
}
"""


def test_import_creates_then_is_idempotent(tmp_path):
    path = tmp_path / "oauth.json"
    path.write_text(CONFIG)
    out, error = _run(path)
    assert error is None
    assert "2 created" in out
    plain = ConsumerRegistration.objects.get(service_name="plain")
    assert plain.get_secret() == "plain // not a comment /* nor this */"
    assert plain.callback_url == "https://c.example/cb"
    assert "hmac-secret-canary" not in out
    out, error = _run(path)
    assert error is None and "2 unchanged" in out and "0 created" in out
    assert AuditEvent.objects.filter(kind="secret_imported").count() == 2


def test_changed_secret_is_reported_as_updated(tmp_path):
    path = tmp_path / "oauth.json"
    path.write_text(CONFIG)
    _run(path)
    path.write_text(CONFIG.replace("hmac-secret-canary", "rotated"))
    out, error = _run(path)
    assert error is None and "1 updated" in out
    assert ConsumerRegistration.objects.get(service_name="").get_secret() == "rotated"


def test_bad_entry_is_reported_and_others_load(tmp_path):
    config = {
        "http://gadget.example/g.xml": {
            "good": {"consumer_key": "k", "consumer_secret": "s"},
            "nokey": {"consumer_secret": "s"},
            "badtype": {"consumer_key": "k", "consumer_secret": "s", "key_type": "MD5"},
            "badrsa": {
                "consumer_key": "k",
                "consumer_secret": "abc",
                "key_type": "RSA_PRIVATE",
            },
        },
        "ftp://gadget.example/g.xml": {
            "": {"consumer_key": "k", "consumer_secret": "s"}
        },
    }
    path = tmp_path / "oauth.json"
    path.write_text(json.dumps(config))
    out, error = _run(path)
    assert error is not None and "4 entries could not be imported" in error
    assert "consumer_key is missing" in out
    assert "key_type 'MD5'" in out
    assert "not an unencrypted PEM private key" in out
    assert "must be an absolute http or https URL" in out
    assert ConsumerRegistration.objects.filter(service_name="good").exists()


def test_rsa_keys_as_pem_bare_base64_and_file(tmp_path):
    pem = _pem()
    bare = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    (tmp_path / "key.pem").write_text(pem)
    config = {
        "http://gadget.example/g.xml": {
            "pem": {
                "consumer_key": "k",
                "consumer_secret": pem,
                "key_type": "RSA_PRIVATE",
            },
            "bare": {
                "consumer_key": "k",
                "consumer_secret": bare,
                "key_type": "RSA_PRIVATE",
            },
            "file": {
                "consumer_key": "k",
                "consumer_secret_file": "key.pem",
                "key_type": "RSA_PRIVATE",
            },
        }
    }
    path = tmp_path / "oauth.json"
    path.write_text(json.dumps(config))
    out, error = _run(path)
    assert error is None, out
    rows = ConsumerRegistration.objects.filter(key_type=RSA_PRIVATE)
    assert {row.get_secret() for row in rows} == {pem}


def test_developer_rows_are_skipped(tmp_path, django_user_model):
    developer = django_user_model.objects.create(username="developer")
    row = ConsumerRegistration(
        gadget_url="http://gadget.example/contacts.xml",
        service_name="",
        consumer_key="mine",
        owner=developer,
    )
    row.set_secret("mine")
    row.save()
    path = tmp_path / "oauth.json"
    path.write_text(CONFIG)
    out, error = _run(path)
    assert error is None and "1 skipped" in out and "registered by a developer" in out
    assert ConsumerRegistration.objects.get(service_name="").get_secret() == "mine"


def test_unparseable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "oauth.json"
    path.write_text("{ not json")
    _, error = _run(path)
    assert error is not None and "not valid JSON (line 1" in error
