"""The few types the knowledge base is built from.

A `Document` is one cleaned article with its `ArticleMeta`; a `Chunk` is the retrieval unit cut
from it; a `StoredDocument` is what a reader finds committed; a `Passage` is a span of a
document's cleaned text with the character offsets that let anyone check a quote against its
source.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date

from collections.abc import Mapping
from typing import ClassVar

from index.errors import SourceError


@dataclass(frozen=True)
class ArticleMeta:
    """What an article says about itself; the one declaration shared by documents, stored
    documents, passages and citations, so the copies cannot drift."""

    title: str | None = None
    outlet: str | None = None
    author: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    url: str | None = None

    FIELDS: ClassVar[tuple[str, ...]] = ("title", "outlet", "author", "published", "url")

    def to_json(self) -> dict[str, str | None]:
        return {k: getattr(self, k) for k in self.FIELDS}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ArticleMeta:
        """From a stored record or JSON object; empty strings count as missing."""
        return cls(**{k: (str(data[k]) if data.get(k) not in (None, "") else None)
                      for k in cls.FIELDS})

    @property
    def pub_day(self) -> int:
        return day_number(self.published)

    def label(self, source: str) -> str:
        """How a person recognises the article: outlet and title (or the source), then date."""
        parts = [f"{self.outlet}: {self.title}" if self.outlet and self.title
                 else self.outlet or self.title or source]
        if self.author and not self.outlet:
            parts.append(f"by {self.author}")
        if self.published:
            parts.append(self.published)
        return ", ".join(parts)


@dataclass(frozen=True)
class Document:
    """One article after cleaning: `text` is what offsets point into."""

    source: str
    text: str
    meta: ArticleMeta = ArticleMeta()
    # A hash of the raw input it was cleaned from (and of the cleaning code): a re-run whose
    # input hashes the same skips cleaning (see index/reading.py). Not part of the content.
    raw: str | None = field(default=None, compare=False)

    @property
    def content_hash(self) -> str:
        """Hash of everything that is stored, so a metadata edit also counts as a change."""
        h = hashlib.sha256()
        for part in (self.text, *(self.meta.to_json().values())):
            h.update((part or "").encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()

    @property
    def generation(self) -> str:
        """The version tag of everything stored for this content (see index/store.py)."""
        return self.content_hash[:16]


@dataclass(frozen=True)
class Chunk:
    """A span of one document; `sentences` are absolute offsets inside it."""

    source: str
    index: int
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]


@dataclass
class StoredDocument:
    """A committed document as readers see it: metadata and chunk layout, not the text."""

    source: str
    generation: str
    meta: ArticleMeta
    chunks: list[tuple[int, int, list[tuple[int, int]]]] = field(default_factory=list)
    raw: str = ""  # Document.raw of the input it came from ("" when unknown)


@dataclass(frozen=True)
class Unchanged:
    """A source whose raw input hashes as when it was indexed: not cleaned again."""

    source: str
    raw: str

    @property
    def pub_day(self) -> int:
        return self.meta.pub_day


@dataclass
class Passage:
    """A retrieved span of one source, plus the other sources that carry the same words."""

    source: str
    text: str
    start: int
    end: int
    score: float
    meta: ArticleMeta = ArticleMeta()
    also: list[Passage] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            **self.meta.to_json(),
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
    # Seconds per phase (reading, chunking, embedding, writing, lexical): what a run cost.
    phases: dict[str, float] = field(default_factory=dict)

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
            "phases": {k: round(v, 3) for k, v in self.phases.items()},
        }


def day_number(iso: str | None) -> int:
    """Days since 1970-01-01, or -1: Chroma filters numbers, not date strings."""
    if not iso:
        return -1
    try:
        return date.fromisoformat(iso[:10]).toordinal() - date(1970, 1, 1).toordinal()
    except ValueError:
        return -1


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
