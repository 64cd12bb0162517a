"""The saved lexical index: BM25 over chunks and over whole articles, the document table and the
title-and-lead vectors, kept on disk next to the vectors and memory-mapped when loaded.

Why it exists: building BM25 at start-up meant every process read every text of the archive
from Chroma and tokenised it again (10 s and 580 MB at 2,000 articles, linear in the archive).
Here the index is built once, by whoever first sees a change, and a starting process maps files.

Layout of a lexical folder (`<data_dir>/lexical/` for the embedded store; for a Chroma server
`<data_dir>/lexical/<host_port_database>/`, see `lexical_dir`)::

    CURRENT              the name of the state in force; replaced atomically (os.replace)
    base-<id>/           an immutable segment: the document table (.npy, memory-mapped), the
                         vocabulary, and two bm25s indexes written by bm25s' own `save`
                         (chunks/ and articles/), loaded with `bm25s.BM25.load(mmap=True)`
    delta-<id>/          a small segment (same table format, no bm25s index)
    state-<id>.json      which base and delta, the masked base rows, the store version matched

**Two levels, base and delta.** bm25s stores precomputed scores (idf x term-frequency part):
every stored score depends on the corpus size, the document frequencies and the mean length, so
adding one article to a bm25s index means rebuilding all of it (seconds at 24,000 articles).
The bulk therefore lives in an immutable bm25s base; articles added or changed since go to a
delta that is scored at query time with the *base's* statistics (the same Lucene formula, so
both lists are on one scale), and replaced or removed base articles are masked out
(`weight_mask`). Adding, changing or removing one article rewrites only the delta (its
postings, nothing else). When the delta outgrows `max(DELTA_MIN, DELTA_SHARE x base)` articles
it is merged into a new base: a full bm25s build from the saved term ids, no text read or
tokenised again. Until then the base's statistics are off by at most that share, which moves
BM25 scores by a few percent, and the merge puts them right.

**Consistency with the store.** Chroma stays the one source of truth; this folder is a cache
of it that can always be rebuilt. A state records the store version it matches (an epoch that
`--rebuild` renews, and a commit sequence number) and every article's generation (content
hash). A process that finds the store newer asks the store only for what changed after its
sequence number (records carry `seq`; removals leave tombstones), reads the texts of just those
articles, and saves the next state. Offsets (chunks, sentences) come from the state and texts
from the store, and a text is used only when the store's generation matches the state's, so a
state that disagrees with the committed documents never serves wrong text (see
`index.search.Snapshot.text`).

**Crash safety.** A state is written to new files, fsynced, and made current by one `os.replace`
of CURRENT, under an flock; a `kill -9` at any point leaves the previous state in force plus
files no state names, which the next save deletes. A missing or unreadable state is rebuilt from
the store.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = 2
K1, B = 1.2, 0.75
BM25_BLOCK = 2048  # documents counted at a time while building (bounds the build's memory)
DELTA_MIN = 256  # articles the delta may hold before it is merged into the base...
DELTA_SHARE = 0.05  # ...or this share of the base, whichever is larger

Layout = list[tuple[int, int, list[tuple[int, int]]]]


def lexical_dir(data_dir: Path, server: str | None) -> Path:
    """Where the lexical index of a store lives: next to the embedded store's files, or, for a
    Chroma server, in a subfolder of the local data folder named after the server and database
    (each machine keeps its own copy, brought up to date from the server's commit log)."""
    root = Path(data_dir) / "lexical"
    if server is None:
        return root
    return root / re.sub(r"[^A-Za-z0-9_.-]+", "_", server)


@dataclass
class Entry:
    """One article as the lexical index holds it: identity, ranking metadata, chunk layout,
    term ids (title, then each chunk's body) and the title-and-lead vector.

    Flat arrays, not lists of tuples: an indexing run holds every article it wrote until the
    run ends, and as Python lists the layout and term ids cost ~30 KB an article (0.7 GB of
    the pool's 2.4 GB peak); as arrays they cost about what they take on disk (~6 KB).
    """

    source: str
    generation: str
    pub_day: int
    meta: str  # ArticleMeta as JSON
    bounds: np.ndarray  # (chunks, 2) int32: each chunk's start and end offset
    sent_ptr: np.ndarray  # (chunks + 1,) int64: each chunk's first row in `sents`
    sents: np.ndarray  # (sentences, 2) int32: each sentence's start and end offset
    title: np.ndarray  # term ids
    body_ptr: np.ndarray  # (chunks + 1,) int64: each chunk's first term id in `body_ids`
    body_ids: np.ndarray  # term ids of every chunk's body, one after another
    vector: np.ndarray | None = None  # the title-and-lead vector (None: unknown)
    raw: str = ""  # the raw input's hash (index.types.Document.raw)

    @classmethod
    def of(cls, source: str, generation: str, pub_day: int, meta: str, chunks: Layout,
           title: np.ndarray, bodies: Sequence[np.ndarray], vector: np.ndarray | None = None,
           raw: str = "") -> Entry:
        """From a chunk layout and per-chunk term ids."""
        sents = [pair for _, _, ss in chunks for pair in ss]
        return cls(
            source, generation, pub_day, meta,
            np.array([(a, z) for a, z, _ in chunks], dtype=np.int32).reshape(-1, 2),
            _ptr([len(ss) for _, _, ss in chunks]),
            np.array(sents, dtype=np.int32).reshape(-1, 2),
            np.asarray(title, dtype=np.int32),
            _ptr([len(b) for b in bodies]), _concat(bodies),
            None if vector is None else np.array(vector, dtype=np.float32), raw)

    @property
    def n_chunks(self) -> int:
        return len(self.bounds)

    @property
    def chunks(self) -> Layout:
        pairs = [tuple(p) for p in self.sents.tolist()]
        ptr = self.sent_ptr.tolist()
        return [(a, z, pairs[ptr[i] : ptr[i + 1]])  # type: ignore[misc]
                for i, (a, z) in enumerate(self.bounds.tolist())]

    @property
    def bodies(self) -> list[np.ndarray]:
        p = self.body_ptr
        return [self.body_ids[p[i] : p[i + 1]] for i in range(self.n_chunks)]


class Vocab:
    """Term -> id: the base's terms (read-only, shared, loaded at the first lookup) plus the
    terms added after the base was built."""

    def __init__(self, base: Base | None = None, extra: Sequence[str] = ()) -> None:
        self.base = base
        self.base_size = base.vocab_size if base is not None else 0
        self.extra: list[str] = list(extra)
        self._extra_ids = {t: self.base_size + i for i, t in enumerate(self.extra)}

    def __len__(self) -> int:
        return self.base_size + len(self.extra)

    def get(self, term: str) -> int | None:
        got = self.base.term_ids().get(term) if self.base_size else None
        return got if got is not None else self._extra_ids.get(term)

    def add(self, term: str) -> int:
        got = self.get(term)
        if got is None:
            got = self.base_size + len(self.extra)
            self.extra.append(term)
            self._extra_ids[term] = got
        return got

    def ids(self, terms: Iterable[str]) -> np.ndarray:
        base = self.base.term_ids() if self.base_size else {}
        extra = self._extra_ids
        out = []
        for t in terms:
            i = base.get(t)
            if i is None:
                i = extra.get(t)
                if i is None:
                    i = self.add(t)
            out.append(i)
        return np.array(out, dtype=np.int32)

    def all_terms(self) -> list[str]:
        return [*(self.base.terms() if self.base_size else []), *self.extra]

    def copy(self) -> Vocab:
        return Vocab(self.base, self.extra)


# ---- segments ----------------------------------------------------------------------------
_ARRAYS = ("gen", "raw", "day", "doc_chunks", "chunk_start", "chunk_end", "chunk_sents", "sent_start",
           "sent_end", "title_ptr", "title_ids", "body_ptr", "body_ids", "meta_ptr", "meta",
           "vectors")


class Table:
    """The articles of one segment as flat arrays (row = article, position = chunk)."""

    def __init__(self, sources: list[str], arrays: dict[str, np.ndarray]) -> None:
        self.sources = sources
        # Plain ndarray views of the memory maps: slicing a np.memmap goes through its Python
        # __getitem__ (4.3 us against 0.8 us a slice, measured), and a search slices thousands.
        self.a = {k: np.asarray(v) for k, v in arrays.items()}
        self.n = len(sources)
        self.n_chunks = int(arrays["doc_chunks"][-1]) if self.n else 0
        self._chunk_doc: np.ndarray | None = None

    @property
    def chunk_doc(self) -> np.ndarray:
        if self._chunk_doc is None:
            self._chunk_doc = np.repeat(np.arange(self.n, dtype=np.int32),
                                        np.diff(self.a["doc_chunks"]))
        return self._chunk_doc

    # ---- building ----------------------------------------------------------------------
    @classmethod
    def from_entries(cls, entries: Sequence[Entry], dim: int) -> Table:
        n = len(entries)

        def offsets(ptrs: list[np.ndarray]) -> np.ndarray:
            """Per-entry pointer arrays joined into one, each shifted past the previous."""
            return _ptr(np.concatenate([np.diff(p) for p in ptrs]).tolist() if ptrs else [])

        bounds = np.concatenate([e.bounds for e in entries]) if n else np.zeros((0, 2), np.int32)
        sents = np.concatenate([e.sents for e in entries]) if n else np.zeros((0, 2), np.int32)
        metas = [e.meta.encode("utf-8") for e in entries]
        vectors = np.zeros((n, dim), dtype=np.float32)
        for i, e in enumerate(entries):
            if e.vector is not None and dim:
                vectors[i] = e.vector
        arrays = {
            "gen": np.array([e.generation.encode() for e in entries], dtype="S16").reshape(n),
            "raw": np.array([e.raw.encode() for e in entries], dtype="S16").reshape(n),
            "day": np.array([e.pub_day for e in entries], dtype=np.int32),
            "doc_chunks": _ptr([e.n_chunks for e in entries]),
            "chunk_start": bounds[:, 0].astype(np.int32),
            "chunk_end": bounds[:, 1].astype(np.int32),
            "chunk_sents": offsets([e.sent_ptr for e in entries]),
            "sent_start": sents[:, 0].astype(np.int32),
            "sent_end": sents[:, 1].astype(np.int32),
            "title_ptr": _ptr([len(e.title) for e in entries]),
            "title_ids": _concat([e.title for e in entries]),
            "body_ptr": offsets([e.body_ptr for e in entries]),
            "body_ids": _concat([e.body_ids for e in entries]),
            "meta_ptr": _ptr([len(m) for m in metas]),
            "meta": np.frombuffer(b"".join(metas), dtype=np.uint8).copy(),
            "vectors": vectors,
        }
        return cls([e.source for e in entries], arrays)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        for name in _ARRAYS:
            np.save(path / f"{name}.npy", self.a[name], allow_pickle=False)
        (path / "sources.json").write_text(json.dumps(self.sources), encoding="utf-8")

    @classmethod
    def load(cls, path: Path, mmap: bool = True) -> Table:
        mode = "r" if mmap else None
        arrays = {n: np.load(path / f"{n}.npy", mmap_mode=mode, allow_pickle=False)
                  for n in _ARRAYS}
        sources = json.loads((path / "sources.json").read_text(encoding="utf-8"))
        return cls(sources, arrays)

    # ---- reading -----------------------------------------------------------------------
    def generation(self, row: int) -> str:
        return bytes(self.a["gen"][row]).decode()

    def meta_json(self, row: int) -> str:
        p = self.a["meta_ptr"]
        return bytes(self.a["meta"][int(p[row]) : int(p[row + 1])]).decode("utf-8")

    def chunk_range(self, row: int) -> tuple[int, int]:
        p = self.a["doc_chunks"]
        return int(p[row]), int(p[row + 1])

    def sentences(self, pos: int) -> list[tuple[int, int]]:
        p = self.a["chunk_sents"]
        a, z = int(p[pos]), int(p[pos + 1])
        return list(zip(self.a["sent_start"][a:z].tolist(), self.a["sent_end"][a:z].tolist()))

    def layout(self, row: int) -> Layout:
        c0, c1 = self.chunk_range(row)
        starts = self.a["chunk_start"][c0:c1].tolist()
        ends = self.a["chunk_end"][c0:c1].tolist()
        ptr = self.a["chunk_sents"][c0 : c1 + 1].tolist()
        a, z = (ptr[0], ptr[-1]) if ptr else (0, 0)
        pairs = list(zip(self.a["sent_start"][a:z].tolist(), self.a["sent_end"][a:z].tolist()))
        return [(s, e, pairs[ptr[i] - a : ptr[i + 1] - a])
                for i, (s, e) in enumerate(zip(starts, ends))]

    def title(self, row: int) -> np.ndarray:
        p = self.a["title_ptr"]
        return np.asarray(self.a["title_ids"][int(p[row]) : int(p[row + 1])])

    def body(self, pos: int) -> np.ndarray:
        p = self.a["body_ptr"]
        return np.asarray(self.a["body_ids"][int(p[pos]) : int(p[pos + 1])])

    def entry(self, row: int) -> Entry:
        """One row as an Entry (views of this table's arrays, shifted to start at 0)."""
        a = self.a
        c0, c1 = self.chunk_range(row)
        sp = a["chunk_sents"][c0 : c1 + 1]
        bp = a["body_ptr"][c0 : c1 + 1]
        return Entry(self.sources[row], self.generation(row), int(a["day"][row]),
                     self.meta_json(row),
                     np.stack([a["chunk_start"][c0:c1], a["chunk_end"][c0:c1]], axis=1),
                     sp - sp[0],
                     np.stack([a["sent_start"][sp[0] : sp[-1]], a["sent_end"][sp[0] : sp[-1]]],
                              axis=1),
                     self.title(row), bp - bp[0], a["body_ids"][bp[0] : bp[-1]],
                     np.asarray(a["vectors"][row]), bytes(a["raw"][row]).decode())

    def chunk_docs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every chunk as BM25 sees it (title terms, then body terms): (ptr, ids)."""
        return _join_title(self, per_chunk=True)

    def article_docs(self) -> tuple[np.ndarray, np.ndarray]:
        """Every article as BM25 sees it (title, then all bodies): (ptr, ids)."""
        return _join_title(self, per_chunk=False)


def _ptr(lengths: Sequence[int]) -> np.ndarray:
    p = np.zeros(len(lengths) + 1, dtype=np.int64)
    if len(lengths):
        np.cumsum(lengths, out=p[1:])
    return p


def _concat(parts: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.int32) if parts else np.zeros(0, dtype=np.int32)


def _join_title(t: Table, per_chunk: bool) -> tuple[np.ndarray, np.ndarray]:
    """Flat term ids of BM25's documents: chunk = title + body; article = title + bodies."""
    tp, ti = np.asarray(t.a["title_ptr"]), np.asarray(t.a["title_ids"])
    bp, bi = np.asarray(t.a["body_ptr"]), np.asarray(t.a["body_ids"])
    dc = np.asarray(t.a["doc_chunks"])
    title_len = np.diff(tp)
    if per_chunk:
        owner = t.chunk_doc
        lens = title_len[owner] + np.diff(bp)
        out = np.empty(int(lens.sum()), dtype=np.int32)
        ptr = _ptr(lens.tolist())
        for pos in range(t.n_chunks):
            d = owner[pos]
            a, tl = ptr[pos], title_len[d]
            out[a : a + tl] = ti[tp[d] : tp[d + 1]]
            out[a + tl : ptr[pos + 1]] = bi[bp[pos] : bp[pos + 1]]
        return ptr, out
    lens = title_len + (bp[dc[1:]] - bp[dc[:-1]])
    out = np.empty(int(lens.sum()), dtype=np.int32)
    ptr = _ptr(lens.tolist())
    for d in range(t.n):
        a, tl = ptr[d], title_len[d]
        out[a : a + tl] = ti[tp[d] : tp[d + 1]]
        out[a + tl : ptr[d + 1]] = bi[bp[dc[d]] : bp[dc[d + 1]]]
    return ptr, out


# ---- BM25 ---------------------------------------------------------------------------------
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
        _fsync_tree(path)
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


# ---- a state: base + delta + mask ---------------------------------------------------------
@dataclass
class State:
    """What one version of the store looks like to BM25 and ranking; immutable once built."""

    epoch: str
    seq: int
    base: Base
    delta: list[Entry]
    masked: frozenset[int]  # base rows replaced or removed since the base was built
    vocab: Vocab
    dim: int
    name: str = ""
    _derived: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return f"{self.epoch}:{self.seq}"

    def __len__(self) -> int:
        return self.base.table.n - len(self.masked) + len(self.delta)

    def generations(self) -> dict[str, str]:
        """source -> generation of every article (the manifest)."""
        t = self.base.table
        gens = [bytes(g).decode() for g in np.asarray(t.a["gen"])]
        out = {s: g for i, (s, g) in enumerate(zip(t.sources, gens)) if i not in self.masked}
        out.update((e.source, e.generation) for e in self.delta)
        return out

    def raws(self) -> dict[str, str]:
        """source -> raw input hash of every article indexed with one."""
        t = self.base.table
        raws = [bytes(r).decode() for r in np.asarray(t.a["raw"])]
        out = {s: r for i, (s, r) in enumerate(zip(t.sources, raws)) if i not in self.masked and r}
        out.update((e.source, e.raw) for e in self.delta if e.raw)
        return out

    def locate(self, source: str) -> tuple[int, int] | None:
        """(0, base row) or (1, delta index) of a live article."""
        got = self._derived.get("where")
        if got is None:
            got = {}
            for i, s in enumerate(self.base.table.sources):
                if i not in self.masked:
                    got[s] = (0, i)
            for i, e in enumerate(self.delta):
                got[e.source] = (1, i)
            self._derived["where"] = got
        return got.get(source)

    def generation(self, source: str) -> str | None:
        loc = self.locate(source)
        if loc is None:
            return None
        return self.base.table.generation(loc[1]) if loc[0] == 0 else self.delta[loc[1]].generation

    def delta_table(self) -> Table:
        got = self._derived.get("delta_table")
        if got is None:
            got = self._derived["delta_table"] = Table.from_entries(self.delta, self.dim)
        return got

    # ---- deriving the next state -------------------------------------------------------
    def apply(self, upserts: Sequence[Entry], removed: Iterable[str], epoch: str, seq: int,
              vocab: Vocab) -> State:
        gone = set(removed) | {e.source for e in upserts}
        masked = set(self.masked)
        for s in gone:
            loc = self.locate(s)
            if loc is not None and loc[0] == 0:
                masked.add(loc[1])
        delta = [e for e in self.delta if e.source not in gone] + list(upserts)
        return State(epoch, seq, self.base, delta, frozenset(masked), vocab, self.dim)

    def needs_merge(self) -> bool:
        live_base = self.base.table.n - len(self.masked)
        limit = max(DELTA_MIN, DELTA_SHARE * live_base)
        return len(self.delta) > limit or len(self.masked) > limit


# ---- the folder ---------------------------------------------------------------------------
class LexicalIndex:
    """A lexical folder: load the state in force, save the next one (see the module docstring).

    `readonly` processes (a folder they cannot write) keep their synced state in memory.
    """

    def __init__(self, path: Path, dim: int) -> None:
        self.path = Path(path)
        self.dim = dim
        self._bases: dict[str, Base] = {}
        self.builds = 0  # merges done by this process (tests and the bench read it)

    # ---- reading -----------------------------------------------------------------------
    def current_name(self) -> str | None:
        try:
            return (self.path / "CURRENT").read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def load(self) -> State | None:
        """The state in force, or None when there is none (or it cannot be read)."""
        name = self.current_name()
        if not name:
            return None
        try:
            info = json.loads((self.path / name).read_text(encoding="utf-8"))
            if info.get("format") != FORMAT or int(info.get("dim", -1)) != self.dim:
                return None
            base = self._base(info.get("base"))
            delta: list[Entry] = []
            if info.get("delta"):
                dt = Table.load(self.path / info["delta"], mmap=False)
                delta = [dt.entry(i) for i in range(dt.n)]
            vocab = Vocab(base, info.get("extra_terms", []))
            state = State(str(info["epoch"]), int(info["seq"]), base, delta,
                          frozenset(int(r) for r in info.get("masked", [])), vocab, self.dim,
                          name=name)
            if info.get("delta"):
                state._derived["delta_table"] = dt
            return state
        except (OSError, ValueError, KeyError, TypeError, EOFError):
            return None  # unreadable: rebuilt from the store

    def _base(self, name: str | None) -> Base:
        if not name:
            return empty_base(self.dim)
        if name not in self._bases:
            self._bases[name] = Base.load(self.path / name)
        return self._bases[name]

    # ---- writing -----------------------------------------------------------------------
    def empty(self, epoch: str) -> State:
        base = empty_base(self.dim)
        return State(epoch, -1, base, [], frozenset(), Vocab(base), self.dim)

    def save(self, state: State, store_seq: int | None = None) -> State:
        """Write `state` (merging the delta into a new base when it has grown) and make it
        current, unless the folder already holds a newer state of the same epoch. Returns the
        state in force afterwards. Without write access the state is kept in memory only.
        `store_seq` is the store's commit number: a state claiming a later one is not "newer"
        but wrong (made by a bug or by hand), and is replaced."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            lock = open(self.path / "lock", "a+")
        except OSError:
            return state
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            cur = self.load()
            limit = store_seq if store_seq is not None else (cur.seq if cur else 0)
            if cur is not None and cur.epoch == state.epoch and state.seq < cur.seq <= limit \
                    and cur.name:
                return cur  # another process saved a newer one meanwhile
            tag = f"{int(time.time() * 1000):x}-{uuid.uuid4().hex[:6]}"
            if state.needs_merge() or (state.base.table.n == 0 and state.delta):
                state = self._merge(state, tag)
            delta_name = None
            if state.delta:
                delta_name = f"delta-{tag}"
                Table.from_entries(state.delta, self.dim).save(self.path / delta_name)
                _fsync_tree(self.path / delta_name)
            name = f"state-{tag}.json"
            base_name = None if state.base.name == "-" else state.base.name
            info = {"format": FORMAT, "dim": self.dim, "epoch": state.epoch, "seq": state.seq,
                    "base": base_name, "delta": delta_name, "masked": sorted(state.masked),
                    "extra_terms": state.vocab.extra, "saved": time.time()}
            _write_atomic(self.path / name, json.dumps(info))
            _write_atomic(self.path / "CURRENT", name)
            state.name = name
            self._collect(keep={name, delta_name, base_name})
            return state

    def _merge(self, state: State, tag: str) -> State:
        """Fold the delta into a new base (no text is read: the term ids are saved)."""
        t = state.base.table
        keep = [i for i in range(t.n) if i not in state.masked]
        entries = [t.entry(i) for i in keep] + list(state.delta)
        vocab_terms = state.vocab.all_terms()
        base = Base.build(self.path / f"base-{tag}", Table.from_entries(entries, self.dim),
                          vocab_terms)
        self._bases[base.name] = base
        self.builds += 1
        return State(state.epoch, state.seq, base, [], frozenset(), Vocab(base), self.dim)

    def _collect(self, keep: set[str | None]) -> None:
        """Delete files no state names (old states, crash leftovers). Processes that still
        map an old base keep reading it: unlinked files live on while they are mapped."""
        for p in self.path.iterdir():
            if p.name in keep or p.name in ("CURRENT", "lock") or p.name.endswith(".tmp"):
                continue
            if p.name.startswith(("base-", "delta-", "state-")):
                if p.is_dir():
                    shutil.rmtree(p, ignore_errors=True)
                else:
                    try:
                        p.unlink()
                    except OSError:
                        pass
                self._bases.pop(p.name, None)
        for p in self.path.glob("*.tmp"):  # <name>.<pid>.tmp: a writer that died mid-write
            try:
                pid = int(p.name.rsplit(".", 2)[-2])
                if pid != os.getpid() and not _alive(pid) or time.time() - p.stat().st_mtime > 600:
                    p.unlink()
            except (OSError, ValueError):
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for p in path.rglob("*"):
        if p.is_file():
            with open(p, "rb+") as f:
                os.fsync(f.fileno())
    for d in [path, *[p for p in path.rglob("*") if p.is_dir()]]:
        _fsync_dir(d)
    _fsync_dir(path.parent)



# ---- the query side of a state ------------------------------------------------------------
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


# ---- building entries and syncing with the store ------------------------------------------
def make_entry(source: str, generation: str, pub_day: int, meta_json: str, layout: Layout,
               title: str, text: str, vocab: Vocab, vector: np.ndarray | None,
               raw: str = "") -> Entry:
    from index.lexical import terms

    return Entry.of(source, generation, pub_day, meta_json, layout, vocab.ids(terms(title)),
                    [vocab.ids(terms(text[s:e])) for s, e, _ in layout], vector, raw)


SYNC_BATCH = 256


def sync(lex: LexicalIndex, store: Any, state: State | None = None, *,
         prepared: dict[str, Entry] | None = None, vocab: Vocab | None = None,
         save: bool = True, force: bool = False, recheck: Iterable[str] = ()) -> State:
    """Bring a state up to the store's version and save it; reads the texts of changed
    articles only (none at all for `prepared` entries, which the writer tokenised already;
    their term ids belong to `vocab`, an extension of `state`'s vocabulary).

    `store` must offer `version_info()`, `records_since(seq | None)`, `removed_since(seq)` and
    `fetch(sources)` (see index.store.Store). `force` asks the store for commits after the
    state's number even when the version says nothing changed (a killed writer's records);
    `recheck` names sources whose stored version was found to differ from the state's.
    A state that claims a later commit than the store's, or another epoch, is rebuilt.
    """
    recheck = set(recheck)
    epoch, seq = store.version_info()
    if state is None or state.name != lex.current_name():
        disk = lex.load()  # saved by another process (or by this one's writer)
        if disk is not None and (state is None or state.epoch != disk.epoch
                                 or disk.seq > state.seq):
            state = disk
    if state is not None and state.epoch == epoch and state.seq == seq and not force \
            and not recheck:
        return state
    if state is None or state.epoch != epoch or state.seq > seq:
        if state is None or vocab is None or vocab.base is not state.base:
            vocab = None
        start = lex.empty(epoch) if vocab is None else State(
            epoch, -1, state.base if state is not None else empty_base(lex.dim), [],
            frozenset(range(state.base.table.n)) if state is not None else frozenset(),
            vocab, lex.dim)
        records = store.records_since(None)
        removed: set[str] = set()
        current: set[str] | None = set(records)
    else:
        start = state
        if vocab is None or vocab.base is not state.base:
            vocab, prepared = state.vocab.copy(), None
        records = store.records_since(state.seq)
        if recheck:
            found = {s: d for s, (d, _, _) in store.fetch(sorted(recheck), text=False).items()}
            records.update(found)
            recheck -= set(found)
        removed = (set(store.removed_since(state.seq)) | recheck) - set(records)
        current = None
    vocab = vocab if vocab is not None else start.vocab.copy()
    upserts: list[Entry] = []
    need: list[str] = []
    for src, d in records.items():
        if start.generation(src) == d.generation:
            continue
        p = (prepared or {}).get(src)
        if p is not None and p.generation == d.generation:
            upserts.append(p)
        else:
            need.append(src)
    for b in range(0, len(need), SYNC_BATCH):
        for src, (d, text, vec) in store.fetch(need[b : b + SYNC_BATCH]).items():
            upserts.append(make_entry(src, d.generation, d.meta.pub_day,
                                      json.dumps(d.meta.to_json()), d.chunks,
                                      d.meta.title or "", text, vocab,
                                      vec if lex.dim else None, d.raw))
    if removed:  # tombstones name them; make sure they are really gone
        still = set(store.fetch(sorted(removed), text=False))
        removed -= still
    gone = [s for s in removed if start.generation(s) is not None]
    if current is not None:  # a full resync: everything not in the store is gone
        gone = []
    new = start.apply(upserts, gone, epoch, seq, vocab)
    return lex.save(new, store_seq=seq) if save else new


def commit_written(lex: LexicalIndex, store: Any, state: State, written: Sequence[Entry],
                   removed: Iterable[str], vocab: Vocab) -> State:
    """The writer's shortcut after a run: it knows what it committed (`written`, tokenised
    already, and `removed`) on top of `state`, which matched the store when the run began
    (under the writer lock nobody else writes), so the records need not be read back. The
    document count is checked against the store; on any doubt this falls back to `sync`."""
    epoch, seq = store.version_info()
    if state.epoch not in ("", epoch) or vocab.base is not state.base:
        return sync(lex, store, state, prepared={e.source: e for e in written}, vocab=vocab)
    new = state.apply(list(written), removed, epoch, seq, vocab)
    if len(new) != store.count_documents():
        return sync(lex, store, state, prepared={e.source: e for e in written}, vocab=vocab,
                    force=True)
    return lex.save(new, store_seq=seq)
