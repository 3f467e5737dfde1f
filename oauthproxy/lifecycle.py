"""What happens to stored OAuth state over time: the background jobs.

Every job is a plain function here; Celery tasks (``tasks``), the
in-process scheduler of the demo (``inprocess``), views and tests all call
the same ones. The jobs, and what each leaves behind:

- ``cleanup``: pending dances past their expiry, access tokens past their
  expiry that cannot be refreshed (no session handle, or the provider's
  authorization ended), and audit events and traces older than their
  retention are deleted, ``CLEANUP_BATCH_SIZE`` ids per short transaction
  with an id cursor. A run killed half-way leaves whole batches done, and
  the next run finishes the rest: the end state is the same.
- ``refresh_access_token``: a token with a session handle that expires
  within ``REFRESH_WINDOW_SECONDS`` is renewed by ``dance.refresh_token``,
  the very code makeRequest uses, under the same per-token claim
  (``claims``), so a worker and a web request never both spend a handle.
  A refusal deletes the token and records why (Connected services shows
  it); a provider that is down or slow leaves it for the next run.
- ``probe_access_token``: a token unused for ``PROBE_IDLE_SECONDS`` whose
  registration names a ``probe_url`` gets one signed GET there. An answer
  that ``client.classify`` reads as "delete" (a 401, ``token_revoked``,
  ``token_rejected``...) deletes it with the reason; 5xx and timeouts
  leave it alone.
- ``retire_token`` and ``retire_registration_tokens``: a person's
  disconnect, or an operator disabling a registration, deletes local
  tokens at once; where the registration names a ``revocation_url`` the
  token and secret are sealed into a ``PendingRevocation`` row and
  ``revoke_at_provider`` later sends the provider a signed POST, claiming
  the row so two deliveries send it once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from gadgets.errors import GadgetError
from gadgets.security_token import SecurityToken

from . import client, conf, dance
from .client import Call, Signer, Trace
from .crypto import SecretUnavailable
from .errors import OAuthError
from .models import (
    AccessToken,
    AuditEvent,
    ConsumerRegistration,
    OAuthTrace,
    PendingDance,
    PendingRevocation,
)

logger = logging.getLogger(__name__)

# Outcomes, as tasks log them and tests read them.
GONE = "gone"
NOT_DUE = "not_due"
REFRESHED = "refreshed"
DELETED = "deleted"
KEPT = "kept"
REVOKED = "revoked"
RETRY = "retry"
GAVE_UP = "gave_up"
BUSY = "busy"


class TemporaryFailure(Exception):
    """The provider did not answer usefully; the task should try again."""


# --- Cleanup ---------------------------------------------------------------


def cleanup(now: datetime | None = None) -> dict[str, int]:
    """Delete what is expired or past retention; counts by kind."""
    now = now or timezone.now()
    started = time.monotonic()
    audit_cutoff = now - timedelta(days=conf.get("AUDIT_RETENTION_DAYS"))
    trace_cutoff = now - timedelta(days=conf.get("TRACE_RETENTION_DAYS"))
    counts = {
        "pending_dances": delete_in_batches(
            PendingDance.objects.filter(expires_at__lt=now)
        ),
        "access_tokens": delete_in_batches(
            AccessToken.objects.filter(unrefreshable_expired(now))
        ),
        "audit_events": delete_in_batches(
            AuditEvent.objects.filter(created_at__lt=audit_cutoff)
        ),
        "oauth_traces": delete_in_batches(
            OAuthTrace.objects.filter(created_at__lt=trace_cutoff)
        ),
    }
    logger.info(
        "cleanup finished in %.1f s: %s",
        time.monotonic() - started,
        " ".join(f"{name}={count}" for name, count in counts.items()),
    )
    return counts


def unrefreshable_expired(now: datetime) -> Q:
    """Access tokens past their expiry that no refresh can bring back."""
    no_handle = Q(session_handle_encrypted="")
    authorization_over = Q(authorization_expires_at__lte=now)
    return Q(expires_at__lte=now) & (no_handle | authorization_over)


def delete_in_batches(
    queryset: models.QuerySet[Any], batch_size: int | None = None
) -> int:
    """Delete every row of ``queryset``, a short transaction per batch.

    Ids are read in order after a cursor, and each batch's DELETE repeats
    the queryset's condition, so a row that changed since it was read (a
    token refreshed meanwhile) is left alone.
    """
    size = batch_size or conf.get("CLEANUP_BATCH_SIZE")
    cursor, total = 0, 0
    while True:
        ids = list(
            queryset.filter(pk__gt=cursor)
            .order_by("pk")
            .values_list("pk", flat=True)[:size]
        )
        if not ids:
            return total
        with transaction.atomic():
            deleted, _ = queryset.filter(pk__in=ids).delete()
        total += deleted
        cursor = ids[-1]


# --- Refresh ahead of expiry -----------------------------------------------


def tokens_due_for_refresh(now: datetime | None = None, limit: int = 5000) -> list[int]:
    """Ids of tokens a refresh can renew that expire within the window,
    soonest first; the next run takes any beyond ``limit``."""
    now = now or timezone.now()
    window = timedelta(seconds=conf.get("REFRESH_WINDOW_SECONDS"))
    return list(
        AccessToken.objects.filter(
            Q(authorization_expires_at__isnull=True)
            | Q(authorization_expires_at__gt=now),
            expires_at__lte=now + window,
            revoked=False,
        )
        .exclude(session_handle_encrypted="")
        .order_by("expires_at")
        .values_list("pk", flat=True)[:limit]
    )


def refresh_access_token(token_id: int) -> str:
    """Renew one token with its session handle, if it is still due."""
    return async_to_sync(_refresh)(token_id)


async def _refresh(token_id: int) -> str:
    stored = await AccessToken.objects.filter(pk=token_id, revoked=False).afirst()
    if stored is None or not stored.session_handle_encrypted:
        return GONE
    window = timedelta(seconds=conf.get("REFRESH_WINDOW_SECONDS"))
    if not stored.is_expired(timezone.now() + window):
        return NOT_DUE
    request = _request_for(stored)
    try:
        service = await dance._service(request)
        signer = await dance._signer(stored.gadget_url, stored.service_name)
        renewed = await dance.refresh_token(request, service, signer, stored, Trace())
    except OAuthError as error:
        logger.warning(
            "refresh of token %s failed, kept: %s", token_id, error.oauth_code
        )
        raise TemporaryFailure(error.oauth_code) from None
    if renewed is None:
        logger.info("token %s was refused a refresh and deleted", token_id)
        return DELETED
    return REFRESHED


def _request_for(stored: AccessToken) -> dance.OAuthFetch:
    """The makeRequest the token belongs to, as far as a refresh needs one."""
    token = SecurityToken(
        owner=stored.viewer,
        viewer=stored.viewer,
        gadget_url=stored.gadget_url,
        module_id=stored.module_id,
        container=settings.GADGETS["CONTAINER_NAME"],
        issued_at=0,
        expires_at=0,
    )
    return dance.OAuthFetch(
        token=token,
        url="",
        service_name=stored.service_name,
        token_name=stored.token_name,
    )


# --- Revocation probes -----------------------------------------------------


def tokens_due_for_probe(now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Ids of idle tokens whose registration offers a probe URL."""
    now = now or timezone.now()
    idle_since = now - timedelta(seconds=conf.get("PROBE_IDLE_SECONDS"))
    probed_before = now - timedelta(seconds=conf.get("PROBE_INTERVAL_SECONDS"))
    ids: list[int] = []
    probed = ConsumerRegistration.objects.filter(enabled=True).exclude(probe_url="")
    for registration in probed.only("gadget_url", "service_name"):
        ids += AccessToken.objects.filter(
            Q(probed_at__isnull=True) | Q(probed_at__lt=probed_before),
            gadget_url=registration.gadget_url,
            service_name=registration.service_name,
            last_used_at__lt=idle_since,
            revoked=False,
        ).values_list("pk", flat=True)[: limit - len(ids)]
        if len(ids) >= limit:
            break
    return ids


