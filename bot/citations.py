"""Where a citation is made and checked: `Citation`, the numbering `CitationBook`, `verify()`.

A citation is a verbatim quote from a named article with the character offsets of the quote in
that article's cleaned text: `quote == text[start:end]` always holds. Both answer writers
(extractive and LLM) number their quotes through a `CitationBook`, and `Answerer` passes every
answer through `verify()` before it is returned. A quote that fails the check is a bug: with
`STRICT` (set by the test suite) it raises; in production it is dropped, with its markers, and
logged.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from index.types import ArticleMeta

log = logging.getLogger(__name__)

STRICT = False  # raise on a bad quote instead of dropping it (tests/conftest.py turns it on)
MARKER = re.compile(r"\[(\d+)\]")


class CitationError(AssertionError):
    """A quote that is not its source's text at its offsets, or a marker without a quote."""


@dataclass
class Citation:
    """One numbered quote; `quote == cleaned_text_of(source)[start:end]` always holds."""

    n: int
    source: str
    quote: str
    start: int
    end: int
    meta: ArticleMeta = ArticleMeta()

    def to_json(self) -> dict[str, object]:
        return {"n": self.n, "source": self.source, **self.meta.to_json(),
                "quote": self.quote, "start": self.start, "end": self.end}

    @property
    def label(self) -> str:
        """How a person recognises the article: outlet or title, then date."""
        return self.meta.label(self.source)


class CitationBook:
    """Numbers quotes in order of first use; the same span always gets the same number.

    `text_of(source)` and `meta_of(source)` read the article the quote comes from (a
    snapshot's `text` and `document(...).meta`), so the quote is cut from the source itself.
    """

    def __init__(self, text_of: Callable[[str], str], meta_of: Callable[[str], ArticleMeta]) -> None:
        self.text_of = text_of
        self.meta_of = meta_of
        self.citations: list[Citation] = []
        self._by_span: dict[tuple[str, int, int], int] = {}

    def cite(self, source: str, start: int, end: int) -> int:
        key = (source, start, end)
        if key not in self._by_span:
            quote = self.text_of(source)[start:end]
            n = len(self.citations) + 1
            self.citations.append(Citation(n, source, quote, start, end, self.meta_of(source)))
            self._by_span[key] = n
        return self._by_span[key]


def verify(
    text: str, citations: list[Citation], text_of: Callable[[str], str]
) -> tuple[str, list[Citation]]:
    """The answer with only citations whose quote is its source at its offsets.

    Also checks that markers and citations match one to one. Failing citations and their
    markers are dropped (logged), or raise `CitationError` when `STRICT`.
    """
    bad = [c for c in citations if not c.quote or text_of(c.source)[c.start : c.end] != c.quote]
    numbers = {c.n for c in citations}
    used = {int(n) for n in MARKER.findall(text)}
    problems = [f"[{c.n}] {c.source}[{c.start}:{c.end}] is not verbatim" for c in bad]
    problems += [f"marker [{n}] has no citation" for n in sorted(used - numbers)]
    problems += [f"citation [{n}] is never referred to" for n in sorted(numbers - used)]
    if not problems:
        return text, citations
    if STRICT:
        raise CitationError("; ".join(problems))
    log.error("dropping citations that fail verification: %s", "; ".join(problems))
    drop = {c.n for c in bad} | (used - numbers)
    kept = [c for c in citations if c.n not in drop and c.n in used]
    renumber = {c.n: i for i, c in enumerate(kept, 1)}

    def mark(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[{renumber[n]}]" if n in renumber else ""

    text = MARKER.sub(mark, text)
    return text, [Citation(renumber[c.n], c.source, c.quote, c.start, c.end, c.meta) for c in kept]
