"""BM25 over term ids: statistics, query-time postings for small segments, and bm25s bases.

A base is an immutable segment: its `Table` plus two bm25s indexes (over chunks and over whole
articles) saved with bm25s' own `save` and loaded memory-mapped. See index/lexical_store.py for
how bases, deltas and states fit together.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.durable import fsync_tree
from index.lexical_table import Table

FORMAT = 2
K1, B = 1.2, 0.75
BM25_BLOCK = 2048  # documents counted at a time while building (bounds the build's memory)


@dataclass
class Stats:
    """The corpus statistics BM25 scores with: documents, mean length, document frequencies."""

    n: int
    avgdl: float
    df: np.ndarray  # by term id (terms beyond its length: 0)

    def df_of(self, ids: np.ndarray) -> np.ndarray:
        out = np.zeros(len(ids), dtype=np.float64)
        ok = ids < len(self.df)
        out[ok] = self.df[ids[ok]]
        return out

    def idf(self, ids: np.ndarray) -> np.ndarray:
        """Lucene's idf, as bm25s computes it."""
        df = self.df_of(ids)
        return np.log(1.0 + (self.n - df + 0.5) / (df + 0.5))


class Postings:
    """Term-frequency postings of a few documents, scored at query time with given statistics
    (the delta segment: its scores land on the base's scale)."""

    def __init__(self, ptr: np.ndarray, ids: np.ndarray) -> None:
        self.n = len(ptr) - 1
        self.lengths = np.diff(ptr).astype(np.float64)
        if len(ids) and self.n:
            owner = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(ptr))
            pairs, tf = np.unique(ids.astype(np.int64) * self.n + owner, return_counts=True)
            self.terms = pairs // self.n
            self.docs = pairs % self.n
            self.tf = tf.astype(np.float64)
        else:
            self.terms = self.docs = np.zeros(0, dtype=np.int64)
            self.tf = np.zeros(0)

    def scores(self, query_ids: np.ndarray, stats: Stats) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        if not self.n or not len(query_ids):
            return out
        idf = stats.idf(query_ids)
        norm = K1 * (1 - B + B * self.lengths / max(stats.avgdl, 1e-9))
        lo = np.searchsorted(self.terms, query_ids, "left")
        hi = np.searchsorted(self.terms, query_ids, "right")
        for w, a, z in zip(idf, lo, hi):
            if z > a:
                d, tf = self.docs[a:z], self.tf[a:z]
                np.add.at(out, d, (w * tf / (tf + norm[d])).astype(np.float32))
        return out


