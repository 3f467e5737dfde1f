"""A real Celery worker process for tests, pointed at the test database.

pytest-django creates its own database (``test_<name>``); a worker started
with the project's settings would use the real one. ``start_worker``
passes the test database, the Redis URL and any extra settings through the
environment, waits until the worker says it is ready, and reads its log
for task outcomes::

    worker = start_worker(log_path, OUTBOUND_ALLOWLIST="127.0.0.1:41001")
    refresh_access_token_task.delay(token.pk)
    assert worker.results("refresh_access_token", count=1) == ["'refreshed'"]
    worker.stop()             # or worker.kill() for SIGKILL

The log says ``Task <name>[<id>] succeeded in 0.01s: <result>`` for each
task that finished, which is what ``results`` counts.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
CELERY = ROOT / ".venv" / "bin" / "celery"
_SUCCEEDED = re.compile(
    r"Task oauthproxy\.tasks\.(\w+)\[[^\]]+\] succeeded in [\d.e-]+s: (.*)"
)


def database_url_for_worker() -> str:
    """The URL of the database pytest-django created for this run."""
    params = connection.settings_dict
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    port = params.get("PORT") or 5432
    return (
        f"postgres://{params['USER']}{password}@{params['HOST'] or '127.0.0.1'}"
        f":{port}/{params['NAME']}"
    )


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path
    log_offset: int = 0

    def log(self) -> str:
        """The log since the last ``mark``."""
        with self.log_path.open("rb") as log:
            log.seek(self.log_offset)
            return log.read().decode(errors="replace")

    def mark(self) -> None:
        """Forget what was logged so far (one test's tasks from the next)."""
        self.log_offset = self.log_path.stat().st_size

    def results(self, task: str, count: int, timeout_seconds: float = 30) -> list[str]:
        """The results of the first ``count`` runs of ``task`` that finished
        since the last ``mark``."""
        deadline = time.monotonic() + timeout_seconds
        while True:
            found = [r for name, r in _SUCCEEDED.findall(self.log()) if name == task]
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"{task}: {found}\n{self.log()[-3000:]}"
                return found[:count]
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, nothing restored."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)


def _start(log_path: Path, arguments: list[str], ready: str, **env: str) -> Worker:
    environment = dict(
        os.environ,
        DATABASE_URL=database_url_for_worker(),
        REDIS_URL=settings.REDIS_URL,
        DJANGO_SETTINGS_MODULE="container.settings",
        **env,
    )
    log = log_path.open("wb")
    process = subprocess.Popen(
        [str(CELERY), "-A", "container", *arguments, "--loglevel=INFO"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    started = Worker(process, log_path)
    deadline = time.monotonic() + 60
    while ready not in started.log():
        if process.poll() is not None or time.monotonic() > deadline:
            started.kill()
            raise RuntimeError(f"celery did not start:\n{started.log()[-3000:]}")
        time.sleep(0.1)
    return started


def start_worker(log_path: Path, **env: str) -> Worker:
    arguments = [
        "worker",
        "--pool=threads",
        "--concurrency=8",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        f"--hostname=test-{os.getpid()}-{time.monotonic_ns()}@localhost",
    ]
    return _start(log_path, arguments, " ready.", **env)


def start_beat(log_path: Path, **env: str) -> Worker:
    """``celery beat`` with the database scheduler of the settings."""
    pidfile = log_path.with_suffix(".pid")
    arguments = ["beat", f"--pidfile={pidfile}", "--max-interval=1"]
    return _start(log_path, arguments, "beat: Starting", **env)
