"""FEED conversion: RSS 1.0, RSS 2.0 and Atom into Shindig's JSON shape."""

from __future__ import annotations

import calendar
import json
from pathlib import Path

import pytest

from gadgets.errors import MalformedFeed
from gadgets.feeds import feed_to_json
from gadgets.makerequest import parse_proxy_request, proxy_fetch
from gadgets.security_token import SecurityToken

FEED_URL = "https://news.example.com/feed"

RSS2 = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel>
  <title>Example news</title>
  <link>https://news.example.com/</link>
  <description>All the news</description>
  <image><url>https://news.example.com/logo.png</url><title>Logo</title>
    <link>https://news.example.com/</link></image>
  <item>
    <title>First</title><link>https://news.example.com/1</link>
    <description>&lt;b&gt;Hello&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;</description>
    <pubDate>Wed, 02 Oct 2002 13:00:00 GMT</pubDate>
    <author>desk@news.example.com</author>
    <media:content url="https://news.example.com/v.mp4" type="video/mp4"
      width="640" height="480"/>
    <media:thumbnail url="https://news.example.com/t.jpg" width="75" height="50"/>
  </item>
  <item><title>Second</title><link>https://news.example.com/2</link>
    <description>two</description></item>
  <item><title>Third</title><link>https://news.example.com/3</link></item>
  <item><title>Fourth</title><link>https://news.example.com/4</link></item>
</channel>
</rss>"""

RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.org/">
    <title>RDF site</title><link>https://rdf.example.org/</link>
    <description>An RSS 1.0 channel</description>
  </channel>
  <item rdf:about="https://rdf.example.org/a">
    <title>A</title><link>https://rdf.example.org/a</link>
    <description>About A</description>
    <dc:date>2002-10-02T10:00:00-05:00</dc:date>
    <dc:creator>Rita</dc:creator>
  </item>
</rdf:RDF>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom log</title><subtitle>Notes</subtitle>
  <link href="https://atom.example.net/"/>
  <author><name>Ann</name></author>
  <updated>2003-12-13T18:30:02Z</updated>
  <entry>
    <title>Entry one</title><link href="/one"/>
    <published>2003-12-01T00:00:00Z</published>
    <updated>2003-12-13T18:30:02Z</updated>
    <summary>short</summary>
    <content type="html">&lt;p&gt;full text&lt;/p&gt;</content>
  </entry>
  <entry><title>Entry two</title><link href="https://atom.example.net/two"/></entry>
</feed>"""


def ms(text: str) -> int:
    from email.utils import parsedate_to_datetime

    return calendar.timegm(parsedate_to_datetime(text).utctimetuple()) * 1000


def test_rss2_channel_fields() -> None:
    feed = feed_to_json(RSS2, num_entries=3, get_summaries=False, url=FEED_URL)

    assert feed["Title"] == "Example news"
    assert feed["URL"] == FEED_URL
    assert feed["Description"] == "All the news"
    assert feed["Link"] == "https://news.example.com/"
    assert feed["Author"] == "desk@news.example.com"
    assert feed["Image"] == {
        "URL": "https://news.example.com/logo.png",
        "Title": "Logo",
        "Link": "https://news.example.com/",
    }


def test_rss2_entries_are_limited_and_dated_in_milliseconds() -> None:
    feed = feed_to_json(RSS2, num_entries=3, get_summaries=False, url=FEED_URL)

    assert [e["Title"] for e in feed["Entry"]] == ["First", "Second", "Third"]
    first = feed["Entry"][0]
    assert first["Link"] == "https://news.example.com/1"
    assert first["Date"] == ms("Wed, 02 Oct 2002 13:00:00 GMT") == 1033563600000
    assert feed["Entry"][1]["Date"] == 0


def test_summaries_only_when_asked_and_sanitised() -> None:
    without = feed_to_json(RSS2, num_entries=2, get_summaries=False)
    with_summaries = feed_to_json(RSS2, num_entries=2, get_summaries=True)

    assert all("Summary" not in e for e in without["Entry"])
    assert with_summaries["Entry"][0]["Summary"] == "<b>Hello</b>"
    assert with_summaries["Entry"][1]["Summary"] == "two"


