"""Fingerprints that identify a stored secret without revealing it.

A developer who pasted a secret last month wants to know *which* secret is
set, never to see it again. RSA keys are named by the SHA-256 of their
public half (SubjectPublicKeyInfo, DER), which a provider can compute from
the certificate too. Shared secrets get a short HMAC keyed with the
server's ``SECRET_KEY``: stable, comparable between two registrations, and
useless for guessing the secret offline without that key.
"""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils.crypto import salted_hmac

RSA_PRIVATE = "RSA_PRIVATE"
_SALT = "oauthproxy.fingerprints.shared-secret"


def public_key_digest(public: rsa.RSAPublicKey) -> bytes:
    """SHA-256 of the key's SubjectPublicKeyInfo (DER)."""
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).digest()


def public_key_fingerprint(public: rsa.RSAPublicKey) -> str:
    return public_key_digest(public).hex()


def shared_secret_fingerprint(secret: str) -> str:
    return salted_hmac(_SALT, secret, algorithm="sha256").hexdigest()[:16]


def secret_fingerprint(key_type: str, secret: str) -> str:
    """``sha256:<hex>`` for RSA keys, ``hmac:<hex>`` otherwise; "" if unset.

    A PEM that does not load (an old import, say) gets the keyed form, so
    the page still tells two values apart.
    """
    if not secret:
        return ""
    if key_type == RSA_PRIVATE:
        try:
            private = serialization.load_pem_private_key(
                secret.encode("utf-8"), password=None
            )
        except (ValueError, TypeError):
            private = None
        if isinstance(private, rsa.RSAPrivateKey):
            return "sha256:" + public_key_fingerprint(private.public_key())
    return "hmac:" + shared_secret_fingerprint(secret)
