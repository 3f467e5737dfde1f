"""Celery tasks of the token lifecycle: thin wrappers around ``lifecycle``.

Each task takes ids only (never a token or secret), re-reads its rows, is
safe to run twice, acknowledges late (a worker that dies mid-task leaves
the message to be delivered again) and states its retry policy in numbers.
Periodic tasks fan out one task per row, so one slow provider holds up
one task, not the sweep. Web code enqueues through ``enqueue``, after the
transaction commits, and never waits for a broker that is down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db import OperationalError
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from . import lifecycle
from .lifecycle import TemporaryFailure

logger = logging.getLogger(__name__)

# What every task here shares: late acknowledgement, redelivery when the
# worker process is lost, and a database that blinks is tried again.
COMMON: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (OperationalError,),
    "max_retries": 3,
    "retry_backoff": 10,
    "retry_backoff_max": 300,
    "retry_jitter": True,
}


@shared_task(name="oauthproxy.tasks.cleanup", **COMMON)
def cleanup() -> dict[str, int]:
    return lifecycle.cleanup()


@shared_task(name="oauthproxy.tasks.refresh_expiring_tokens", **COMMON)
def refresh_expiring_tokens() -> int:
    ids = lifecycle.tokens_due_for_refresh()
    for token_id in ids:
        refresh_access_token_task.delay(token_id)
    return len(ids)


@shared_task(
    name="oauthproxy.tasks.refresh_access_token",
    **{**COMMON, "autoretry_for": (OperationalError, TemporaryFailure)},
)
def refresh_access_token_task(token_id: int) -> str:
    # 3 retries, 10 s apart and doubling: a provider down for a minute
    # still gets the refresh in before the token's window closes.
    return lifecycle.refresh_access_token(token_id)


@shared_task(name="oauthproxy.tasks.probe_idle_tokens", **COMMON)
def probe_idle_tokens() -> int:
    ids = lifecycle.tokens_due_for_probe()
    for token_id in ids:
        probe_access_token_task.delay(token_id)
    return len(ids)


@shared_task(name="oauthproxy.tasks.probe_access_token", **COMMON)
def probe_access_token_task(token_id: int) -> str:
    # A probe without an answer keeps the token; the next run asks again.
    return lifecycle.probe_access_token(token_id)


@shared_task(name="oauthproxy.tasks.send_pending_revocations", **COMMON)
def send_pending_revocations() -> int:
    ids = lifecycle.revocations_due()
    for pending_id in ids:
        revoke_at_provider_task.delay(pending_id)
    return len(ids)


@shared_task(
    name="oauthproxy.tasks.revoke_at_provider",
    **{
        **COMMON,
        "autoretry_for": (OperationalError, TemporaryFailure),
        # 6 attempts in all (REVOCATION_MAX_ATTEMPTS), 30 s apart and
        # doubling up to an hour; the row keeps the count across sweeps.
        # No jitter: Celery's draws the delay anywhere from 0, which could
        # call a provider that just failed again at once.
        "max_retries": 5,
        "retry_backoff": 30,
        "retry_backoff_max": 3600,
        "retry_jitter": False,
    },
)
def revoke_at_provider_task(pending_id: int) -> str:
    return lifecycle.revoke_at_provider(pending_id)


def enqueue(task: Task, *args: Any, inline: Callable[..., Any]) -> bool:
    """Send ``task`` to a worker; False if the broker could not take it.

    Without a broker (``CELERY_TASK_ALWAYS_EAGER``, the demo) ``inline``
    runs here at once, without Celery's eager retries, which would repeat
    at once; a temporary failure is left to the periodic sweep. A broker
    that is down costs one short connection attempt and a log line: the
    row the task would read stays, and the periodic sweep sends it later.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            inline(*args)
        except TemporaryFailure:
            logger.info("%s%s will be tried again by the sweep", task.name, args)
        return True
    try:
        # A connection of its own, made from the settings as they are now,
        # with the short timeouts above; enqueues are rare (a disconnect).
        with task.app.connection_for_write() as connection:
            task.apply_async(args=args, connection=connection, retry=False)
    except (KombuError, RedisError, OSError) as error:
        logger.warning(
            "could not enqueue %s%s, broker unreachable (%s); the periodic "
            "sweep will send it",
            task.name,
            args,
            type(error).__name__,
        )
        return False
    return True
