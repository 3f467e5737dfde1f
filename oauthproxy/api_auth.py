"""Token authentication for the developer API, with tokens kept as digests.

Clients send ``Authorization: Token gct_...`` as with DRF's own
``TokenAuthentication``; the database holds only the SHA-256 of each
token (``ApiToken.digest``), so a dump or a backup holds nothing that
signs in. Tokens are created in the dashboard and shown once.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from .developer import token_digest
from .models import ApiToken

# Write last_used_at at most this often per token, not on every request.
LAST_USED_RESOLUTION_SECONDS = 300


class HashedTokenAuthentication(TokenAuthentication):
    keyword = "Token"
    model = ApiToken

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = (
            ApiToken.objects.select_related("user")
            .filter(digest=token_digest(key))
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        now = timezone.now()
        last = token.last_used_at
        if last is None or (now - last).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
