"""Web pages and feeds read into `Document`s for one run, each article read once.

`WebReader` puts the fetcher, trafilatura and feedparser together. It remembers every URL it
has read in this run, under its normalised spelling and its canonical one, so the same article
linked from two feeds, or under two URLs (tracking parameters, a redirect, a canonical link),
is fetched and indexed once; the second sighting is reported as a `Duplicate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from index.errors import SourceError
from index.feeds import FeedEntry, ParsedFeed, parse_feed
from index.fetching import Fetched, Fetcher
from index.types import Document
from index.urls import normalise_url
from index.webpages import article_from_html


class Duplicate(SourceError):
    """An article already read in this run under another URL or from another feed."""

    def __init__(self, url: str, of: str) -> None:
        super().__init__(url, "is linked twice; indexed once" if url.strip() == of
                         else f"is the same article as {of}, indexed once")
        self.of = of


@dataclass(frozen=True)
class FeedRead:
    """A feed fetch: `parsed` is None when the server said 304 (not modified)."""

    fetched: Fetched
    parsed: ParsedFeed | None


class WebReader:
    """Reads URLs for one indexing run; see the module docstring."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self._seen: dict[str, str] = {}  # normalised URL -> source id of the article

    def _known(self, url: str) -> str | None:
        try:
            return self._seen.get(normalise_url(url))
        except SourceError:
            return None

    def page(self, url: str, hints: dict[str, str | None] | None = None) -> Document:
        """One article page (robots.txt respected); a `SourceError` names the URL."""
        if (of := self._known(url)) is not None:
            raise Duplicate(url, of)
        fetched = self.fetcher.fetch(url, robots=True)
        if fetched.kind != "html":
            raise SourceError(url, "is a feed, not an article page")
        doc = article_from_html(fetched.content, fetched.final_url, hints=hints, requested=url)
        if doc.source in self._seen:
            raise Duplicate(url, doc.source)
        for u in (url, fetched.final_url, doc.source):
            self._seen.setdefault(normalise_url(u), doc.source)
        return doc

    def feed(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
             robots: bool = False) -> FeedRead:
        """Fetch and parse a feed, conditionally when validators are given."""
        fetched = self.fetcher.fetch(url, etag=etag, last_modified=last_modified, robots=robots)
        if fetched.not_modified:
            return FeedRead(fetched, None)
        return FeedRead(fetched, parse_feed(fetched.content, fetched.final_url))

    def entries(
        self, feed: ParsedFeed, entries: Iterable[FeedEntry] | None = None,
    ) -> list[tuple[FeedEntry, Document | SourceError]]:
        """Each entry's article, or why it has none (the rest are read all the same)."""
        out: list[tuple[FeedEntry, Document | SourceError]] = []
        for entry in feed.entries if entries is None else entries:
            if entry.link is None:
                out.append((entry, SourceError(feed.url, entry.problem or "entry has no link")))
                continue
            try:
                out.append((entry, self.page(entry.link, entry.hints(feed.title))))
            except SourceError as exc:
                out.append((entry, exc))
        return out

    def url(self, url: str) -> tuple[list[Document | SourceError], ParsedFeed | None]:
        """A URL given on the command line or in a chat: a page, or every entry of a feed."""
        fetched = self.fetcher.fetch(url, robots=True)
        if fetched.kind == "html":
            doc = article_from_html(fetched.content, fetched.final_url, requested=url)
            if doc.source in self._seen:
                return [Duplicate(url, doc.source)], None
            for u in (url, fetched.final_url, doc.source):
                self._seen.setdefault(normalise_url(u), doc.source)
            return [doc], None
        parsed = parse_feed(fetched.content, fetched.final_url)
        items: list[Document | SourceError] = [item for _, item in self.entries(parsed)]
        if parsed.problem is not None:
            items.append(parsed.problem)
        return items, parsed
