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

**Where the parts live.** `index/lexical_table.py`: an article's entry, the vocabulary and a
segment's flat arrays. `index/bm25_index.py`: BM25 statistics, query-time postings and the
bm25s bases. `index/lexical_view.py`: the query side of a state. `index/durable.py`: the
fsynced writes. This module: states, the folder, and keeping it in step with the store.

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

from index.bm25_index import FORMAT, Base, empty_base
from index.durable import fsync_tree, write_atomic
from index.lexical_table import Entry, Table, Vocab, make_entry
from index.locking import process_alive

DELTA_MIN = 256  # articles the delta may hold before it is merged into the base...
DELTA_SHARE = 0.05  # ...or this share of the base, whichever is larger


def lexical_dir(data_dir: Path, server: str | None) -> Path:
    """Where the lexical index of a store lives: next to the embedded store's files, or, for a
    Chroma server, in a subfolder of the local data folder named after the server and database
    (each machine keeps its own copy, brought up to date from the server's commit log)."""
    root = Path(data_dir) / "lexical"
    if server is None:
        return root
    return root / re.sub(r"[^A-Za-z0-9_.-]+", "_", server)


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
                fsync_tree(self.path / delta_name)
            name = f"state-{tag}.json"
            base_name = None if state.base.name == "-" else state.base.name
            info = {"format": FORMAT, "dim": self.dim, "epoch": state.epoch, "seq": state.seq,
                    "base": base_name, "delta": delta_name, "masked": sorted(state.masked),
                    "extra_terms": state.vocab.extra, "saved": time.time()}
            write_atomic(self.path / name, json.dumps(info))
            write_atomic(self.path / "CURRENT", name)
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
                if pid != os.getpid() and not process_alive(pid) or time.time() - p.stat().st_mtime > 600:
                    p.unlink()
            except (OSError, ValueError):
                pass


# ---- syncing with the store ------------------------------------------
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
