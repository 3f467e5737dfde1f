"""Create the sandbox provider's demo people, contacts and consumers.

Consumers come from ``--config FILE`` (JSON), ``--consumers-json TEXT``
(the same JSON, handy for ``call_command``) or ``--consumer KEY:SECRET``
(HMAC-SHA1, repeatable)::

    {"consumers": [
      {"key": "demo-contacts", "secret": "...", "display_name": "Contacts",
       "container_name": "Gadget container demo"},
      {"key": "demo-rsa", "signature_method": "RSA-SHA1",
       "certificate_file": "container.cer"}
    ]}

Running it again changes nothing that is already right: people keep their
passwords (unless ``--reset-passwords``), contacts are not duplicated, and
consumers are updated in place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from sandbox import rsa
from sandbox.models import (
    HMAC_SHA1,
    RSA_SHA1,
    SIGNATURE_METHODS,
    Consumer,
    Contact,
    ProviderUser,
)

# The provider's own people: not the container's users, on purpose.
DEMO_USERS: dict[str, dict[str, Any]] = {
    "ada": {
        "password": "ada-sandbox-password",
        "display_name": "Ada Lovelace",
        "contacts": [
            ("Charles Babbage", "charles@engine.example", "+44 20 7946 0001"),
            ("Mary Somerville", "mary@sciences.example", "+44 20 7946 0002"),
            ("Augustus De Morgan", "augustus@logic.example", ""),
        ],
    },
    "grace": {
        "password": "grace-sandbox-password",
        "display_name": "Grace Hopper",
        "contacts": [
            ("Howard Aiken", "howard@mark1.example", "+1 617 555 0101"),
            ("Jean Sammet", "jean@cobol.example", ""),
        ],
    },
}
_CONSUMER_FIELDS = {
    "key",
    "secret",
    "signature_method",
    "certificate",
    "certificate_file",
    "display_name",
    "container_name",
    "access_token_lifetime_seconds",
    "authorization_lifetime_seconds",
    "issues_session_handle",
}


class Command(BaseCommand):
    help = "Create the sandbox provider's demo users, contacts and consumers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--config", help="A JSON file with a consumers list.")
        parser.add_argument(
            "--consumers-json", help="The same JSON as --config, given inline."
        )
        parser.add_argument(
            "--consumer",
            action="append",
            default=[],
            metavar="KEY:SECRET",
            help="An HMAC-SHA1 consumer (repeatable).",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Set the demo users' passwords back to the printed ones.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        consumers = self._consumer_specs(options)
        with transaction.atomic():
            for username, spec in DEMO_USERS.items():
                self._seed_user(username, spec, options["reset_passwords"])
            outcomes = [_save_consumer(spec) for spec in consumers]
        for key, outcome in outcomes:
            self.stdout.write(f"sandbox consumer {key} ({outcome})")
        self.stdout.write(
            f"sandbox seeded: {len(DEMO_USERS)} provider users, "
            f"{len(outcomes)} consumers"
        )

    def _seed_user(self, username: str, spec: dict[str, Any], reset: bool) -> None:
        user = ProviderUser.objects.filter(username=username).first()
        created = user is None
        if user is None:
            user = ProviderUser(username=username)
        user.display_name = spec["display_name"]
        if created or reset:
            user.set_password(spec["password"])
        user.save()
        for name, email, phone in spec["contacts"]:
            Contact.objects.update_or_create(
                owner=user, name=name, defaults={"email": email, "phone": phone}
            )
        state = "created" if created else "reset" if reset else "exists"
        self.stdout.write(
            f"sandbox provider user {username} / {spec['password']} ({state})"
        )

    def _consumer_specs(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        specs: list[dict[str, Any]] = []
        if options.get("config"):
            path = Path(options["config"])
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as error:
                raise CommandError(f"Cannot read {path}: {error.strerror}.") from None
            specs += _parse_consumers(text, str(path), path.parent)
        if options.get("consumers_json"):
            specs += _parse_consumers(options["consumers_json"], "--consumers-json")
        for pair in options.get("consumer") or []:
            key, sep, secret = pair.partition(":")
            if not sep or not key or not secret:
                raise CommandError(
                    f"--consumer must look like KEY:SECRET, not {key!r}."
                )
            specs.append({"key": key, "secret": secret})
        return specs


def _parse_consumers(
    text: str, where: str, base_dir: Path | None = None
) -> list[dict[str, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(
            f"{where} is not JSON: {error.msg} (line {error.lineno})."
        ) from None
    consumers = data.get("consumers") if isinstance(data, dict) else data
    if not isinstance(consumers, list) or not all(
        isinstance(c, dict) for c in consumers
    ):
        raise CommandError(f"{where} must hold a list of consumer objects.")
    for spec in consumers:
        unknown = set(spec) - _CONSUMER_FIELDS
        if unknown:
            raise CommandError(
                f"{where}: unknown consumer field(s) {', '.join(sorted(unknown))}."
            )
        if spec.get("certificate_file"):
            file = Path(spec.pop("certificate_file"))
            file = file if file.is_absolute() or base_dir is None else base_dir / file
            try:
                spec["certificate"] = file.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError):
                raise CommandError(f"Cannot read the certificate {file}.") from None
    return consumers


def _options(key: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The optional fields, each checked for its type."""
    values: dict[str, Any] = {}
    for name in ("access_token_lifetime_seconds", "authorization_lifetime_seconds"):
        if name in spec:
            value = spec[name]
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                raise CommandError(
                    f"Consumer {key}: {name} must be a positive whole number "
                    "of seconds or null."
                )
            values[name] = value
    if "issues_session_handle" in spec:
        if not isinstance(spec["issues_session_handle"], bool):
            raise CommandError(
                f"Consumer {key}: issues_session_handle must be true or false."
            )
        values["issues_session_handle"] = spec["issues_session_handle"]
    if "container_name" in spec:
        values["container_name"] = str(spec["container_name"])[:200]
    return values


def _save_consumer(spec: dict[str, Any]) -> tuple[str, str]:
    key = str(spec.get("key") or "").strip()
    method = spec.get("signature_method", HMAC_SHA1)
    if not key or len(key) > 200 or any(c.isspace() for c in key):
        raise CommandError(f"A consumer key must be 1-200 visible characters: {key!r}.")
    if method not in {name for name, _ in SIGNATURE_METHODS}:
        raise CommandError(f"Consumer {key}: unknown signature_method {method!r}.")
    certificate = spec.get("certificate", "")
    if method == RSA_SHA1 and not rsa.is_rsa_public_pem(certificate):
        raise CommandError(
            f"Consumer {key}: RSA-SHA1 needs an RSA certificate or public key "
            "in PEM (certificate or certificate_file)."
        )
    if method != RSA_SHA1 and not spec.get("secret"):
        raise CommandError(f"Consumer {key}: {method} needs a secret.")
    values = {
        "display_name": spec.get("display_name") or key,
        "signature_method": method,
        "secret": spec.get("secret", "") if method != RSA_SHA1 else "",
        "rsa_certificate": certificate if method == RSA_SHA1 else "",
    }
    values.update(_options(key, spec))
    consumer = Consumer.objects.filter(key=key).first()
    if consumer is None:
        Consumer.objects.create(key=key, **values)
        return key, "created"
    changed = [n for n, v in values.items() if getattr(consumer, n) != v]
    for name in changed:
        setattr(consumer, name, values[name])
    consumer.save()
    return key, "updated" if changed else "unchanged"
