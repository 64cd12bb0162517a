"""Incremental indexing: skip what is unchanged, replace what changed, prune what vanished."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import json

from index.chunking import DEFAULT_CHUNK_TOKENS, chunk_document
from index.lexical_store import commit_written, sync
from index.lexical_table import Entry, make_entry
from index.locking import writer_lock
from index.reading import DEFAULT_MAX_BYTES, iter_sources
from index.store import Pending, Store, embed_text_of
from index.errors import SourceError
from index.types import Chunk, Document, IndexReport, Unchanged

Progress = Callable[[int, int, str], None]


def _release_memory() -> None:
    """Give freed heap pages back to the system after each batch. Texts freed while small
    objects are allocated leave holes glibc keeps: measured on 800 bench articles, RSS grew
    from 390 to 520 MB without this and stayed at 290 MB with it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


@dataclass(frozen=True)
class IndexOptions:
    """What indexing cuts and embeds (built by `Settings.index_options()`).

    The defaults embed one vector per article (its title and lead) and nothing else. Measured
    on the bench (2,050 articles), embedding every chunk and sentence took 2,810 s against 75 s
    for the lead-only build, ranked articles the same, and gave worse answers (recall 0.670
    against 0.703). Answers get sentence vectors on demand instead (`Searcher.sentence_vectors`,
    cached by content).
    """

    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    dense_chunks: int | None = 0  # chunks per article given a vector of their own (None: all)
    sentence_vectors: bool = False  # every sentence also gets a vector at index time
    batch_texts: int = 256  # texts embedded and committed together
    max_bytes: int = DEFAULT_MAX_BYTES
# The article vector sees the headline and about two sentences: measured on the bench dev set,
# 300 characters ranked articles better than 600 or 1,200, and cost a third of 1,200 to embed.
LEAD_CHARS = 300


def _lead(doc: Document) -> str:
    cut = doc.text[:LEAD_CHARS]
    if len(doc.text) > LEAD_CHARS and " " in cut:
        cut = cut[: cut.rindex(" ")]  # don't end on half a word
    return embed_text_of(doc.meta.title, cut)


def index_documents(
    store: Store,
    items: list[Document | SourceError | Unchanged],
    options: IndexOptions = IndexOptions(),
    *,
    prune: bool = False,
    progress: Progress | None = None,
) -> IndexReport:
    """Write the given documents; unchanged ones cost nothing (no chunking, no embedding).

    Every document gets one vector for its title and lead; `options.dense_chunks` caps how
    many chunks get their own, and `options.sentence_vectors` gives every sentence one too.
    """
    chunk_tokens, dense_chunks = options.chunk_tokens, options.dense_chunks
    sentence_vectors, batch_texts = options.sentence_vectors, options.batch_texts
    t0 = time.perf_counter()
    report = IndexReport()
    phases = report.phases
    for name in ("chunking", "embedding", "writing", "lexical"):
        phases.setdefault(name, 0.0)

    def timed(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] += now - since
        return now

    interrupted = store.begin_write()  # a previous run was killed: finish its job too
    # The manifest comes from the lexical index, brought up to date first (a killed run's
    # commits included): no need to read every record from the store.
    lex = store.lexical()
    t_lex = time.perf_counter()
    state0 = sync(lex, store, force=interrupted)
    timed("lexical", t_lex)
    committed = state0.generations()
    vocab = state0.vocab.copy()
    prepared: dict[str, Entry] = {}
    store.remove_orphans(committed)
    seen: set[str] = set()
    todo: list[Document] = []
    for item in items:
        if isinstance(item, Unchanged):  # its raw input hashes as when it was indexed
            if item.source in seen:
                report.failed.append(SourceError(item.source, "appears twice; the first copy was used"))
            elif item.source not in committed:  # removed meanwhile by another process
                report.failed.append(SourceError(item.source, "was removed while reading; run again"))
            else:
                report.unchanged.append(item.source)
            seen.add(item.source)
            continue
        if isinstance(item, SourceError):
            report.failed.append(item)
            seen.add(item.source)  # a file we failed to read this time is not "gone"
            continue
        if item.source in seen:
            report.failed.append(SourceError(item.source, "appears twice; the first copy was used"))
            continue
        seen.add(item.source)
        old = committed.get(item.source)
        if old is not None and old == item.generation:
            report.unchanged.append(item.source)
        else:
            todo.append(item)

    # Texts are let go as soon as their batch is written (`todo` is consumed, and a caller that
    # hands over its only reference to `items` frees them all): the pool's texts are ~400 MB.
    del items
    todo.reverse()
    total = len(todo)
    done = 0
    if progress:
        progress(0, total, "")
    pending: list[tuple[Document, list[Chunk]]] = []

    def flush() -> None:
        nonlocal done
        if not pending:
            return
        texts: list[str] = []
        for doc, chunks in pending:
            texts.append(_lead(doc))
            limit = len(chunks) if dense_chunks is None else min(dense_chunks, len(chunks))
            texts.extend(embed_text_of(doc.meta.title, c.text) for c in chunks[:limit])
            if sentence_vectors:
                texts.extend(doc.text[a:z] for c in chunks for a, z in c.sentences)
        t = time.perf_counter()
        vectors = store.encoder.embed(texts)
        t = timed("embedding", t)
        pos = 0
        batch: list[Pending] = []
        for doc, chunks in pending:
            limit = len(chunks) if dense_chunks is None else min(dense_chunks, len(chunks))
            lead = vectors[pos]
            cv = vectors[pos + 1 : pos + 1 + limit]
            pos += 1 + limit
            sv = None
            if sentence_vectors:
                n = sum(len(c.sentences) for c in chunks)
                sv = vectors[pos : pos + n]
                pos += n
            batch.append(Pending(doc, chunks, np.asarray(cv), lead, sv))
            layout = [(c.start, c.end, [tuple(s) for s in c.sentences]) for c in chunks]
            prepared[doc.source] = make_entry(
                doc.source, doc.generation, doc.meta.pub_day, json.dumps(doc.meta.to_json()),
                layout, doc.meta.title or "", doc.text, vocab, lead if lex.dim else None,
                doc.raw or "")
        t = timed("lexical", t)
        store.write_documents(batch, replaced=set(committed))
        for p in batch:
            report.chunks_written += len(p.chunks)
            (report.updated if p.doc.source in committed else report.added).append(p.doc.source)
            done += 1
            if progress:
                progress(done, total, p.doc.source)
        pending.clear()
        store.commit_version()  # readers in other processes pick up this batch now
        _release_memory()
        timed("writing", t)

    queued = 0
    while todo:
        doc = todo.pop()
        t = time.perf_counter()
        chunks = chunk_document(doc, chunk_tokens)
        timed("chunking", t)
        pending.append((doc, chunks))
        queued += 1 + (len(chunks) if dense_chunks is None else min(dense_chunks, len(chunks)))
        if sentence_vectors:  # every text to embed counts, or one batch can hold thousands
            queued += sum(len(c.sentences) for c in chunks)
        if queued >= batch_texts:
            flush()
            queued = 0
    flush()

    if prune:
        for source in sorted(set(committed) - seen):
            store.remove_document(source)
            report.removed.append(source)
    if report.changed or interrupted:
        store.commit_version()
    # The lexical index follows the store: the new entries are tokenised already.
    t = time.perf_counter()
    commit_written(lex, store, state0, list(prepared.values()), report.removed, vocab)
    timed("lexical", t)
    store.end_write()
    report.seconds = time.perf_counter() - t0
    return report


