"""Sample gadget specs shared by tests across the project.

``rich.xml`` uses every element and attribute the parser knows; its message
bundle for ``lang=ar`` lives at ``RICH_AR_BUNDLE_URL`` (serve
``messages/ar.xml`` there with ``fake_upstream``). ``minimal.xml`` is the
smallest valid spec.
"""

from __future__ import annotations

from pathlib import Path

SPECS_DIR = Path(__file__).resolve().parent
RICH_SPEC_URL = "http://gadgets.example.com/rich/spec.xml"
RICH_AR_BUNDLE_URL = "http://gadgets.example.com/rich/messages/ar.xml"
MINIMAL_SPEC_URL = "http://gadgets.example.com/minimal.xml"


def load(name: str) -> bytes:
    """The bytes of a sample file, e.g. ``load("rich.xml")``."""
    return (SPECS_DIR / name).read_bytes()
