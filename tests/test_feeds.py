"""Following feeds end to end: the stand-in news site on 127.0.0.1, the real fetcher,
trafilatura, feedparser, Chroma and MiniLM; `newsbot feeds ...` and `newsbot index URL` as a
user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT, make_settings
from standins.news_site import (
    BRIDGE,
    DROUGHT,
    LAKE,
    SNOW_LEOPARDS,
    SOLAR,
    TRAM,
    Article,
    NewsSite,
    article_page,
)

from bot.errors import ConfigError
from bot.feeds import Feeds
from bot.service import Newsbot
from bot.settings import Settings
from index.errors import SourceError

BRIDGE_Q = "How much did the repair of the Harbour Bridge in Velmora cost?"


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with NewsSite(big_bytes=300_000) as s:
        yield s


def feed_settings(data: Path, **kw: Any) -> Settings:
    return make_settings(data, fetch_host_delay=0, max_file_mb=0.2, fetch_timeout=2, **kw)


@pytest.fixture
def feeds(tmp_path: Path) -> Iterator[Feeds]:
    bot = Newsbot(feed_settings(tmp_path / "data"))
    f = Feeds(bot)
    yield f
    f.close()
    bot.close()


class CountingEncoder:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.texts = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def embed(self, texts: list[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed(texts)


def verbatim(quote: str, article: Article) -> bool:
    """The quote is the page's own words: its headline or a span of one paragraph."""
    return any(quote in part for part in (article.title, *article.paragraphs))


def citations(bot: Newsbot, question: str, as_of: date | None = None) -> list[dict[str, Any]]:
    ans = bot.answerer.answer(question, as_of=as_of or date.today()).to_json()
    return ans["citations"]  # type: ignore[no-any-return]


def test_update_indexes_the_feeds_and_names_every_failure(site: NewsSite, feeds: Feeds) -> None:
    for path in ("/herald/rss.xml", "/courier/atom.xml", "/mixed/rss.xml", "/broken/truncated.xml"):
        feeds.add(site.url(path))
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        feeds.add(site.url("/broken/not-a-feed.xml"))
    with pytest.raises(ConfigError, match="already followed"):
        feeds.add(site.url("/herald/rss.xml?utm_source=twitter"))
    assert [f.name for f in feeds.followed()] == [
        "Velmora Herald", "Orvid Valley Courier", "Velmora Herald Live", "Velmora Herald"]

    report = feeds.update()
    assert [f.status for f in report.feeds] == ["read"] * 4 and report.exit_code == 0
    url = site.url
    assert set(report.index.added) == {url(a.path) for a in (BRIDGE, LAKE, TRAM, DROUGHT, SOLAR)} | {
        url("/mixed/2025/05/ferry-timetable.html")}
    failed = {e.source: e.reason for e in report.index.failed}
    expected = {
        url(LAKE.path) + "?utm_source=courier&utm_medium=atom&fbclid=x1": "same article as " + url(LAKE.path),
        url("/status/404"): "HTTP 404",
        url("/status/500"): "HTTP 500",
        url("/loop/a"): "redirects in a loop",
        url("/files/annual-report.pdf"): "PDF",
        url("/img/harbour.png"): "image",
        url("/herald/watch-fireworks.html"): "no article text",
        url("/herald/huge-liveblog.html"): "size limit",
        url("/go/ftp"): "not an http(s) URL",
        url("/private/staff-memo.html"): "robots.txt",
        url(BRIDGE.path): "linked twice",  # the truncated feed's first entry, read by the Herald's
    }
    for source, words in expected.items():
        assert words in failed[source], (source, failed.get(source))
    entry_problems = [e.reason for e in report.index.failed if e.source == url("/mixed/rss.xml")]
    assert any("has no link" in r for r in entry_problems)
    assert any("javascript:openPaywall()" in r for r in entry_problems)
    assert any("truncated" in e.reason for e in report.index.failed if e.source == url("/broken/truncated.xml"))

    listed = {f.url: f for f in feeds.followed()}
    assert listed[url("/mixed/rss.xml")].last_error and "(and " in listed[url("/mixed/rss.xml")].last_error
    assert "truncated" in (listed[url("/broken/truncated.xml")].last_error or "")
    assert listed[url("/herald/rss.xml")].last_error is None
    assert len(listed[url("/herald/rss.xml")].sources) == 3
    assert len(listed[url("/courier/atom.xml")].sources) == 3  # the syndicated lake story counts

    # Answers cite the fetched article with its outlet, date and link; as-of dates apply.
    cites = citations(feeds.bot, BRIDGE_Q)
    assert cites and cites[0]["url"] == url(BRIDGE.path) == cites[0]["source"]
    assert cites[0]["outlet"] == "Velmora Herald" and cites[0]["published"] == "2025-05-12"
    assert verbatim(cites[0]["quote"], BRIDGE)
    assert url(BRIDGE.path) not in {c["source"] for c in citations(feeds.bot, BRIDGE_Q, date(2025, 5, 11))}


