"""RSA-SHA1 for oauthlib without PyJWT, and the signed-fetch parameters.

oauthlib computes the signature base string itself and hands the RSA step
to PyJWT's ``RSAAlgorithm``. This project already depends on
``cryptography``, so ``install_rsa_backend`` gives oauthlib an object with
the same three methods (``prepare_key``, ``sign``, ``verify``) built on it,
used only when PyJWT is not installed. Everything else about signing (base
string, normalisation, parameter placement) stays oauthlib's.

Signed fetch (``authz=signed``) adds the identity parameters of the
security token, chosen by ``signOwner`` and ``signViewer``::

    opensocial_owner_id=alice&opensocial_viewer_id=alice
    &opensocial_app_id=http://example.com/g.xml
    &opensocial_app_url=http://example.com/g.xml
"""

from __future__ import annotations

import importlib.util
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from oauthlib.oauth1.rfc5849 import signature as oauth_signature

from gadgets.security_token import SecurityToken


class _CryptographyRsa:
    """The part of PyJWT's RSAAlgorithm that oauthlib calls."""

    def __init__(self, hash_algorithm: hashes.HashAlgorithm) -> None:
        self.hash_alg = hash_algorithm

    def prepare_key(self, pem: str) -> Any:
        data = pem.encode("ascii")
        if b"PRIVATE KEY" in data:
            return serialization.load_pem_private_key(data, password=None)
        if b"CERTIFICATE" in data:
            from cryptography import x509

            return x509.load_pem_x509_certificate(data).public_key()
        return serialization.load_pem_public_key(data)

    def sign(self, message: bytes, key: rsa.RSAPrivateKey) -> bytes:
        return key.sign(message, padding.PKCS1v15(), self.hash_alg)

    def verify(self, message: bytes, key: rsa.RSAPublicKey, signature: bytes) -> bool:
        try:
            key.verify(signature, message, padding.PKCS1v15(), self.hash_alg)
        except InvalidSignature:
            return False
        return True


def install_rsa_backend() -> None:
    """Let oauthlib sign and verify RSA-SHA1 with ``cryptography``."""
    if importlib.util.find_spec("jwt") is not None:
        return
    cache = oauth_signature._jwt_rsa  # type: ignore[attr-defined]
    cache.setdefault("SHA-1", _CryptographyRsa(hashes.SHA1()))  # noqa: S303
    cache.setdefault("SHA-256", _CryptographyRsa(hashes.SHA256()))


def identity_params(
    token: SecurityToken, *, sign_owner: bool, sign_viewer: bool
) -> list[tuple[str, str]]:
    """The opensocial_* parameters for a signed request (none if both off)."""
    if not (sign_owner or sign_viewer):
        return []
    params = []
    if sign_owner and token.owner:
        params.append(("opensocial_owner_id", token.owner))
    if sign_viewer and token.viewer:
        params.append(("opensocial_viewer_id", token.viewer))
    params.append(("opensocial_app_id", token.app_id))
    params.append(("opensocial_app_url", token.gadget_url))
    return params
