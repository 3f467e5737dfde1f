"""The key ring behind everything the server encrypts.

``ENCRYPTION_KEYS`` lists keys newest first. Each key has a short id (the
first 8 hex digits of a SHA-256 over the key), written next to every
ciphertext, so a value encrypted under an older key still decrypts after a
new key is put in front, until ``rotate_keys`` has re-encrypted it.

Purposes never share key material: ``subkey(key, "security-token")`` and
``subkey(key, "secrets-at-rest")`` are independent HKDF outputs of the same
ring entry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class RingKey:
    key_id: str
    material: bytes


def _decode_key(text: str, position: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(
            f"ENCRYPTION_KEYS entry {position + 1} is not the URL-safe base64 "
            "of 32 bytes (generate one with Fernet.generate_key())."
        )
    return raw


@lru_cache(maxsize=8)
def _ring(keys: tuple[str, ...]) -> tuple[RingKey, ...]:
    if not keys:
        raise ImproperlyConfigured("ENCRYPTION_KEYS is empty.")
    ring = []
    for position, text in enumerate(keys):
        material = _decode_key(text, position)
        key_id = hashlib.sha256(material).hexdigest()[:8]
        ring.append(RingKey(key_id, material))
    return tuple(ring)


def ring() -> tuple[RingKey, ...]:
    """The configured keys, newest first."""
    return _ring(tuple(settings.ENCRYPTION_KEYS))


def current() -> RingKey:
    return ring()[0]


def by_id(key_id: str) -> RingKey | None:
    for key in ring():
        if key.key_id == key_id:
            return key
    return None


@lru_cache(maxsize=64)
def subkey(key: RingKey, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from a ring key."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"gadget-container:{purpose}".encode(),
    )
    return hkdf.derive(key.material)
