"""One refresh at a time per access token, across every process.

A session handle is spent by the refresh: providers that rotate tokens
answer a second refresh of the same old token with ``token_rejected``, and
the proxy would then delete a token that was fine. Web processes (a
makeRequest that finds its token about to expire) and workers (the job
that refreshes ahead of expiry) may all reach for the same token at once,
so the claim lives where all of them look: a column of the token's row,
set by one conditional UPDATE. PostgreSQL decides who wins, whether or not
Redis answers.

For example, twenty makeRequests find Alice's expired contacts token::

    claim = await claim_refresh(stored)       # one of them gets a stamp
    ...                                       # it refreshes and stores
    await release_refresh(stored.key, claim)  # (a new row has no claim)

and the other nineteen get None, ``wait_for_refresh`` until the claim is
gone, and read the new token the winner stored. The claim names the token
as it was read (its row and its sealed token), so a caller holding a stale
copy cannot claim the token that replaced it and spend its handle again.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from . import conf
from .models import AccessToken

POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 0.5


def _claim_free(now: datetime) -> Q:
    return Q(refresh_claimed_until__isnull=True) | Q(refresh_claimed_until__lte=now)


async def claim_refresh(stored: AccessToken) -> datetime | None:
    """Claim the refresh of ``stored`` as it was read; the claim's stamp, or
    None when another process holds it or the token changed meanwhile."""
    now = timezone.now()
    until = now + timedelta(seconds=conf.get("REFRESH_CLAIM_SECONDS"))
    won = (
        await AccessToken.objects.filter(
            pk=stored.pk, token_encrypted=stored.token_encrypted
        )
        .filter(_claim_free(now))
        .aupdate(refresh_claimed_until=until)
    )
    return until if won else None


async def release_refresh(key: str, claim: datetime) -> None:
    """Give the claim back, if it is still ours and the row still there."""
    await AccessToken.objects.filter(key=key, refresh_claimed_until=claim).aupdate(
        refresh_claimed_until=None
    )


async def wait_for_refresh(key: str, timeout_seconds: float) -> AccessToken | None:
    """The token under ``key`` once nobody holds its claim (None if the
    refresh ended in deletion); after ``timeout_seconds``, whatever is
    stored."""
    deadline = time.monotonic() + timeout_seconds
    pause = POLL_SECONDS
    while True:
        row = await AccessToken.objects.filter(key=key, revoked=False).afirst()
        until = row.refresh_claimed_until if row is not None else None
        if until is None or until <= timezone.now() or time.monotonic() >= deadline:
            return row
        await asyncio.sleep(pause)
        # A refresh is one provider round trip: look often at first, then
        # less, so that many waiters do not poll the database 20 times a
        # second each for as long as a slow provider takes.
        pause = min(pause * 2, MAX_POLL_SECONDS)