def probe_access_token(token_id: int) -> str:
    """Ask the provider whether one idle token still works."""
    return async_to_sync(_probe)(token_id)


async def _probe(token_id: int) -> str:
    stored = await AccessToken.objects.filter(pk=token_id, revoked=False).afirst()
    if stored is None:
        return GONE
    registration = await ConsumerRegistration.objects.filter(
        gadget_url=stored.gadget_url, service_name=stored.service_name, enabled=True
    ).afirst()
    if registration is None or not registration.probe_url:
        return NOT_DUE
    await AccessToken.objects.filter(pk=token_id).aupdate(probed_at=timezone.now())
    token, secret, _ = stored.get_credentials()
    call = Call("GET", registration.probe_url, token=token, token_secret=secret)
    try:
        response = await client.send(
            client.sign(_signer_of(registration), call),
            Trace(),
            service=stored.service_name,
            step="revocation probe",
        )
    except OAuthError as error:
        logger.info("probe of token %s had no answer: %s", token_id, error.oauth_code)
        return KEPT
    problem = client.find_problem(response)
    action = client.classify(response.status, problem)
    if action not in (client.DELETE_AND_RETRY, client.DELETE_AND_REPORT):
        return KEPT
    reason = problem or f"probe answered HTTP {response.status}"
    await dance.delete_token(stored.key, reason=reason)
    logger.info("probe found token %s revoked (%s); deleted", token_id, reason)
    return DELETED


