"""RSA-SHA1 verification for oauthlib's provider side, on ``cryptography``.

oauthlib builds the signature base string itself and asks an object with
PyJWT's ``RSAAlgorithm`` interface (``prepare_key``, ``sign``, ``verify``)
for the RSA step. PyJWT is not a dependency here, so the sandbox registers
its own small object before any endpoint verifies a signature. A
certificate or key that does not load verifies nothing, rather than
raising: a consumer with a broken certificate gets ``signature_invalid``.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from oauthlib.oauth1.rfc5849 import signature as oauth_signature


class _RsaVerifier:
    def __init__(self, hash_algorithm: hashes.HashAlgorithm) -> None:
        self.hash_alg = hash_algorithm

    def prepare_key(self, pem: str) -> Any:
        return load_rsa_key(pem)

    def sign(self, message: bytes, key: rsa.RSAPrivateKey) -> bytes:
        return key.sign(message, padding.PKCS1v15(), self.hash_alg)

    def verify(self, message: bytes, key: Any, signature: bytes) -> bool:
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        try:
            key.verify(signature, message, padding.PKCS1v15(), self.hash_alg)
        except InvalidSignature:
            return False
        return True


def load_rsa_key(pem: str) -> Any:
    """The RSA key in ``pem`` (certificate, public or private key), or None."""
    data = (pem or "").strip().encode("ascii", "replace")
    try:
        if b"CERTIFICATE" in data:
            return x509.load_pem_x509_certificate(data).public_key()
        if b"PRIVATE KEY" in data:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        return None


def is_rsa_public_pem(pem: str) -> bool:
    return isinstance(load_rsa_key(pem), rsa.RSAPublicKey)


def install() -> None:
    """Give oauthlib an RSA implementation unless PyJWT provides one."""
    if importlib.util.find_spec("jwt") is not None:
        return
    cache = oauth_signature._jwt_rsa  # type: ignore[attr-defined]
    cache.setdefault("SHA-1", _RsaVerifier(hashes.SHA1()))  # noqa: S303
    cache.setdefault("SHA-256", _RsaVerifier(hashes.SHA256()))
