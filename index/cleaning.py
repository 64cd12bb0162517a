"""Turning a scraped page into clean article text plus what it says about itself.

Cleaning happens once, before chunking: the cleaned text is what every offset and every quote
refers to, so page furniture removed here can never be indexed or quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from index.types import parse_iso_date

# Whole lines that are page furniture, not article text.
_FURNITURE = re.compile(
    r"""^\s*(?:
        read\s+more\b.*
      | (?:also\s+)?read\s*:.*
      | related(?:\s+(?:posts|content|articles|stories|coverage|topics))?\s*:?
      | load\s+more\s+posts.*
      | no\s+more\s+posts\.?
      | source\s+link
      | advertisement
      | (?:sign\s+up|subscribe)\b.{0,120}
      | share\s+(?:this|on)\b.{0,60}
      | (?:click|tap)\s+here\b.{0,120}
      | .*\b(?:uses?\s+cookies|cookie\s+(?:policy|settings|preferences)|accept\s+(?:all\s+)?cookies)\b.*
      | .{0,160}\bpicture:\s*[\w/ ,&.-]{1,40}
      | (?:image|photo|credit)\s*:.{0,80}
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# A run of capitalised tags glued together, e.g. "DefenseFeaturedInternationalPolicy".
_TAG_LINE = re.compile(r"^(?:[A-Z][a-z]+){2,}$")
# An all-capitals headline on its own line is a link to another story.
_SHOUTED = re.compile(r"^[^a-z]*[A-Z]{2,}[^a-z]*$")
_DATE_PREFIX = re.compile(r"^\s*date\s+(\d{4}-\d{2}-\d{2})\s+", re.IGNORECASE)
_BYLINE = re.compile(r"^\s*By\s+([A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+){0,3})\s*$")
_PUBLISHED = re.compile(
    r"^\s*(?:published|posted|updated|date)\s*:?\s*(.+?)\s*$", re.IGNORECASE
)
_MONTHS = {m: i + 1 for i, m in enumerate(
    "january february march april may june july august september october november december".split()
)}
_LONG_DATE = re.compile(r"\b([A-Z][a-z]+)\.?\s+(\d{1,2}),?\s+(\d{4})\b")


@dataclass
class Cleaned:
    text: str
    title: str | None = None
    author: str | None = None
    published: str | None = None


def _parse_long_date(s: str) -> str | None:
    iso = parse_iso_date(s)
    if iso:
        return iso
    m = _LONG_DATE.search(s)
    if m and m.group(1).lower() in _MONTHS:
        try:
            from datetime import date

            return date(int(m.group(3)), _MONTHS[m.group(1).lower()], int(m.group(2))).isoformat()
        except ValueError:
            return None
    return None


def _looks_like_title(line: str, next_blank: bool) -> bool:
    s = line.strip()
    if not s or len(s) > 200 or len(s.split()) < 3:
        return False
    # A sentence that ends like one is the lead paragraph, not a headline.
    if s[-1] in ".!?\"”" and len(s.split()) > 12:
        return False
    return next_blank or len(s.split()) <= 16


def clean_article(raw: str) -> Cleaned:
    """Strip furniture and read title, date and byline from the top of a plain-text article."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = text.replace("\ufeff", "").replace("\u00a0", " ")
    lines = [ln.rstrip() for ln in text.split("\n")]

    published: str | None = None
    # Leading blank lines and category-tag lines carry no text.
    while lines and (not lines[0].strip() or _TAG_LINE.match(lines[0].strip())):
        lines.pop(0)
    if lines:
        m = _DATE_PREFIX.match(lines[0])
        if m:
            published = parse_iso_date(m.group(1))
            lines[0] = lines[0][m.end():]

    kept: list[str] = []
    author: str | None = None
    for i, line in enumerate(lines):
        s = line.strip()
        if _FURNITURE.match(s) or (_SHOUTED.match(s) and len(s.split()) >= 4):
            continue
        if author is None and i < 12:
            b = _BYLINE.match(s)
            if b:
                author = b.group(1)
        if published is None and i < 8:
            p = _PUBLISHED.match(s)
            if p and len(s) < 80:
                published = _parse_long_date(p.group(1))
                if published:
                    continue
        kept.append(s)

    # Collapse runs of blank lines so paragraphs are separated by exactly one.
    out: list[str] = []
    for s in kept:
        if not s and (not out or not out[-1]):
            continue
        out.append(s)
    while out and not out[-1]:
        out.pop()

    title = None
    if out:
        next_blank = len(out) > 1 and not out[1]
        if _looks_like_title(out[0], next_blank):
            title = out[0].strip()
    return Cleaned(text="\n".join(out), title=title, author=author, published=published)


def split_front_matter(raw: str) -> tuple[dict[str, object], str]:
    """YAML front matter lets an admin supply what the text lacks (outlet, url, date)."""
    stripped = raw.lstrip("\ufeff")
    if not stripped.startswith("---"):
        return {}, raw
    m = re.match(r"^---[ \t]*\n(.*?)\n---[ \t]*(?:\n|$)", stripped, re.DOTALL)
    if not m:
        return {}, raw
    import yaml

    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError:
        return {}, raw
    if not isinstance(meta, dict):
        return {}, raw
    return {str(k).lower(): v for k, v in meta.items()}, stripped[m.end():]


class _HTMLText(HTMLParser):
    """Visible article text from HTML, with block elements turned into paragraphs."""

    _SKIP = {"script", "style", "noscript", "nav", "footer", "header", "aside", "form",
             "svg", "iframe", "template", "button", "select", "figure"}
    _BLOCK = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section",
              "article", "blockquote", "tr", "pre", "ul", "ol", "table", "main"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.in_title = False
        self.title = ""
        self.h1 = ""
        self.in_h1 = False
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag == "title":
            self.in_title = True
        elif tag == "meta":
            a = {k.lower(): (v or "") for k, v in attrs}
            key = (a.get("property") or a.get("name") or "").lower()
            if key and a.get("content"):
                self.meta[key] = a["content"]
        elif tag == "h1":
            self.in_h1 = True
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "meta":
            self.handle_starttag(tag, attrs)
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "title":
            self.in_title = False
        elif tag == "h1":
            self.in_h1 = False
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title += data
            return
        if self.skip:
            return
        if self.in_h1:
            self.h1 += data
        self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> tuple[str, dict[str, object]]:
    """Text and metadata (title, author, published, url, outlet) found in the page's head."""
    p = _HTMLText()
    p.feed(html)
    p.close()
    paragraphs = [re.sub(r"[ \t]+", " ", x).strip() for x in "".join(p.parts).split("\n")]
    text = "\n\n".join(x for x in paragraphs if x)
    m = p.meta
    meta: dict[str, object] = {}
    title = (m.get("og:title") or p.h1 or p.title).strip()
    if title:
        meta["title"] = title
    for key, names in {
        "author": ("author", "article:author"),
        "published": ("article:published_time", "date", "pubdate", "publish-date"),
        "url": ("og:url",),
        "outlet": ("og:site_name",),
    }.items():
        for n in names:
            if m.get(n):
                meta[key] = m[n].strip()
                break
    return text, meta
