"""Hybrid retrieval: dense (Chroma) and BM25 fused by reciprocal rank, duplicates collapsed.

The searcher works on a snapshot of the committed documents and reloads it when the store's
version changes, so an answer sees each document either before or after an update.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from index.lexical import BM25, overlap, shingles, terms
from index.store import Store
from index.types import Passage, StoredDocument, day_number

RRF_K = 60
DUPLICATE_OVERLAP = 0.5
SAME_MEANING = 0.85  # sentence vectors this close state the same thing
# Questions that ask about the present prefer articles published shortly before "as of".
RECENT = re.compile(
    r"\b(this (week|month|year|weekend)|last (week|weekend)|recent(ly)?|latest|newest|"
    r"yesterday|today|tonight|now|current(ly)?|just|new|upcoming|ongoing)\b", re.I)
# In a news corpus every question leans towards recent articles (as much as being first in
# one ranking, for an article published on the as-of day); "this week" questions lean harder.
RECENCY_WEAK = 1.0 / (RRF_K + 1)
RECENCY_STRONG = 1.5 / (RRF_K + 1)
RECENCY_DAYS = 7.0  # the weekly news cycle: the past week counts as "now", then it halves weekly


def recency_prior(query: str) -> float:
    return RECENCY_STRONG if RECENT.search(query) else RECENCY_WEAK


def recency_bonus(query: str, as_of: date | None, day: int) -> float:
    """What the recency prior adds for an article published on `day` (-1: unknown date)."""
    if as_of is None or day < 0:
        return 0.0
    return recency_prior(query) * recency(day_number(as_of.isoformat()) - day)


def recency(age_days: int) -> float:
    """1 for the past week, then halving every week; 0 for the future (not evidence).

    Flat within the week on purpose: between two articles from this week, relevance decides,
    not which of them is a day younger (measured: a prior that decays from day 0 ranked a
    day-newer off-topic article first).
    """
    if age_days < 0:
        return 0.0
    return float(np.exp(-max(0, age_days - RECENCY_DAYS) * np.log(2) / RECENCY_DAYS))


KEYED = 10  # hits (times two) whose best sentence is located, for duplicate detection


@dataclass
class ChunkRef:
    source: str
    index: int
    start: int
    end: int
    sentences: list[tuple[int, int]]
    pub_day: int


class Snapshot:
    """The committed documents at one version, with BM25 indexes over chunks and articles.

    `bot/` uses only the public methods: document lookup, texts, the chunk of a sentence and
    the terms of a span. The fields are the searcher's, so storage can change behind them.
    """

    def __init__(
        self,
        version: str,
        documents: dict[str, StoredDocument],
        texts: dict[str, str],
        doc_terms: dict[tuple[str, str], tuple[list[str], list[list[str]]]],
        *,
        chunk_vectors: bool,
        sentence_vectors: bool,
    ) -> None:
        self.version = version
        self._documents = documents
        self._texts = texts
        # (source, generation) -> (title terms, terms of each chunk): reused by the next snapshot
        self._doc_terms = doc_terms
        self._chunk_vectors = chunk_vectors  # False when the store holds none (skip the query)
        self._sentence_vectors = sentence_vectors
        self._chunks: list[ChunkRef] = []
        chunk_terms: list[list[str]] = []
        self._articles: list[str] = []  # source ids in the order of `_article_bm25`
        article_terms: list[list[str]] = []
        for source in sorted(documents):
            d = documents[source]
            title, bodies = doc_terms[(source, d.generation)]
            whole: list[str] = list(title)
            for i, ((s, e, sents), body) in enumerate(zip(d.chunks, bodies)):
                self._chunks.append(ChunkRef(source, i, s, e, sents, d.pub_day))
                # BM25 sees the headline with every chunk: a cheap form of field weighting.
                chunk_terms.append(title + body)
                whole.extend(body)
            self._articles.append(source)
            article_terms.append(whole)
        self._position = {(c.source, c.index): n for n, c in enumerate(self._chunks)}
        self._bm25 = BM25(tokenized=chunk_terms)
        self._pub_days = np.array([c.pub_day for c in self._chunks], dtype=np.int64)
        self._article_bm25 = BM25(tokenized=article_terms)
        self._article_days = np.array([documents[a].pub_day for a in self._articles],
                                      dtype=np.int64)
        self._shingles: dict[object, set[tuple[str, ...]]] = {}
        self._terms: dict[tuple[str, int, int], frozenset[str]] = {}

    # ---- the public API ------------------------------------------------------------------
    @property
    def empty(self) -> bool:
        return not self._documents

    def __len__(self) -> int:
        """How many documents the snapshot holds."""
        return len(self._documents)

    def document(self, source: str) -> StoredDocument | None:
        return self._documents.get(source)

    def text(self, source: str) -> str:
        """The cleaned text of a document: what every offset points into."""
        return self._texts.get(source, "")

    def chunk(self, pos: int) -> ChunkRef:
        return self._chunks[pos]

    def chunk_of(self, source: str, start: int) -> int | None:
        """The position of the chunk that holds the sentence starting at `start`."""
        doc = self._documents.get(source)
        if doc is None:
            return None
        for i, (s, e, _) in enumerate(doc.chunks):
            if s <= start < e:
                return self._position.get((source, i))
        return None

    def span_terms(self, source: str, start: int, end: int) -> frozenset[str]:
        """Terms of a sentence, computed once per snapshot (answers reuse the same sentences)."""
        key = (source, start, end)
        got = self._terms.get(key)
        if got is None:
            got = self._terms[key] = frozenset(terms(self.text(source)[start:end]))
        return got

    def idf(self, term: str) -> float:
        """BM25's idf over chunks; a term no chunk has gets the highest value."""
        return self._bm25.idf(term)

    def knows(self, term: str) -> bool:
        """Does any indexed chunk contain this term?"""
        return self._bm25.df.get(term, 0) > 0

    # ---- the searcher's helpers ----------------------------------------------------------
    def chunk_text(self, ref: ChunkRef) -> str:
        return self.text(ref.source)[ref.start : ref.end]

    def shingles(self, i: int) -> set[tuple[str, ...]]:
        if i not in self._shingles:
            self._shingles[i] = shingles(self.chunk_text(self._chunks[i]))
        return self._shingles[i]

    def span_shingles(self, source: str, start: int, end: int) -> set[tuple[str, ...]]:
        key = (source, start, end)
        if key not in self._shingles:
            self._shingles[key] = shingles(self.text(source)[start:end])
        return self._shingles[key]


