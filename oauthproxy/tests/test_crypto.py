from __future__ import annotations

import base64
import os

import pytest
from django.test import override_settings

from oauthproxy import crypto

KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()
CELL = {
    "table": "oauthproxy_consumerregistration",
    "column": "secret",
    "row": "https://example.com/g.xml|contacts",
}


def test_round_trip_and_format():
    sealed = crypto.encrypt("s3cret", **CELL)
    version, key_id, body = sealed.split(".")
    assert version == "v1" and len(key_id) == 8 and "s3cret" not in body
    assert crypto.decrypt(sealed, **CELL) == "s3cret"


def test_ciphertext_moved_to_another_row_does_not_open():
    sealed = crypto.encrypt("s3cret", **CELL)
    other = {**CELL, "row": "https://example.com/g.xml|calendar"}
    with pytest.raises(crypto.SecretUnavailable) as caught:
        crypto.decrypt(sealed, **other)
    assert "calendar" in caught.value.message
    assert "s3cret" not in caught.value.message


def test_ciphertext_moved_to_another_column_does_not_open():
    sealed = crypto.encrypt("s3cret", **CELL)
    with pytest.raises(crypto.SecretUnavailable):
        crypto.decrypt(sealed, **{**CELL, "column": "token"})


def test_tampered_ciphertext_fails_closed():
    sealed = crypto.encrypt("s3cret", **CELL)
    raw = bytearray(base64.urlsafe_b64decode(sealed.split(".")[2] + "=="))
    raw[-1] ^= 1
    forged = ".".join(
        [*sealed.split(".")[:2], base64.urlsafe_b64encode(bytes(raw)).decode()]
    )
    with pytest.raises(crypto.SecretUnavailable) as caught:
        crypto.decrypt(forged, **CELL)
    assert "altered or moved" in caught.value.message


def test_unknown_key_id_names_the_key_and_row():
    with override_settings(ENCRYPTION_KEYS=[KEY_A]):
        sealed = crypto.encrypt("s3cret", **CELL)
    with (
        override_settings(ENCRYPTION_KEYS=[KEY_B]),
        pytest.raises(crypto.SecretUnavailable) as caught,
    ):
        crypto.decrypt(sealed, **CELL)
    assert crypto.key_id_of(sealed) in caught.value.message
    assert "contacts" in caught.value.message


def test_garbage_is_refused_with_a_clear_error():
    with pytest.raises(crypto.SecretUnavailable, match=r"v1\.<key id>\.<data>"):
        crypto.decrypt("plain text secret", **CELL)


def test_old_key_still_opens_and_reencrypt_moves_to_newest():
    with override_settings(ENCRYPTION_KEYS=[KEY_A]):
        sealed = crypto.encrypt("s3cret", **CELL)
    with override_settings(ENCRYPTION_KEYS=[KEY_B, KEY_A]):
        assert crypto.decrypt(sealed, **CELL) == "s3cret"
        fresh = crypto.reencrypt(sealed, **CELL)
        assert fresh is not None and crypto.is_current(fresh)
        assert crypto.reencrypt(fresh, **CELL) is None
        assert crypto.decrypt(fresh, **CELL) == "s3cret"


def test_nonces_differ_per_encryption():
    assert crypto.encrypt("x", **CELL) != crypto.encrypt("x", **CELL)
    assert os.urandom  # the nonce source is the OS
