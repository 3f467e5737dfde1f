"""``manage.py import_oauth_config FILE``: load Shindig's oauth.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauthproxy.importer import FAILED, EntryError, import_config


class Command(BaseCommand):
    help = "Load consumer keys and secrets from a Shindig oauth.json file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of the oauth.json file.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
        try:
            report = import_config(text, path.parent)
        except EntryError as exc:
            raise CommandError(f"{path}: {exc}") from None
        for outcome in report.outcomes:
            style = self.style.ERROR if outcome.result == FAILED else str
            self.stdout.write(style(outcome.line()))
        self.stdout.write(f"Summary: {report.summary()}.")
        if report.has_failures:
            raise CommandError(
                f"{report.count(FAILED)} entries could not be imported; "
                "the others were loaded."
            )
