"""``manage.py rotate_keys``: re-encrypt every secret under the newest key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gadgets import keyring
from oauthproxy import rotation


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret and token under the first key of "
        "ENCRYPTION_KEYS, in batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=rotation.DEFAULT_BATCH_SIZE,
            help="Rows locked and re-encrypted per transaction (default 500).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        self.stdout.write(f"Re-encrypting under key {keyring.current().key_id}.")
        results = rotation.rotate_all(batch_size=batch_size, on_batch=self._report)
        for result in results:
            for failure in result.failures:
                self.stderr.write(self.style.ERROR(failure))
        changed = sum(result.changed_rows for result in results)
        checked = sum(result.checked_rows for result in results)
        failed = sum(len(result.failures) for result in results)
        self.stdout.write(
            f"Summary: {checked} rows checked, {changed} re-encrypted, "
            f"{failed} values could not be opened."
        )
        if failed:
            raise CommandError(
                "Some values could not be opened; keep every old key in "
                "ENCRYPTION_KEYS until they are fixed or deleted."
            )

    def _report(self, progress: rotation.TableProgress) -> None:
        self.stdout.write(
            f"{progress.table}: {progress.checked_rows}/{progress.total_rows} "
            f"rows checked, {progress.changed_rows} re-encrypted"
        )
