"""The query side of a lexical state: BM25 over chunks and articles and the lead ranking."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from index.bm25_index import Postings, bm25_scores
from index.lexical_table import Table

if TYPE_CHECKING:
    from index.lexical_store import State


class View:
    """BM25 over chunks and articles and the dense lead ranking of one state.

    Chunk positions run over the base's chunks, then the delta's; article rows likewise. The
    base's bm25s arrays and vectors stay memory-mapped: a query touches the postings of its
    own terms and the vector matrix, never the texts.
    """

    def __init__(self, state: State) -> None:
        self.state = state
        b, d = state.base, state.delta_table()
        self.base, self.delta = b, d
        self.nb, self.cb = b.table.n, b.table.n_chunks
        self.n_docs = self.nb + d.n
        self.n_chunks = self.cb + d.n_chunks
        doc_alive = np.ones(self.n_docs, dtype=bool)
        if state.masked:
            doc_alive[np.fromiter(state.masked, dtype=np.int64)] = False
        self.doc_alive = doc_alive
        self.doc_day = np.concatenate([np.asarray(b.table.a["day"]), np.asarray(d.a["day"])]
                                      ).astype(np.int64)
        self.chunk_doc = np.concatenate([b.table.chunk_doc, d.chunk_doc + self.nb])
        self.chunk_day = self.doc_day[self.chunk_doc] if self.n_chunks else np.zeros(0, np.int64)
        self.chunk_alive = doc_alive[self.chunk_doc] if self.n_chunks else np.zeros(0, bool)
        self._delta_chunks = Postings(*d.chunk_docs())
        self._delta_articles = Postings(*d.article_docs())
        self._df: dict[int, int] = {}
        self._masked_df: dict[int, int] | None = None

    # ---- lookups -----------------------------------------------------------------------
    def table_of_chunk(self, pos: int) -> tuple[Table, int, int]:
        """(table, local chunk position, local row) of a chunk position."""
        if pos < self.cb:
            return self.base.table, pos, int(self.chunk_doc[pos])
        return self.delta, pos - self.cb, int(self.chunk_doc[pos]) - self.nb

    def table_of_row(self, row: int) -> tuple[Table, int]:
        return (self.base.table, row) if row < self.nb else (self.delta, row - self.nb)

    def row(self, source: str) -> int | None:
        loc = self.state.locate(source)
        if loc is None:
            return None
        return loc[1] if loc[0] == 0 else self.nb + loc[1]

    def source_of_row(self, row: int) -> str:
        t, r = self.table_of_row(row)
        return t.sources[r]

    def chunk_range(self, row: int) -> tuple[int, int]:
        t, r = self.table_of_row(row)
        a, z = t.chunk_range(r)
        off = 0 if row < self.nb else self.cb
        return a + off, z + off

    # ---- query terms -------------------------------------------------------------------
    def query_ids(self, terms: Iterable[str]) -> np.ndarray:
        ids = [self.state.vocab.get(t) for t in terms]
        return np.array([i for i in ids if i is not None], dtype=np.int64)

    def df(self, term: str) -> int:
        """Chunks that contain the term, over live articles (base - masked + delta)."""
        tid = self.state.vocab.get(term)
        if tid is None:
            return 0
        got = self._df.get(tid)
        if got is None:
            base_df = self.base.chunk_stats.df
            got = int(base_df[tid]) if tid < len(base_df) else 0
            got -= self._masked().get(tid, 0)
            d = self._delta_chunks
            a = np.searchsorted(d.terms, tid, "left")
            z = np.searchsorted(d.terms, tid, "right")
            got += int(z - a)
            self._df[tid] = got
        return got

    def _masked(self) -> dict[int, int]:
        if self._masked_df is None:
            counts: dict[int, int] = {}
            t = self.base.table
            for row in self.state.masked:
                title = set(t.title(row).tolist())
                c0, c1 = t.chunk_range(row)
                for pos in range(c0, c1):
                    for tid in title | set(t.body(pos).tolist()):
                        counts[tid] = counts.get(tid, 0) + 1
            self._masked_df = counts
        return self._masked_df

    @property
    def live_chunks(self) -> int:
        return int(self.chunk_alive.sum())

    # ---- BM25 --------------------------------------------------------------------------
    def chunk_scores(self, qids: np.ndarray, max_day: int | None) -> np.ndarray:
        """BM25 of every chunk (0 for masked chunks and chunks after `max_day`)."""
        mask = self.chunk_alive if max_day is None else self.chunk_alive & (self.chunk_day <= max_day)
        mask = mask.astype(np.float32)
        base_q = qids[qids < self.base.vocab_size]
        out = np.zeros(self.n_chunks, dtype=np.float32)
        if self.cb and len(base_q):
            out[: self.cb] = bm25_scores(self.base.chunks, base_q, self.cb, None)
        if self.delta.n_chunks:
            out[self.cb :] = self._delta_chunks.scores(qids, self.base.chunk_stats)
        return out * mask

    def article_scores(self, qids: np.ndarray, max_day: int | None) -> np.ndarray:
        mask = self.doc_alive if max_day is None else self.doc_alive & (self.doc_day <= max_day)
        base_q = qids[qids < self.base.vocab_size]
        out = np.zeros(self.n_docs, dtype=np.float32)
        if self.nb and len(base_q):
            out[: self.nb] = bm25_scores(self.base.articles, base_q, self.nb, None)
        if self.delta.n:
            out[self.nb :] = self._delta_articles.scores(qids, self.base.article_stats)
        return out * mask.astype(np.float32)

    def lead_scores(self, vector: np.ndarray, max_day: int | None) -> np.ndarray:
        """Cosine of every article's title-and-lead vector with the query (-2 when masked)."""
        parts = []
        for t in (self.base.table, self.delta):
            vecs = t.a["vectors"]
            # einsum, not BLAS: OpenBLAS' threads wait on onnxruntime's and took 6 ms for 2,000
            # rows; einsum is one thread and 3 ms for 24,000.
            parts.append(np.einsum("ij,j->i", vecs, vector) if t.n and vecs.shape[1]
                         else np.zeros(t.n))
        sims = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
        ok = self.doc_alive if max_day is None else self.doc_alive & (self.doc_day <= max_day)
        sims[~ok] = -2.0
        return sims

    @property
    def has_vectors(self) -> bool:
        return bool(self.state.dim)


def top(scores: np.ndarray, k: int, floor: float = 0.0) -> list[tuple[int, float]]:
    """The k best (index, score) above `floor`, best first."""
    if not len(scores) or k <= 0:
        return []
    k = min(k, len(scores))
    idx = np.argpartition(-scores, k - 1)[:k]
    idx = idx[np.argsort(-scores[idx], kind="stable")]
    return [(int(i), float(scores[i])) for i in idx if scores[i] > floor]
