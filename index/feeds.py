"""RSS and Atom feeds read with feedparser: each entry's link, what it says about its article,
and a fingerprint that changes when the entry is edited.

feedparser reads every feed dialect (RSS 0.9x-2.0, RSS 1.0/RDF, Atom 0.3/1.0) and resolves
relative links against the feed's own URL. A feed that breaks off (truncated, or malformed
half-way) still gives the entries before the break; the break is reported, not hidden.
"""

from __future__ import annotations

import calendar
import hashlib
import time
import xml.sax
from dataclasses import dataclass
from datetime import UTC, datetime

import feedparser

from index.errors import SourceError
from index.urls import resolve_link


@dataclass(frozen=True)
class FeedEntry:
    """One entry; `link` is an absolute http(s) URL or None (then `problem` says why)."""

    key: str  # the entry's id (guid), else its link, else its title: stable across fetches
    fingerprint: str  # changes when the entry is edited (link, title, dates, summary)
    link: str | None
    title: str | None
    published: str | None  # YYYY-MM-DD
    author: str | None
    problem: str | None = None

    def hints(self, outlet: str | None) -> dict[str, str | None]:
        """What the entry says about its article, for the fields its page does not give."""
        return {"title": self.title, "published": self.published, "author": self.author,
                "outlet": outlet}


@dataclass(frozen=True)
class ParsedFeed:
    url: str
    title: str | None
    entries: list[FeedEntry]
    problem: SourceError | None = None  # the feed broke off: the entries before it are read


def _day(parsed: time.struct_time | None) -> str | None:
    if not parsed:
        return None
    stamp = calendar.timegm(parsed)
    return datetime.fromtimestamp(stamp, UTC).date().isoformat()


def _entry(n: int, e: feedparser.FeedParserDict, base: str) -> FeedEntry:
    raw_link = e.get("link")
    title = (e.get("title") or "").strip() or None
    link = resolve_link(raw_link, base)
    problem = None
    label = f"entry {n}" + (f" ({title!r})" if title else " (untitled)")
    if not raw_link:
        problem = f"{label} has no link"
    elif link is None:
        problem = f"{label} links to {raw_link!r}, which is not an http(s) page"
    parts = [raw_link or "", title or "", e.get("updated") or "", e.get("published") or "",
             e.get("summary") or ""]
    fingerprint = hashlib.sha1("\x00".join(parts).encode("utf-8")).hexdigest()[:16]
    return FeedEntry(
        key=str(e.get("id") or link or raw_link or title or f"#{n}"),
        fingerprint=fingerprint,
        link=link,
        title=title,
        published=_day(e.get("published_parsed") or e.get("updated_parsed")),
        author=(e.get("author") or "").strip() or None,
        problem=problem,
    )


def parse_feed(content: bytes, url: str) -> ParsedFeed:
    """Entries of an RSS or Atom document fetched from `url` (relative links resolved)."""
    parsed = feedparser.parse(content, response_headers={"content-location": url})
    broken = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if broken is not None and not isinstance(broken, xml.sax.SAXException):
        broken = None  # encoding or content-type remarks: the feed itself was read
    if not parsed.get("version") and not parsed.entries:
        why = f" ({broken.getMessage()})" if isinstance(broken, xml.sax.SAXParseException) else ""
        raise SourceError(url, f"is not an RSS or Atom feed: not well-formed XML{why}"
                          if broken is not None else "is not an RSS or Atom feed")
    entries = [_entry(n, e, url) for n, e in enumerate(parsed.entries, 1)]
    problem = None
    if broken is not None:
        what = broken.getMessage() if isinstance(broken, xml.sax.SAXParseException) else str(broken)
        problem = SourceError(
            url, f"is truncated or not well-formed XML ({what}); "
            f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} before the break were read",
        )
    title = (parsed.feed.get("title") or "").strip() or None
    return ParsedFeed(url, title, entries, problem)
