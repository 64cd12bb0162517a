"""Article text and metadata from news pages (real trafilatura), entries from feeds (real
feedparser), over the stand-in site's pages: the article is kept, the page around it is not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from standins.news_site import (
    BRIDGE,
    DROUGHT,
    LAKE,
    NO_TEXT_PAGE,
    SOLAR,
    NewsSite,
    article_page,
)

from index.chunking import chunk_document
from index.errors import SourceError
from index.feeds import parse_feed
from index.fetching import Fetcher, FetchPolicy
from index.web import Duplicate, WebReader
from index.webpages import article_from_html

ROOT = "https://velmora-herald.example"


def test_article_text_and_metadata_from_a_news_page() -> None:
    page = article_page(BRIDGE, ROOT)
    doc = article_from_html(page.encode(), f"{ROOT}{BRIDGE.path}?utm_source=rss&utm_medium=feed")
    assert doc.source == f"{ROOT}{BRIDGE.path}"  # the canonical link, without tracking parameters
    meta = doc.meta
    assert meta.title == BRIDGE.title and meta.outlet == "Velmora Herald"
    assert meta.author == "Marta Quell" and meta.published == "2025-05-12" and meta.url == doc.source
    for paragraph in BRIDGE.paragraphs:
        assert paragraph in doc.text
    for furniture in ("cookie", "Accept all", "Subscribe", "Sign up", "Related stories",
                      "Most read", "All rights reserved", "Share on", "Photo:", "Velmora FC"):
        assert furniture not in doc.text, furniture
    # Offsets work as for files: every chunk and sentence is a verbatim span of the text.
    for chunk in chunk_document(doc, 160):
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert all(doc.text[a:b].strip() for a, b in chunk.sentences)


def test_feed_dates_win_and_fill_what_the_page_lacks() -> None:
    bare = article_page(LAKE, ROOT, canonical=False).replace("Tomas Brekke", "")
    doc = article_from_html(bare.encode(), f"{ROOT}/syndicated/lake.html",
                            hints={"published": "2025-05-15", "author": "Wire staff", "title": "x"})
    assert doc.meta.published == "2025-05-15" and doc.meta.title == LAKE.title
    assert doc.source == f"{ROOT}{LAKE.path}"  # og:url is read as the canonical URL too


def test_a_canonical_link_to_another_site_is_ignored() -> None:
    page = article_page(BRIDGE, "https://elsewhere.example")
    doc = article_from_html(page.encode(), f"{ROOT}/copy/bridge.html")
    assert doc.source == f"{ROOT}/copy/bridge.html"


def test_a_page_without_an_article_is_refused() -> None:
    with pytest.raises(SourceError, match="no article text") as info:
        article_from_html(NO_TEXT_PAGE.encode(), f"{ROOT}/watch", requested=f"{ROOT}/watch?x=1")
    assert info.value.source == f"{ROOT}/watch?x=1"


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    with NewsSite(big_bytes=300_000) as s:
        yield s


def fetched(site: NewsSite, path: str) -> bytes:
    with Fetcher(FetchPolicy(host_delay=0)) as f:
        return f.fetch(site.url(path), robots=False).content


def test_rss_and_atom_entries(site: NewsSite) -> None:
    rss = parse_feed(fetched(site, "/herald/rss.xml"), site.url("/herald/rss.xml"))
    assert rss.title == "Velmora Herald" and rss.problem is None
    assert [e.link for e in rss.entries] == [site.url(a.path) for a in (BRIDGE, LAKE)] + [
        site.url("/herald/2025/05/tram-line-airport.html")]
    assert rss.entries[0].published == "2025-05-12" and rss.entries[0].title == BRIDGE.title
    atom = parse_feed(fetched(site, "/courier/atom.xml"), site.url("/courier/atom.xml"))
    assert atom.title == "Orvid Valley Courier"
    links = [e.link for e in atom.entries]
    assert links[0] == site.url(DROUGHT.path)
    assert links[1] == site.url(SOLAR.path)  # written relative in the feed
    assert all(e.key.startswith("urn:courier:") for e in atom.entries)


def test_entries_without_a_usable_link_are_named(site: NewsSite) -> None:
    feed = parse_feed(fetched(site, "/mixed/rss.xml"), site.url("/mixed/rss.xml"))
    problems = {e.title: e.problem for e in feed.entries if e.problem}
    assert problems == {
        "Briefing: what we know so far": "entry 2 ('Briefing: what we know so far') has no link",
        "Members only": "entry 10 ('Members only') links to 'javascript:openPaywall()', "
                        "which is not an http(s) page",
    }


def test_a_truncated_feed_keeps_its_first_entries(site: NewsSite) -> None:
    feed = parse_feed(fetched(site, "/broken/truncated.xml"), site.url("/broken/truncated.xml"))
    assert feed.entries[0].link == site.url(BRIDGE.path)
    assert feed.problem is not None and "truncated" in feed.problem.reason
    assert feed.problem.source == site.url("/broken/truncated.xml")


def test_a_feed_that_is_not_xml_is_refused(site: NewsSite) -> None:
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        parse_feed(fetched(site, "/broken/not-a-feed.xml"), site.url("/broken/not-a-feed.xml"))
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        parse_feed(article_page(BRIDGE, site.root).encode(), site.url("/x"))


def test_one_article_under_several_urls_is_read_once(site: NewsSite) -> None:
    with Fetcher(FetchPolicy(host_delay=0)) as f:
        reader = WebReader(f)
        first = reader.page(site.url(BRIDGE.path) + "?utm_source=newsletter")
        assert first.source == site.url(BRIDGE.path)
        site.clear_requests()
        for again in (site.url(BRIDGE.path) + "#comments", site.url("/go/bridge")):
            with pytest.raises(Duplicate) as info:
                reader.page(again)
            assert info.value.of == first.source and info.value.source == again
        # The tracking-parameter spelling is known without a request; the redirect is not.
        assert [r.path for r in site.requests] == ["/go/bridge", BRIDGE.path]
