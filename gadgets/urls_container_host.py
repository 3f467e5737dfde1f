"""Gadget-server URLs on the container's host: metadata and feature JS."""

from __future__ import annotations

from django.urls import path

urlpatterns: list = []