def build_snapshot(store: Store, previous: Snapshot | None = None) -> Snapshot:
    """Load the committed documents; with a previous snapshot, only what changed is read
    and tokenised again (a re-index of one article must not cost a reload of all)."""
    version = store.version()
    docs = store.documents()
    old = previous._documents if previous else {}
    texts: dict[str, str] = {}
    changed = []
    for s, d in docs.items():
        if s in old and old[s].generation == d.generation and previous is not None:
            docs[s] = old[s]
            texts[s] = previous._texts[s]
        else:
            changed.append(s)
    for s, (d, text) in store.documents_with_text(changed).items():  # one version, together
        docs[s], texts[s] = d, text
    docs = {s: d for s, d in docs.items() if s in texts}  # removed while we read
    cache = previous._doc_terms if previous else {}
    doc_terms: dict[tuple[str, str], tuple[list[str], list[list[str]]]] = {}
    for source, d in docs.items():
        key = (source, d.generation)
        if key in cache:
            doc_terms[key] = cache[key]
        else:
            text = texts[source]
            doc_terms[key] = (terms(d.meta.title or ""), [terms(text[s:e]) for s, e, _ in d.chunks])
    return Snapshot(version, docs, texts, doc_terms,
                    chunk_vectors=store.count_chunks() > 0,
                    sentence_vectors=store.count_sentences() > 0)


@dataclass
class Hit:
    """One fused chunk with the signals that produced it (used by answering and eval)."""

    chunk: int
    score: float
    dense: float | None = None
    sentence: float | None = None
    bm25: float | None = None
    key: tuple[int, int] | None = None  # the sentence that matched best



@dataclass
class Retrieval:
    snapshot: Snapshot
    hits: list[Hit]
    sentence_sims: dict[tuple[str, int], float] = field(default_factory=dict)
    sentence_vecs: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    query_vector: np.ndarray | None = None


