"""The polite fetcher against a real HTTP server on 127.0.0.1: what it sends, what it refuses,
and that every failure is one line naming the URL."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from standins.news_site import BRIDGE, NewsSite

from index.errors import SourceError
from index.fetching import DEFAULT_USER_AGENT, Fetcher, FetchPolicy, TransientError
from index.urls import check_web_url, looks_like_url, normalise_url, resolve_link


@pytest.fixture(scope="module")
def site() -> Iterator[NewsSite]:
    with NewsSite(big_bytes=300_000, slow_seconds=2.0) as s:
        yield s


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(FetchPolicy(timeout=0.5, max_bytes=200_000, host_delay=0)) as f:
        yield f


def failure(fetcher: Fetcher, url: str, **kw: object) -> SourceError:
    with pytest.raises(SourceError) as info:
        fetcher.fetch(url, **kw)  # type: ignore[arg-type]
    err = info.value
    assert err.source == url and "\n" not in str(err)
    return err


def test_a_page_is_fetched_with_a_user_agent_naming_newsbot(site: NewsSite, fetcher: Fetcher) -> None:
    site.clear_requests()
    got = fetcher.fetch(site.url(BRIDGE.path))
    assert got.status == 200 and got.kind == "html" and b"Harbour Bridge" in got.content
    assert got.etag and got.last_modified
    page = site.requests_to(BRIDGE.path)[-1]
    assert page.headers["user-agent"] == DEFAULT_USER_AGENT and "newsbot" in DEFAULT_USER_AGENT


def test_conditional_requests_get_304(site: NewsSite, fetcher: Fetcher) -> None:
    first = fetcher.fetch(site.url("/herald/rss.xml"), robots=False)
    assert first.kind == "feed" and first.etag
    again = fetcher.fetch(site.url("/herald/rss.xml"), etag=first.etag, robots=False)
    assert again.not_modified and again.content == b""
    by_date = fetcher.fetch(site.url("/herald/rss.xml"), last_modified=first.last_modified, robots=False)
    assert by_date.not_modified
    sent = site.requests_to("/herald/rss.xml")[-2:]
    assert sent[0].headers["if-none-match"] == first.etag
    assert sent[1].headers["if-modified-since"] == first.last_modified


def test_robots_txt_is_respected_and_read_once_per_host(site: NewsSite) -> None:
    site.clear_requests()
    with Fetcher(FetchPolicy(host_delay=0)) as f:
        err = failure(f, site.url("/private/staff-memo.html"))
        assert "robots.txt" in err.reason
        f.fetch(site.url(BRIDGE.path))
        f.fetch(site.url("/courier/2025/05/farmers-drought-losses.html"))
        f.fetch(site.url("/herald/rss.xml"), robots=False)  # feeds are published to be polled
    assert len(site.requests_to("/robots.txt")) == 1
    assert not site.requests_to("/private/staff-memo.html")


def test_requests_to_one_host_are_spaced(site: NewsSite) -> None:
    with Fetcher(FetchPolicy(host_delay=0.3)) as f:
        t0 = time.monotonic()
        for _ in range(3):
            f.fetch(site.url("/herald/rss.xml"), robots=False)
        assert time.monotonic() - t0 >= 0.6


def test_redirects_are_followed_by_hand(site: NewsSite, fetcher: Fetcher) -> None:
    got = fetcher.fetch(site.url("/go/bridge"))
    assert got.final_url == site.url(BRIDGE.path) and got.url == site.url("/go/bridge")
    assert "loop" in failure(fetcher, site.url("/loop/a")).reason
    ftp = failure(fetcher, site.url("/go/ftp")).reason
    assert "ftp://" in ftp and "not followed" in ftp
    with Fetcher(FetchPolicy(host_delay=0, max_redirects=0)) as strict:
        assert "more than 0 times" in failure(strict, site.url("/go/bridge")).reason


@pytest.mark.parametrize(("path", "words"), [
    ("/status/404", "HTTP 404"),
    ("/status/500", "HTTP 500"),
    ("/files/annual-report.pdf", "PDF"),
    ("/img/harbour.png", "image"),
    ("/herald/huge-liveblog.html", "size limit"),  # declared Content-Length
    ("/herald/huge-stream.html", "size limit"),  # no length: counted while reading
    ("/herald/slow.html", "did not answer within 0.5 s"),
    ("/broken/feed.json", "application/json"),
])
def test_failures_name_the_url(site: NewsSite, fetcher: Fetcher, path: str, words: str) -> None:
    assert words in failure(fetcher, site.url(path)).reason


def test_passing_failures_are_marked_for_retry(site: NewsSite, fetcher: Fetcher) -> None:
    assert isinstance(failure(fetcher, site.url("/status/500")), TransientError)
    assert isinstance(failure(fetcher, site.url("/herald/slow.html")), TransientError)
    assert not isinstance(failure(fetcher, site.url("/status/404")), TransientError)


def test_unreachable_host_and_other_schemes(fetcher: Fetcher) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = failure(fetcher, f"http://127.0.0.1:{port}/news")
    assert "cannot be reached" in err.reason and isinstance(err, TransientError)
    for url in ("ftp://127.0.0.1/pub/a.txt", "file:///etc/passwd", "javascript:alert(1)"):
        assert "only http:// and https://" in failure(fetcher, url).reason
    assert "not an absolute URL" in failure(fetcher, "/relative/path").reason


def test_urls_are_normalised_to_one_source() -> None:
    same = [
        "https://Example.org/news/story?id=7&lang=en",
        "https://example.org:443/news/story?lang=en&id=7&utm_source=rss&utm_medium=feed",
        "https://example.org/news/story?id=7&lang=en&fbclid=abc#comments",
        "https://example.org/news/story?gclid=1&id=7&lang=en&mc_cid=9",
    ]
    assert {normalise_url(u) for u in same} == {"https://example.org/news/story?id=7&lang=en"}
    assert resolve_link("2025/05/a.html", "https://example.org/feeds/atom.xml") == \
        "https://example.org/feeds/2025/05/a.html"
    assert resolve_link("/a.html", "https://example.org/feeds/atom.xml") == "https://example.org/a.html"
    assert resolve_link("javascript:void(0)", "https://example.org/feed") is None
    assert resolve_link("", "https://example.org/feed") is None
    assert looks_like_url("https://x.org/a") and not looks_like_url("articles/a.txt")
    with pytest.raises(SourceError):
        check_web_url("mailto:news@example.org")


@pytest.mark.parametrize(("status", "outcome"), [(404, "allowed"), (403, "refused"), (503, "retry")])
def test_robots_txt_answers_are_read_as_urllib_robotparser_does(status: int, outcome: str) -> None:
    with NewsSite() as own, Fetcher(FetchPolicy(host_delay=0)) as f:
        own.set("/robots.txt", b"nope", "text/plain", status=status)
        url = own.url(BRIDGE.path)
        if outcome == "allowed":  # no robots.txt: no rules
            assert f.fetch(url).status == 200
            return
        err = failure(f, url)
        assert isinstance(err, TransientError) == (outcome == "retry")
        assert "robots.txt" in err.reason and not own.requests_to(BRIDGE.path)
