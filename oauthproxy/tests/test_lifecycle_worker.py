"""The token lifecycle jobs run by a real Celery worker against real Redis.

Nothing here is mocked: a worker process (``tests.celery_worker``) takes
the tasks from Redis and works on the test database in PostgreSQL, and the
provider is ``FakeProvider`` on a real socket (``tests.provider_server``)
that both processes reach through the outbound guard.
"""

from __future__ import annotations

import ast
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from container.celery import app as celery_app
from gadgets.locked_domain import locked_host
from gadgets.security_token import SecurityToken, encode_token
from gadgets.tests.test_makerequest_view import HostClient
from oauthproxy import client as oauth_client
from oauthproxy import dance, lifecycle, tasks
from oauthproxy.models import (
    AccessToken,
    AuditEvent,
    ConsumerRegistration,
    OAuthTrace,
    PendingDance,
    PendingRevocation,
)
from tests.celery_worker import Worker, start_beat, start_worker
from tests.live import free_port
from tests.provider_server import ProviderServer

from .test_lifecycle import seed_default_schedule

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

CONSUMER_KEY = "contacts-gadget"
CONSUMER_SECRET = "consumer-secret-value"
PREFIX = b"throw 1; < don't be evil' >"


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Replaces the suite's cache.clear(), a FLUSHDB that would also empty
    the broker's queues under the worker: only cache keys go."""
    yield
    client = _redis()
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@pytest.fixture(scope="module")
def server() -> Iterator[ProviderServer]:
    with ProviderServer() as running:
        running.provider.add_consumer(CONSUMER_KEY, CONSUMER_SECRET)
        yield running


@pytest.fixture(scope="module")
def worker(
    django_db_setup: None, server: ProviderServer, tmp_path_factory: Any
) -> Iterator[Worker]:
    _redis().flushdb()  # messages left by an earlier run
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    running = start_worker(log_path, OUTBOUND_ALLOWLIST=server.netloc)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def _provider_reset(server: ProviderServer, worker: Worker, settings: Any) -> None:
    worker.mark()
    settings.OUTBOUND_ALLOWLIST = [server.netloc]
    server.refreshes = 0
    server.refresh_delay_seconds = 0.0
    server.revocations.clear()
    server.revocation_signed.clear()
    server.revocation_statuses.clear()
    server.provider.access_tokens.clear()
    server.provider.fail_with = None


@pytest.fixture
def registration(server: ProviderServer) -> ConsumerRegistration:
    row = ConsumerRegistration(
        gadget_url=server.gadget_url,
        service_name="contacts",
        consumer_key=CONSUMER_KEY,
        probe_url=server.provider.resource_url,
        revocation_url=server.revocation_url,
    )
    row.set_secret(CONSUMER_SECRET)
    row.save()
    return row


def store(
    server: ProviderServer,
    viewer: str = "alice",
    *,
    expires_in: int = 3600,
    module_id: int = 1,
) -> tuple[AccessToken, str, str]:
    """A token the provider issued, stored; with its token and secret."""
    token, secret, handle = server.issue_token(
        CONSUMER_KEY, viewer, expired=expires_in <= 0
    )
    identity = dance.TokenIdentity(viewer, server.gadget_url, module_id, "contacts", "")
    tokens = oauth_client.TokenResponse(
        token=token, secret=secret, expires_in=expires_in, session_handle=handle
    )
    return async_to_sync(dance.store_token)(identity, tokens), token, secret


def results(worker: Worker, task: str, count: int) -> list[Any]:
    return [ast.literal_eval(r) for r in worker.results(task, count)]


def wait_until(check: Any, timeout_seconds: float = 20) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- Cleanup ---------------------------------------------------------------


