"""Loading Shindig's ``oauth.json`` into consumer registrations.

The file maps gadget spec URLs to services to consumer entries::

    /* Licensed to the Apache Software Foundation ... */
    {
      "http://example.com/contacts.xml": {
        "": {"consumer_key": "container.example", "consumer_secret": "s3cr3t",
             "key_type": "HMAC_SYMMETRIC"},
        "contacts": {"consumer_key": "gadget-1", "key_type": "RSA_PRIVATE",
                     "consumer_secret": "-----BEGIN PRIVATE KEY-----...",
                     "callback_url": "https://container.example/gadgets/oauthcallback"}
      }
    }

Comments (``//`` and ``/* */``) are allowed outside strings, as Shindig's
lenient parser allowed them. An RSA key is a PEM private key in
``consumer_secret`` (the bare base64 body with the ``-----`` lines and
line breaks stripped, as Shindig accepted it, works too), or a path in
``consumer_secret_file``, relative to the JSON file, naming a PEM file.

Each entry is checked and stored on its own: a bad entry is reported and
the others still load. Running the same file twice changes nothing. Rows a
developer registered in the dashboard (with an owner) are never
overwritten by a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import transaction

from gadgets.errors import InvalidUrl
from gadgets.locked_domain import canonical_gadget_url

from . import keys
from .crypto import SecretUnavailable
from .models import (
    HMAC_SYMMETRIC,
    KEY_TYPES,
    RSA_PRIVATE,
    AuditEvent,
    ConsumerRegistration,
)

CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED = (
    "created",
    "updated",
    "unchanged",
    "skipped",
    "failed",
)


class EntryError(Exception):
    """One entry of the file cannot be imported; the message says why."""


@dataclass
class Outcome:
    gadget_url: str
    service_name: str
    result: str
    reason: str = ""

    def line(self) -> str:
        where = f"{self.gadget_url} [{self.service_name or '(default)'}]"
        return f"{self.result:9} {where}" + (f": {self.reason}" if self.reason else "")


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def has_failures(self) -> bool:
        return self.count(FAILED) > 0

    def summary(self) -> str:
        counts = (CREATED, UPDATED, UNCHANGED, SKIPPED, FAILED)
        return ", ".join(f"{self.count(name)} {name}" for name in counts)


def strip_comments(text: str) -> str:
    """Remove ``//`` and ``/* */`` comments that are outside strings."""
    out: list[str] = []
    i, in_string = 0, False
    while i < len(text):
        char, pair = text[i], text[i : i + 2]
        if in_string:
            out.append(char)
            if char == "\\":
                out.append(text[i + 1 : i + 2])
                i += 1
            elif char == '"':
                in_string = False
        elif pair == "//":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif pair == "/*":
            end = text.find("*/", i + 2)
            i = len(text) if end < 0 else end + 2
            out.append(" ")
            continue
        else:
            in_string = char == '"'
            out.append(char)
        i += 1
    return "".join(out)


def parse_config(text: str) -> dict[str, Any]:
    try:
        data = json.loads(strip_comments(text))
    except json.JSONDecodeError as exc:
        raise EntryError(
            f"The file is not valid JSON (line {exc.lineno}, column {exc.colno}): "
            f"{exc.msg}."
        ) from None
    if not isinstance(data, dict):
        raise EntryError("The file must hold a JSON object keyed by gadget URL.")
    return data


def import_config(text: str, base_dir: Path) -> Report:
    """Import every entry of an oauth.json text; see the module docstring."""
    report = Report()
    for gadget_url, services in parse_config(text).items():
        if not isinstance(services, dict):
            reason = "the value must be an object keyed by service name"
            report.outcomes.append(Outcome(str(gadget_url), "", FAILED, reason))
            continue
        for service_name, entry in services.items():
            report.outcomes.append(
                _import_one(gadget_url, str(service_name), entry, base_dir)
            )
    return report


def _import_one(
    gadget_url: str, service_name: str, entry: Any, base_dir: Path
) -> Outcome:
    try:
        canonical = canonical_gadget_url(gadget_url)
        wanted = _check_entry(entry, base_dir)
        with transaction.atomic():
            result, reason = _store(canonical, service_name, wanted)
    except (EntryError, InvalidUrl) as exc:
        message = exc.message if isinstance(exc, InvalidUrl) else str(exc)
        return Outcome(gadget_url, service_name, FAILED, message)
    return Outcome(canonical, service_name, result, reason)