def build_bm25(ptr: np.ndarray, ids: np.ndarray, vocab_size: int) -> tuple[Any, Stats]:
    """A bm25s index (Lucene variant, our k1/b) over documents given as term ids.

    The score matrix is computed here with numpy, in bm25s' own layout (CSC: per term, the
    documents and their precomputed scores) and formula, then handed to a `bm25s.BM25` that
    saves, loads (memory-mapped) and scores it. bm25s' builder wants every document as a
    Python list of ints: at 24,000 articles that alone took over 1 GB. Counting the (term,
    document) pairs of all chunks at once took another ~900 MB for a moment (one sort of 24
    million keys); a block of documents at a time, it takes what the result takes.
    """
    import bm25s

    n_docs = len(ptr) - 1
    lengths = np.diff(ptr).astype(np.float64)
    avgdl = float(lengths.mean()) if n_docs else 0.0
    # Pass 1, a block of documents at a time: each (term, document) pair and its frequency.
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    df = np.zeros(vocab_size, dtype=np.int64)
    for d0 in range(0, n_docs, BM25_BLOCK):
        d1 = min(n_docs, d0 + BM25_BLOCK)
        part = ids[ptr[d0] : ptr[d1]].astype(np.int64)
        owner = np.repeat(np.arange(d1 - d0, dtype=np.int64), np.diff(ptr[d0 : d1 + 1]))
        pairs, tf = np.unique(part * (d1 - d0) + owner, return_counts=True)  # by term, then doc
        terms = (pairs // (d1 - d0)).astype(np.int32)
        blocks.append((terms, (pairs % (d1 - d0) + d0).astype(np.int32), tf.astype(np.int32)))
        df += np.bincount(terms, minlength=vocab_size)
        del part, owner, pairs, tf
    indptr = np.zeros(max(vocab_size, 1) + 1, dtype=np.int64)
    np.cumsum(df, out=indptr[1 : vocab_size + 1])
    idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
    # Pass 2: scores, placed in term order (CSC). Blocks come in document order, so within a
    # term the documents stay sorted, as bm25s' builder leaves them.
    total = int(indptr[-1]) if vocab_size else 0
    docs = np.empty(total, dtype=np.int32)
    data = np.empty(total, dtype=np.float32)
    fill = indptr[:-1].copy()
    while blocks:
        terms, dd, tf = blocks.pop(0)
        if not len(terms):
            continue
        first = np.flatnonzero(np.r_[True, terms[1:] != terms[:-1]])  # each term's first pair
        counts = np.diff(np.r_[first, len(terms)])
        run = np.arange(len(terms)) - np.repeat(first, counts)  # position within its term
        at = fill[terms] + run
        fill[terms[first]] += counts
        t = tf.astype(np.float64)
        docs[at] = dd
        data[at] = (idf[terms] * t / (t + K1 * (1 - B + B * lengths[dd] / avgdl))).astype(np.float32)
        del terms, dd, tf, t, at, run
    df = df.astype(np.int32)
    if vocab_size == 0:
        indptr[1] = 0
    engine = bm25s.BM25(k1=K1, b=B)
    engine.scores = {"data": data, "indices": docs, "indptr": indptr, "num_docs": n_docs}
    engine.vocab_dict = {}
    engine.nonoccurrence_array = None  # the Lucene variant has none (as bm25s' builder sets)
    return engine, Stats(n_docs, avgdl, df)


def bm25_scores(engine: Any, query_ids: np.ndarray, n: int, mask: np.ndarray | None) -> np.ndarray:
    """bm25s' scores of every document for query term ids known to its vocabulary."""
    if not len(query_ids) or not n:
        return np.zeros(n, dtype=np.float32)
    return np.asarray(engine.get_scores_from_ids(query_ids.tolist(), weight_mask=mask))


class Base:
    """An immutable segment with bm25s indexes over its chunks and its articles."""

    def __init__(self, path: Path, table: Table, chunks: Any, articles: Any,
                 chunk_stats: Stats, article_stats: Stats, vocab_size: int,
                 terms: list[str] | None = None) -> None:
        self.path = path
        self.name = path.name
        self.table = table
        self.chunks = chunks
        self.articles = articles
        self.chunk_stats = chunk_stats
        self.article_stats = article_stats
        self.vocab_size = vocab_size
        self._terms = terms
        self._term_ids: dict[str, int] | None = None

    def terms(self) -> list[str]:
        if self._terms is None:
            self._terms = json.loads((self.path / "vocab.json").read_text(encoding="utf-8"))
        return self._terms

    def term_ids(self) -> dict[str, int]:
        if self._term_ids is None:
            self._term_ids = {t: i for i, t in enumerate(self.terms())}
        return self._term_ids

    @classmethod
    def build(cls, path: Path, table: Table, vocab: list[str]) -> Base:
        """Write a base: bm25s' `save` for both indexes, our arrays for the rest."""
        table.save(path)
        cp, ci = table.chunk_docs()
        ap, ai = table.article_docs()
        chunks, cstats = build_bm25(cp, ci, len(vocab))
        articles, astats = build_bm25(ap, ai, len(vocab))
        chunks.save(str(path / "chunks"), show_progress=False)
        articles.save(str(path / "articles"), show_progress=False)
        np.save(path / "df_chunks.npy", cstats.df)
        np.save(path / "df_articles.npy", astats.df)
        (path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
        (path / "base.json").write_text(json.dumps({
            "format": FORMAT, "vocab": len(vocab), "chunks": [cstats.n, cstats.avgdl],
            "articles": [astats.n, astats.avgdl]}), encoding="utf-8")
        fsync_tree(path)
        return cls(path, table, chunks, articles, cstats, astats, len(vocab), vocab)

    @classmethod
    def load(cls, path: Path) -> Base:
        import bm25s

        info = json.loads((path / "base.json").read_text(encoding="utf-8"))
        if info.get("format") != FORMAT:
            raise ValueError("old format")
        table = Table.load(path)
        chunks = bm25s.BM25.load(str(path / "chunks"), mmap=True, load_vocab=False)
        articles = bm25s.BM25.load(str(path / "articles"), mmap=True, load_vocab=False)
        cstats = Stats(int(info["chunks"][0]), float(info["chunks"][1]),
                       np.load(path / "df_chunks.npy", mmap_mode="r"))
        astats = Stats(int(info["articles"][0]), float(info["articles"][1]),
                       np.load(path / "df_articles.npy", mmap_mode="r"))
        return cls(path, table, chunks, articles, cstats, astats, int(info["vocab"]))


_EMPTY_BASE: dict[int, Base] = {}


def empty_base(dim: int) -> Base:
    """A base with no articles (before the first merge)."""
    if dim not in _EMPTY_BASE:
        table = Table.from_entries([], dim)
        empty = Stats(0, 0.0, np.zeros(0, dtype=np.int32))
        _EMPTY_BASE[dim] = Base(Path("-"), table, None, None, empty, empty, 0, [])
    return _EMPTY_BASE[dim]
