"""``manage.py run_lifecycle_job JOB``: one token lifecycle job, here."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauthproxy import lifecycle

JOBS: dict[str, Callable[[], dict[str, int]]] = {
    "cleanup": lifecycle.cleanup,
    "refresh": lifecycle.refresh_due,
    "probe": lifecycle.probe_due,
    "revocations": lifecycle.send_revocations_due,
}


class Command(BaseCommand):
    help = "Run one token lifecycle job in this process, without a worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", choices=sorted(JOBS), help="The job to run.")
        parser.add_argument(
            "--delete",
            action="store_true",
            help="Needed for cleanup, which deletes rows for good.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        job = options["job"]
        if job == "cleanup" and not options["delete"]:
            raise CommandError(
                "cleanup deletes expired rows for good; add --delete to run it."
            )
        started = time.monotonic()
        counts = JOBS[job]()
        summary = ", ".join(f"{name} {count}" for name, count in counts.items())
        elapsed = time.monotonic() - started
        self.stdout.write(f"{job}: {summary or 'nothing to do'} ({elapsed:.1f} s).")
