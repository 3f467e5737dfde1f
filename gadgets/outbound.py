"""The guarded outbound HTTP client (interface; implementation pending)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OutboundRequest:
    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    follow_redirects: bool = True
    deadline_seconds: float | None = None
    max_response_bytes: int | None = None


@dataclass
class OutboundResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    url: str
