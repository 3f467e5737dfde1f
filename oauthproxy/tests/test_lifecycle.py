"""The lifecycle jobs as plain functions, in this process.

The same functions run under a real worker in ``test_lifecycle_worker``;
here the provider is ``FakeProvider`` at the guarded client, so the
details (which rows a job picks, what each answer leads to) are quick.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.apps import apps as django_apps
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from container.celery import app as celery_app
from oauthproxy import claims, dance, inprocess, lifecycle, tasks
from oauthproxy.lifecycle import TemporaryFailure
from oauthproxy.models import (
    AccessToken,
    AuditEvent,
    ConsumerRegistration,
    PendingDance,
    PendingRevocation,
)

from .conftest import GADGET

pytestmark = pytest.mark.django_db

REVOKE_URL = "https://sp.example/oauth/revoke"


@pytest.fixture
def connected(world: Any, client: Client) -> AccessToken:
    """Alice approved contacts, with the session extension on."""
    world.provider.session_extension = True
    world.provider.access_token_lifetime = 3600
    world.connect(client)
    return AccessToken.objects.get()


def _expire_in(seconds: int) -> None:
    AccessToken.objects.update(expires_at=timezone.now() + timedelta(seconds=seconds))


def _refreshes(world: Any) -> int:
    return sum(
        1
        for r in world.provider.received
        if "oauth_session_handle" in dict(r["params"])
    )


# --- Cleanup ---------------------------------------------------------------


def test_cleanup_deletes_in_small_batches_and_counts(settings):
    settings.OAUTHPROXY = {"CLEANUP_BATCH_SIZE": 3}
    past = timezone.now() - timedelta(minutes=1)
    for n in range(7):
        PendingDance.objects.create(key=f"d{n}", viewer="alice", expires_at=past)
    open_dance = PendingDance.objects.create(
        key="open", viewer="alice", expires_at=timezone.now() + timedelta(minutes=5)
    )

    counts = lifecycle.cleanup()

    assert counts["pending_dances"] == 7
    assert list(PendingDance.objects.values_list("pk", flat=True)) == [open_dance.pk]


def test_cleanup_keeps_expired_tokens_a_refresh_can_renew(connected):
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    assert lifecycle.cleanup()["access_tokens"] == 0

    AccessToken.objects.update(authorization_expires_at=timezone.now())
    assert lifecycle.cleanup()["access_tokens"] == 1


def test_cleanup_prunes_audit_events_past_their_retention(settings):
    settings.OAUTHPROXY = {"AUDIT_RETENTION_DAYS": 10}
    AuditEvent.objects.create(kind="old")
    AuditEvent.objects.update(created_at=timezone.now() - timedelta(days=11))
    recent = AuditEvent.objects.create(kind="recent")

    assert lifecycle.cleanup()["audit_events"] == 1
    assert list(AuditEvent.objects.all()) == [recent]


# --- Refresh ---------------------------------------------------------------


def test_refresh_picks_only_tokens_close_to_expiry(connected, world):
    _expire_in(3000)
    assert lifecycle.tokens_due_for_refresh() == []
    assert lifecycle.refresh_access_token(connected.pk) == lifecycle.NOT_DUE

    _expire_in(60)
    assert lifecycle.tokens_due_for_refresh() == [connected.pk]
    assert lifecycle.refresh_access_token(connected.pk) == lifecycle.REFRESHED
    assert _refreshes(world) == 1
    assert lifecycle.refresh_access_token(connected.pk) == lifecycle.GONE


def test_refresh_the_provider_cannot_answer_keeps_the_token(connected, world):
    _expire_in(60)
    world.provider.fail_with = 503

    with pytest.raises(TemporaryFailure):
        lifecycle.refresh_access_token(connected.pk)

    assert AccessToken.objects.filter(pk=connected.pk).exists()
    assert AccessToken.objects.get().refresh_claimed_until is None


def test_a_stale_copy_cannot_claim_the_token_that_replaced_it(connected):
    stale = AccessToken.objects.get()
    _expire_in(60)
    assert lifecycle.refresh_access_token(connected.pk) == lifecycle.REFRESHED
    renewed = AccessToken.objects.get()
    stale.pk = renewed.pk

    assert async_to_sync(claims.claim_refresh)(stale) is None
    assert async_to_sync(claims.claim_refresh)(renewed) is not None
    assert async_to_sync(claims.claim_refresh)(renewed) is None


def test_a_claimed_refresh_waits_and_reads_the_stored_token(connected, world):
    _expire_in(-5)
    held = async_to_sync(claims.claim_refresh)(connected)
    assert held is not None

    result = async_to_sync(claims.wait_for_refresh)(connected.key, 0.2)

    assert result is not None and result.pk == connected.pk  # gave up waiting
    async_to_sync(claims.release_refresh)(connected.key, held)
    assert AccessToken.objects.get().refresh_claimed_until is None


# --- Probes ----------------------------------------------------------------


def test_only_idle_tokens_of_registrations_with_a_probe_url_are_probed(connected):
    AccessToken.objects.update(last_used_at=timezone.now() - timedelta(days=30))
    assert lifecycle.tokens_due_for_probe() == []

    ConsumerRegistration.objects.filter(service_name="contacts").update(
        probe_url="https://sp.example/api/contacts"
    )
    assert lifecycle.tokens_due_for_probe() == [connected.pk]

    AccessToken.objects.update(probed_at=timezone.now())
    assert lifecycle.tokens_due_for_probe() == []


def test_probe_of_a_revoked_token_deletes_it_with_the_reason(connected, world):
    ConsumerRegistration.objects.filter(service_name="contacts").update(
        probe_url=world.provider.resource_url
    )
    world.provider.revoke_access_tokens()

    assert lifecycle.probe_access_token(connected.pk) == lifecycle.DELETED

    event = AuditEvent.objects.get(kind="token_deleted")
    assert (event.actor, event.details["reason"]) == ("alice", "token_revoked")


# --- Revocation at the provider --------------------------------------------


@pytest.fixture
def revocable(world: Any) -> Any:
    ConsumerRegistration.objects.filter(gadget_url=GADGET).update(
        revocation_url=REVOKE_URL
    )
    world.fake.add(REVOKE_URL, "ok")
    return world


def test_without_a_broker_disconnect_revokes_at_the_provider_at_once(
    connected, revocable, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    client = Client()
    client.force_login(User.objects.create_user("alice", password="pw-alice-123"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/connected-services/{connected.pk}/disconnect")

    assert response.status_code == 302
    [sent] = [r for r in revocable.fake.calls if r.url == REVOKE_URL]
    assert sent.method == "POST"
    assert "oauth_token=" in sent.headers["Authorization"]
    assert not PendingRevocation.objects.exists()


def test_pending_revocation_keeps_no_clear_secret(connected):
    ConsumerRegistration.objects.filter(service_name="contacts").update(
        revocation_url=REVOKE_URL
    )
    token, secret, _ = connected.get_credentials()

    pending = PendingRevocation.objects.get(pk=lifecycle.queue_revocation(connected))

    assert token not in pending.token_encrypted
    assert secret not in pending.secret_encrypted
    assert pending.get_credentials() == (token, secret)


def test_revocation_is_abandoned_after_the_last_attempt(connected, revocable, settings):
    settings.OAUTHPROXY = {"REVOCATION_MAX_ATTEMPTS": 2}
    revocable.fake.add(REVOKE_URL, "down", status=503)
    pending_id = lifecycle.queue_revocation(connected)
    assert pending_id is not None

    with pytest.raises(TemporaryFailure):
        lifecycle.revoke_at_provider(pending_id)
    assert lifecycle.revocations_due() == []  # not before its backoff
    PendingRevocation.objects.update(next_attempt_at=timezone.now())
    assert lifecycle.revocations_due() == [pending_id]

    assert lifecycle.revoke_at_provider(pending_id) == lifecycle.GAVE_UP
    assert not PendingRevocation.objects.exists()
    assert AuditEvent.objects.filter(kind="revocation_abandoned").count() == 1


def test_disabling_a_registration_deletes_its_tokens_at_once(connected):
    registration = ConsumerRegistration.objects.get(
        gadget_url=GADGET, service_name="contacts"
    )
    registration.enabled = False
    registration.save()

    assert not AccessToken.objects.exists()
    event = AuditEvent.objects.get(kind="token_deleted")
    assert (event.actor, event.details["reason"]) == ("alice", "registration disabled")


def test_saving_an_already_disabled_registration_leaves_tokens_alone(connected):
    ConsumerRegistration.objects.update(enabled=False)
    registration = ConsumerRegistration.objects.get(
        gadget_url=GADGET, service_name="contacts"
    )
    registration.save()

    assert AccessToken.objects.filter(pk=connected.pk).exists()


# --- Schedules -------------------------------------------------------------


def seed_default_schedule() -> None:
    """Run the migration's seeding again: a transactional test elsewhere
    may have flushed the rows it made."""
    migration = importlib.import_module("oauthproxy.migrations.0002_lifecycle")
    migration.seed_schedule(django_apps, None)


def test_default_beat_schedule_is_seeded_with_registered_tasks():
    seed_default_schedule()
    seed_default_schedule()  # and only once
    scheduled = dict(PeriodicTask.objects.values_list("name", "task"))

    assert set(scheduled.values()) == {
        "oauthproxy.tasks.cleanup",
        "oauthproxy.tasks.refresh_expiring_tokens",
        "oauthproxy.tasks.probe_idle_tokens",
        "oauthproxy.tasks.send_pending_revocations",
    }
    for task in scheduled.values():
        assert task in celery_app.tasks
        assert task.startswith(tasks.__name__)


def test_in_process_jobs_run_once_per_interval():
    last_run: dict[str, float] = {}

    assert len(inprocess.run_due(last_run, now=1000.0)) == len(inprocess.JOBS)
    assert inprocess.run_due(last_run, now=1001.0) == []
    assert inprocess.run_due(last_run, now=1300.0) == ["refresh expiring tokens"]


def test_store_token_keeps_one_row_per_key(connected):
    identity = dance.TokenIdentity("alice", GADGET, 1, "contacts", "")
    assert connected.key == identity.key
    assert AccessToken.objects.filter(key=identity.key).count() == 1


def test_command_runs_one_job_and_cleanup_needs_delete(connected, capsys):
    from django.core.management import CommandError, call_command

    _expire_in(60)
    call_command("run_lifecycle_job", "refresh")
    assert "refresh: refreshed 1" in capsys.readouterr().out

    with pytest.raises(CommandError, match="--delete"):
        call_command("run_lifecycle_job", "cleanup")
    call_command("run_lifecycle_job", "cleanup", "--delete")
    assert "access_tokens 0" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("redis_url", "started"), [("", "True"), ("redis://127.0.0.1:1/0", "False")]
)
def test_in_process_jobs_start_only_without_a_broker(redis_url, started):
    script = (
        "import django; django.setup(); "
        "from oauthproxy import inprocess; print(inprocess._started.is_set())"
    )
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="container.settings",
        LIFECYCLE_IN_PROCESS="1",
        REDIS_URL=redis_url,
        DATABASE_URL="",
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, timeout=60
    )

    assert done.stdout.decode().strip().splitlines()[-1] == started
