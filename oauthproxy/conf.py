"""Tunables of the OAuth proxy, read from ``settings.OAUTHPROXY`` if set.

The defaults suit a laptop demo and are safe in production; an operator
overrides any of them with a dict in settings, e.g.
``OAUTHPROXY = {"VIEWER_ACCESS_TOKENS": True}``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Let a viewer who is not the page owner approve and use own tokens.
    "VIEWER_ACCESS_TOKENS": False,
    # How long a pending dance (request token) waits for approval.
    "PENDING_DANCE_TTL_SECONDS": 600,
    # Lifetime of the oauthState blob handed to gadgets.
    "STATE_TTL_SECONDS": 3600,
    # Refresh an access token this long before its known expiry.
    "REFRESH_AHEAD_SECONDS": 60,
    # Send the redacted request trace to gadget JavaScript (development).
    "TRACE_TO_GADGET": False,
    # A PEM file holding the container's RSA signing key; empty creates one.
    "SIGNING_KEY_FILE": "",
    # Name sent as xoauth_signature_publickey with the container key.
    "SIGNING_KEY_NAME": "",
    # oauth_consumer_key used with the container key.
    "SIGNED_FETCH_CONSUMER_KEY": "",
    # Seconds a consumer registration is cached between reads.
    "REGISTRATION_CACHE_SECONDS": 300,
    # Rows each short cleanup transaction deletes.
    "CLEANUP_BATCH_SIZE": 1000,
    # Audit events and redacted traces are kept this long.
    "AUDIT_RETENTION_DAYS": 365,
    "TRACE_RETENTION_DAYS": 30,
    # Tokens with a session handle expiring within this window are
    # refreshed by the background job.
    "REFRESH_WINDOW_SECONDS": 900,
    # How long one process may hold a token's refresh claim.
    "REFRESH_CLAIM_SECONDS": 30,
    # Tokens unused this long get a revocation probe, at most this often.
    "PROBE_IDLE_SECONDS": 7 * 86400,
    "PROBE_INTERVAL_SECONDS": 86400,
    # Attempts at telling a provider about a revocation before giving up.
    "REVOCATION_MAX_ATTEMPTS": 6,
}


def get(name: str) -> Any:
    overrides = getattr(settings, "OAUTHPROXY", {}) or {}
    return overrides.get(name, DEFAULTS[name])