class Searcher:
    """Hybrid search over a store; thread-safe, reloads itself when the index changes."""

    def __init__(
        self,
        store: Store,
        *,
        candidates: int = 40,
        check_every: float = 2.0,
    ) -> None:
        self.store = store
        self.candidates = candidates
        self.check_every = check_every
        self._snap: Snapshot | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def snapshot(self, force: bool = False) -> Snapshot:
        now = time.monotonic()
        with self._lock:
            if self._snap is None or force or now - self._checked >= self.check_every:
                self._checked = now
                if self._snap is None or force or self.store.version() != self._snap.version:
                    self._snap = build_snapshot(self.store, self._snap)
            return self._snap

    def retrieve(
        self, query: str, as_of: date | None = None, k: int | None = None
    ) -> Retrieval:
        """Fused chunk hits, best first; chunks published after `as_of` are not evidence.

        Three ranked lists are fused by reciprocal rank: chunk vectors, sentence vectors
        (each sentence votes for its chunk) and BM25 over chunks.
        """
        snap = self.snapshot()
        if snap.empty or not query.strip():
            return Retrieval(snap, [])
        k = k or self.candidates
        max_day = day_number(as_of.isoformat()) if as_of else None
        vec = self.store.encoder.embed([query])[0]

        def current(source: str, gen: str) -> bool:
            doc = snap.document(source)
            return doc is not None and doc.generation == gen  # else: newer than our snapshot

        dense: list[tuple[int, float]] = []
        chunk_hits = self.store.query_chunks(vec, k, max_day) if snap._chunk_vectors else []
        for source, gen, i, sim in chunk_hits:
            pos = snap._position.get((source, i))
            if current(source, gen) and pos is not None:
                dense.append((pos, sim))
        sentence_sims: dict[tuple[str, int], float] = {}
        by_sentence: list[tuple[int, float]] = []
        voted: set[int] = set()
        sentence_vecs: dict[tuple[str, int], np.ndarray] = {}
        sentence_hits = self.store.query_sentences(vec, k, max_day) if snap._sentence_vectors else []
        for source, gen, start, end, sim, svec in sentence_hits:
            if not current(source, gen):
                continue
            sentence_sims[(source, start)] = sim
            sentence_vecs[(source, start)] = svec
            pos = snap.chunk_of(source, start)
            if pos is not None and pos not in voted:
                voted.add(pos)
                by_sentence.append((pos, sim))
        mask = None if max_day is None else (snap._pub_days <= max_day).astype(np.float32)
        sparse = snap._bm25.search(query, k, mask)
        fused: dict[int, Hit] = {}
        for ranked, attr in ((dense, "dense"), (by_sentence, "sentence"), (sparse, "bm25")):
            for rank, (pos, value) in enumerate(ranked):
                h = fused.setdefault(pos, Hit(pos, 0.0))
                if getattr(h, attr) is None:  # a list votes once per chunk, at its best rank
                    h.score += 1.0 / (RRF_K + rank + 1)
                    setattr(h, attr, value)
        for h in fused.values():
            h.score += recency_bonus(query, as_of, snap.chunk(h.chunk).pub_day)
        hits = sorted(fused.values(), key=lambda h: -h.score)
        qterms = set(terms(query))
        for h in hits[: 2 * KEYED]:
            h.key = _key_sentence(snap, snap.chunk(h.chunk), qterms, sentence_sims)
        return Retrieval(snap, hits, sentence_sims, sentence_vecs, vec)

    def sentence_vectors(
        self, snap: Snapshot, sentences: list[tuple[str, int]]
    ) -> dict[tuple[str, int], np.ndarray]:
        """Stored vectors of sentences given as (source, start), for this snapshot's versions."""
        keys = [(src, d.generation, start) for src, start in sentences
                if (d := snap.document(src)) is not None]
        return self.store.sentence_vectors(keys)

    def search(self, query: str, k: int = 5, as_of: date | None = None) -> list[Passage]:
        """The top k passages, each near-duplicate group collapsed into one passage."""
        r = self.retrieve(query, as_of)
        return collapse(r.snapshot, r.hits, k, r.sentence_vecs)

    def rank_articles(
        self, query: str, k: int = 10, as_of: date | None = None
    ) -> list[tuple[str, float]]:
        """Articles (not passages), best first: "which article answers this", and eval.

        Fuses by reciprocal rank BM25 over whole articles (title included) and the vectors of
        each article's title and lead, then adds the recency prior. Ranking articles by their
        best passage was measured too and made things worse (see the README's figures):
        round-up articles ("5 things to know") win on one matching paragraph.
        """
        snap = self.snapshot()
        if snap.empty or not query.strip():
            return []
        max_day = day_number(as_of.isoformat()) if as_of else None
        mask = None if max_day is None else (snap._article_days <= max_day).astype(np.float32)
        whole = [snap._articles[i] for i, _ in snap._article_bm25.search(query, self.candidates, mask)]
        vec = self.store.encoder.embed([query])[0]
        leads = [src for src, gen, _ in self.store.query_documents(vec, self.candidates, max_day)
                 if (d := snap.document(src)) is not None and d.generation == gen]
        scores: dict[str, float] = {}
        for ranked in (whole, leads):
            for rank, src in enumerate(ranked):
                scores[src] = scores.get(src, 0.0) + 1.0 / (RRF_K + rank + 1)
        for src in scores:
            scores[src] += recency_bonus(query, as_of, snap._documents[src].pub_day)
        return sorted(scores.items(), key=lambda x: -x[1])[:k]


