"""Readiness: the database, the cache and, where configured, the broker."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def readyz(settings: Any) -> Any:
    return Client().get("/readyz", HTTP_HOST=settings.CONTAINER_HOST)


def test_without_a_broker_only_database_and_cache_are_checked(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = True  # tasks run in-process

    answer = readyz(settings)

    assert answer.status_code == 200
    assert answer.json()["checks"] == {"database": "ok", "cache": "ok"}


@pytest.mark.redis
def test_a_configured_broker_that_answers_is_ready(settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = settings.REDIS_URL

    answer = readyz(settings)

    assert answer.status_code == 200
    assert answer.json()["checks"]["broker"] == "ok"


def test_a_broker_that_does_not_answer_makes_the_process_unready(
    settings: Any,
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    answer = readyz(settings)

    assert answer.status_code == 503
    assert answer.json()["status"] == "unavailable"
    assert answer.json()["checks"]["broker"] == "unreachable"
