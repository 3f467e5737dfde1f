"""The periodic jobs without a broker: the demo's stand-in for beat.

With no ``REDIS_URL`` there is no worker and no beat, yet tokens still
expire and dances are still abandoned. With ``LIFECYCLE_IN_PROCESS`` on
(the demo command turns it on), the app starts one daemon thread that
runs the same ``lifecycle`` functions the Celery tasks call, on the same
intervals as the default beat schedule. It is meant for one process on a
laptop: several web processes would each run the jobs, which is safe
(every job is idempotent and claims what it changes) but wasteful.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections

from . import lifecycle

logger = logging.getLogger(__name__)

TICK_SECONDS = 30


# (name, every N seconds, job): the intervals of the default beat schedule
# (oauthproxy/migrations/0002_lifecycle.py).
JOBS: list[tuple[str, int, Callable[[], object]]] = [
    ("cleanup", 3600, lifecycle.cleanup),
    ("refresh expiring tokens", 300, lifecycle.refresh_due),
    ("probe idle tokens", 3600, lifecycle.probe_due),
    ("send pending revocations", 600, lifecycle.send_revocations_due),
]

_started = threading.Event()


def run_due(last_run: dict[str, float], now: float) -> list[str]:
    """Run every job whose interval has passed; the names of those run."""
    ran = []
    for name, every_seconds, job in JOBS:
        if now - last_run.get(name, float("-inf")) < every_seconds:
            continue
        last_run[name] = now
        ran.append(name)
        try:
            outcome = job()
            logger.info("in-process job %s done: %s", name, outcome)
        except Exception:
            # The thread must outlive one bad run; the next tick tries again.
            logger.exception("in-process job %s failed", name)
        finally:
            close_old_connections()
    return ran


def _loop() -> None:
    last_run: dict[str, float] = {}
    while True:
        time.sleep(TICK_SECONDS)
        run_due(last_run, time.monotonic())


def start() -> bool:
    """Start the jobs' thread once per process; False if already running."""
    if _started.is_set():
        return False
    _started.set()
    threading.Thread(target=_loop, name="lifecycle-jobs", daemon=True).start()
    logger.info("token lifecycle jobs run in this process (no broker)")
    return True