def _signer_of(registration: ConsumerRegistration) -> Signer:
    return Signer(
        registration.consumer_key, registration.key_type, registration.get_secret()
    )


# --- Disconnecting and revoking at the provider ----------------------------


def queue_revocation(
    token: AccessToken, registration: ConsumerRegistration | None = None
) -> int | None:
    """Where the provider offers it, queue the revocation of ``token``
    there; the ``PendingRevocation`` id, if one was queued.

    Call inside the transaction that deletes the token: the task is sent
    once it commits, so it never reads a row that was rolled back.
    """
    pending = _pending_revocation_for(token, registration)
    if pending is None:
        return None
    pending_id = pending.pk
    transaction.on_commit(lambda: enqueue_revocation(pending_id))
    return pending_id


def retire_token(
    token: AccessToken,
    *,
    reason: str,
    registration: ConsumerRegistration | None = None,
) -> int | None:
    """Delete ``token`` now, audited, and queue its revocation.

    The event names the token's person, as every token deletion does, so
    their Connected services page can say why the connection ended.
    ``registration`` saves looking up the token's own when it is known.
    """
    pending_id = queue_revocation(token, registration)
    token.delete()
    logger.info("access token deleted key=%s reason=%s", token.key[:12], reason)
    AuditEvent.objects.create(
        kind="token_deleted",
        actor=token.viewer,
        gadget_url=token.gadget_url,
        service_name=token.service_name,
        target=token.key[:16],
        details={"reason": reason, "module_id": token.module_id},
    )
    return pending_id


def _pending_revocation_for(
    token: AccessToken, registration: ConsumerRegistration | None
) -> PendingRevocation | None:
    if registration is None:
        registration = ConsumerRegistration.objects.filter(
            gadget_url=token.gadget_url, service_name=token.service_name
        ).first()
    if registration is None or not registration.revocation_url:
        return None
    try:
        secret_pair = token.get_credentials()[:2]
    except SecretUnavailable as error:
        logger.error("cannot queue a revocation at the provider: %s", error.message)
        return None
    pending = PendingRevocation(registration=registration, viewer=token.viewer)
    pending.set_credentials(*secret_pair)
    pending.save()
    return pending


def retire_registration_tokens(registration: ConsumerRegistration) -> int:
    """Delete every token of a registration, in batches; queue revocations.

    For an operator disabling a registration: its tokens stop working at
    once, and the provider is told about each (see ``retire_token``).
    """
    total = 0
    tokens = AccessToken.objects.filter(
        gadget_url=registration.gadget_url, service_name=registration.service_name
    )
    while batch := list(tokens.order_by("pk")[: conf.get("CLEANUP_BATCH_SIZE")]):
        with transaction.atomic():
            for token in batch:
                retire_token(
                    token, reason="registration disabled", registration=registration
                )
        total += len(batch)
    logger.info("registration %s disabled: %s tokens deleted", registration.pk, total)
    return total


def remember_enabled(
    sender: Any, instance: ConsumerRegistration, **kwargs: Any
) -> None:
    """Signal receiver (pre_save): note whether the row was enabled.

    Only a row saved disabled needs to know (``retire_when_disabled``), so
    saving an enabled one costs no query.
    """
    instance._was_enabled = bool(  # type: ignore[attr-defined]
        not instance.enabled
        and instance.pk
        and ConsumerRegistration.objects.filter(pk=instance.pk, enabled=True).exists()
    )


def retire_when_disabled(
    sender: Any, instance: ConsumerRegistration, **kwargs: Any
) -> None:
    """Signal receiver (post_save): disabling a registration retires its
    tokens, whoever disabled it (admin form, admin action, import)."""
    if getattr(instance, "_was_enabled", False) and not instance.enabled:
        retire_registration_tokens(instance)


