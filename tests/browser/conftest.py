"""Fixtures for the real-browser tests: the app, the gadget host, Chromium.

They live in tests/live.py so later browser tests (and bench/) reuse them.
"""

from __future__ import annotations

from tests.live import browser_page, chromium, gadget_host, live_app

__all__ = ["browser_page", "chromium", "gadget_host", "live_app"]
