"""Usage of a gadget's OAuth services, for its developer.

Counts come from what the proxy records anyway: ``AccessToken`` rows
(people connected now), ``AuditEvent`` rows (tokens created, refreshed and
deleted) and ``OAuthTrace`` rows (failed exchanges). The proxy's refresh
and deletion events name only the token (the first 16 characters of its
key), so they are matched to a gadget through the ``token_created`` event
that named the same token. Nothing here reads a
secret or names a person. ``bar_chart`` lays the daily counts out as
rectangles so the page can draw an SVG without any script.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import AccessToken, AuditEvent, OAuthTrace

DEFAULT_DAYS = 14
RECENT_TRACES = 10
SERIES = ("created", "refreshed", "revoked", "errors")
_EVENT_SERIES = {
    "token_created": "created",
    "token_refreshed": "refreshed",
    "token_deleted": "revoked",
}


@dataclass
class DayCounts:
    day: datetime.date
    created: int = 0
    refreshed: int = 0
    revoked: int = 0
    errors: int = 0

    def get(self, series: str) -> int:
        return int(getattr(self, series))


@dataclass
class Usage:
    gadget_url: str
    service_name: str | None
    connected: int
    days: list[DayCounts]
    recent_traces: list[OAuthTrace] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        return {name: sum(day.get(name) for day in self.days) for name in SERIES}


def usage(
    gadget_url: str, service_name: str | None = None, *, days: int = DEFAULT_DAYS
) -> Usage:
    """Counts per day for the last ``days`` days, today included."""
    today = timezone.localdate()
    first = today - datetime.timedelta(days=days - 1)
    since = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    by_day = {
        first + datetime.timedelta(days=n): DayCounts(first + datetime.timedelta(n))
        for n in range(days)
    }
    created = _scoped(AuditEvent.objects, gadget_url, service_name).filter(
        kind="token_created"
    )
    events = AuditEvent.objects.filter(
        _scope(gadget_url, service_name)
        | Q(gadget_url="", target__in=created.values("target")),
        kind__in=_EVENT_SERIES,
        created_at__gte=since,
    )
    for row in _daily(events, "kind"):
        _add(by_day, row["day"], _EVENT_SERIES[row["kind"]], row["count"])
    traces = _scoped(OAuthTrace.objects, gadget_url, service_name)
    for row in _daily(traces.filter(created_at__gte=since), None):
        _add(by_day, row["day"], "errors", row["count"])
    connected = _scoped(AccessToken.objects, gadget_url, service_name).filter(
        revoked=False
    )
    return Usage(
        gadget_url=gadget_url,
        service_name=service_name,
        connected=connected.count(),
        days=list(by_day.values()),
        recent_traces=list(traces.order_by("-created_at", "-pk")[:RECENT_TRACES]),
    )


def _scope(gadget_url: str, service_name: str | None) -> Q:
    """Rows of one gadget, or of one of its services."""
    scope = Q(gadget_url=gadget_url)
    if service_name is not None:
        scope &= Q(service_name=service_name)
    return scope


def _scoped(manager: Any, gadget_url: str, service_name: str | None) -> QuerySet[Any]:
    return manager.filter(_scope(gadget_url, service_name))


def _daily(query: QuerySet[Any], by: str | None) -> QuerySet[Any]:
    fields = ["day", by] if by else ["day"]
    return (
        query.annotate(day=TruncDate("created_at"))
        .values(*fields)
        .annotate(count=Count("pk"))
        .order_by()
    )


def _add(
    by_day: dict[datetime.date, DayCounts], day: Any, series: str, count: int
) -> None:
    if isinstance(day, datetime.datetime):
        day = day.date()
    entry = by_day.get(day)
    if entry is not None:
        setattr(entry, series, entry.get(series) + count)


# --- The chart -------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    series: str
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    day_labels: list[tuple[int, str]]
    max_count: int


CHART_HEIGHT = 120
BAR_WIDTH = 6
GROUP_GAP = 8


def bar_chart(result: Usage) -> Chart:
    """Four bars per day (created, refreshed, revoked, errors), scaled."""
    top = max([day.get(name) for day in result.days for name in SERIES] + [1])
    group_width = BAR_WIDTH * len(SERIES) + GROUP_GAP
    bars: list[Bar] = []
    labels: list[tuple[int, str]] = []
    for index, day in enumerate(result.days):
        left = index * group_width
        labels.append((left, day.day.strftime("%d")))
        for offset, name in enumerate(SERIES):
            count = day.get(name)
            height = round(CHART_HEIGHT * count / top)
            bars.append(
                Bar(
                    x=left + offset * BAR_WIDTH,
                    y=CHART_HEIGHT - height,
                    width=BAR_WIDTH - 1,
                    height=height,
                    series=name,
                    label=f"{day.day.isoformat()}: {count} {name}",
                )
            )
    return Chart(
        width=max(group_width * len(result.days), 1),
        height=CHART_HEIGHT,
        bars=bars,
        day_labels=labels,
        max_count=top,
    )
