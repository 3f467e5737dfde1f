"""Hooks for the OpenAPI schema of the developer API."""

from __future__ import annotations

from typing import Any


def only_developer_api(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """Keep ``/api/`` paths; the Shindig endpoints have their own contract."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/")]
