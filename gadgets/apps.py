from __future__ import annotations

from django.apps import AppConfig


class GadgetsConfig(AppConfig):
    name = "gadgets"
