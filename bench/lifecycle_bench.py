"""Measure the token lifecycle jobs on PostgreSQL at a million rows.

One run, on a scratch database of its own (``bench_lifecycle``, created
here and dropped at the end, whatever happens):

1. token lookup, the one indexed read a warm OAuth makeRequest makes
   (``AccessToken.objects.filter(key=..., revoked=False).first()``), timed
   over random keys with 1,000 tokens stored and again with 1,000,000;
2. ``lifecycle.cleanup()`` deleting 1,000,000 expired, unrefreshable
   access tokens that lie among the 1,000,000 live ones: wall time, peak
   memory growth (resident set) and the longest transaction, both as timed
   around each batch's DELETE in this process and as seen from outside by
   sampling ``pg_stat_activity`` every few milliseconds;
3. for comparison, the same 1,000,000 rows deleted by one DELETE in one
   transaction, the way a naive job would.

Rows are loaded with COPY. The figures are printed as Markdown; with
``--write`` they replace ``docs/benchmarks-lifecycle.md``. Run it with
``.venv/bin/python bench/lifecycle_bench.py [--write]`` and the server's
URL in ``DATABASE_URL`` (any database on it; the scratch one is made
beside it). It loads the machine for a few minutes.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = "bench_lifecycle"
# BENCH_LIFECYCLE_ROWS scales the run down for a quick check of the script.
LIVE_TOKENS = int(os.environ.get("BENCH_LIFECYCLE_ROWS", "1000000"))
EXPIRED_TOKENS = LIVE_TOKENS
LOOKUPS = 2000
COLUMNS = (
    "key, viewer, gadget_url, module_id, service_name, token_name, "
    "token_encrypted, secret_encrypted, session_handle_encrypted, "
    "expires_at, created_at, last_used_at, revoked"
)


def scratch_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))


def admin(server_url: str, sql: str) -> None:
    with psycopg.connect(scratch_url(server_url, "postgres"), autocommit=True) as db:
        db.execute(sql)  # type: ignore[arg-type]


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    admin(server_url, f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    admin(server_url, f"CREATE DATABASE {SCRATCH}")
    try:
        yield scratch_url(server_url, SCRATCH)
    finally:
        from django.db import connections

        connections.close_all()
        admin(server_url, f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")


def set_up_django(url: str) -> None:
    os.environ.update(
        DATABASE_URL=url,
        REDIS_URL="",
        DJANGO_SETTINGS_MODULE="container.settings",
        LOG_LEVEL="WARNING",
        OAUTHPROXY_CLEANUP_BATCH_SIZE="1000",
    )
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


# --- Loading rows ----------------------------------------------------------


def copy_tokens(first: int, count: int, *, expired: bool) -> None:
    """COPY ``count`` tokens numbered from ``first``; live or expired."""
    from django.db import connection

    now = datetime.now(UTC)
    expires = now - timedelta(hours=1) if expired else now + timedelta(days=30)
    gadget = "https://gadgets.example/contacts.xml"
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY oauthproxy_accesstoken ({COLUMNS}) FROM STDIN") as copy:
            for n in range(first, first + count):
                identity = (key_of(n), f"user{n}", gadget, 1, "contacts", "")
                copy.write_row(
                    (*identity, "v1.k.x", "v1.k.x", "", expires, now, now, False)
                )
    analyze()


def key_of(n: int) -> str:
    return f"{n:064x}"


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE oauthproxy_accesstoken")


# --- Measuring -------------------------------------------------------------


def lookup_microseconds(stored: int) -> dict[str, float]:
    from oauthproxy.models import AccessToken

    keys = [key_of(random.randrange(stored)) for _ in range(LOOKUPS)]
    for key in keys[:100]:  # warm the connection and the caches
        AccessToken.objects.filter(key=key, revoked=False).first()
    samples = []
    for key in keys:
        started = time.perf_counter()
        found = AccessToken.objects.filter(key=key, revoked=False).first()
        samples.append((time.perf_counter() - started) * 1e6)
        assert found is not None
    samples.sort()
    return {
        "median": statistics.median(samples),
        "p99": samples[int(len(samples) * 0.99)],
    }


@dataclass
class TransactionWatch:
    """Samples pg_stat_activity for the oldest open transaction of the
    database, from its own connection, and this process's resident
    memory, until stopped."""

    url: str
    longest_seconds: float = 0.0
    peak_rss_bytes: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> TransactionWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        sql = (
            "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)),"
            " 0) FROM pg_stat_activity WHERE datname = %s"
            " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
            " AND state <> 'idle'"
        )
        with psycopg.connect(self.url, autocommit=True) as db:
            while not self._stop.is_set():
                row = db.execute(sql, (SCRATCH,)).fetchone()
                age = float(row[0]) if row else 0.0
                self.longest_seconds = max(self.longest_seconds, age)
                self.peak_rss_bytes = max(self.peak_rss_bytes, rss_bytes())
                self.samples += 1
                time.sleep(0.002)


def rss_bytes() -> int:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class StatementTimer:
    """Times every DELETE this process sends (one per cleanup batch)."""

    longest_seconds: float = 0.0
    count: int = 0

    def __call__(
        self,
        execute: Callable[..., Any],
        sql: str,
        params: Any,
        many: bool,
        context: Any,
    ) -> Any:
        if not sql.lstrip().upper().startswith("DELETE"):
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.longest_seconds = max(
                self.longest_seconds, time.perf_counter() - started
            )


def measure_cleanup(url: str) -> dict[str, Any]:
    from django.db import connection

    from oauthproxy import lifecycle

    timer = StatementTimer()
    rss_before = rss_bytes()
    with TransactionWatch(url) as watch, connection.execute_wrapper(timer):
        started = time.perf_counter()
        counts = lifecycle.cleanup()
        elapsed = time.perf_counter() - started
    return {
        "deleted": counts["access_tokens"],
        "seconds": elapsed,
        "rss_before_mib": rss_before / 2**20,
        "rss_growth_mib": max(0, watch.peak_rss_bytes - rss_before) / 2**20,
        "batches": timer.count,
        "longest_delete_ms": timer.longest_seconds * 1000,
        "longest_transaction_ms": watch.longest_seconds * 1000,
        "samples": watch.samples,
    }


def measure_one_delete(url: str) -> dict[str, Any]:
    from django.db import connection, transaction
    from django.utils import timezone

    from oauthproxy import lifecycle
    from oauthproxy.models import AccessToken

    with TransactionWatch(url) as watch:
        started = time.perf_counter()
        with transaction.atomic():
            expired = AccessToken.objects.filter(
                lifecycle.unrefreshable_expired(timezone.now())
            )
            deleted = expired._raw_delete(connection.alias)
        elapsed = time.perf_counter() - started
    return {
        "deleted": deleted,
        "seconds": elapsed,
        "longest_transaction_ms": watch.longest_seconds * 1000,
    }


# --- The run ---------------------------------------------------------------


def run(server_url: str) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with scratch_database(server_url) as url:
        set_up_django(url)
        copy_tokens(0, 1000, expired=False)
        figures["lookup_1k"] = lookup_microseconds(1000)
        print("lookup with 1,000 tokens:", figures["lookup_1k"], flush=True)

        started = time.perf_counter()
        copy_tokens(1000, LIVE_TOKENS - 1000, expired=False)
        figures["copy_seconds"] = time.perf_counter() - started
        figures["lookup_1m"] = lookup_microseconds(LIVE_TOKENS)
        print(f"lookup with {LIVE_TOKENS:,} tokens:", figures["lookup_1m"], flush=True)

        copy_tokens(LIVE_TOKENS, EXPIRED_TOKENS, expired=True)
        figures["cleanup"] = measure_cleanup(url)
        print("batched cleanup:", figures["cleanup"], flush=True)

        copy_tokens(LIVE_TOKENS, EXPIRED_TOKENS, expired=True)
        figures["one_delete"] = measure_one_delete(url)
        print("one DELETE:", figures["one_delete"], flush=True)
    return figures


def markdown(figures: dict[str, Any]) -> str:
    cleanup, single = figures["cleanup"], figures["one_delete"]
    small, large = figures["lookup_1k"], figures["lookup_1m"]
    cpus = os.cpu_count()
    longest_batched = f"{cleanup['longest_transaction_ms']:,.0f} ms"
    longest_single = f"{single['longest_transaction_ms']:,.0f} ms"
    return f"""# Token lifecycle benchmarks

