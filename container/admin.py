"""Admin for installed gadgets and the gallery operators curate."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from gadgets.errors import GadgetError

from . import home
from .models import GalleryEntry, InstalledGadget


@admin.register(InstalledGadget)
class InstalledGadgetAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "owner",
        "module_id",
        "column",
        "position",
        "is_minimised",
        "updated",
    ]
    list_filter = ["is_minimised", "column"]
    search_fields = ["title", "spec_url", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = ["created", "updated"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(GalleryEntry)
class GalleryEntryAdmin(admin.ModelAdmin):
    list_display = ["title", "author", "spec_url", "is_listed", "rank"]
    list_editable = ["is_listed", "rank"]
    list_filter = ["is_listed"]
    search_fields = ["title", "description", "author", "spec_url"]
    readonly_fields = ["created"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["fill_in_from_spec"]

    @admin.action(description="Fill in title, description, screenshot and author")
    def fill_in_from_spec(
        self, request: HttpRequest, queryset: QuerySet[GalleryEntry]
    ) -> None:
        done = 0
        for entry in queryset:
            try:
                home.fill_gallery_entry_from_spec(entry)
                done += 1
            except GadgetError as error:
                self.message_user(request, error.message, messages.ERROR)
        self.message_user(request, f"Filled in {done} gallery entries from specs.")
