"""The lexical index's document table: one article's entry and a segment's flat arrays.

An `Entry` is one article as BM25 and ranking see it (term ids, chunk and sentence offsets, the
title-and-lead vector); a `Table` holds a segment's entries as flat `.npy` arrays, memory-mapped
when loaded. `Vocab` maps terms to the ids both use.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from index.bm25_index import Base

Layout = list[tuple[int, int, list[tuple[int, int]]]]


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


def make_entry(source: str, generation: str, pub_day: int, meta_json: str, layout: Layout,
               title: str, text: str, vocab: Vocab, vector: np.ndarray | None,
               raw: str = "") -> Entry:
    from index.lexical import terms

    return Entry.of(source, generation, pub_day, meta_json, layout, vocab.ids(terms(title)),
                    [vocab.ids(terms(text[s:e])) for s, e, _ in layout], vector, raw)