def index_paths(
    store: Store,
    paths: list[Path],
    options: IndexOptions = IndexOptions(),
    *,
    prune: bool = False,
    rebuild: bool = False,
    progress: Progress | None = None,
    lock_path: Path | None = None,
) -> IndexReport:
    """Index files, folders and JSON-lines files; see `index_documents`.

    A path that does not exist or an empty folder is an error before anything is touched:
    with `--prune` it would otherwise look like every document had been deleted.
    """
    for root in paths:
        if not root.exists() and not root.is_symlink():  # a link loop is reported when read
            raise SourceError(str(root), "does not exist")
        if root.is_dir() and not any(p.is_file() for p in root.rglob("*")):
            raise SourceError(str(root), "is an empty folder: no files to index")
    with writer_lock(lock_path):
        t0 = time.perf_counter()
        # What each source was indexed from: inputs that hash the same are not cleaned again.
        known = {} if rebuild else sync(store.lexical(), store, force=True).raws()
        items = list(iter_sources(paths, options.max_bytes, known))
        reading = time.perf_counter() - t0
        if not any(isinstance(i, (Document, Unchanged)) for i in items) and not prune:
            # Nothing readable: report the problems and leave the index untouched.
            report = IndexReport(failed=[i for i in items if isinstance(i, SourceError)])
            return report
        if rebuild:
            store.reset()
        handover = [items]
        del items  # index_documents holds the only reference and frees texts as it goes
        report = index_documents(store, handover.pop(), options, prune=prune, progress=progress)
        report.phases = {"reading": reading, **report.phases}
        report.seconds += reading
        return report


def forget(store: Store, sources: list[str], lock_path: Path | None = None) -> IndexReport:
    """Remove named documents (the Telegram `/forget` command)."""
    t0 = time.perf_counter()
    report = IndexReport()
    with writer_lock(lock_path):
        committed = store.documents()
        for s in sources:
            if s in committed:
                store.remove_document(s)
                report.removed.append(s)
            else:
                report.failed.append(SourceError(s, "is not in the index"))
        if report.removed:
            store.commit_version()
            sync(store.lexical(), store)
    report.seconds = time.perf_counter() - t0
    return report
