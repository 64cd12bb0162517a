"""Hybrid retrieval: BM25 and the title-and-lead vectors (plus chunk and sentence vectors when
the store holds them) fused by reciprocal rank, duplicates collapsed.

The searcher works on a snapshot of the committed documents and reloads it when the store's
version changes, so an answer sees each document either before or after an update. A snapshot
is the saved lexical index (index/lexical_store.py: BM25, the document table and the lead
vectors, memory-mapped) at one commit; starting one reads no text. Texts are read from the
store when a search or an answer needs them (one call per search for the hits' articles), kept
by content version, and used only when the store's version matches the snapshot's: if it does
not, the snapshot is brought up to date and the search repeated, so offsets never point into
another version's text.

Sentence vectors are not stored by default; `Searcher.sentence_vectors` embeds the few an answer
asks for and caches them by content (index/vector_cache.py).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from index.article_ranking import FEATURES as ARTICLE_FEATURES
from index.article_ranking import RECENT, RRF_K, recency_bonuses
from index.article_ranking import candidates as article_candidates
from index.article_ranking import rank as rank_rows
from index.lexical import overlap, shingles, terms
from index.lexical_store import State, sync
from index.lexical_view import View, top
from index.store import Store
from index.types import ArticleMeta, Passage, StoredDocument, day_number
from index.vector_cache import VectorCache

DUPLICATE_OVERLAP = 0.5
SAME_MEANING = 0.85  # sentence vectors this close state the same thing


KEYED = 10  # hits (times two) whose best sentence is located, for duplicate detection


@dataclass
class ChunkRef:
    source: str
    index: int
    start: int
    end: int
    sentences: list[tuple[int, int]]
    pub_day: int


class _LRU:
    """A small process-wide cache (texts by (source, generation), stored documents)."""

    def __init__(self, budget: int, size: Callable[[object], int] = lambda v: 1) -> None:
        self.budget = budget
        self.size = size
        self.used = 0
        self.items: OrderedDict[object, object] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: object) -> object | None:
        with self.lock:
            got = self.items.get(key)
            if got is not None:
                self.items.move_to_end(key)
            return got

    def put(self, key: object, value: object) -> None:
        with self.lock:
            if key in self.items:
                return
            self.items[key] = value
            self.used += self.size(value)
            while self.used > self.budget and len(self.items) > 1:
                _, old = self.items.popitem(last=False)
                self.used -= self.size(old)


# Texts are read from the store when an answer or a search needs them and kept by content
# version, so they are valid for every snapshot that holds that version (~64 MB at most).
_TEXTS = _LRU(64_000_000, lambda v: len(v))  # type: ignore[arg-type]
_DOCUMENTS = _LRU(8192)


class Snapshot:
    """The committed documents at one version: the lexical state (BM25, the document table,
    the title-and-lead vectors, all memory-mapped) plus texts read from the store on demand.

    `bot/` uses only the public methods: document lookup, texts, the chunk of a sentence and
    the terms of a span. The fields are the searcher's, so storage can change behind them.
    """

    def __init__(
        self, state: State, store: Store, *, chunk_vectors: bool, sentence_vectors: bool
    ) -> None:
        self.version = state.version
        self._state = state
        self._view = View(state)
        self._store = store
        self._chunk_vectors = chunk_vectors  # False when the store holds none (skip the query)
        self._sentence_vectors = sentence_vectors
        self.stale = False  # set when the store holds a newer version of a document we read
        self.mismatched: set[str] = set()  # those documents
        self._shingles: dict[object, set[tuple[str, ...]]] = {}
        self._terms: dict[tuple[str, int, int], frozenset[str]] = {}
        self._refs: dict[int, ChunkRef] = {}

    # ---- the public API ------------------------------------------------------------------
    @property
    def empty(self) -> bool:
        return len(self._state) == 0

    def __len__(self) -> int:
        """How many documents the snapshot holds."""
        return len(self._state)

    def document(self, source: str) -> StoredDocument | None:
        row = self._view.row(source)
        if row is None:
            return None
        t, r = self._view.table_of_row(row)
        gen = t.generation(r)
        got = _DOCUMENTS.get((source, gen))
        if got is None:
            got = StoredDocument(source=source, generation=gen,
                                 meta=ArticleMeta.from_json(json.loads(t.meta_json(r))),
                                 chunks=t.layout(r))
            _DOCUMENTS.put((source, gen), got)
        return got  # type: ignore[return-value]

    def text(self, source: str) -> str:
        """The cleaned text of a document: what every offset points into. Read from the store
        at first use; "" if the store no longer holds this version (never another version's
        text under this version's offsets)."""
        gen = self._state.generation(source)
        if gen is None:
            return ""
        got = _TEXTS.get((source, gen))
        if got is None:
            self.prefetch([source])
            got = _TEXTS.get((source, gen))
        return got if isinstance(got, str) else ""

    def chunk(self, pos: int) -> ChunkRef:
        got = self._refs.get(pos)
        if got is None:
            t, local, row = self._view.table_of_chunk(pos)
            c0, _ = t.chunk_range(row)
            got = ChunkRef(t.sources[row], local - c0, int(t.a["chunk_start"][local]),
                           int(t.a["chunk_end"][local]), t.sentences(local),
                           int(t.a["day"][row]))
            self._refs[pos] = got
        return got

    def chunk_of(self, source: str, start: int) -> int | None:
        """The position of the chunk that holds the sentence starting at `start`."""
        row = self._view.row(source)
        if row is None:
            return None
        a, z = self._view.chunk_range(row)
        t, local, _ = self._view.table_of_chunk(a)
        starts = t.a["chunk_start"][local : local + (z - a)]
        ends = t.a["chunk_end"][local : local + (z - a)]
        i = int(np.searchsorted(starts, start, "right")) - 1
        if 0 <= i < z - a and int(starts[i]) <= start < int(ends[i]):
            return a + i
        return None

    def sentence_end(self, source: str, start: int) -> int | None:
        """Where the sentence that starts at `start` ends (None: no such sentence)."""
        pos = self.chunk_of(source, start)
        if pos is None:
            return None
        for s, e in self.chunk(pos).sentences:
            if s == start:
                return e
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
        n = self._view.live_chunks
        df = self._view.df(term)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def knows(self, term: str) -> bool:
        """Does any indexed chunk contain this term?"""
        return self._view.df(term) > 0

    # ---- the searcher's helpers ----------------------------------------------------------
    def prefetch(self, sources: Iterable[str]) -> bool:
        """Read the texts of these documents (those not cached) in one call. False when the
        store holds a newer version of one of them: this snapshot is then out of date."""
        want = []
        for s in dict.fromkeys(sources):
            gen = self._state.generation(s)
            if gen is not None and _TEXTS.get((s, gen)) is None:
                want.append((s, gen))
        if not want:
            return True
        got = self._store.texts([s for s, _ in want])
        fresh = True
        for s, gen in want:
            stored = got.get(s)
            if stored is not None and stored[0] == gen:
                _TEXTS.put((s, gen), stored[1])
            else:
                fresh = False
                self.mismatched.add(s)
        if not fresh:
            self.stale = True
        return fresh

    def chunk_text(self, ref: ChunkRef) -> str:
        return self.text(ref.source)[ref.start : ref.end]

    def shingles(self, i: int) -> set[tuple[str, ...]]:
        if i not in self._shingles:
            self._shingles[i] = shingles(self.chunk_text(self.chunk(i)))
        return self._shingles[i]

    def span_shingles(self, source: str, start: int, end: int) -> set[tuple[str, ...]]:
        key = (source, start, end)
        if key not in self._shingles:
            self._shingles[key] = shingles(self.text(source)[start:end])
        return self._shingles[key]


@dataclass
class Hit:
    """One fused chunk with the signals that produced it (used by answering and eval)."""

    chunk: int
    score: float
    dense: float | None = None
    sentence: float | None = None
    bm25: float | None = None
    key: tuple[int, int] | None = None  # the sentence that matched best
    article: int | None = None  # the rank (0 = first) of its article in the article ranking


@dataclass
class Retrieval:
    snapshot: Snapshot
    hits: list[Hit]
    sentence_sims: dict[tuple[str, int], float] = field(default_factory=dict)
    sentence_vecs: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    query_vector: np.ndarray | None = None
    articles: list[tuple[str, float]] = field(default_factory=list)  # the article ranking


# Chunks of the best-ranked articles join the candidates even when BM25 ranks none of their
# chunks: each article's best chunk by BM25 (its first when no chunk matches a term).
ARTICLE_CHUNKS = 10
ARTICLE_WEIGHT = 1.0  # an article's rank counts as much as a chunk's own BM25 rank


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
        self._state: State | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self.vectors = VectorCache(store.vector_cache_path, store.encoder)
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()  # recent query vectors
        self._ranked: OrderedDict[tuple[object, ...], list[tuple[str, float]]] = OrderedDict()

    def query_vector(self, query: str) -> np.ndarray:
        """The query's vector; the last few are kept (an answer retrieves, then ranks articles,
        for the same question)."""
        with self._lock:
            got = self._queries.get(query)
        if got is None:
            got = self.store.encoder.embed([query])[0]
            with self._lock:
                self._queries[query] = got
                while len(self._queries) > 32:
                    self._queries.popitem(last=False)
        return got

    def snapshot(self, force: bool = False) -> Snapshot:
        now = time.monotonic()
        with self._lock:
            if self._snap is None or force or now - self._checked >= self.check_every:
                self._checked = now
                if self._snap is None or force or self._snap.stale \
                        or self.store.version() != self._snap.version:
                    recheck = self._snap.mismatched if self._snap is not None else set()
                    state = sync(self.store.lexical(), self.store, self._state,
                                 recheck=set(recheck))
                    if self._snap is None or state is not self._state or self._snap.stale:
                        self._state = state
                        self._snap = Snapshot(state, self.store,
                                              chunk_vectors=self.store.count_chunks() > 0,
                                              sentence_vectors=self.store.count_sentences() > 0)
            return self._snap

    def retrieve(
        self, query: str, as_of: date | None = None, k: int | None = None
    ) -> Retrieval:
        """Fused chunk hits, best first; chunks published after `as_of` are not evidence.

        Ranked lists fused by reciprocal rank: BM25 over chunks; the article ranking
        (`rank_articles`: each chunk gets its article's rank, and the best chunk of each of
        the top ARTICLE_CHUNKS articles joins the candidates); and, when the store holds them
        (opt-in settings), chunk vectors and sentence vectors (each sentence votes for its
        chunk). The texts the hits point into are read here, in one call; if the store turns
        out to be newer than the snapshot, the snapshot is reloaded and the search repeated.
        """
        for _ in range(3):
            snap = self.snapshot()
            r = self._retrieve(snap, query, as_of, k)
            if not snap.stale:
                return r
            self.snapshot(force=True)
        return r

    def _retrieve(
        self, snap: Snapshot, query: str, as_of: date | None, k: int | None
    ) -> Retrieval:
        if snap.empty or not query.strip():
            return Retrieval(snap, [])
        k = k or self.candidates
        max_day = day_number(as_of.isoformat()) if as_of else None
        view = snap._view
        qterms = terms(query)
        qids = view.query_ids(qterms)
        vec = self.query_vector(query)

        def current(source: str, gen: str) -> bool:
            doc = snap.document(source)
            return doc is not None and doc.generation == gen  # else: newer than our snapshot

        dense: list[tuple[int, float]] = []
        chunk_hits = self.store.query_chunks(vec, k, max_day) if snap._chunk_vectors else []
        for source, gen, i, sim in chunk_hits:
            row = view.row(source)
            if current(source, gen) and row is not None:
                a, z = view.chunk_range(row)
                if a + i < z:
                    dense.append((a + i, sim))
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
        scores = view.chunk_scores(qids, max_day)
        sparse = top(scores, k)
        articles = self._rank_articles(snap, query, qids, vec, as_of, max_day, self.candidates,
                                       scores)
        article_rank = {view.row(src): i for i, (src, _) in enumerate(articles)}
        by_article: list[tuple[int, float]] = []
        for src, _ in articles[:ARTICLE_CHUNKS]:
            a, z = view.chunk_range(view.row(src))  # type: ignore[arg-type]
            if z > a:
                by_article.append((a + int(np.argmax(scores[a:z])), 0.0))
        fused: dict[int, Hit] = {}
        for ranked, attr in ((dense, "dense"), (by_sentence, "sentence"), (sparse, "bm25"),
                             (by_article, None)):
            for rank, (pos, value) in enumerate(ranked):
                h = fused.setdefault(pos, Hit(pos, 0.0))
                if attr is None:
                    continue
                if getattr(h, attr) is None:  # a list votes once per chunk, at its best rank
                    h.score += 1.0 / (RRF_K + rank + 1)
                    setattr(h, attr, value)
        cands = list(fused.values())
        bonus = recency_bonuses(query, as_of, view.chunk_day[[h.chunk for h in cands]])
        for h, extra in zip(cands, bonus):
            ar = article_rank.get(int(view.chunk_doc[h.chunk]))
            if ar is not None:
                h.article = ar
                h.score += ARTICLE_WEIGHT / (RRF_K + ar + 1)
            h.score += float(extra)
        hits = sorted(fused.values(), key=lambda h: -h.score)
        snap.prefetch(snap.chunk(h.chunk).source for h in hits[: 2 * KEYED])
        qset = set(qterms)
        for h in hits[: 2 * KEYED]:
            h.key = _key_sentence(snap, snap.chunk(h.chunk), qset, sentence_sims)
        return Retrieval(snap, hits, sentence_sims, sentence_vecs, vec, articles)

    def sentence_vectors(
        self, snap: Snapshot, sentences: list[tuple[str, int]]
    ) -> dict[tuple[str, int], np.ndarray]:
        """Vectors of sentences given as (source, start), for this snapshot's versions: the
        stored ones when the store has sentence vectors, else embedded now and cached by
        content (in this process and in the data folder, so each sentence is embedded once)."""
        out: dict[tuple[str, int], np.ndarray] = {}
        if snap._sentence_vectors:
            keys = [(src, d.generation, start) for src, start in sentences
                    if (d := snap.document(src)) is not None]
            out = self.store.sentence_vectors(keys)
        missing = [(src, start) for src, start in dict.fromkeys(sentences) if (src, start) not in out]
        if not missing:
            return out
        snap.prefetch(src for src, _ in missing)
        spans: list[tuple[tuple[str, int], str]] = []
        for src, start in missing:
            end = snap.sentence_end(src, start)
            text = snap.text(src)
            if end is not None and text:
                spans.append(((src, start), text[start:end]))
        if spans:
            vecs = self.vectors.embed([t for _, t in spans])
            out.update((key, v) for (key, _), v in zip(spans, vecs))
        return out

    def search(self, query: str, k: int = 5, as_of: date | None = None) -> list[Passage]:
        """The top k passages, each near-duplicate group collapsed into one passage."""
        r = self.retrieve(query, as_of)
        return collapse(r.snapshot, r.hits, k, r.sentence_vecs)

    def rank_articles(
        self, query: str, k: int = 10, as_of: date | None = None
    ) -> list[tuple[str, float]]:
        """Articles (not passages), best first: "which article answers this" (answers take
        their candidate sentences from the top ones) and eval. See index/article_ranking.py."""
        snap = self.snapshot()
        if snap.empty or not query.strip():
            return []
        max_day = day_number(as_of.isoformat()) if as_of else None
        qids = snap._view.query_ids(terms(query))
        vec = self.query_vector(query)
        return self._rank_articles(snap, query, qids, vec, as_of, max_day, self.candidates)[:k]

    def article_features(
        self, query: str, as_of: date | None = None
    ) -> tuple[list[str], np.ndarray]:
        """The article ranking's candidates and their features (index/article_ranking.py), for
        fitting its weights (bench/fit_article_model.py)."""
        snap = self.snapshot()
        if snap.empty or not query.strip():
            return [], np.zeros((0, len(ARTICLE_FEATURES)))
        max_day = day_number(as_of.isoformat()) if as_of else None
        qids = snap._view.query_ids(terms(query))
        rows, X = self._article_candidates(snap, query, qids, self.query_vector(query), max_day,
                                           self.candidates, None)
        return [snap._view.source_of_row(r) for r in rows], X

    def _article_candidates(
        self, snap: Snapshot, query: str, qids: np.ndarray, vec: np.ndarray,
        max_day: int | None, k: int, chunk_scores: np.ndarray | None,
    ) -> tuple[list[int], np.ndarray]:
        view = snap._view
        if chunk_scores is None:
            chunk_scores = view.chunk_scores(qids, max_day)
        leads, lead_rows = None, None
        if view.has_vectors:
            leads = view.lead_scores(vec, max_day)
        else:  # an encoder of unknown dimension: the store's own index of the lead vectors
            lead_rows = [r for src, gen, _ in self.store.query_documents(vec, k, max_day)
                         if (r := view.row(src)) is not None and snap._state.generation(src) == gen]
        return article_candidates(view, qids, view.article_scores(qids, max_day), leads,
                                  lead_rows, chunk_scores, max_day, bool(RECENT.search(query)), k)

    def _rank_articles(
        self, snap: Snapshot, query: str, qids: np.ndarray, vec: np.ndarray,
        as_of: date | None, max_day: int | None, k: int,
        chunk_scores: np.ndarray | None = None,
    ) -> list[tuple[str, float]]:
        key = (snap.version, id(snap), query, as_of, k)
        with self._lock:
            memo = self._ranked.get(key)
        if memo is not None:
            return memo
        rows, X = self._article_candidates(snap, query, qids, vec, max_day, k, chunk_scores)
        ranked = rank_rows(rows, X)
        view = snap._view
        out = [(view.source_of_row(row), s) for row, s in ranked]
        with self._lock:
            self._ranked[key] = out
            while len(self._ranked) > 32:
                self._ranked.popitem(last=False)
        return list(out)


def to_passage(snap: Snapshot, hit: Hit) -> Passage:
    ref = snap.chunk(hit.chunk)
    doc = snap.document(ref.source)
    assert doc is not None  # the snapshot's own chunk
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
