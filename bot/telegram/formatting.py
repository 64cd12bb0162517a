"""Telegram HTML rendering and message splitting: pure functions, no PTB, no I/O.

Why a module of its own: Telegram rejects a message whose markup is broken or whose text is
over 4,096 characters, so everything that builds HTML lives here where it can be tested
without a network. Every piece of text that comes from an article, a question or a file
name goes through `esc`; the only tags used are ones Telegram supports (b, i, a, code,
blockquote expandable).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass

from index.types import IndexReport, StoredDocument

from bot.answer import Answer
from bot.citations import Citation

TELEGRAM_LIMIT = 4096
ELLIPSIS = "…"
SEPARATOR = "\n\n"
_LABEL_MAX = 300  # a citation heading longer than this is an odd title, not information

_TAG = re.compile(r"<[^<>]*>")
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
# Where plain text may be cut, best first: paragraphs, lines, sentence ends, spaces.
_CUTS = (re.compile(r"\n\s*\n"), re.compile(r"\n"), re.compile(r"(?<=[.!?…])\s+"), re.compile(r"\s+"))


def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units).

    Measured on the HTML source, which is never shorter than the text Telegram keeps after
    parsing entities, so a part that fits here fits there.
    """
    return len(text.encode("utf-16-le")) // 2


def esc(text: str) -> str:
    """Escape text for Telegram HTML (`&`, `<`, `>`; quotes only matter inside attributes)."""
    return html.escape(text, quote=False)


def html_to_plain(text: str) -> str:
    """The same message without markup, for resending when Telegram rejects the HTML.

    Links keep their address ("label (url)") so nothing the reader needs is lost.
    """
    def link(m: re.Match[str]) -> str:
        url, label = html.unescape(m.group(1)), m.group(2)
        return f"{label} ({url})" if url and url not in label else label

    return html.unescape(_TAG.sub("", _LINK.sub(link, text)))


@dataclass(frozen=True)
class Unit:
    """A piece of a reply that is kept whole in one message when it fits.

    `head` is ready HTML shown first; `body` is raw text, escaped on render and wrapped in
    `open`/`close` tags. An over-long unit is either split between paragraphs, lines,
    sentences or words (`splittable`, for answer text) or has its body truncated with an
    ellipsis inside the tags (for a quote, which must stay one block under its heading).
    """

    head: str = ""
    body: str = ""
    open: str = ""
    close: str = ""
    splittable: bool = False
    joiner: str = SEPARATOR  # what goes between this unit and the previous one in a message

    def render(self, body: str | None = None) -> str:
        text = self.body if body is None else body
        if not text and not self.open:
            return self.head
        return f"{self.head}{self.open}{esc(text)}{self.close}"


def text_units(text: str, open: str = "", close: str = "") -> list[Unit]:
    """One splittable unit per paragraph of plain text."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]
    return [Unit(body=p, open=open, close=close, splittable=True) for p in paras]


def _is_web_url(url: str | None) -> bool:
    return bool(url) and re.match(r"(?i)https?://[^\s<>\"]+$", url or "") is not None


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def citation_unit(c: Citation, heading: str = "", shown: bool = False) -> Unit:
    """`[n] Outlet: Title, date` (a link when the article has a web url), then the quote,
    unless the answer's text already `shown` it word for word (then it is not repeated)."""
    label = esc(_clip(c.label, _LABEL_MAX))
    if _is_web_url(c.meta.url):
        label = f'<a href="{html.escape(c.meta.url or "", quote=True)}">{label}</a>'
    if shown:
        return Unit(head=f"{heading}<b>[{c.n}]</b> {label} <i>(quoted above)</i>")
    head = f"{heading}<b>[{c.n}]</b> {label}\n"
    return Unit(head=head, body=c.quote, open="<blockquote expandable>", close="</blockquote>")


def answer_units(ans: Answer) -> list[Unit]:
    """The CLI's content (answer, note, as-of date, numbered quotes) as Telegram units."""
    units = text_units(ans.text)
    if ans.note:
        units += text_units(ans.note, "<i>", "</i>")
    if ans.refused:
        return units
    if ans.as_of:
        units.append(Unit(body=f"As of {ans.as_of}, the newest cited article.",
                          open="<i>", close="</i>", splittable=True))
    for i, c in enumerate(ans.citations):
        units.append(citation_unit(c, "<b>Sources</b>\n" if i == 0 else "", c.quote in ans.text))
    return units


