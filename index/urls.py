"""Which URLs newsbot fetches, and the one spelling each article is known by.

The same article reaches us under many URLs (a feed adds `utm_source=rss`, a share adds
`fbclid`, a link has a `#comments` fragment, the host is capitalised). The source id of a web
article is its normalised canonical URL, so all of them are one source: indexed once, replaced
when it changes, cited with a clean link. Tracking parameters are recognised by courlan (the URL
library trafilatura uses), not by a list of our own.
"""

from __future__ import annotations

import re
from urllib.parse import urldefrag, urljoin, urlsplit

from index.errors import SourceError

WEB_SCHEMES = ("http", "https")
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def looks_like_url(arg: str) -> bool:
    """True for `scheme://...` arguments, which are fetched rather than read as paths."""
    return bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", arg.strip()))


def check_web_url(url: str) -> str:
    """The URL stripped, or a `SourceError` for anything but an absolute http(s) URL."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        raise SourceError(url, "is not a valid URL") from None
    if parts.scheme.lower() not in WEB_SCHEMES:
        what = f"not an http(s) URL ({parts.scheme}:)" if parts.scheme else "not an absolute URL"
        raise SourceError(url, f"is {what}; only http:// and https:// pages and feeds are fetched")
    if not parts.hostname:
        raise SourceError(url, "has no host name")
    try:
        _ = parts.port  # raises ValueError on a bad port
    except ValueError:
        raise SourceError(url, "has an invalid port") from None
    return url


def normalise_url(url: str) -> str:
    """The canonical spelling of an http(s) URL: lower-case scheme and host, no default port,
    no fragment, no tracking parameters, query parameters sorted."""
    from courlan import (
        normalize_url,  # imported here: `newsbot index PATH` never needs it
    )

    url = urldefrag(check_web_url(url)).url
    try:
        return normalize_url(url)
    except ValueError:  # courlan refuses some odd but valid URLs; keep them as given
        return url


def resolve_link(link: str | None, base: str) -> str | None:
    """An entry's link made absolute against the feed's URL; None when it is not a web URL."""
    if not link or not link.strip():
        return None
    link = link.strip()
    absolute = link if _HAS_SCHEME.match(link) else urljoin(base, link)
    try:
        return check_web_url(absolute)
    except SourceError:
        return None


def same_site(a: str, b: str) -> bool:
    """True when two URLs are on the same host, ignoring a leading `www.`."""

    def host(u: str) -> str:
        h = (urlsplit(u).hostname or "").lower()
        return h.removeprefix("www.")

    return host(a) == host(b)