def _check_entry(entry: Any, base_dir: Path) -> dict[str, str]:
    if not isinstance(entry, dict):
        raise EntryError("the entry must be an object")
    consumer_key = entry.get("consumer_key")
    if not isinstance(consumer_key, str) or not consumer_key.strip():
        raise EntryError("consumer_key is missing or empty")
    key_type = entry.get("key_type", HMAC_SYMMETRIC)
    if key_type not in dict(KEY_TYPES):
        known = ", ".join(dict(KEY_TYPES))
        raise EntryError(f"key_type {key_type!r} is not one of {known}")
    secret = _secret(entry, key_type, base_dir)
    callback_url = entry.get("callback_url", "") or ""
    if callback_url and callback_url != "oob" and not _is_http_url(callback_url):
        raise EntryError("callback_url must be an absolute http or https URL or oob")
    return {
        "consumer_key": consumer_key.strip(),
        "key_type": key_type,
        "secret": secret,
        "callback_url": callback_url,
    }


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _secret(entry: dict[str, Any], key_type: str, base_dir: Path) -> str:
    secret = entry.get("consumer_secret")
    secret_file = entry.get("consumer_secret_file")
    if isinstance(secret_file, str) and secret_file and key_type == RSA_PRIVATE:
        try:
            secret = (base_dir / secret_file).read_text()
        except OSError as exc:
            raise EntryError(
                f"consumer_secret_file {secret_file!r} cannot be read ({exc.strerror})"
            ) from None
    if not isinstance(secret, str) or not secret.strip():
        raise EntryError("consumer_secret is missing or empty")
    if key_type == RSA_PRIVATE:
        return normalise_rsa_key(secret)
    return secret


def normalise_rsa_key(text: str) -> str:
    """A PKCS#8 PEM for an RSA private key given as PEM or bare base64."""
    text = text.strip()
    if "-----BEGIN" not in text:
        body = "".join(text.split())
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        text = "\n".join(
            ["-----BEGIN PRIVATE KEY-----", *lines, "-----END PRIVATE KEY-----"]
        )
    try:
        key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise EntryError(
            "consumer_secret is not an unencrypted PEM private key"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise EntryError("consumer_secret is a private key, but not an RSA key")
    return keys.pkcs8_pem(key)


def _store(
    gadget_url: str, service_name: str, wanted: dict[str, str]
) -> tuple[str, str]:
    row = (
        ConsumerRegistration.objects.select_for_update()
        .filter(gadget_url=gadget_url, service_name=service_name)
        .first()
    )
    if row is None:
        row = ConsumerRegistration(gadget_url=gadget_url, service_name=service_name)
        _apply(row, wanted)
        _audit(row, "created")
        return CREATED, ""
    if row.owner_id is not None:
        return SKIPPED, "registered by a developer in the dashboard; not overwritten"
    if _same(row, wanted):
        return UNCHANGED, ""
    _apply(row, wanted)
    _audit(row, "updated")
    return UPDATED, ""


def _same(row: ConsumerRegistration, wanted: dict[str, str]) -> bool:
    try:
        secret = row.get_secret()
    except SecretUnavailable:
        return False
    return (
        row.consumer_key == wanted["consumer_key"]
        and row.key_type == wanted["key_type"]
        and row.callback_url == wanted["callback_url"]
        and secret == wanted["secret"]
    )


def _apply(row: ConsumerRegistration, wanted: dict[str, str]) -> None:
    row.consumer_key = wanted["consumer_key"]
    row.key_type = wanted["key_type"]
    row.callback_url = wanted["callback_url"]
    row.set_secret(wanted["secret"])
    row.save()


def _audit(row: ConsumerRegistration, change: str) -> None:
    AuditEvent.objects.create(
        kind="secret_imported",
        actor="import_oauth_config",
        gadget_url=row.gadget_url,
        service_name=row.service_name,
        target=str(row.pk),
        details={"change": change, "key_type": row.key_type},
    )