def test_media_rss_contents_and_thumbnail() -> None:
    feed = feed_to_json(RSS2, num_entries=2, get_summaries=False)

    assert feed["Entry"][0]["Media"] == {
        "Contents": [
            {
                "URL": "https://news.example.com/v.mp4",
                "Type": "video/mp4",
                "Width": 640,
                "Height": 480,
            }
        ],
        "Thumbnail": {
            "URL": "https://news.example.com/t.jpg",
            "Width": 75,
            "Height": 50,
        },
    }
    assert feed["Entry"][1]["Media"] == {}


def test_rss1_is_converted() -> None:
    feed = feed_to_json(RSS1, num_entries=3, get_summaries=True, url=FEED_URL)

    assert feed["Title"] == "RDF site"
    assert feed["Description"] == "An RSS 1.0 channel"
    assert feed["Author"] == "Rita"
    assert "Image" not in feed
    (entry,) = feed["Entry"]
    assert entry["Title"] == "A"
    assert entry["Link"] == "https://rdf.example.org/a"
    assert entry["Summary"] == "About A"
    assert entry["Date"] == 1033570800000


def test_atom_is_converted_with_content_over_summary_and_updated_date() -> None:
    feed = feed_to_json(ATOM, num_entries=1, get_summaries=True, url=FEED_URL)

    assert feed["Title"] == "Atom log"
    assert feed["Description"] == "Notes"
    assert feed["Link"] == "https://atom.example.net/"
    assert feed["Author"] == "Ann"
    (entry,) = feed["Entry"]
    assert entry["Summary"] == "<p>full text</p>"
    assert entry["Date"] == 1071340202000
    # Relative links resolve against the feed's own URL.
    assert entry["Link"] == "https://news.example.com/one"


@pytest.mark.parametrize(
    "body", [b"<html><body>Not a feed</body></html>", b'{"a": 1}', b"", b"plain words"]
)
def test_a_body_that_is_not_a_feed_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedFeed):
        feed_to_json(body, num_entries=3, get_summaries=False)


def test_a_body_naming_a_local_file_is_not_opened(tmp_path: Path) -> None:
    secret = tmp_path / "feed.xml"
    secret.write_bytes(RSS2)

    with pytest.raises(MalformedFeed):
        feed_to_json(str(secret).encode(), num_entries=3, get_summaries=False)


def test_external_entities_are_not_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><title>&x;</title><link>https://a.example/</link>'
        "<description>d</description></channel></rss>"
    ).encode()

    try:
        feed = feed_to_json(body, num_entries=3, get_summaries=True)
    except MalformedFeed:
        return
    assert "TOP-SECRET" not in json.dumps(feed)


# Through makeRequest -------------------------------------------------------

TOKEN = SecurityToken(
    owner="alice",
    viewer="alice",
    gadget_url="https://gadgets.example.com/g.xml",
    module_id=1,
    container="default",
    issued_at=0,
    expires_at=2**40,
)


async def test_feed_content_type_returns_the_feed_as_json_text(fake_upstream) -> None:
    fake_upstream.add(FEED_URL, RSS2, headers=[("content-type", "application/rss+xml")])
    req = parse_proxy_request(
        {"url": FEED_URL, "contentType": "FEED", "numEntries": "2", "getSummaries": "1"}
    )

    result = await proxy_fetch(req, TOKEN)

    assert result["rc"] == 200
    feed = json.loads(result["body"])
    assert feed["URL"] == FEED_URL
    assert [e["Title"] for e in feed["Entry"]] == ["First", "Second"]
    assert "Summary" in feed["Entry"][0]


async def test_a_non_feed_answer_is_rc_502_with_an_error_message(fake_upstream) -> None:
    fake_upstream.add(FEED_URL, "<html>oops</html>")
    req = parse_proxy_request({"url": FEED_URL, "contentType": "FEED"})

    result = await proxy_fetch(req, TOKEN)

    assert result["rc"] == 502
    assert json.loads(result["body"]) == {
        "ErrorMsg": "The remote server's answer is not an RSS or Atom feed."
    }


async def test_an_upstream_error_is_passed_on_unconverted(fake_upstream) -> None:
    fake_upstream.add(FEED_URL, "not here", status=404)
    req = parse_proxy_request({"url": FEED_URL, "contentType": "FEED"})

    result = await proxy_fetch(req, TOKEN)

    assert (result["rc"], result["body"]) == (404, "not here")
