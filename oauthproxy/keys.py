"""The container's own RSA key and the certificate providers verify with.

Gadgets without a registration of their own, and every signed fetch
without a per-gadget key, are signed RSA-SHA1 with this key. Providers
fetch the matching self-signed X.509 certificate once from the stable URL
``/gadgets/oauth/public.cer`` on the container host and cache it under
the key name we send as ``xoauth_signature_publickey``.

The key comes from ``OAUTHPROXY["SIGNING_KEY_FILE"]`` (a PEM private key)
when set; otherwise it is generated on first use and stored encrypted in
the ``ContainerKey`` row named "default". Each process loads it once.
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings

from . import conf
from .fingerprints import public_key_digest, public_key_fingerprint
from .models import ContainerKey

_ROW_NAME = "default"
_lock = threading.Lock()
_loaded: dict[str, SigningKey] = {}


@dataclass(frozen=True)
class SigningKey:
    name: str
    consumer_key: str
    private_key_pem: str
    certificate_pem: str


def container_key() -> SigningKey:
    """The container key, loaded once per process (sync; may touch the DB)."""
    with _lock:
        key = _loaded.get(_ROW_NAME)
        if key is None:
            key = _load()
            _loaded[_ROW_NAME] = key
        return key


def forget() -> None:
    """Drop the process copy (tests, key replacement)."""
    with _lock:
        _loaded.clear()


def _load() -> SigningKey:
    path = conf.get("SIGNING_KEY_FILE")
    if path:
        pem = Path(path).read_text()
        return _describe(pem, _self_signed(_private(pem)))
    row = ContainerKey.objects.filter(name=_ROW_NAME).first()
    if row is None:
        row = _create_row()
    return _describe(row.get_private_key(), row.certificate_pem)


def _create_row() -> ContainerKey:
    private = new_rsa_key()
    pem = pkcs8_pem(private)
    row = ContainerKey(name=_ROW_NAME, certificate_pem=_self_signed(private))
    row.set_private_key(pem)
    existing, _ = ContainerKey.objects.get_or_create(
        name=_ROW_NAME,
        defaults={
            "private_key_encrypted": row.private_key_encrypted,
            "certificate_pem": row.certificate_pem,
        },
    )
    return existing


def _private(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("The container signing key must be an RSA private key.")
    return key


def new_rsa_key(bits: int = 2048) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def pkcs8_pem(private: rsa.RSAPrivateKey) -> str:
    """The key as unencrypted PKCS#8 PEM, the form every stored key takes."""
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def self_signed_certificate(
    private: rsa.RSAPrivateKey,
    *,
    common_name: str,
    not_before: datetime.datetime,
    days: int,
    serial: int,
) -> str:
    """A self-signed X.509 certificate (PEM) for a provider to verify with."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_before + datetime.timedelta(days=days))
        .sign(private, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _self_signed(private: rsa.RSAPrivateKey) -> str:
    # A fixed validity start and a serial derived from the key keep the
    # certificate identical across processes that load the same key file.
    return self_signed_certificate(
        private,
        common_name=settings.CONTAINER_HOST,
        not_before=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC),
        days=365 * 30,
        serial=int.from_bytes(public_key_digest(private.public_key())[:16], "big") >> 1,
    )


def public_fingerprint(pem: str) -> str:
    """SHA-256 of the public half of an RSA private key, for display."""
    return public_key_fingerprint(_private(pem).public_key())


def _describe(pem: str, certificate_pem: str) -> SigningKey:
    name = conf.get("SIGNING_KEY_NAME") or (
        f"{settings.CONTAINER_HOST.split(':')[0]}-{public_fingerprint(pem)[:16]}"
    )
    consumer_key = conf.get("SIGNED_FETCH_CONSUMER_KEY") or settings.CONTAINER_HOST
    return SigningKey(name, consumer_key, pem, certificate_pem)
