"""Deleting stored access tokens on an operator's say-so.

Deleting the row is the revocation that matters to the container: the
next makeRequest of that person finds no token and asks for approval
again. Each token goes through ``lifecycle.retire_token``, like every
other deletion: audited with ids and names (never the token), and its
revocation at the provider queued where the registration has an endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from .lifecycle import retire_token
from .models import AccessToken

logger = logging.getLogger(__name__)


def delete_tokens(tokens: Iterable[AccessToken], *, actor: str, reason: str) -> int:
    """Retire the tokens that still exist; returns how many were."""
    deleted = 0
    wanted = [token.pk for token in tokens]
    with transaction.atomic():
        # One locking read; rows deleted meanwhile are simply not there.
        rows = AccessToken.objects.select_for_update().in_bulk(wanted)
        for pk in wanted:
            if pk in rows:
                retire_token(rows[pk], reason=reason)
                deleted += 1
    logger.info("%s retired %s access tokens reason=%s", actor, deleted, reason)
    return deleted
