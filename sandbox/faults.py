"""Fault injection: make the sandbox misbehave on purpose, per consumer.

Gadget developers (and this project's tests) switch these to see how a
consumer copes with a provider that is down, slow, or says no. The page
and the JSON API both call ``apply``; the switches are columns of the
``Consumer`` row, so every process serving the sandbox obeys them at once.

=====================  =====================================================
``answers_503``        every OAuth endpoint and API answers 503
``delay_seconds``      every answer waits this long first (0 to 60)
``rejects_key``        signatures by this key get ``consumer_key_rejected``
``problem_location``   ``header`` (WWW-Authenticate) or ``body``
``expire_tokens``      action: every access token expires now
``revoke_tokens``      action: every access token is revoked now
=====================  =====================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from .models import (
    MAX_DELAY_SECONDS,
    PROBLEM_LOCATIONS,
    AccessToken,
    Consumer,
    ProviderUser,
)

_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no", ""}


class FaultError(ValueError):
    """A switch value that makes no sense; the message says which."""


@dataclass
class Outcome:
    consumer: Consumer
    expired: int = 0
    revoked: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            **state(self.consumer),
            "expired": self.expired,
            "revoked": self.revoked,
        }


def state(consumer: Consumer) -> dict[str, Any]:
    return {
        "consumer_key": consumer.key,
        "answers_503": consumer.answers_503,
        "delay_seconds": consumer.delay_seconds,
        "rejects_key": consumer.rejects_key,
        "problem_location": consumer.problem_location,
    }


def _flag(data: Mapping[str, Any], name: str) -> bool | None:
    if name not in data:
        return None
    value = data[name]
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FaultError(f"{name} must be true or false, not {str(value)[:20]!r}.")


def _delay(data: Mapping[str, Any]) -> float | None:
    if "delay_seconds" not in data:
        return None
    raw = data["delay_seconds"]
    try:
        seconds = float(raw if raw != "" else 0)
    except (TypeError, ValueError):
        raise FaultError(
            f"delay_seconds must be a number of seconds, not {str(raw)[:20]!r}."
        ) from None
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_DELAY_SECONDS:
        raise FaultError(
            f"delay_seconds must be between 0 and {MAX_DELAY_SECONDS} seconds."
        )
    return seconds


def _location(data: Mapping[str, Any]) -> str | None:
    if "problem_location" not in data:
        return None
    value = str(data["problem_location"])
    allowed = [name for name, _ in PROBLEM_LOCATIONS]
    if value not in allowed:
        raise FaultError(
            f"problem_location must be one of {', '.join(allowed)}, not {value[:20]!r}."
        )
    return value


def apply(consumer: Consumer, data: Mapping[str, Any]) -> Outcome:
    """Validate every switch in ``data`` first, then change them together.

    Switches absent from ``data`` keep their value; ``expire_tokens`` and
    ``revoke_tokens`` are actions, done when true.
    """
    changes = {
        "answers_503": _flag(data, "answers_503"),
        "delay_seconds": _delay(data),
        "rejects_key": _flag(data, "rejects_key"),
        "problem_location": _location(data),
    }
    expire = _flag(data, "expire_tokens")
    revoke = _flag(data, "revoke_tokens")

    with transaction.atomic():
        for name, value in changes.items():
            if value is not None:
                setattr(consumer, name, value)
        consumer.save()
        outcome = Outcome(consumer)
        if expire:
            outcome.expired = expire_tokens(consumer)
        if revoke:
            outcome.revoked = revoke_tokens(consumer)
    return outcome


def expire_tokens(consumer: Consumer) -> int:
    """Every live access token of ``consumer`` expires now (renewable with
    its session handle while the authorization lasts)."""
    live = AccessToken.objects.live().filter(consumer=consumer)
    return live.update(expires_at=timezone.now())


def revoke_tokens(consumer: Consumer, user: ProviderUser | None = None) -> int:
    """Revoke ``consumer``'s live tokens (only ``user``'s, when given)."""
    live = AccessToken.objects.live().filter(consumer=consumer)
    if user is not None:
        live = live.filter(user=user)
    return live.update(revoked_at=timezone.now())