def test_an_unchanged_feed_costs_one_conditional_request_and_no_embedding(
    site: NewsSite, feeds: Feeds
) -> None:
    for path in ("/herald/rss.xml", "/courier/atom.xml"):
        feeds.add(site.url(path))
    first = feeds.update()
    assert len(first.index.added) == 5
    counting = CountingEncoder(feeds.bot.store.encoder)
    feeds.bot.store.encoder = counting
    site.clear_requests()

    again = feeds.update()
    assert [f.status for f in again.feeds] == ["not modified", "not modified"]
    assert again.index.chunks_written == 0 and not again.index.changed and counting.texts == 0
    sent = site.requests
    assert sorted(r.path for r in sent) == ["/courier/atom.xml", "/herald/rss.xml"]
    assert all(r.status == 304 and r.headers.get("if-none-match") for r in sent)


def test_new_entries_are_added_and_edited_ones_replaced(site: NewsSite, feeds: Feeds) -> None:
    feeds.add(site.url("/herald/rss.xml"))
    assert len(feeds.update().index.added) == 3
    site.clear_requests()
    site.publish("herald", SNOW_LEOPARDS)
    report = feeds.update()
    assert report.index.added == [site.url(SNOW_LEOPARDS.path)]
    assert len(report.index.unchanged) == 3 and not report.index.updated
    # Only the new entry's page was fetched: known entries cost nothing (robots.txt is cached).
    assert sorted(r.path for r in site.requests) == sorted(["/herald/rss.xml", SNOW_LEOPARDS.path])
    cites = citations(feeds.bot, "What were the snow leopard cubs named?")
    assert cites and {c["source"] for c in cites} == {site.url(SNOW_LEOPARDS.path)}
    assert all(verbatim(c["quote"], SNOW_LEOPARDS) for c in cites)

    site.revise(TRAM, summary="Corrected: 16 new stops.", paragraphs=(
        "Velmora city council voted on Thursday to extend the number 4 tram line to the airport, "
        "a 9-kilometre route with 16 new stops, not 14 as first reported.",) + TRAM.paragraphs[1:])
    site.clear_requests()
    report = feeds.update()
    assert report.index.updated == [site.url(TRAM.path)] and not report.index.added
    assert [r.path for r in site.requests if r.path.endswith(".html")] == [TRAM.path]
    tram = [p.text for p in feeds.bot.searcher.search("tram line to the airport new stops", k=5)
            if p.source == site.url(TRAM.path)]
    assert tram and "16 new stops" in tram[0] and "with 14 new stops" not in " ".join(tram)


def test_passing_failures_are_retried_and_lasting_ones_are_not(site: NewsSite, feeds: Feeds) -> None:
    feeds.add(site.url("/mixed/rss.xml"))
    feeds.update()
    record = feeds.followed()[0]
    assert record.etag is None  # a 500 happened: the next update reads the feed again
    site.clear_requests()
    again = feeds.update()
    assert [e.source for e in again.index.failed] == [site.url("/status/500")]
    assert sorted(r.path for r in site.requests) == ["/mixed/rss.xml", "/status/500"]
    site.set_page("/status/500", article_page(DROUGHT, site.root))  # the server recovered
    fixed = feeds.update()
    assert fixed.index.added == [site.url(DROUGHT.path)] and not fixed.index.failed
    assert feeds.followed()[0].etag  # everything done: the feed's validators are kept now


