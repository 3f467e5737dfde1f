"""Security tokens: who is looking at which gadget instance, sealed.

The container gives every rendered gadget a token (Shindig's ``st``) that
the gadget sends back with makeRequest. It is AES-256-GCM over a compact
JSON object, under a key derived from the newest ``ENCRYPTION_KEYS`` entry,
with the key id in front so old tokens keep working across a rotation::

    <key id>.<base64url(nonce[12] || ciphertext || tag[16])>

    {"o": "alice", "v": "alice", "u": "https://example.com/g.xml",
     "m": 3, "c": "default", "i": 1764800000, "x": 1764803600}

The key id is also authenticated (it is the associated data), so a token
cannot be moved under another key. Any failure (bad encoding, unknown key,
wrong tag, expired, malformed payload) raises the one
``InvalidSecurityToken``, so a caller learns nothing about why.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from . import keyring
from .errors import InvalidSecurityToken
from .locked_domain import canonical_gadget_url

_PURPOSE = "security-token"
_MAX_TOKEN_CHARS = 4096


@dataclass(frozen=True)
class SecurityToken:
    owner: str
    viewer: str
    gadget_url: str
    module_id: int
    container: str
    issued_at: int
    expires_at: int

    @property
    def app_id(self) -> str:
        return self.gadget_url

    @property
    def is_anonymous(self) -> bool:
        return not self.viewer


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_token(
    *,
    owner: str,
    viewer: str,
    gadget_url: str,
    module_id: int = 0,
    ttl_seconds: int | None = None,
    container: str | None = None,
    now: float | None = None,
) -> str:
    """Seal a new token for one gadget instance."""
    issued_at = int(now if now is not None else time.time())
    ttl = ttl_seconds or settings.GADGETS["SECURITY_TOKEN_TTL_SECONDS"]
    payload = {
        "o": owner,
        "v": viewer,
        "u": canonical_gadget_url(gadget_url),
        "m": int(module_id),
        "c": container or settings.GADGETS["CONTAINER_NAME"],
        "i": issued_at,
        "x": issued_at + int(ttl),
    }
    key = keyring.current()
    nonce = os.urandom(12)
    plaintext = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    sealed = AESGCM(keyring.subkey(key, _PURPOSE)).encrypt(
        nonce, plaintext, key.key_id.encode("ascii")
    )
    return f"{key.key_id}.{_b64encode(nonce + sealed)}"


def decode_token(text: str, *, now: float | None = None) -> SecurityToken:
    """Open and check a token; raises ``InvalidSecurityToken`` on any fault."""
    payload = _open(text)
    token = _from_payload(payload)
    skew = settings.GADGETS["SECURITY_TOKEN_SKEW_SECONDS"]
    moment = now if now is not None else time.time()
    if moment > token.expires_at + skew or moment < token.issued_at - skew:
        raise InvalidSecurityToken()
    return token


def _open(text: str) -> dict[str, object]:
    if not text or len(text) > _MAX_TOKEN_CHARS or text.count(".") != 1:
        raise InvalidSecurityToken()
    key_id, _, body = text.partition(".")
    key = keyring.by_id(key_id)
    if key is None:
        raise InvalidSecurityToken()
    try:
        raw = _b64decode(body)
        plaintext = AESGCM(keyring.subkey(key, _PURPOSE)).decrypt(
            raw[:12], raw[12:], key_id.encode("ascii")
        )
        payload = json.loads(plaintext)
    except (binascii.Error, ValueError, InvalidTag, UnicodeEncodeError):
        raise InvalidSecurityToken() from None
    if not isinstance(payload, dict):
        raise InvalidSecurityToken()
    return payload


def _from_payload(payload: dict[str, object]) -> SecurityToken:
    try:
        token = SecurityToken(
            owner=str(payload["o"]),
            viewer=str(payload["v"]),
            gadget_url=str(payload["u"]),
            module_id=int(payload["m"]),  # type: ignore[call-overload]
            container=str(payload["c"]),
            issued_at=int(payload["i"]),  # type: ignore[call-overload]
            expires_at=int(payload["x"]),  # type: ignore[call-overload]
        )
    except (KeyError, TypeError, ValueError):
        raise InvalidSecurityToken() from None
    return token