Measured by `bench/lifecycle_bench.py` on {datetime.now(UTC):%Y-%m-%d}, on one
machine ({platform.machine()}, {cpus} CPUs shared with other work, PostgreSQL on
loopback), in a scratch database created and dropped by the run. Rerun
with `.venv/bin/python bench/lifecycle_bench.py --write`.

## Cleanup of {EXPIRED_TOKENS:,} expired access tokens

The expired tokens lie beside {LIVE_TOKENS:,} live ones, which stay.

| | batched cleanup (`lifecycle.cleanup`) | one DELETE, one transaction |
|---|---|---|
| rows deleted | {cleanup["deleted"]:,} | {single["deleted"]:,} |
| wall time | {cleanup["seconds"]:.1f} s | {single["seconds"]:.1f} s |
| transactions | {cleanup["batches"]:,} of up to 1,000 rows | 1 |
| longest transaction (`pg_stat_activity`) | {longest_batched} | {longest_single} |
| longest batch DELETE (timed in the job) | {cleanup["longest_delete_ms"]:.0f} ms | |
| peak memory growth of the process | {cleanup["rss_growth_mib"]:.1f} MiB | |

Row locks are held only for a transaction's life, so the longest
transaction is also the longest any refresh or makeRequest can wait on a
lock the cleanup holds. The batched job takes longer in all, and in
exchange never holds a lock for longer than one batch, and keeps its
memory flat (it holds one batch of ids at a time; the process had
{cleanup["rss_before_mib"]:.0f} MiB resident before the job).

## Token lookup

The warm makeRequest's one indexed read of its access token, over
{LOOKUPS:,} random keys, in this process (Django ORM, psycopg, loopback):

| tokens stored | median | p99 |
|---|---|---|
| 1,000 | {small["median"]:.0f} µs | {small["p99"]:.0f} µs |
| {LIVE_TOKENS:,} | {large["median"]:.0f} µs | {large["p99"]:.0f} µs |

Loading {LIVE_TOKENS - 1000:,} tokens with COPY took {figures["copy_seconds"]:.1f} s.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write the doc")
    args = parser.parse_args()
    server_url = os.environ.get("DATABASE_URL", "")
    if not server_url.startswith("postgres"):
        parser.error("set DATABASE_URL to a PostgreSQL server, e.g. postgres://...")
    figures = run(server_url)
    text = markdown(figures)
    print(text)
    if args.write:
        (ROOT / "docs" / "benchmarks-lifecycle.md").write_text(text)


if __name__ == "__main__":
    main()
