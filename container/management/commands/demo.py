"""Set up the demo on this machine and serve it.

Everything is seeded idempotently, so running the command again changes
nothing that is already there:

- the container's demo users (alice, bob);
- the sandbox provider's own users and contacts (``seed_sandbox``, called
  by name: the container does not import the sandbox, a stranger to it);
- the sample gadgets of ``static/gadgets/`` on alice's page;
- consumer keys for the contacts and signed-fetch gadgets, the same at
  both ends: a consumer at the sandbox, a registration in the container
  (through the oauth.json importer every other caller uses).
"""

from __future__ import annotations

import hmac
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from container import home
from container.models import InstalledGadget
from gadgets.locked_domain import canonical_gadget_url
from gadgets.spec import parse_spec
from oauthproxy.importer import import_config

DEMO_USERS = {"alice": "alice-demo-password", "bob": "bob-demo-password"}
GADGETS_DIR = Path(settings.BASE_DIR) / "static" / "gadgets"
# Installed top to bottom in the first column of alice's page.
DEMO_GADGETS = (
    "contacts.xml",
    "signed-fetch.xml",
    "feed-reader.xml",
    "prefs-views.xml",
)
# The sample specs name the sandbox at its default host.
SPEC_SANDBOX_HOST = "provider.localhost:8000"
CONTAINER_NAME = "Gadget container demo"


class Command(BaseCommand):
    help = "Migrate, seed the demo users, gadgets and sandbox, and serve."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--no-serve",
            action="store_true",
            help="Seed only; do not start the server.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo runs only with DJANGO_DEBUG on.")
        call_command("migrate", interactive=False, verbosity=0)
        self._seed_users()
        consumers = demo_consumers()
        self._seed_sandbox(consumers)
        self._register_consumers(consumers)
        self._install_gadgets()
        self._walkthrough()
        if not options["no_serve"]:
            self._serve()

    def _seed_users(self) -> None:
        users = get_user_model()
        for username, password in DEMO_USERS.items():
            user, created = users.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            state = "created" if created else "exists"
            self.stdout.write(f"demo user {username} / {password} ({state})")

    def _seed_sandbox(self, consumers: list[dict[str, str]]) -> None:
        if not settings.SANDBOX_HOST:
            self.stdout.write("SANDBOX_HOST is empty: the sandbox is not seeded.")
            return
        sandbox = [
            {
                "key": c["key"],
                "secret": c["secret"],
                "display_name": c["display_name"],
                "container_name": CONTAINER_NAME,
            }
            for c in consumers
        ]
        call_command(
            "seed_sandbox", consumers_json=json.dumps(sandbox), stdout=self.stdout
        )

    def _register_consumers(self, consumers: list[dict[str, str]]) -> None:
        config = {
            c["gadget_url"]: {
                c["service"]: {
                    "consumer_key": c["key"],
                    "consumer_secret": c["secret"],
                    "key_type": "HMAC_SYMMETRIC",
                }
            }
            for c in consumers
        }
        report = import_config(json.dumps(config), GADGETS_DIR)
        for outcome in report.outcomes:
            self.stdout.write(f"consumer registration {outcome.line()}")
        if report.has_failures:
            raise CommandError("A demo consumer registration failed; see above.")

    def _install_gadgets(self) -> None:
        alice = User.objects.get(username="alice")
        installed = set(
            InstalledGadget.objects.filter(owner=alice).values_list(
                "spec_url", flat=True
            )
        )
        # Each new gadget goes top left, so install the last one first.
        for name in reversed(DEMO_GADGETS):
            url = spec_url(name)
            if url in installed:
                self.stdout.write(f"gadget {name} on alice's page (exists)")
                continue
            spec = parse_spec((GADGETS_DIR / name).read_bytes(), url)
            home.add_parsed_gadget(alice, spec)
            self.stdout.write(f"gadget {name} on alice's page (added)")

    def _walkthrough(self) -> None:
        origin = settings.CONTAINER_ORIGIN
        sandbox = f"{settings.CONTAINER_SCHEME}://{settings.SANDBOX_HOST}"
        self.stdout.write(
            f"\nOpen {origin}/ and log in as alice. In the Sandbox contacts "
            'gadget, click\n"Personalize this gadget", sign in at the provider '
            "as ada and allow access.\n"
            f"Revoke it at {sandbox}/tokens; break things at {sandbox}/faults.\n"
            f"Preview a gadget: {origin}/preview"
            f"?url={origin}/static/gadgets/hello.xml\n"
        )
        if settings.SANDBOX_HOST != SPEC_SANDBOX_HOST:
            self.stdout.write(
                f"Note: the sample specs name {SPEC_SANDBOX_HOST}; with "
                f"SANDBOX_HOST={settings.SANDBOX_HOST} copy and edit them.\n"
            )

    def _serve(self) -> None:
        container = urlsplit(settings.CONTAINER_ORIGIN)
        port = container.port or 8000
        # The demo's own host and the sandbox are on loopback: open exactly
        # those to the outbound guard, nothing else.
        allow = {
            f"localhost:{port}",
            settings.SANDBOX_HOST,
            *settings.OUTBOUND_ALLOWLIST,
        }
        env = dict(
            os.environ, OUTBOUND_ALLOWLIST=",".join(sorted(a for a in allow if a))
        )
        if not settings.REDIS_URL:
            # No broker, so no worker or beat: the server runs the token
            # lifecycle jobs on a thread of its own.
            env["LIFECYCLE_IN_PROCESS"] = "1"
        uvicorn = shutil.which("uvicorn", path=os.path.dirname(sys.executable))
        if uvicorn is None:
            raise CommandError("uvicorn is not installed; run `make install`.")
        argv = [uvicorn, "container.asgi:application", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--no-access-log"]
        self.stdout.write(f"Serving on {settings.CONTAINER_ORIGIN} (Ctrl-C stops)")
        sys.stdout.flush()
        os.execve(uvicorn, argv, env)  # noqa: S606 - replaces this process


def spec_url(name: str) -> str:
    return canonical_gadget_url(f"{settings.CONTAINER_ORIGIN}/static/gadgets/{name}")


def demo_secret(consumer_key: str) -> str:
    """A consumer secret stable for this checkout and never in the repository:
    derived from SECRET_KEY, so re-running the demo keeps both ends equal."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"demo-consumer:{consumer_key}".encode(), "sha256"
    )
    return digest.hexdigest()[:32]


def demo_consumers() -> list[dict[str, str]]:
    """The demo's consumer keys: one per OAuth-using sample gadget."""
    wanted = [
        ("demo-contacts", "Sandbox contacts gadget", "contacts.xml", "contacts"),
        ("demo-signed-fetch", "Who-am-I gadget", "signed-fetch.xml", ""),
    ]
    return [
        {
            "key": key,
            "secret": demo_secret(key),
            "display_name": name,
            "gadget_url": spec_url(file),
            "service": service,
        }
        for key, name, file, service in wanted
    ]
