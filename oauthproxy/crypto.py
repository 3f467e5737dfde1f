"""Field encryption for secrets at rest: consumer secrets, tokens, keys.

Every secret column holds one self-describing string::

    v1.<key id>.<base64url(nonce[12] || ciphertext || tag[16])>

sealed with AES-256-GCM under ``keyring.subkey(key, "secrets-at-rest")``.
The associated data names the table, the column and the row, so a value
copied into another row (or another column of the same row) no longer
opens. For example the HMAC secret of the registration for the "contacts"
service of ``https://example.com/g.xml`` is sealed with the associated data::

    oauthproxy_consumerregistration.secret:https://example.com/g.xml|contacts

and swapping it into the "calendar" row makes ``decrypt`` raise
``SecretUnavailable`` instead of handing the wrong secret to a signer.

A value under a key id that is no longer in ``ENCRYPTION_KEYS``, or whose
tag does not verify, fails closed with the same error. The message names
the row and the reason, never the value. ``reencrypt`` re-seals a value
under the newest key, for ``rotate_keys``.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gadgets import keyring
from gadgets.errors import GadgetError

PURPOSE = "secrets-at-rest"
VERSION = "v1"


class SecretUnavailable(GadgetError):
    """A stored secret cannot be opened; nothing is signed with a guess."""

    status = 500
    code = "secret_unavailable"
    default_message = "A stored secret could not be decrypted."


def associated_data(table: str, column: str, row: str) -> bytes:
    """The binding of one ciphertext to its table, column and row."""
    return f"{table}.{column}:{row}".encode()


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypt(plaintext: str, *, table: str, column: str, row: str) -> str:
    """Seal ``plaintext`` for one cell under the newest key."""
    key = keyring.current()
    nonce = os.urandom(12)
    sealed = AESGCM(keyring.subkey(key, PURPOSE)).encrypt(
        nonce, plaintext.encode("utf-8"), associated_data(table, column, row)
    )
    return f"{VERSION}.{key.key_id}.{_b64encode(nonce + sealed)}"


def decrypt(value: str, *, table: str, column: str, row: str) -> str:
    """Open one cell; raises ``SecretUnavailable`` naming the cell."""
    where = f"{table}.{column} of row {row!r}"
    _version, key_id, body = _split(value, where)
    key = keyring.by_id(key_id)
    if key is None:
        raise SecretUnavailable(
            f"The stored secret in {where} was encrypted under key {key_id}, "
            "which is not in ENCRYPTION_KEYS; put that key back in the ring."
        )
    try:
        raw = _b64decode(body)
        plaintext = AESGCM(keyring.subkey(key, PURPOSE)).decrypt(
            raw[:12], raw[12:], associated_data(table, column, row)
        )
        return plaintext.decode("utf-8")
    except (binascii.Error, ValueError, InvalidTag, UnicodeDecodeError):
        raise SecretUnavailable(
            f"The stored secret in {where} does not verify under key {key_id}: "
            "it was altered or moved from another row."
        ) from None


def _split(value: str, where: str) -> tuple[str, str, str]:
    parts = (value or "").split(".")
    if len(parts) != 3 or parts[0] != VERSION or not parts[1]:
        raise SecretUnavailable(
            f"The stored secret in {where} is not in the v1.<key id>.<data> form."
        )
    return parts[0], parts[1], parts[2]


def key_id_of(value: str) -> str:
    """The key id a stored value was sealed under ("" if not sealed)."""
    parts = (value or "").split(".")
    return parts[1] if len(parts) == 3 and parts[0] == VERSION else ""


def is_current(value: str) -> bool:
    return key_id_of(value) == keyring.current().key_id


def reencrypt(value: str, *, table: str, column: str, row: str) -> str | None:
    """``value`` sealed under the newest key, or None if it already is."""
    if not value or is_current(value):
        return None
    plaintext = decrypt(value, table=table, column=column, row=row)
    return encrypt(plaintext, table=table, column=column, row=row)