def seed_cleanup_rows(server: ProviderServer, expired: int) -> dict[str, set[int]]:
    """``expired`` rows of each kind to delete, and a few to keep; the ids
    that must survive, by model."""
    now = timezone.now()
    past, future = now - timedelta(hours=1), now + timedelta(hours=1)
    old = now - timedelta(days=400)

    def token(n: int, **fields: Any) -> AccessToken:
        return AccessToken(
            key=f"k{n}",
            viewer="alice",
            gadget_url=server.gadget_url,
            token_encrypted="x",
            secret_encrypted="x",
            **fields,
        )

    AccessToken.objects.bulk_create(
        [token(n, expires_at=past) for n in range(expired)], batch_size=5000
    )
    kept_tokens = [
        token(-1, expires_at=future),
        token(-2, expires_at=None),
        token(-3, expires_at=past, session_handle_encrypted="handle"),
    ]
    AccessToken.objects.bulk_create(kept_tokens)
    AccessToken.objects.bulk_create(
        [token(-4, expires_at=past, session_handle_encrypted="h")]
    )
    AccessToken.objects.filter(key="k-4").update(authorization_expires_at=past)
    PendingDance.objects.bulk_create(
        [
            PendingDance(key=f"d{n}", viewer="alice", expires_at=past)
            for n in range(expired)
        ],
        batch_size=5000,
    )
    kept_dance = PendingDance.objects.create(key="live", viewer="a", expires_at=future)
    AuditEvent.objects.bulk_create(
        [AuditEvent(kind="x") for _ in range(expired)], batch_size=5000
    )
    AuditEvent.objects.update(created_at=old)
    kept_event = AuditEvent.objects.create(kind="recent")
    OAuthTrace.objects.bulk_create([OAuthTrace(gadget_url="g") for _ in range(20)])
    OAuthTrace.objects.update(created_at=old)
    kept_trace = OAuthTrace.objects.create(gadget_url="g")
    return {
        "tokens": set(
            AccessToken.objects.filter(key__in=["k-1", "k-2", "k-3"]).values_list(
                "pk", flat=True
            )
        ),
        "dances": {kept_dance.pk},
        "events": {kept_event.pk},
        "traces": {kept_trace.pk},
    }


def surviving() -> dict[str, set[int]]:
    return {
        "tokens": set(AccessToken.objects.values_list("pk", flat=True)),
        "dances": set(PendingDance.objects.values_list("pk", flat=True)),
        "events": set(AuditEvent.objects.values_list("pk", flat=True)),
        "traces": set(OAuthTrace.objects.values_list("pk", flat=True)),
    }


def test_cleanup_task_deletes_expired_rows_and_keeps_live_ones(worker, server):
    expected = seed_cleanup_rows(server, expired=2500)

    tasks.cleanup.delay()

    [counts] = results(worker, "cleanup", 1)
    assert counts == {
        "pending_dances": 2500,
        "access_tokens": 2501,
        "audit_events": 2500,
        "oauth_traces": 20,
    }
    assert surviving() == expected


def test_worker_killed_mid_cleanup_leaves_a_clean_run_after_redelivery(
    worker, server, tmp_path: Path
):
    # A worker of its own, with small batches so the kill lands mid-run,
    # and a short visibility timeout so Redis hands the message out again.
    worker.stop()
    slow = start_worker(
        tmp_path / "first.log",
        OUTBOUND_ALLOWLIST=server.netloc,
        OAUTHPROXY_CLEANUP_BATCH_SIZE="50",
        CELERY_VISIBILITY_TIMEOUT_SECONDS="2",
    )
    expected = seed_cleanup_rows(server, expired=20000)
    tokens_before = AccessToken.objects.count()

    tasks.cleanup.delay()
    wait_until(lambda: AccessToken.objects.count() < tokens_before - 500)
    slow.kill()
    interrupted = AccessToken.objects.count()
    assert len(expected["tokens"]) < interrupted < tokens_before
    assert "succeeded" not in slow.log()

    second = start_worker(
        tmp_path / "second.log",
        OUTBOUND_ALLOWLIST=server.netloc,
        CELERY_VISIBILITY_TIMEOUT_SECONDS="2",
    )
    try:
        [counts] = results(second, "cleanup", 1)
    finally:
        second.stop()
        restarted = start_worker(worker.log_path, OUTBOUND_ALLOWLIST=server.netloc)
        worker.process, worker.log_offset = restarted.process, 0

    assert counts["access_tokens"] == interrupted - len(expected["tokens"])
    assert surviving() == expected