def test_remove_and_forget_keeps_articles_another_feed_has(site: NewsSite, feeds: Feeds) -> None:
    feeds.add(site.url("/herald/rss.xml"))
    feeds.add(site.url("/courier/atom.xml"), name="The Courier")
    feeds.update()
    record, report = feeds.remove(site.url("/courier/atom.xml"), forget=True)
    assert record.name == "The Courier" and report is not None
    assert sorted(report.removed) == sorted([site.url(DROUGHT.path), site.url(SOLAR.path)])
    assert set(feeds.bot.store.documents()) == {site.url(a.path) for a in (BRIDGE, LAKE, TRAM)}
    assert [f.name for f in feeds.followed()] == ["Velmora Herald"]
    with pytest.raises(ConfigError, match="not a followed feed"):
        feeds.remove(site.url("/courier/atom.xml"))
    feeds.remove(site.url("/herald/rss.xml"))  # without --forget the articles stay
    assert len(feeds.bot.store.documents()) == 3 and feeds.followed() == []


def run(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(NEWSBOT_DATA_DIR=str(data), NEWSBOT_FETCH_HOST_DELAY="0", NEWSBOT_MAX_FILE_MB="0.2")
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def test_the_command_line(site: NewsSite, tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = run(data, "feeds", "add", site.url("/herald/rss.xml"), "--name", "Herald")
    assert out.returncode == 0 and "Following Herald" in out.stdout, out.stderr
    out = run(data, "feeds", "add", site.url("/broken/not-a-feed.xml"))
    assert out.returncode == 1 and "not an RSS or Atom feed" in out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr

    out = run(data, "feeds", "update", "--json")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["added"]) == 3
    site.clear_requests()
    out = run(data, "feeds", "update", "--json")  # what cron runs: nothing to do costs nothing
    rep = json.loads(out.stdout)
    assert out.returncode == 0 and rep["chunks_written"] == 0 and rep["feeds"][0]["status"] == "not modified"
    assert [(r.path, r.status) for r in site.requests] == [("/herald/rss.xml", 304)]
    assert site.requests[0].headers["if-none-match"]

    out = run(data, "feeds", "list")
    assert "Herald" in out.stdout and "3 articles" in out.stdout and "last fetched 20" in out.stdout

    # `newsbot index URL`: a page (tracking parameters dropped), a feed's every entry, bad URLs.
    out = run(data, "index", "--json", site.url(SNOW_LEOPARDS.path) + "?utm_source=chat",
              site.url("/courier/atom.xml"), "ftp://127.0.0.1/x", site.url("/files/annual-report.pdf"))
    rep = json.loads(out.stdout)
    assert out.returncode == 0, out.stderr
    assert set(rep["added"]) == {site.url(a.path) for a in (SNOW_LEOPARDS, DROUGHT, SOLAR)}
    assert rep["unchanged"] == [site.url(LAKE.path)]
    reasons = {f["source"]: f["reason"] for f in rep["failed"]}
    assert "only http:// and https://" in reasons["ftp://127.0.0.1/x"]
    assert "PDF" in reasons[site.url("/files/annual-report.pdf")]

    # A feed that cannot be fetched makes `feeds update` exit 1, so cron reports it.
    run(data, "feeds", "add", site.url("/courier/atom.xml"))
    site.set("/courier/atom.xml", b"gone", "text/html", status=503)
    out = run(data, "feeds", "update")
    assert out.returncode == 1 and "HTTP 503" in out.stdout and "Herald: not modified" in out.stdout
    out = run(data, "feeds", "remove", site.url("/courier/atom.xml"), "--forget")
    assert out.returncode == 0 and "No longer following" in out.stdout
    assert "removed" in out.stdout and site.url(LAKE.path) not in out.stdout.split("removed", 1)[1]
