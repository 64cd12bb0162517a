"""A stand-in news website served over real HTTP on 127.0.0.1, for the fetcher and feed tests.

Why: fetching, extraction and feed following are only worth testing against real HTTP (status
codes, redirects, conditional requests, content types, sizes, timeouts) and real-looking pages.
Two made-up outlets publish made-up articles (the Velmora Herald, an RSS feed; the Orvid Valley
Courier, an Atom feed); every page has what real news pages have around the article: a nav bar,
a cookie banner, share buttons, a newsletter box, related links, a footer, JSON-LD metadata and a
canonical link. Around them, the failure cases: a 404, a 500, a redirect loop, a redirect to
ftp:, a PDF, an image, a page over the size limit, a page with no article text, a slow page, a
truncated feed, a feed that is not XML, and a path robots.txt disallows.

    with NewsSite() as site:
        site.url("/herald/rss.xml")
        site.publish("herald", SNOW_LEOPARDS)     # a new entry in the Herald's feed
        site.requests_to("/herald/rss.xml")       # what the fetcher sent (headers included)

Feeds and pages answer conditional requests (ETag / If-None-Match, Last-Modified /
If-Modified-Since) with 304, as a real server does.
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

__all__ = ["ARTICLES", "SNOW_LEOPARDS", "Article", "NewsSite", "Request"]


@dataclass(frozen=True)
class Article:
    outlet: str  # "herald" or "courier"
    slug: str
    title: str
    author: str
    published: str  # YYYY-MM-DD
    paragraphs: tuple[str, ...]
    summary: str = ""

    @property
    def path(self) -> str:
        return f"/{self.outlet}/{self.published[:4]}/{self.published[5:7]}/{self.slug}.html"


OUTLETS = {
    "herald": ("Velmora Herald", "/herald/rss.xml"),
    "courier": ("Orvid Valley Courier", "/courier/atom.xml"),
    "mixed": ("Velmora Herald Live", "/mixed/rss.xml"),
}

BRIDGE = Article(
    "herald", "harbour-bridge-reopens", "Velmora's Harbour Bridge Reopens After Two-Year Repair",
    "Marta Quell", "2025-05-12", (
        "The Harbour Bridge in Velmora reopened to traffic on Monday after a two-year repair "
        "that cost 48 million krona, the city's transport office said.",
        "Mayor Ines Dalgaard cut a ribbon at the southern end of the bridge and said the "
        "crossing would carry about 30,000 vehicles a day once the approach roads were finished.",
        "Engineers replaced all 212 steel cables and rebuilt the deck, which had been closed to "
        "lorries since cracks were found in its supports in the spring of 2023.",
        "Commuters who had used the ferry during the closure said their journeys to the old town "
        "would be twenty minutes shorter.",
    ),
    "The bridge reopened on Monday after a two-year repair.",
)
LAKE = Article(
    "herald", "lake-orvid-record-low", "Lake Orvid Falls to Its Lowest Level in Sixty Years",
    "Tomas Brekke", "2025-05-14", (
        "The water level of Lake Orvid has fallen 3.2 metres below its long-term average, the "
        "lowest reading in sixty years, the regional water authority said on Wednesday.",
        "Hydrologist Sanna Wik said a dry winter and an early spring thaw had left the lake's "
        "feeder rivers at a third of their usual flow.",
        "Boat owners at the Orvid marina have been told to move their craft to deeper moorings "
        "before the end of the month.",
        "The authority asked households in the valley to water gardens only after sunset.",
    ),
    "Lake Orvid is 3.2 metres below average.",
)
TRAM = Article(
    "herald", "tram-line-airport", "Velmora Council Approves Tram Line to the Airport",
    "Elin Rask", "2025-05-15", (
        "Velmora city council voted on Thursday to extend the number 4 tram line to the airport, "
        "a 9-kilometre route with 14 new stops.",
        "Councillor Aron Hedqvist said construction would begin next spring and the first trams "
        "would reach the airport terminal in 2028.",
        "The extension is expected to cost 2.1 billion krona, two thirds of which will come from "
        "the national infrastructure fund.",
    ),
    "A 9-kilometre extension with 14 new stops.",
)
SNOW_LEOPARDS = Article(
    "herald", "zoo-snow-leopard-twins", "Twin Snow Leopard Cubs Born at Velmora Zoo",
    "Marta Quell", "2025-05-18", (
        "Two snow leopard cubs were born at Velmora Zoo, the first twins of the species in the "
        "zoo's 90-year history, head keeper Jonas Lind announced on Sunday.",
        "The cubs, a male and a female, have been named Frost and Birch by a public vote that "
        "drew more than 12,000 entries.",
        "Visitors will be able to see the cubs from the end of July, when they leave the den.",
    ),
    "The zoo's first snow leopard twins.",
)
DROUGHT = Article(
    "courier", "farmers-drought-losses", "Orvid Valley Farmers Warn of Drought Losses",
    "Hanna Sol", "2025-05-16", (
        "Farmers in the Orvid Valley expect this year's barley harvest to be a third smaller "
        "than last year's because of the drought, the valley's farming co-operative said.",
        "Co-operative chair Per Vang said members had started selling part of their cattle "
        "because the summer pastures were already brown in May.",
        "The co-operative has asked the regional government for emergency irrigation permits.",
    ),
    "The barley harvest will be a third smaller.",
)
SOLAR = Article(
    "courier", "valley-school-solar", "Valley School Switches to Solar Power",
    "Hanna Sol", "2025-05-17", (
        "Orvid Valley School has installed 420 solar panels on its sports hall roof and will "
        "produce most of its own electricity from June, headteacher Lise Moen said.",
        "Pupils helped choose the panels' layout in a maths project, and a screen in the school "
        "entrance shows how much power the roof is making.",
    ),
    "420 solar panels on the sports hall roof.",
)
HERALD_LIVE = Article(
    "mixed", "ferry-timetable", "Velmora Ferry Keeps Its Summer Timetable",
    "Elin Rask", "2025-05-13", (
        "The Velmora–Skarholm ferry will keep its summer timetable of eleven daily crossings "
        "until the end of September, the ferry company announced.",
        "Operations manager Kaja Dahl said passenger numbers had grown by a fifth since the "
        "bridge closure sent commuters to the water.",
    ),
    "Eleven daily crossings until September.",
)
ARTICLES = (BRIDGE, LAKE, TRAM, SNOW_LEOPARDS, DROUGHT, SOLAR, HERALD_LIVE)


def _related(current: Article) -> str:
    items = "".join(
        f'<li><a href="{a.path}">{html.escape(a.title)}</a></li>' for a in ARTICLES
        if a is not current and a.outlet == current.outlet
    )
    return items or '<li><a href="/">Front page</a></li>'


def article_page(a: Article, site_root: str, *, canonical: bool = True) -> str:
    """A news page as outlets publish them: the article, and much that is not the article."""
    outlet = OUTLETS[a.outlet][0]
    ld = {
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
        "datePublished": f"{a.published}T07:30:00+02:00", "dateModified": f"{a.published}T09:05:00+02:00",
        "author": [{"@type": "Person", "name": a.author}],
        "publisher": {"@type": "Organization", "name": outlet},
        "mainEntityOfPage": site_root + a.path, "description": a.summary,
    }
    body = "\n".join(f"      <p>{html.escape(p)}</p>" for p in a.paragraphs)
    link = f'<link rel="canonical" href="{site_root}{a.path}">' if canonical else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{html.escape(a.title)} | {outlet}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="description" content="{html.escape(a.summary)}">
  <meta property="og:type" content="article">
  <meta property="og:title" content="{html.escape(a.title)}">
  <meta property="og:site_name" content="{outlet}">
  <meta property="og:url" content="{site_root}{a.path}">
  <meta name="author" content="{a.author}">
  <meta property="article:published_time" content="{a.published}T07:30:00+02:00">
  {link}
  <script type="application/ld+json">{json.dumps(ld)}</script>
  <script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"section": "local"}});</script>
  <style>body {{ font-family: Georgia, serif; }} .cookie {{ position: fixed; bottom: 0; }}</style>
</head>
<body>
  <div class="cookie-banner" id="cookie-consent">
    <p>We use cookies to improve your experience and to show you personalised advertising.
       By clicking Accept all cookies you agree to our cookie policy.</p>
    <button>Accept all cookies</button> <button>Manage cookie settings</button>
  </div>
  <header class="site-header">
    <a class="logo" href="/">{outlet}</a>
    <nav class="main-nav"><ul>
      <li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
      <li><a href="/business">Business</a></li><li><a href="/culture">Culture</a></li>
      <li><a href="/opinion">Opinion</a></li><li><a href="/subscribe">Subscribe</a></li>
    </ul></nav>
  </header>
  <main>
    <nav class="breadcrumbs"><a href="/">Home</a> › <a href="/news">News</a> › Local</nav>
    <article class="story">
      <h1>{html.escape(a.title)}</h1>
      <p class="byline">By <a href="/authors/{a.author.lower().replace(' ', '-')}">{a.author}</a></p>
      <time datetime="{a.published}T07:30:00+02:00">{a.published}</time>
      <div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a> <a href="#">Email</a></div>
      <figure><img src="/img/{a.slug}.jpg" alt=""><figcaption>Photo: {outlet} archive</figcaption></figure>
      <div class="story-body">
{body}
      </div>
      <aside class="newsletter">
        <h3>Get the morning briefing</h3>
        <p>Sign up for our newsletter and get the day's top stories in your inbox every morning.</p>
        <form><input type="email" placeholder="Your email"><button>Sign up</button></form>
      </aside>
    </article>
    <section class="related">
      <h2>Related stories</h2>
      <ul>{_related(a)}</ul>
    </section>
    <section class="most-read"><h2>Most read</h2><ol>
      <li><a href="/sport/velmora-fc-cup-final">Velmora FC reach the cup final</a></li>
      <li><a href="/culture/summer-festival">Summer festival line-up announced</a></li>
    </ol></section>
  </main>
  <footer class="site-footer">
    <p>© 2025 {outlet}. All rights reserved.</p>
    <ul><li><a href="/privacy">Privacy policy</a></li><li><a href="/cookies">Cookie policy</a></li>
        <li><a href="/contact">Contact us</a></li><li><a href="/advertise">Advertise</a></li></ul>
  </footer>
</body>
</html>
"""


