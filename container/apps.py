from __future__ import annotations

from django.apps import AppConfig


class ContainerConfig(AppConfig):
    name = "container"
    verbose_name = "Container"
