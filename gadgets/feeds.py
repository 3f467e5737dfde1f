"""RSS and Atom feeds turned into the JSON object gadgets expect.

``gadgets.io.makeRequest`` with ``contentType=FEED`` (and the legacy
``_IG_FetchFeedAsJSON``) never sees the feed's XML: the server converts it
into one flat shape, whatever the dialect. For an RSS 2.0 channel with two
items, asked for one entry with summaries::

    {"Title": "Example news", "URL": "https://example.com/rss",
     "Description": "All the news", "Link": "https://example.com/",
     "Author": "desk@example.com",
     "Entry": [{"Title": "First", "Link": "https://example.com/1",
                "Summary": "<b>Hello</b>", "Date": 1764806400000,
                "Media": {}}]}

``Date`` is milliseconds since the epoch (the updated date, else the
published date, else 0). ``Summary`` is present only when asked for, and is
HTML that feedparser has sanitised, because gadgets commonly assign it to
``innerHTML``. ``Media`` carries Media RSS ``Contents`` and ``Thumbnail``
when the entry has them; it is always present (as ``{}`` otherwise) because
old gadgets read ``entry.Media.Contents`` without checking. ``Image`` is
present only when the feed names one.

feedparser is given a file object, never the bytes themselves: handed a
string or bytes it first tries them as a URL to fetch and then as a local
file name to open, so a hostile upstream answering ``/etc/passwd`` would
otherwise read a file on this server. Its XML parser does not resolve
external entities.
"""

from __future__ import annotations

import calendar
import io
import time
from typing import Any

import feedparser

from .errors import MalformedFeed


def feed_to_json(
    body: bytes,
    *,
    num_entries: int,
    get_summaries: bool,
    url: str = "",
    content_type: str = "",
) -> dict[str, Any]:
    """Convert an RSS 0.9x/1.0/2.0 or Atom document; ``MalformedFeed`` if not."""
    parsed = _parse(body, url, content_type)
    channel = parsed.feed
    entries = [_entry(item, get_summaries) for item in parsed.entries[:num_entries]]
    result: dict[str, Any] = {
        "Title": channel.get("title", ""),
        "URL": url,
        "Description": channel.get("subtitle", ""),
        "Link": channel.get("link", ""),
        "Author": _author(channel, parsed.entries),
        "Entry": entries,
    }
    image = _image(channel)
    if image:
        result["Image"] = image
    return result


def _parse(body: bytes, url: str, content_type: str) -> Any:
    headers = {"content-location": url, "content-type": content_type}
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    if not parsed.get("version"):
        raise MalformedFeed()
    return parsed


def _entry(item: Any, get_summaries: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "Title": item.get("title", ""),
        "Link": _entry_link(item),
    }
    if get_summaries:
        entry["Summary"] = _summary(item)
    entry["Date"] = _epoch_ms(_entry_date(item))
    entry["Media"] = _media(item)
    return entry


def _entry_date(item: Any) -> time.struct_time | None:
    # Read the dict directly: feedparser's own lookup of a missing
    # updated_parsed falls back to published_parsed with a warning.
    updated = dict.get(item, "updated_parsed")
    return updated or dict.get(item, "published_parsed")


def _entry_link(item: Any) -> str:
    link = item.get("link")
    if link:
        return str(link)
    links = item.get("links") or []
    return str(links[0].get("href", "")) if links else ""


def _summary(item: Any) -> str:
    # Atom <content> is the full text and wins over <summary>, as in Shindig.
    contents = item.get("content") or []
    if contents:
        return str(contents[0].get("value", ""))
    return str(item.get("summary", ""))


def _epoch_ms(moment: time.struct_time | None) -> int:
    # feedparser normalises every date it understands to UTC.
    return calendar.timegm(moment) * 1000 if moment else 0


def _author(channel: Any, items: list[Any]) -> str:
    author = channel.get("author")
    if not author and items:
        author = items[0].get("author")
    return str(author or "")


def _image(channel: Any) -> dict[str, str]:
    image = channel.get("image") or {}
    href = image.get("href") or image.get("url")
    if not href:
        return {}
    found = {"URL": href, "Title": image.get("title", ""), "Link": image.get("link")}
    return {key: str(value) for key, value in found.items() if value is not None}


def _media(item: Any) -> dict[str, Any]:
    media: dict[str, Any] = {}
    contents = [_media_item(c, with_type=True) for c in item.get("media_content", [])]
    contents = [c for c in contents if c]
    if contents:
        media["Contents"] = contents
    thumbnails = [_media_item(t) for t in item.get("media_thumbnail", [])]
    thumbnails = [t for t in thumbnails if t]
    if thumbnails:
        # Thumbnails come in order of importance; the first one is enough.
        media["Thumbnail"] = thumbnails[0]
    return media


def _media_item(raw: dict[str, str], *, with_type: bool = False) -> dict[str, Any]:
    if not raw.get("url"):
        return {}
    found: dict[str, Any] = {"URL": raw["url"]}
    if with_type and raw.get("type"):
        found["Type"] = raw["type"]
    for source, name in (("width", "Width"), ("height", "Height")):
        size = _whole_number(raw.get(source))
        if size is not None:
            found[name] = size
    return found


def _whole_number(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
