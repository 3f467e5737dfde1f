"""``oauthState``: the compatibility blob, sealed and bound to its token key.

Shindig kept request and access tokens in this blob; here they live on the
server, so the blob only names the pending dance and when it stops being
valid. It is AES-GCM under a key-ring subkey of its own, with the token
key (viewer, gadget, module, service, token name) as associated data, so a
blob replayed for another person, gadget instance, service or token name
does not open and is ignored, as Shindig ignored a bad blob.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gadgets import keyring

from . import conf

_PURPOSE = "oauth-state"
_MAX_CHARS = 2048


def seal(key: str, dance_state: str = "") -> str:
    ring_key = keyring.current()
    payload = {"d": dance_state, "x": int(time.time()) + conf.get("STATE_TTL_SECONDS")}
    nonce = os.urandom(12)
    sealed = AESGCM(keyring.subkey(ring_key, _PURPOSE)).encrypt(
        nonce, json.dumps(payload).encode(), f"oauthState:{key}".encode()
    )
    body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
    return f"{ring_key.key_id}.{body}"


def open_state(blob: str, key: str) -> dict[str, object] | None:
    """The blob's content, or None if absent, foreign, tampered or expired."""
    if not blob or len(blob) > _MAX_CHARS or blob.count(".") != 1:
        return None
    key_id, _, body = blob.partition(".")
    ring_key = keyring.by_id(key_id)
    if ring_key is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        plaintext = AESGCM(keyring.subkey(ring_key, _PURPOSE)).decrypt(
            raw[:12], raw[12:], f"oauthState:{key}".encode()
        )
        payload = json.loads(plaintext)
    except (binascii.Error, ValueError, InvalidTag):
        return None
    if not isinstance(payload, dict) or int(payload.get("x", 0)) < time.time():
        return None
    return payload
