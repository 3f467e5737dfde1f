"""URLs of the sandbox service provider's host."""

from __future__ import annotations

urlpatterns: list = []
