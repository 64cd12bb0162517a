"""A news web page made into a `Document`: trafilatura finds the article and its metadata.

trafilatura separates the article from the page around it (menus, cookie banners, related
links, newsletter boxes) and reads title, site name, author, date and canonical URL from the
page's metadata (JSON-LD, OpenGraph, <meta>, <link rel=canonical>, htmldate for dates). Its text
then goes through `document_from_text` like any file, so furniture that slipped through is
stripped by the same rules and quotes point at the same kind of cleaned text.
"""

from __future__ import annotations

from collections.abc import Mapping

import trafilatura
from trafilatura.settings import Document as Extraction

from index.errors import SourceError
from index.reading import document_from_text
from index.types import Document
from index.urls import normalise_url, same_site


def article_from_html(
    content: bytes | str, url: str, *, hints: Mapping[str, str | None] | None = None,
    requested: str | None = None,
) -> Document:
    """The article of one fetched page; its source id is its normalised canonical URL.

    `url` is where the page was fetched from (after redirects); `requested` is the URL asked
    for, named in errors. `hints` (from a feed entry: title, outlet, author, published) fill
    what the page lacks; a feed's publication date wins over a date guessed from the page.
    A canonical link to another host is ignored: a page cannot claim another site's article.
    """
    named = requested or url
    try:
        # favor_precision: a page without an article (a video page, a section front) yields
        # nothing instead of its menu.
        found = trafilatura.bare_extraction(
            content, url=url, with_metadata=True, favor_precision=True,
            include_comments=False, include_tables=True, include_images=False,
        )
    except Exception as exc:  # noqa: BLE001 - lxml or a date parser choking on a broken page
        raise SourceError(named, f"could not be read as a web page ({type(exc).__name__})") from None
    info = found.as_dict() if isinstance(found, Extraction) else dict(found or {})
    text = str(info.get("text") or "").strip()
    if not text:
        raise SourceError(named, "has no article text (a video, gallery or index page?)")

    canonical = url
    found_url = str(info.get("url") or "")
    if found_url and same_site(found_url, url):
        try:
            canonical = normalise_url(found_url)
        except SourceError:
            canonical = url
    source = normalise_url(canonical)
    hint = dict(hints or {})
    meta: dict[str, object] = {
        "title": info.get("title") or hint.get("title"),
        "outlet": info.get("sitename") or hint.get("outlet"),
        "author": info.get("author") or hint.get("author"),
        "published": hint.get("published") or info.get("date"),
        "url": source,
    }
    # One paragraph per line from trafilatura; blank lines between them, as for HTML files.
    body = "\n\n".join(line.strip() for line in text.splitlines() if line.strip())
    try:
        return document_from_text(source, body, extra=meta)
    except SourceError as exc:
        raise SourceError(named, exc.reason) from None