NO_TEXT_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Watch: harbour fireworks | Velmora Herald</title>
<meta property="og:site_name" content="Velmora Herald"></head>
<body>
  <header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/video">Video</a></nav></header>
  <main><div class="video-player" data-id="88412"><video src="/media/fireworks.mp4"></video></div></main>
  <footer><a href="/privacy">Privacy policy</a></footer>
</body></html>
"""


def _rfc822(day: str) -> str:
    return format_datetime(datetime.fromisoformat(f"{day}T07:30:00+00:00"))


@dataclass
class Entry:
    """A feed entry: usually an article, sometimes a broken one."""

    title: str
    link: str | None  # as written in the feed (may be relative, may be missing)
    published: str
    summary: str = ""
    guid: str | None = None


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Route:
    body: bytes
    content_type: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    modified: float = field(default_factory=time.time)
    conditional: bool = True
    stream: bool = False  # no Content-Length: the body ends when the connection closes


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self.server.site._handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], site: NewsSite) -> None:
        super().__init__(addr, _Handler)
        self.site = site

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (a timeout test) is normal."""


class NewsSite:
    """The stand-in site; see the module docstring."""

    def __init__(self, *, big_bytes: int = 400_000, slow_seconds: float = 3.0) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._entries: dict[str, list[Entry]] = {"herald": [], "courier": [], "mixed": []}
        self.requests: list[Request] = []
        self.page_delay = 0.0  # seconds every article page waits before answering
        self.big_bytes = big_bytes
        self.slow_seconds = slow_seconds
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self) -> NewsSite:
        self._httpd = _Server(("127.0.0.1", 0), self)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="NewsSite", daemon=True)
        self._thread.start()
        self._build()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> NewsSite:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def root(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.root + path

    # ---- content --------------------------------------------------------------------------
    def _build(self) -> None:
        for a in ARTICLES:
            self.set_page(a.path, article_page(a, self.root))
        self.set("/robots.txt", b"User-agent: *\nDisallow: /private/\n", "text/plain")
        self.set_page("/private/staff-memo.html", article_page(BRIDGE, self.root))
        self.set_page("/herald/watch-fireworks.html", NO_TEXT_PAGE)
        self.set("/files/annual-report.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "application/pdf")
        self.set("/img/harbour.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")
        self.set("/status/404", b"<html><body><h1>Page not found</h1></body></html>", "text/html", status=404)
        self.set("/status/500", b"<html><body><h1>Internal error</h1></body></html>", "text/html", status=500)
        self.set("/loop/a", b"", "text/html", status=302, headers={"Location": "/loop/b"})
        self.set("/loop/b", b"", "text/html", status=301, headers={"Location": "/loop/a"})
        self.set("/go/ftp", b"", "text/html", status=302, headers={"Location": "ftp://127.0.0.1/pub/story.txt"})
        self.set("/go/bridge", b"", "text/html", status=301, headers={"Location": BRIDGE.path})
        filler = "<p>" + "Filler text for a page that is far too long. " * 40 + "</p>\n"
        big = ("<html><body><article>" + filler * (self.big_bytes // len(filler) + 1) + "</article></body></html>").encode()
        self.set("/herald/huge-liveblog.html", big, "text/html")
        self.set("/herald/huge-stream.html", big, "text/html", stream=True)
        self.set("/herald/slow.html", article_page(TRAM, self.root).encode(), "text/html", delay=self.slow_seconds)
        self.set("/broken/not-a-feed.xml", b"Service temporarily unavailable. Please try again later.\n",
                 "application/rss+xml")
        self.set("/broken/feed.json", b'{"items": []}', "application/json")
        for a in (BRIDGE, LAKE, TRAM):
            self._entries["herald"].append(self._entry(a))
        courier = self._entries["courier"]
        courier.append(self._entry(DROUGHT))
        # A relative link (resolved against the feed's URL) and a syndicated copy of the
        # Herald's lake story, linked with tracking parameters: one source, indexed once.
        courier.append(Entry(SOLAR.title, f"{SOLAR.published[:4]}/{SOLAR.published[5:7]}/{SOLAR.slug}.html",
                             SOLAR.published, SOLAR.summary))
        courier.append(Entry(LAKE.title, f"{self.root}{LAKE.path}?utm_source=courier&utm_medium=atom&fbclid=x1",
                             LAKE.published, LAKE.summary))
        mixed = self._entries["mixed"]
        mixed += [
            self._entry(HERALD_LIVE),
            Entry("Briefing: what we know so far", None, "2025-05-13", "An entry without a link.", guid="briefing-77"),
            Entry("Old story", "/status/404", "2025-05-13"),
            Entry("Server trouble", "/status/500", "2025-05-13"),
            Entry("Going round in circles", "/loop/a", "2025-05-13"),
            Entry("Annual report", "/files/annual-report.pdf", "2025-05-13"),
            Entry("Harbour in pictures", "/img/harbour.png", "2025-05-13"),
            Entry("Watch: harbour fireworks", "/herald/watch-fireworks.html", "2025-05-13"),
            Entry("Live: everything that happened", "/herald/huge-liveblog.html", "2025-05-13"),
            Entry("Members only", "javascript:openPaywall()", "2025-05-13"),
            Entry("Mirror", "/go/ftp", "2025-05-13"),
            Entry("Staff memo", "/private/staff-memo.html", "2025-05-13"),
        ]
        self._render_feeds()

    def _entry(self, a: Article) -> Entry:
        return Entry(a.title, self.root + a.path, a.published, a.summary)

    def publish(self, outlet: str, article: Article) -> None:
        """Serve an article's page and add it to the top of an outlet's feed."""
        self.set_page(article.path, article_page(article, self.root))
        with self._lock:
            self._entries[outlet].insert(0, self._entry(article))
        self._render_feeds()

    def revise(self, article: Article, **changes: Any) -> Article:
        """Publish a corrected version of an article: its page and its feed entry change."""
        new = replace(article, **changes)
        self.set_page(new.path, article_page(new, self.root))
        with self._lock:
            for entries in self._entries.values():
                for i, e in enumerate(entries):
                    if e.link == self.root + article.path:
                        entries[i] = self._entry(new)
        self._render_feeds()
        return new

    def _render_feeds(self) -> None:
        with self._lock:
            herald, courier, mixed = (list(self._entries[k]) for k in ("herald", "courier", "mixed"))
        self.set(OUTLETS["herald"][1], self._rss("Velmora Herald", herald).encode(), "application/rss+xml")
        self.set(OUTLETS["mixed"][1], self._rss("Velmora Herald Live", mixed).encode(), "application/rss+xml")
        self.set(OUTLETS["courier"][1], self._atom("Orvid Valley Courier", courier).encode(), "application/atom+xml")
        full = self._rss("Velmora Herald", herald)
        cut = full.index("</item>") + len("</item>") + 40  # one whole item, then half of the next
        self.set("/broken/truncated.xml", full[:cut].encode(), "application/rss+xml")

    def _rss(self, title: str, entries: list[Entry]) -> str:
        items = []
        for e in entries:
            link = f"<link>{html.escape(e.link)}</link>" if e.link else ""
            guid = f'<guid isPermaLink="false">{e.guid}</guid>' if e.guid else ""
            items.append(f"""    <item>
      <title>{html.escape(e.title)}</title>
      {link}{guid}
      <pubDate>{_rfc822(e.published)}</pubDate>
      <description>{html.escape(e.summary)}</description>
    </item>""")
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>{title}</title>
    <link>{self.root}/</link>
    <description>Local news from Velmora</description>
    <language>en</language>
{chr(10).join(items)}
  </channel>
</rss>
"""

    def _atom(self, title: str, entries: list[Entry]) -> str:
        items = []
        for e in entries:
            link = f'<link rel="alternate" href="{html.escape(e.link)}"/>' if e.link else ""
            items.append(f"""  <entry>
    <title>{html.escape(e.title)}</title>
    {link}
    <id>urn:courier:{hashlib.sha1(e.title.encode()).hexdigest()[:12]}</id>
    <published>{e.published}T07:30:00Z</published>
    <updated>{e.published}T07:30:00Z</updated>
    <summary>{html.escape(e.summary)}</summary>
  </entry>""")
        return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{title}</title>
  <id>urn:courier:feed</id>
  <updated>2025-05-17T07:30:00Z</updated>
  <link rel="self" href="{self.root}/courier/atom.xml"/>
{chr(10).join(items)}
</feed>
"""

    def set(self, path: str, body: bytes, content_type: str, **kw: Any) -> None:
        """Serve `body` at `path`; a new body gets a new ETag and Last-Modified."""
        with self._lock:
            old = self._routes.get(path)
            route = _Route(body, content_type, **kw)
            if old is not None and old.body == body and old.status == route.status:
                route.modified = old.modified
            elif old is not None:
                route.modified = max(time.time(), old.modified + 1)
            self._routes[path] = route

    def set_page(self, path: str, page: str) -> None:
        self.set(path, page.encode(), "text/html; charset=utf-8")

    # ---- inspection -----------------------------------------------------------------------
    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if urlsplit(r.path).path == path]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # ---- serving --------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        record = Request(req.command, req.path, {k.lower(): v for k, v in req.headers.items()})
        with self._lock:
            self.requests.append(record)
            route = self._routes.get(urlsplit(req.path).path)
            page_delay = self.page_delay
        if route is None:
            route = _Route(b"<html><body>Not found</body></html>", "text/html", status=404)
        delay = route.delay + (page_delay if route.content_type.startswith("text/html") else 0.0)
        if delay:
            time.sleep(delay)
        etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
        last_modified = format_datetime(datetime.fromtimestamp(int(route.modified), UTC), usegmt=True)
        status = route.status
        if status == 200 and route.conditional and self._not_modified(record.headers, etag, route.modified):
            status = 304
        record.status = status
        try:
            req.send_response(status)
            for k, v in route.headers.items():
                req.send_header(k, v)
            if route.status == 200 and route.conditional:
                req.send_header("ETag", etag)
                req.send_header("Last-Modified", last_modified)
            req.send_header("Content-Type", route.content_type)
            body = b"" if status == 304 else route.body
            if not route.stream:
                req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            for i in range(0, len(body), 16384):
                req.wfile.write(body[i : i + 16384])
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def _not_modified(headers: dict[str, str], etag: str, modified: float) -> bool:
        if "if-none-match" in headers:
            return etag in [t.strip() for t in headers["if-none-match"].split(",")]
        since = headers.get("if-modified-since")
        if since:
            try:
                return int(modified) <= parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
        return False
