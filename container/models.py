"""What a person keeps on their home page, and what operators offer them.

An ``InstalledGadget`` is one instance of a gadget spec on one person's
page: the same spec may be installed twice, each instance with its own
module id, place and saved user prefs. The module id is what Shindig calls
``mid``: a small integer, stable for the life of the instance and unique
among its owner's gadgets, carried in the iframe URL and the security token
(OAuth access tokens are keyed by it, so it must never be reused while the
instance exists).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class InstalledGadget(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="installed_gadgets",
    )
    # Canonical spelling (gadgets.locked_domain.canonical_gadget_url).
    spec_url = models.URLField(max_length=2048)
    module_id = models.PositiveIntegerField()
    column = models.PositiveSmallIntegerField(default=0)
    position = models.PositiveIntegerField(default=0)
    # Saved user pref values by name; undeclared names are never stored.
    prefs = models.JSONField(default=dict, blank=True)
    is_minimised = models.BooleanField(default=False)
    # The spec's title when last fetched, shown when the spec is unavailable.
    title = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["owner", "column", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "module_id"], name="unique_module_id_per_owner"
            )
        ]
        indexes = [models.Index(fields=["owner", "column", "position"])]

    def __str__(self) -> str:
        return f"{self.title or self.spec_url} (module {self.module_id})"


class GalleryEntry(models.Model):
    """A gadget the operators list in the gallery for anyone to add."""

    spec_url = models.URLField(max_length=2048, unique=True)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    screenshot_url = models.URLField(max_length=2048, blank=True)
    author = models.CharField(max_length=200, blank=True)
    is_listed = models.BooleanField(default=True)
    # Lower numbers come first in the gallery.
    rank = models.IntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rank", "title", "id"]
        verbose_name_plural = "gallery entries"

    def __str__(self) -> str:
        return self.title or self.spec_url