def test_beat_sends_the_cleanup_on_the_schedule_in_the_database(
    worker, server, tmp_path: Path
):
    seed_default_schedule()
    # An operator's edit in the admin: the cleanup every second.
    every_second, _ = IntervalSchedule.objects.get_or_create(
        every=1, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.filter(task="oauthproxy.tasks.cleanup").update(
        interval=every_second
    )
    PeriodicTask.objects.exclude(task="oauthproxy.tasks.cleanup").update(enabled=False)
    PendingDance.objects.create(
        key="gone", viewer="a", expires_at=timezone.now() - timedelta(minutes=1)
    )

    beat = start_beat(tmp_path / "beat.log")
    try:
        [counts] = results(worker, "cleanup", 1)
    finally:
        beat.stop()

    assert counts["pending_dances"] == 1
    assert "Sending due task oauthproxy: cleanup" in beat.log()


# --- Refresh ahead of expiry -----------------------------------------------


def test_refresh_job_renews_a_token_close_to_expiry(worker, server, registration):
    stored, old_token, _ = store(server, expires_in=60)

    tasks.refresh_expiring_tokens.delay()

    assert results(worker, "refresh_expiring_tokens", 1) == [1]
    assert results(worker, "refresh_access_token", 1) == ["refreshed"]
    renewed = AccessToken.objects.get(key=stored.key)
    assert renewed.get_credentials()[0] != old_token
    assert renewed.get_credentials()[0] in server.provider.access_tokens
    assert server.refreshes == 1
    assert AuditEvent.objects.filter(kind="token_refreshed").count() == 1


def test_refused_refresh_deletes_the_token_and_connected_services_says_why(
    worker, server, registration
):
    stored, old_token, _ = store(server, expires_in=60)
    del server.provider.access_tokens[old_token]  # the provider forgot it
    alice = User.objects.create_user("alice", password="pw-alice-123")

    tasks.refresh_access_token_task.delay(stored.pk)

    assert results(worker, "refresh_access_token", 1) == ["deleted"]
    assert not AccessToken.objects.filter(key=stored.key).exists()
    event = AuditEvent.objects.get(kind="token_deleted")
    assert (event.actor, event.service_name) == ("alice", "contacts")
    assert event.details["reason"] == "token_rejected"
    page = Client()
    page.force_login(alice)
    response = page.get("/connected-services/")
    assert response.status_code == 200
    assert b"Recently ended" in response.content
    assert b"token_rejected" in response.content


def _make_request(server: ProviderServer, viewer: str = "alice") -> dict[str, Any]:
    token = SecurityToken(
        owner=viewer,
        viewer=viewer,
        gadget_url=server.gadget_url,
        module_id=1,
        container="default",
        issued_at=0,
        expires_at=2**40,
    )
    request = dance.OAuthFetch(
        token=token, url=server.provider.resource_url, service_name="contacts"
    )
    try:
        result = async_to_sync(dance.fetch)(request)
    finally:
        connections.close_all()
    return {"status": result.status, "body": result.body, "error": result.oauth_error}


def test_twenty_refreshes_across_two_processes_call_the_provider_once(
    worker, server, registration
):
    stored, _, _ = store(server, expires_in=-60)
    server.refresh_delay_seconds = 0.5  # a slow provider widens the race
    answers: list[dict[str, Any]] = []

    def request_path() -> None:
        answers.append(_make_request(server))

    threads = [threading.Thread(target=request_path) for _ in range(10)]
    for _ in range(10):
        tasks.refresh_access_token_task.delay(stored.pk)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    outcomes = results(worker, "refresh_access_token", 10)
    assert server.refreshes == 1
    assert set(outcomes) <= {"refreshed", "gone", "not_due"}
    assert len(answers) == 10
    for answer in answers:
        assert answer["status"] == 200, answer
        assert json.loads(answer["body"])["user"] == "alice"
    assert AccessToken.objects.filter(key=stored.key).count() == 1


# --- Revocation probes -----------------------------------------------------


def _idle(stored: AccessToken) -> None:
    AccessToken.objects.filter(pk=stored.pk).update(
        last_used_at=timezone.now() - timedelta(days=30)
    )


def test_probe_deletes_a_revoked_token_and_keeps_a_working_one(
    worker, server, registration
):
    revoked, revoked_token, _ = store(server, "alice")
    working, _, _ = store(server, "bob")
    server.provider.access_tokens[revoked_token].revoked = True
    _idle(revoked)
    _idle(working)

    tasks.probe_idle_tokens.delay()

    assert results(worker, "probe_idle_tokens", 1) == [2]
    assert sorted(results(worker, "probe_access_token", 2)) == ["deleted", "kept"]
    assert list(AccessToken.objects.values_list("viewer", flat=True)) == ["bob"]
    event = AuditEvent.objects.get(kind="token_deleted")
    assert (event.actor, event.details["reason"]) == ("alice", "token_revoked")
    assert AccessToken.objects.get().probed_at is not None


def test_probe_keeps_the_token_when_the_provider_is_down(worker, server, registration):
    stored, _, _ = store(server)
    _idle(stored)
    server.provider.fail_with = 503

    tasks.probe_access_token_task.delay(stored.pk)

    assert results(worker, "probe_access_token", 1) == ["kept"]
    assert AccessToken.objects.filter(pk=stored.pk).exists()


# --- Disconnect and revocation at the provider -----------------------------


def test_disconnect_deletes_at_once_and_the_worker_revokes_at_the_provider(
    worker, server, registration
):
    stored, token, secret = store(server)
    alice = User.objects.create_user("alice", password="pw-alice-123")
    page = Client()
    page.force_login(alice)

    response = page.post(f"/connected-services/{stored.pk}/disconnect")

    assert response.status_code == 302
    assert not AccessToken.objects.filter(pk=stored.pk).exists()
    assert results(worker, "revoke_at_provider", 1) == ["revoked"]
    [sent] = server.revocations
    assert sent.method == "POST"
    assert f'oauth_token="{token}"' in sent.headers["authorization"]
    assert server.revocation_signed == [True]
    assert not PendingRevocation.objects.exists()
    assert AuditEvent.objects.filter(kind="token_revoked_at_provider").count() == 1
    assert token not in worker.log() and secret not in worker.log()


def test_revocation_the_provider_fails_is_retried_later(worker, server, registration):
    stored, _, _ = store(server)
    server.revocation_statuses = [503]
    alice = User.objects.create_user("alice", password="pw-alice-123")
    page = Client()
    page.force_login(alice)

    page.post(f"/connected-services/{stored.pk}/disconnect")

    wait_until(lambda: "Retry in" in worker.log())
    assert "Retry in 30s" in worker.log()  # the documented delay, no jitter
    pending = PendingRevocation.objects.get()
    assert pending.attempts == 1
    assert pending.last_error == "HTTP 503"
    assert pending.next_attempt_at > timezone.now()
    assert pending.claimed_until is None
    # Cancel the scheduled retry, so it does not run during a later test.
    [task_id] = re.findall(r"revoke_at_provider\[([^\]]+)\] retry", worker.log())
    celery_app.control.revoke(task_id)


def test_disabling_a_registration_retires_its_tokens_and_revokes_them(
    worker, server, registration
):
    for viewer in ("alice", "bob", "carol"):
        store(server, viewer)

    registration.enabled = False
    registration.save()

    assert not AccessToken.objects.exists()
    assert results(worker, "revoke_at_provider", 3) == ["revoked"] * 3
    assert len(server.revocations) == 3
    reasons = AuditEvent.objects.filter(kind="token_deleted").values_list(
        "details__reason", flat=True
    )
    assert list(reasons) == ["registration disabled"] * 3


def test_a_revocation_delivered_twice_is_sent_once(worker, server, registration):
    stored, _, _ = store(server)

    pending_id = lifecycle.queue_revocation(stored)  # sent once on commit
    assert pending_id is not None
    tasks.revoke_at_provider_task.apply_async((pending_id,))  # and again

    assert sorted(results(worker, "revoke_at_provider", 2)) in (
        ["busy", "revoked"],
        ["gone", "revoked"],
    )
    assert len(server.revocations) == 1
    assert AuditEvent.objects.filter(kind="token_revoked_at_provider").count() == 1


def test_a_refresh_delivered_twice_refreshes_once(worker, server, registration):
    stored, _, _ = store(server, expires_in=30)

    tasks.refresh_access_token_task.apply_async((stored.pk,))
    tasks.refresh_access_token_task.apply_async((stored.pk,))

    assert sorted(results(worker, "refresh_access_token", 2)) in (
        ["gone", "refreshed"],
        ["refreshed", "refreshed"],  # the second waited for the first
    )
    assert server.refreshes == 1


# --- Redis down ------------------------------------------------------------


@pytest.fixture
def redis_down(settings: Any) -> Iterator[str]:
    """Cache and broker pointed at a port where nothing listens."""
    dead = f"redis://127.0.0.1:{free_port()}/13"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": dead,
            "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    }
    original = celery_app.conf.broker_url
    celery_app.conf.broker_url = dead
    yield dead
    celery_app.conf.broker_url = original


def _post_make_request(server: ProviderServer, module_id: int) -> Any:
    fields = {
        "url": server.provider.resource_url,
        "authz": "oauth",
        "OAUTH_SERVICE_NAME": "contacts",
        "contentType": "JSON",
        "st": encode_token(
            owner="alice",
            viewer="alice",
            gadget_url=server.gadget_url,
            module_id=module_id,
        ),
    }
    client = HostClient(locked_host(server.gadget_url))
    return async_to_sync(client.post)(
        "/gadgets/makeRequest",
        urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )


def test_make_request_with_stored_tokens_works_while_redis_is_down(
    server, registration, redis_down
):
    store(server)
    store(server, "alice", expires_in=-60, module_id=2)  # needs a refresh too

    for module_id in (1, 2):
        started = time.monotonic()
        response = _post_make_request(server, module_id)
        elapsed = time.monotonic() - started

        assert response.status_code == 200, response.content
        data = json.loads(response.content[len(PREFIX) :])
        entry = data[server.provider.resource_url]
        assert entry["rc"] == 200, entry
        assert json.loads(entry["body"])["user"] == "alice"
        assert elapsed < 5
    assert server.refreshes == 1


def test_disconnect_while_the_broker_is_down_answers_and_the_sweep_revokes_later(
    worker, server, registration, redis_down, caplog
):
    stored, _, _ = store(server)
    alice = User.objects.create_user("alice", password="pw-alice-123")
    page = Client()
    page.force_login(alice)

    started = time.monotonic()
    response = page.post(f"/connected-services/{stored.pk}/disconnect")
    elapsed = time.monotonic() - started

    assert response.status_code == 302
    assert elapsed < 5
    assert not AccessToken.objects.filter(pk=stored.pk).exists()
    assert PendingRevocation.objects.count() == 1  # the sweep sends it later
    assert "broker unreachable" in caplog.text

    celery_app.conf.broker_url = settings.REDIS_URL  # Redis is back
    assert tasks.enqueue(tasks.send_pending_revocations, inline=print)
    assert results(worker, "send_pending_revocations", 1) == [1]
    assert results(worker, "revoke_at_provider", 1) == ["revoked"]
    assert len(server.revocations) == 1
    assert not PendingRevocation.objects.exists()
