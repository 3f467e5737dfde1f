"""The gadget spec cache's last good copies.

The parsed ``Spec`` lives in Django's cache; this table only keeps the XML
of the last successful fetch with its validators, so a spec survives a
remote outage, a restart and a cache flush, and a refresh can be a
conditional request. ``gadgets.specfetch`` is the only writer.
"""

from __future__ import annotations

from django.db import models


class GadgetSpec(models.Model):
    url = models.CharField(max_length=2048, unique=True)  # canonical spec URL
    xml = models.BinaryField()  # raw bytes: the declared encoding still applies
    checksum = models.CharField(max_length=64, blank=True)  # SHA-256 of xml
    fetched_at = models.DateTimeField()
    etag = models.CharField(max_length=512, blank=True)
    last_modified = models.CharField(max_length=128, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "gadget spec"

    def __str__(self) -> str:
        return self.url
