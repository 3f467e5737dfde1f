"""Set up the demo on this machine and serve it."""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

DEMO_USERS = {"alice": "alice-demo-password", "bob": "bob-demo-password"}


class Command(BaseCommand):
    help = "Migrate, seed the demo users and gadgets, and serve on CONTAINER_ORIGIN."

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
        origin = settings.CONTAINER_ORIGIN
        self.stdout.write(
            f"\nOpen {origin}/ and log in as alice or bob.\n"
            f"Preview a gadget: {origin}/preview"
            f"?url={origin}/static/gadgets/hello.xml\n"
        )
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
