"""Following feeds and taking links: the operations behind `newsbot feeds ...`, `newsbot index
URL` and the Telegram commands, and the report they print.

An update fetches each feed once, conditionally. A 304 costs nothing more. Otherwise each entry
is compared with what the registry remembers: an entry seen before with the same fingerprint,
whose article is still in the index, is not fetched again; new and edited entries are fetched,
read and indexed (`Newsbot.index_documents`: unchanged content is skipped, changed content
replaced, with commit points). Only then are the feed's validators and entry fingerprints
saved, feed by feed: a `kill -9` at any moment leaves the index answering from what was
committed, and the next update, finding the old validators, fetches the feed again and
finishes the job. After a failure for a passing reason (timeout, 5xx) the feed's new
validators are not kept and the entry is marked for retry, so the next update tries it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bot.errors import ConfigError
from bot.feed_registry import EntryState, FeedRecord, FeedRegistry, feed_key, now_iso
from bot.service import Newsbot
from bot.settings import Settings
from index.errors import SourceError
from index.fetching import Fetcher, FetchPolicy, TransientError
from index.types import Document, IndexReport
from index.urls import check_web_url
from index.web import Duplicate, WebReader

Progress = Callable[[str], None]


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy(
        timeout=settings.fetch_timeout, max_bytes=settings.max_bytes,
        user_agent=settings.fetch_user_agent, host_delay=settings.fetch_host_delay,
        max_redirects=settings.fetch_max_redirects,
    )


def registry(settings: Settings) -> FeedRegistry:
    return FeedRegistry(settings.data_dir)


@dataclass
class FeedOutcome:
    """What one update did with one feed."""

    url: str
    name: str
    status: str  # "not modified", "read", "failed"
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    error: str | None = None

    def line(self) -> str:
        if self.status == "failed":
            return f"{self.name}: failed: {self.error}"
        if self.status == "not modified":
            return f"{self.name}: not modified"
        line = (f"{self.name}: {self.new} new, {self.updated} updated, {self.unchanged} unchanged"
                + (f", {self.skipped} skipped" if self.skipped else ""))
        return line + (f" ({self.error})" if self.error else "")


@dataclass
class FeedsReport:
    """An update of every feed: one line per feed, then the indexing report of all of them."""

    feeds: list[FeedOutcome] = field(default_factory=list)
    index: IndexReport = field(default_factory=IndexReport)

    @property
    def failed_feeds(self) -> list[FeedOutcome]:
        return [f for f in self.feeds if f.status == "failed"]

    @property
    def exit_code(self) -> int:
        """For cron: 1 when a feed could not be read at all; problems with entries are reported."""
        return 1 if self.failed_feeds else 0

    def text(self) -> str:
        from bot.render import report_text

        if not self.feeds:
            return "No feeds to update. Add one with: newsbot feeds add URL"
        return "\n".join([*(f"Feed {f.line()}" for f in self.feeds), report_text(self.index)])

    def to_json(self) -> dict[str, object]:
        return {"feeds": [vars(f) for f in self.feeds], **self.index.to_json()}


def merge_reports(into: IndexReport, other: IndexReport) -> None:
    into.added += other.added
    into.updated += other.updated
    into.unchanged += other.unchanged
    into.removed += other.removed
    into.failed += other.failed
    into.chunks_written += other.chunks_written


class Feeds:
    """The feed registry of one data folder and the indexing of what its feeds link to."""

    def __init__(self, bot: Newsbot, fetcher: Fetcher | None = None,
                 settings: Settings | None = None) -> None:
        self.bot = bot
        self.settings = settings or bot.settings
        self.registry = registry(self.settings)
        self._fetcher = fetcher

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(fetch_policy(self.settings))
        return self._fetcher

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()
            self._fetcher = None

    # ---- the registry ----------------------------------------------------------------------
    def add(self, url: str, name: str | None = None) -> FeedRecord:
        """Follow a feed. It is fetched once to check it is a feed; its entries are indexed by
        the next update (its validators are not kept: nothing of it is indexed yet)."""
        url = check_web_url(url)
        if self.registry.get(url) is not None:
            raise ConfigError(f"{url} is already followed (see `newsbot feeds list`)")
        read = WebReader(self.fetcher).feed(url)
        assert read.parsed is not None  # no validators were sent, so no 304
        record = FeedRecord(url=url, name=(name or read.parsed.title or url).strip())
        with self.registry.editing() as feeds:
            if record.key in feeds:
                raise ConfigError(f"{url} is already followed (see `newsbot feeds list`)")
            feeds[record.key] = record
        return record

    def followed(self) -> list[FeedRecord]:
        return self.registry.feeds()

    def remove(self, url: str, *, forget: bool = False) -> tuple[FeedRecord, IndexReport | None]:
        """Stop following a feed; with `forget`, also remove its articles that no other feed has."""
        key = feed_key(url)
        with self.registry.editing() as feeds:
            record = feeds.pop(key, None)
            others = set().union(*(f.sources for f in feeds.values()))
        if record is None:
            raise ConfigError(f"{url.strip()} is not a followed feed (see `newsbot feeds list`)")
        if not forget:
            return record, None
        mine = sorted(record.sources - others)
        if not mine:
            return record, IndexReport()
        indexed = set(self.bot.store.documents())
        return record, self.bot.forget([s for s in mine if s in indexed])

    # ---- updating --------------------------------------------------------------------------
    def update(self, urls: Iterable[str] | None = None, progress: Progress | None = None) -> FeedsReport:
        """Fetch every feed (or the given ones) once and index what is new or changed."""
        t0 = time.perf_counter()
        records = self.registry.feeds()
        if urls is not None:
            wanted = {feed_key(u) for u in urls}
            records = [r for r in records if r.key in wanted]
        report = FeedsReport()
        reader = WebReader(self.fetcher)
        indexed: set[str] | None = None
        for record in records:
            if indexed is None:
                indexed = set(self.bot.store.documents())
            outcome = self._update_one(record, reader, indexed, report.index)
            report.feeds.append(outcome)
            if progress:
                progress(outcome.line())
        report.index.seconds = time.perf_counter() - t0
        return report

    def _update_one(self, record: FeedRecord, reader: WebReader, indexed: set[str],
                    total: IndexReport) -> FeedOutcome:
        outcome = FeedOutcome(record.url, record.name, "read")
        # A remembered article missing from the index (a rebuild, a `forget`): fetch it all again.
        complete = record.sources <= indexed
        try:
            read = reader.feed(record.url, etag=record.etag if complete else None,
                               last_modified=record.last_modified if complete else None)
        except SourceError as exc:
            record.fetch_error = exc.reason
            self.registry.save(record)
            total.failed.append(exc)
            outcome.status, outcome.error = "failed", exc.reason
            return outcome
        if read.parsed is None:  # 304: nothing changed since the last complete update
            record.last_fetched, record.fetch_error = now_iso(), None
            self.registry.save(record)
            outcome.status = "not modified"
            return outcome

        feed = read.parsed
        todo, known = [], []
        for entry in feed.entries:
            state = record.entries.get(entry.key)
            if (state is not None and state.fingerprint == entry.fingerprint and not state.retry
                    and (state.source is None or state.source in indexed)):
                known.append((entry, state))
            else:
                todo.append(entry)
        results = reader.entries(feed, todo)

        docs: list[Document | SourceError] = [item for _, item in results
                                              if not isinstance(item, SourceError)]
        problems = [item for _, item in results if isinstance(item, SourceError)]
        if feed.problem is not None:
            problems.append(feed.problem)
        part = self.bot.index_documents(docs) if docs else IndexReport()
        part.unchanged += [s.source for _, s in known if s.source]
        part.failed += problems
        merge_reports(total, part)
        indexed.update(part.added + part.updated + part.unchanged)

        # Only now, with the articles committed, is the feed's new state remembered.
        transient = False
        for entry, item in results:
            if isinstance(item, Duplicate):
                record.entries[entry.key] = EntryState(entry.fingerprint, source=item.of)
            elif isinstance(item, TransientError):
                transient = True
                record.entries[entry.key] = EntryState(entry.fingerprint, error=str(item), retry=True)
            elif isinstance(item, SourceError):
                record.entries[entry.key] = EntryState(entry.fingerprint, error=str(item))
            elif item.source in indexed:
                record.entries[entry.key] = EntryState(entry.fingerprint, source=item.source)
            else:  # refused by the indexer (it says why in the report): try again next time
                transient = True
        if not transient:
            record.etag, record.last_modified = read.fetched.etag, read.fetched.last_modified
        record.last_fetched, record.fetch_error = now_iso(), None
        record.problem = str(feed.problem.reason) if feed.problem else None
        record.current = [e.key for e in feed.entries]
        self.registry.save(record)

        outcome.new, outcome.updated = len(part.added), len(part.updated)
        outcome.unchanged, outcome.skipped = len(part.unchanged), len(problems)
        outcome.error = record.problem
        return outcome

    # ---- links -----------------------------------------------------------------------------
    def index_urls(self, urls: list[str]) -> IndexReport:
        """Index web pages, or every entry of a feed URL, without following the feed."""
        t0 = time.perf_counter()
        reader = WebReader(self.fetcher)
        items: list[Document | SourceError] = []
        for url in urls:
            try:
                found, _ = reader.url(url)
                items += found
            except SourceError as exc:
                items.append(exc)
        docs = [i for i in items if not isinstance(i, SourceError)]
        report = self.bot.index_documents(items) if docs else IndexReport(
            failed=[i for i in items if isinstance(i, SourceError)])
        report.seconds = time.perf_counter() - t0
        return report


__all__ = ["FeedOutcome", "Feeds", "FeedsReport", "fetch_policy", "merge_reports", "registry"]
