from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import GadgetSpec


@admin.register(GadgetSpec)
class GadgetSpecAdmin(admin.ModelAdmin):
    """Inspect cached specs; deleting one makes the next render refetch."""

    list_display = ("url", "fetched_at", "last_error_at", "checksum")
    search_fields = ("url",)
    list_filter = ("last_error_at",)
    fields = (
        "url",
        "fetched_at",
        "etag",
        "last_modified",
        "checksum",
        "last_error",
        "last_error_at",
        "xml_text",
    )
    readonly_fields = fields

    @admin.display(description="XML")
    def xml_text(self, spec: GadgetSpec) -> str:
        return bytes(spec.xml).decode("utf-8", "replace")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: GadgetSpec | None = None
    ) -> bool:
        return False