def enqueue_revocation(pending_id: int) -> None:
    """Hand the revocation to a worker; the periodic sweep covers a miss."""
    from .tasks import enqueue, revoke_at_provider_task

    enqueue(revoke_at_provider_task, pending_id, inline=revoke_at_provider)


def revocations_due(now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Pending revocations whose next attempt is due and nobody holds."""
    now = now or timezone.now()
    return list(
        PendingRevocation.objects.filter(
            Q(claimed_until__isnull=True) | Q(claimed_until__lte=now),
            next_attempt_at__lte=now,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def revoke_at_provider(pending_id: int) -> str:
    """Send one queued revocation; raises ``TemporaryFailure`` to retry."""
    claim = _claim_revocation(pending_id)
    if claim is None:
        exists = PendingRevocation.objects.filter(pk=pending_id).exists()
        return BUSY if exists else GONE
    pending = PendingRevocation.objects.select_related("registration").get(
        pk=pending_id
    )
    outcome = async_to_sync(_send_revocation)(pending)
    if outcome == RETRY:
        _schedule_retry(pending, claim)
        raise TemporaryFailure(pending.last_error)
    return outcome


_REVOCATION_CLAIM_SECONDS = 60


def _claim_revocation(pending_id: int) -> datetime | None:
    now = timezone.now()
    until = now + timedelta(seconds=_REVOCATION_CLAIM_SECONDS)
    won = (
        PendingRevocation.objects.filter(pk=pending_id)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(claimed_until=until, attempts=models.F("attempts") + 1)
    )
    return until if won else None


async def _send_revocation(pending: PendingRevocation) -> str:
    registration = pending.registration
    token, secret = pending.get_credentials()
    call = Call(
        "POST",
        registration.revocation_url,
        headers={"Content-Type": client.FORM},
        body=b"",
        token=token,
        token_secret=secret,
    )
    try:
        response = await client.send(
            client.sign(_signer_of(registration), call),
            Trace(),
            service=registration.service_name,
            step="revocation",
        )
    except (OAuthError, GadgetError) as error:
        pending.last_error = error.message[:200]
        return RETRY if _attempts_left(pending) else await _give_up(pending)
    if response.status >= 500 or response.status == 429:
        pending.last_error = f"HTTP {response.status}"
        return RETRY if _attempts_left(pending) else await _give_up(pending)
    # 2xx: revoked. 4xx: the provider no longer knows the token, which is
    # what revoking it was for; either way there is nothing left to send.
    await _finish(pending, kind="token_revoked_at_provider", status=response.status)
    return REVOKED


def _attempts_left(pending: PendingRevocation) -> bool:
    # ``attempts`` was counted up by the claim, before the row was read.
    return pending.attempts < conf.get("REVOCATION_MAX_ATTEMPTS")


async def _give_up(pending: PendingRevocation) -> str:
    await _finish(pending, kind="revocation_abandoned", status=0)
    logger.warning(
        "revocation %s abandoned after %s attempts: %s",
        pending.pk,
        pending.attempts,
        pending.last_error,
    )
    return GAVE_UP


async def _finish(pending: PendingRevocation, *, kind: str, status: int) -> None:
    registration = pending.registration
    await AuditEvent.objects.acreate(
        kind=kind,
        actor=pending.viewer,
        gadget_url=registration.gadget_url,
        service_name=registration.service_name,
        target=pending.ref[:16],
        details={"status": status, "attempts": pending.attempts},
    )
    await PendingRevocation.objects.filter(pk=pending.pk).adelete()


def _schedule_retry(pending: PendingRevocation, claim: datetime) -> None:
    delay = 30 * 2 ** min(pending.attempts, 8)
    PendingRevocation.objects.filter(pk=pending.pk, claimed_until=claim).update(
        claimed_until=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        last_error=pending.last_error,
    )


# --- Running many ----------------------------------------------------------


def run_each(ids: list[int], job: Callable[[int], str]) -> dict[str, int]:
    """Run ``job`` for every id here, in this process; outcomes counted.

    For the in-process scheduler and commands; a worker fans out instead.
    """
    outcomes: dict[str, int] = {}
    for item in ids:
        try:
            outcome = job(item)
        except TemporaryFailure:
            outcome = RETRY
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def refresh_due() -> dict[str, int]:
    return run_each(tokens_due_for_refresh(), refresh_access_token)


def probe_due() -> dict[str, int]:
    return run_each(tokens_due_for_probe(), probe_access_token)


def send_revocations_due() -> dict[str, int]:
    return run_each(revocations_due(), revoke_at_provider)