def to_passage(snap: Snapshot, hit: Hit) -> Passage:
    ref = snap.chunk(hit.chunk)
    doc = snap._documents[ref.source]
    return Passage(
        source=ref.source,
        text=snap.chunk_text(ref),
        start=ref.start,
        end=ref.end,
        score=hit.score,
        meta=doc.meta,
    )


def _key_sentence(
    snap: Snapshot, ref: ChunkRef, qterms: set[str], sims: dict[tuple[str, int], float]
) -> tuple[int, int] | None:
    """The chunk's sentence that best matches the query: by vector if it has one, else words."""
    best, best_score = None, -1.0
    for s, e in ref.sentences:
        lexical = len(qterms & snap.span_terms(ref.source, s, e)) / max(1, len(qterms))
        score = sims.get((ref.source, s), 0.0) + 0.5 * lexical
        if score > best_score:
            best, best_score = (s, e), score
    return best


def _same_passage(
    snap: Snapshot, a: Hit, b: Hit, vecs: dict[tuple[str, int], np.ndarray]
) -> bool:
    """Two chunks are copies when most of their words are shared, or when the sentences that
    made them match are the same quotation (outlets wrap a shared quote in different text,
    and translate it slightly differently)."""
    if overlap(snap.shingles(a.chunk), snap.shingles(b.chunk)) >= DUPLICATE_OVERLAP:
        return True
    if a.key is None or b.key is None:
        return False
    src_a, src_b = snap.chunk(a.chunk).source, snap.chunk(b.chunk).source
    va, vb = vecs.get((src_a, a.key[0])), vecs.get((src_b, b.key[0]))
    if va is not None and vb is not None and float(va @ vb) >= SAME_MEANING:
        return True
    sa = snap.span_shingles(src_a, *a.key)
    sb = snap.span_shingles(src_b, *b.key)
    return min(len(sa), len(sb)) >= 6 and overlap(sa, sb) >= DUPLICATE_OVERLAP


def collapse(
    snap: Snapshot, hits: list[Hit], k: int, vecs: dict[tuple[str, int], np.ndarray] | None = None
) -> list[Passage]:
    """Group passages that repeat the same words from different outlets."""
    groups: list[tuple[Hit, Passage]] = []
    for hit in hits[: 2 * max(k, KEYED)]:
        p = to_passage(snap, hit)
        for lead_hit, lead in groups:
            if lead.source != p.source and _same_passage(snap, hit, lead_hit, vecs or {}):
                if all(a.source != p.source for a in lead.also):
                    lead.also.append(p)
                break
        else:
            if len(groups) < k:
                groups.append((hit, p))
    return [p for _, p in groups]
