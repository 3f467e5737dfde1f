"""Deleting stored access tokens on an operator's say-so.

Deleting the row is the revocation that matters to the container: the
next makeRequest of that person finds no token and asks for approval
again. Each deletion is audited with ids and names, never the token.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction

from .models import AccessToken, AuditEvent

logger = logging.getLogger(__name__)


def delete_tokens(tokens: Iterable[AccessToken], *, actor: str, reason: str) -> int:
    """Delete the tokens and audit each; returns how many were deleted."""
    deleted = 0
    with transaction.atomic():
        for token in tokens:
            count, _ = AccessToken.objects.filter(pk=token.pk).delete()
            if not count:
                continue
            deleted += 1
            AuditEvent.objects.create(
                kind="token_deleted",
                actor=actor,
                gadget_url=token.gadget_url,
                service_name=token.service_name,
                target=token.key[:16],
                details={"reason": reason, "module_id": token.module_id},
            )
    logger.info("deleted %s access tokens reason=%s", deleted, reason)
    return deleted
