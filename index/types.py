"""The few types the knowledge base is built from.

A `Document` is one cleaned article; a `Passage` is a span of a document's cleaned text with
the character offsets that let anyone check a quote against its source.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from index.errors import NewsbotError, SourceError, StoreError

KnowledgeBaseError = NewsbotError  # TEMPORARY alias while bot/telegram moves; removed below


@dataclass(frozen=True)
class Document:
    """One article after cleaning: `text` is what offsets point into."""

    source: str
    text: str
    title: str | None = None
    outlet: str | None = None
    author: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    url: str | None = None

    @property
    def content_hash(self) -> str:
        """Hash of everything that is stored, so a metadata edit also counts as a change."""
        h = hashlib.sha256()
        for part in (self.text, self.title, self.outlet, self.author, self.published, self.url):
            h.update((part or "").encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()


@dataclass
class Passage:
    """A retrieved span of one source, plus the other sources that carry the same words."""

    source: str
    text: str
    start: int
    end: int
    score: float
    title: str | None = None
    outlet: str | None = None
    author: str | None = None
    published: str | None = None
    url: str | None = None
    also: list[Passage] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "title": self.title,
            "outlet": self.outlet,
            "published": self.published,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 6),
            "also": [{"source": p.source, "start": p.start, "end": p.end} for p in self.also],
        }


@dataclass
class IndexReport:
    """What one indexing run did; printed by the CLI and sent to Telegram admins."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[SourceError] = field(default_factory=list)
    chunks_written: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def summary(self) -> str:
        line = (
            f"added {len(self.added)}, updated {len(self.updated)}, "
            f"unchanged {len(self.unchanged)}, removed {len(self.removed)}; "
            f"{self.chunks_written} chunks written in {self.seconds:.1f} s"
        )
        if self.failed:
            line += f"; {len(self.failed)} skipped"
        return line

    def to_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": [{"source": e.source, "reason": e.reason} for e in self.failed],
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 3),
        }


def parse_iso_date(value: object) -> str | None:
    """Normalise a date-ish value to YYYY-MM-DD, or None when it is not a date."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()[:10]
    s = str(value).strip()
    if len(s) >= 10:
        try:
            return date.fromisoformat(s[:10]).isoformat()
        except ValueError:
            return None
    return None
