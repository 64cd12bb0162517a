"""A polite HTTP fetcher for news pages and feeds (httpx), whose every failure names the URL.

Polite: a User-Agent naming newsbot, conditional requests (ETag / Last-Modified) so an unchanged
feed costs one small request, a delay between two requests to the same host, and robots.txt
(urllib.robotparser, cached per host) respected for page fetches. Safe: only http(s) URLs,
redirects followed by hand (limited, loops detected, never to another scheme), a size limit
checked while reading, and content types checked before the body is read (a PDF or an image is
refused without downloading it). Every problem is a `SourceError(url, reason)`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from index.errors import SourceError
from index.urls import WEB_SCHEMES, check_web_url

DEFAULT_USER_AGENT = "newsbot/0.1 (news question-answering bot; polite: robots.txt, conditional requests)"
Kind = Literal["html", "feed"]

_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml",
               "application/xml", "text/xml", "application/feed+json"}
_SNIFFED_TYPES = {"", "text/plain", "application/octet-stream", "binary/octet-stream"}
_ROBOTS_TTL = 3600.0  # a long-running bot re-reads a site's robots.txt every hour


@dataclass(frozen=True)
class FetchPolicy:
    """How the fetcher behaves; the bot builds it from its settings."""

    timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    user_agent: str = DEFAULT_USER_AGENT
    host_delay: float = 1.0  # seconds between two requests to one host
    max_redirects: int = 5


@dataclass(frozen=True)
class Fetched:
    """One response: 200 with a body, or 304 (not modified) without one."""

    url: str  # the URL asked for
    final_url: str  # where the redirects ended
    status: int
    content: bytes
    content_type: str  # media type, lower case, without parameters
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def kind(self) -> Kind:
        """"html" or "feed", from the content type and the first bytes; else a SourceError."""
        head = self.content[:1024].lstrip().lower()
        sniff_feed = head.startswith((b"<rss", b"<feed", b"<rdf:rdf")) or (
            head.startswith(b"<?xml") and any(t in head for t in (b"<rss", b"<feed", b"<rdf:rdf"))
        )
        sniff_html = head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:300]
        if self.content_type in _FEED_TYPES:
            return "html" if sniff_html and not sniff_feed else "feed"
        if self.content_type in _HTML_TYPES:
            return "feed" if sniff_feed else "html"
        if sniff_feed:
            return "feed"
        if sniff_html:
            return "html"
        raise SourceError(self.url, _not_readable(self.content_type or "of no stated type", self.content))


def _not_readable(ctype: str, head: bytes = b"") -> str:
    if ctype == "application/pdf" or head.startswith(b"%PDF"):
        return "is a PDF document, not a web page or a feed"
    if ctype.startswith("image/") or head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return f"is an image ({ctype if ctype.startswith('image/') else 'binary'}), not a web page or a feed"
    if ctype.startswith(("audio/", "video/")):
        return f"is {ctype.split('/')[0]} ({ctype}), not a web page or a feed"
    return f"is {ctype}, not an HTML page or an RSS/Atom feed"


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


class Fetcher:
    """Fetches URLs politely; thread-safe, and reusable for a whole run (or a bot's life)."""

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy()
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.policy.timeout),
            follow_redirects=False,  # followed by hand: scheme checks, loops, robots per hop
            headers={"User-Agent": self.policy.user_agent},
            trust_env=False,  # a proxy set for something else must not see what we fetch
        )
        self._lock = threading.Lock()
        self._next_turn: dict[str, float] = {}
        self._robots: dict[str, tuple[float, RobotFileParser]] = {}

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- politeness ------------------------------------------------------------------------
    def _wait_turn(self, url: str) -> None:
        """Space requests to one host `host_delay` seconds apart (slots reserved under a lock)."""
        host = (urlsplit(url).hostname or "").lower()
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next_turn.get(host, 0.0))
            self._next_turn[host] = at + self.policy.host_delay
        if at > now:
            time.sleep(at - now)

    def _robots_for(self, url: str) -> RobotFileParser:
        parts = urlsplit(url)
        root = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            cached = self._robots.get(root)
        if cached and time.monotonic() - cached[0] < _ROBOTS_TTL:
            return cached[1]
        rp = RobotFileParser(root + "/robots.txt")
        try:
            got = self._get(root + "/robots.txt", {}, robots=False, check_type=False)
            rp.parse(got.content.decode("utf-8", errors="replace").splitlines())
        except _HTTPStatus as exc:  # 401/403 forbid everything, other 4xx set no rules,
            if exc.status in (401, 403):  # as urllib.robotparser.read() has it
                rp.parse(["User-agent: *", "Disallow: /"])
            elif exc.status < 500 and exc.status != 429:
                rp.parse([])
            else:  # the site is in trouble: ask again next time rather than guess
                raise TransientError(url, f"could not be checked: robots.txt {exc.reason}") from None
        except TransientError as exc:  # the host itself is down: so is the page
            raise TransientError(url, exc.reason) from None
        except SourceError:  # an odd robots.txt (too big, redirected away) sets no rules
            rp.parse([])
        rp.modified()
        with self._lock:
            self._robots[root] = (time.monotonic(), rp)
        return rp

    # ---- fetching --------------------------------------------------------------------------
    def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None,
        robots: bool = True,
    ) -> Fetched:
        """GET `url` (conditionally when `etag`/`last_modified` are given).

        `robots=True` for pages: robots.txt is checked for every URL of the redirect chain.
        Registered feeds are fetched with `robots=False`: a feed is published to be polled.
        """
        url = check_web_url(url)
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            return self._get(url, headers, robots=robots, check_type=True)
        except _HTTPStatus as exc:
            kind = TransientError if exc.status >= 500 or exc.status == 429 else SourceError
            raise kind(url, exc.reason) from None
        except SourceError as exc:
            if exc.source != url:  # a failure at a later hop: name the URL asked for
                raise type(exc)(url, f"{exc.reason} (at {exc.source})") from None
            raise

    def _get(self, url: str, headers: dict[str, str], *, robots: bool, check_type: bool) -> Fetched:
        seen = [url]
        current = url
        while True:
            if robots and not self._robots_for(current).can_fetch(self.policy.user_agent, current):
                raise SourceError(current, "is disallowed for newsbot by the site's robots.txt")
            self._wait_turn(current)
            try:
                with self._client.stream("GET", current, headers=headers) as r:
                    if 300 <= r.status_code < 400 and r.status_code != 304:
                        target = self._redirect_target(current, r, seen)
                        seen.append(target)
                        current = target
                        continue
                    if r.status_code == 304:
                        return Fetched(url, current, 304, b"", _media_type(r),
                                       r.headers.get("etag"), r.headers.get("last-modified"))
                    if r.status_code >= 400:
                        phrase = f" {r.reason_phrase}" if r.reason_phrase else ""
                        raise _HTTPStatus(r.status_code, f"answered HTTP {r.status_code}{phrase}")
                    ctype = _media_type(r)
                    if check_type and ctype not in _HTML_TYPES | _FEED_TYPES | _SNIFFED_TYPES:
                        raise SourceError(current, _not_readable(ctype))
                    body = self._read_limited(current, r)
                    return Fetched(url, current, r.status_code, body, ctype,
                                   r.headers.get("etag"), r.headers.get("last-modified"))
            except httpx.TimeoutException:
                raise TransientError(current, f"did not answer within {self.policy.timeout:g} s") from None
            except httpx.ConnectError as exc:
                raise TransientError(current, f"cannot be reached ({_short(exc)})") from None
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                raise TransientError(current, f"broke off the connection ({_short(exc)})") from None
            except httpx.HTTPError as exc:
                raise SourceError(current, f"could not be fetched ({_short(exc)})") from None

    def _redirect_target(self, current: str, r: httpx.Response, seen: list[str]) -> str:
        location = r.headers.get("location", "").strip()
        if not location:
            raise SourceError(current, f"answered HTTP {r.status_code} without a Location")
        target = urljoin(current, location)
        scheme = urlsplit(target).scheme.lower()
        if scheme not in WEB_SCHEMES:
            raise SourceError(current, f"redirects to {target}, which is not an http(s) URL; not followed")
        if target in seen:
            raise SourceError(seen[0], "redirects in a loop (" + " -> ".join([*seen, target]) + ")")
        if len(seen) > self.policy.max_redirects:
            raise SourceError(seen[0], f"redirects more than {self.policy.max_redirects} times")
        return target

    def _read_limited(self, url: str, r: httpx.Response) -> bytes:
        limit = self.policy.max_bytes
        over = f"is over the {limit / 1024 / 1024:.3g} MB size limit"
        declared = r.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise SourceError(url, f"{over} ({int(declared) / 1024 / 1024:.1f} MB)")
        body = bytearray()
        for part in r.iter_bytes():
            body += part
            if len(body) > limit:
                raise SourceError(url, over)
        return bytes(body)


class TransientError(SourceError):
    """Worth trying again later: the host did not answer or timed out, or said 5xx or 429."""


class _HTTPStatus(Exception):
    """An error status, kept apart so robots.txt can treat 404 as "no rules"."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]