def render_answer(ans: Answer, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """An answer as one or more HTML messages, each within `limit`."""
    return pack(answer_units(ans), limit)


def sources_units(docs: list[StoredDocument]) -> list[Unit]:
    """One unit per indexed article: title, outlet and date, and the source id for /forget."""
    if not docs:
        return [Unit(body="No articles are indexed yet.", splittable=True)]
    units = [Unit(head=f"<b>{len(docs)} indexed article{'s' if len(docs) != 1 else ''}</b>")]
    for i, d in enumerate(docs, 1):
        title = esc(_clip(d.meta.title or "(untitled)", _LABEL_MAX))
        if _is_web_url(d.meta.url):
            title = f'<a href="{html.escape(d.meta.url or "", quote=True)}">{title}</a>'
        meta = ", ".join(esc(x) for x in (d.meta.outlet, d.meta.published or "no date") if x)
        units.append(Unit(head=f"{i}. {title}\n{meta} · <code>{esc(_clip(d.source, _LABEL_MAX))}</code>"))
    return units


def report_units(report: IndexReport, what: str = "Indexed") -> list[Unit]:
    """An indexing report: the summary line, then what changed and what was skipped."""
    units = [Unit(head=f"<b>{esc(what)}:</b> {esc(report.summary())}")]
    for label, items in (("added", report.added), ("updated", report.updated),
                         ("removed", report.removed)):
        if items:
            shown = ", ".join(items[:20]) + (f" and {len(items) - 20} more" if len(items) > 20 else "")
            units.append(Unit(head=f"{label}: ", body=shown, splittable=True, joiner="\n"))
    for err in report.failed:
        units.append(Unit(head="skipped ", body=f"{err.source}: {err.reason}", splittable=True,
                          joiner="\n"))
    return units


def _split_plain(text: str, budget: int, cuts: Iterable[re.Pattern[str]] = _CUTS) -> list[str]:
    """Cut raw text into pieces whose escaped form is within `budget`, at the best boundary."""
    if tg_len(esc(text)) <= budget:
        return [text]
    cuts = list(cuts)
    if not cuts:  # no boundary left: cut characters, never inside an escape (we cut raw text)
        pieces: list[str] = []
        start, used = 0, 0
        for i, ch in enumerate(text):
            cost = tg_len(esc(ch))
            if used and used + cost > budget:
                pieces.append(text[start:i])
                start, used = i, 0
            used += cost
        return pieces + [text[start:]]
    pattern, rest = cuts[0], cuts[1:]
    words: list[str] = []
    pos = 0
    for m in pattern.finditer(text):
        words.append(text[pos:m.start()])
        pos = m.end()
    words.append(text[pos:])
    if len(words) == 1:
        return _split_plain(text, budget, rest)
    joiner = "\n\n" if pattern is _CUTS[0] else "\n" if pattern is _CUTS[1] else " "
    out: list[str] = []
    cur = ""
    for word in (w for w in words if w):
        candidate = f"{cur}{joiner}{word}" if cur else word
        if tg_len(esc(candidate)) <= budget:
            cur = candidate
            continue
        if cur:
            out.append(cur)
        if tg_len(esc(word)) <= budget:
            cur = word
        else:
            *full, cur = _split_plain(word, budget, rest)
            out.extend(full)
    if cur:
        out.append(cur)
    return out


def _truncate(unit: Unit, limit: int) -> str | None:
    """The unit with its body shortened (ellipsis inside the tags) to fit, or None."""
    if tg_len(unit.render("")) + 1 > limit:
        return None
    def fits(n: int) -> bool:
        return tg_len(unit.render(unit.body[:n].rstrip() + ELLIPSIS)) <= limit

    lo, hi = 0, len(unit.body)  # longest prefix that fits: binary search
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    body = unit.body[:lo]
    cut = body.rfind(" ")  # prefer ending on a whole word when one is near
    if cut > max(0, len(body) - 40):
        body = body[:cut]
    return unit.render(body.rstrip() + ELLIPSIS)


def fit(unit: Unit, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Render a unit as one or more HTML pieces, each within `limit` and well-formed."""
    whole = unit.render()
    if tg_len(whole) <= limit:
        return [whole]
    if not unit.splittable:
        short = _truncate(unit, limit)
        if short is not None:
            return [short]
    # A splittable body, or a head too long to keep (odd titles): plain pieces.
    pieces: list[str] = []
    head_plain = html_to_plain(unit.head)
    if head_plain.strip():
        pieces += [esc(p) for p in _split_plain(head_plain, limit)]
    budget = limit - tg_len(unit.open + unit.close)
    pieces += [f"{unit.open}{esc(p)}{unit.close}" for p in _split_plain(unit.body, budget)]
    return pieces


def pack(units: list[Unit], limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Join units into as few messages as fit, breaking only between units (or within
    an over-long unit via `fit`)."""
    parts: list[str] = []
    cur = ""
    for unit in units:
        for piece in fit(unit, limit):
            candidate = f"{cur}{unit.joiner}{piece}" if cur else piece
            if tg_len(candidate) <= limit:
                cur = candidate
            else:
                parts.append(cur)
                cur = piece
    if cur:
        parts.append(cur)
    return parts or [esc("(empty)")]
