"""Re-encrypting every secret at rest under the newest key (``rotate_keys``).

An operator puts a new key first in ``ENCRYPTION_KEYS`` (the old one stays
in the ring, so every value still opens) and runs ``rotate_keys``. Each
sealed column of each table is walked in primary-key order, one short
transaction per batch: the batch's rows are locked with ``SELECT ... FOR
UPDATE`` so a concurrent refresh cannot write a token we are about to
overwrite with a re-sealed copy of its old value, and every value not yet
under the newest key is opened and sealed again for the same cell. Values
already under the newest key are left alone, so a second run (or a run
resumed after a crash) changes nothing it need not. When a run reports
zero failures, the old key can leave the ring.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

from . import crypto
from .models import (
    AccessToken,
    ConsumerRegistration,
    ContainerKey,
    PendingDance,
    PendingRevocation,
)

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class SealedTable:
    """A model, how its rows name themselves, and its sealed columns.

    ``columns`` maps the model field holding the ciphertext to the column
    name bound into the associated data (see ``crypto``).
    """

    model: type[models.Model]
    row_identity: Callable[[Any], str]
    columns: dict[str, str]

    @property
    def name(self) -> str:
        return self.model._meta.db_table


SEALED_TABLES: tuple[SealedTable, ...] = (
    SealedTable(
        ConsumerRegistration,
        lambda row: row.row_identity,
        {"secret_encrypted": "secret"},
    ),
    SealedTable(
        ContainerKey, lambda row: row.name, {"private_key_encrypted": "private_key"}
    ),
    SealedTable(
        PendingDance,
        lambda row: row.state,
        {
            "request_token_encrypted": "request_token",
            "request_token_secret_encrypted": "request_token_secret",
        },
    ),
    SealedTable(
        AccessToken,
        lambda row: row.key,
        {
            "token_encrypted": "token",
            "secret_encrypted": "secret",
            "session_handle_encrypted": "session_handle",
        },
    ),
    SealedTable(
        PendingRevocation,
        lambda row: row.ref,
        {"token_encrypted": "token", "secret_encrypted": "secret"},
    ),
)


@dataclass
class TableProgress:
    table: str
    total_rows: int
    checked_rows: int = 0
    changed_rows: int = 0
    failures: list[str] = field(default_factory=list)


def rotate_all(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[TableProgress], None] | None = None,
) -> list[TableProgress]:
    """Re-seal every table; ``on_batch`` hears about each finished batch."""
    started = time.monotonic()
    results = [
        rotate_table(table, batch_size=batch_size, on_batch=on_batch)
        for table in SEALED_TABLES
    ]
    logger.info(
        "rotate_keys finished: %s rows re-encrypted, %s failures, %.1f s",
        sum(result.changed_rows for result in results),
        sum(len(result.failures) for result in results),
        time.monotonic() - started,
    )
    return results


def rotate_table(
    table: SealedTable,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[TableProgress], None] | None = None,
) -> TableProgress:
    progress = TableProgress(table.name, table.model._default_manager.count())
    for batch in _batches(table, batch_size):
        with transaction.atomic():
            rows = list(
                table.model._default_manager.select_for_update()
                .filter(pk__in=batch)
                .order_by("pk")
            )
            for row in rows:
                _rotate_row(table, row, progress)
        progress.checked_rows += len(batch)
        if on_batch is not None:
            on_batch(progress)
    return progress


def _batches(table: SealedTable, batch_size: int) -> Iterator[list[int]]:
    """Primary keys in order, a batch at a time, with a cursor.

    Rows added during the run are sealed under the newest key already, so
    missing them costs nothing.
    """
    last_pk = None
    manager = table.model._default_manager
    while True:
        query = manager.order_by("pk").values_list("pk", flat=True)
        if last_pk is not None:
            query = query.filter(pk__gt=last_pk)
        batch = list(query[:batch_size])
        if not batch:
            return
        yield batch
        last_pk = batch[-1]


def _rotate_row(table: SealedTable, row: Any, progress: TableProgress) -> None:
    identity = table.row_identity(row)
    changed = []
    for field_name, column in table.columns.items():
        try:
            fresh = crypto.reencrypt(
                getattr(row, field_name),
                table=table.name,
                column=column,
                row=identity,
            )
        except crypto.SecretUnavailable as exc:
            progress.failures.append(f"{table.name} id {row.pk}: {exc.message}")
            continue
        if fresh is not None:
            setattr(row, field_name, fresh)
            changed.append(field_name)
    if changed:
        # save(), not update(): post_save drops cached registrations, whose
        # cached ciphertext would otherwise outlive the old key.
        row.save(update_fields=changed)
        progress.changed_rows += 1
