"""`kill -9` at any moment of `newsbot index` leaves an index that answers correctly, and the
next run finishes the job: no document missing, none twice, no orphaned vector.

The index runs as a real `python -m bot.cli index DIR` process over 60 synthetic articles plus
a sample article; it is killed at several points (during start-up, mid-way through writing a
batch, while embedding, while replacing edited articles). After each kill the committed
documents must have exactly their own chunk and sentence vectors, answers must quote committed
text verbatim, and at the end every id must match a clean build of the same folder.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.service import Newsbot
from bot.settings import Settings
from index.store import CHUNKS, DOCS, SENTENCES, _doc_key

from conftest import ROOT, SAMPLES, stored_texts

N_SYNTHETIC = 60
VECTORS = {"dense_chunks": 2, "sentence_vectors": True}
SYLLABLES = ["ka", "lo", "ve", "mi", "dra", "qu", "zen", "tor", "bel", "nis", "os", "ur", "fa", "gri"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def town_names(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    names: set[str] = set()
    while len(names) < n:
        names.add("".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize())
    return sorted(names)


def article(name: str, i: int, edition: int = 0) -> str:
    day = DAYS[(i + edition) % 7]
    return (
        f"{name} harbour reopens after storm repairs\n\n"
        f"The harbour of {name} reopened on {day} after {3 + i % 5} weeks of storm repairs, "
        f"mayor Anna {name}sen said. The repairs cost {100 + 7 * i + edition} thousand crowns.\n"
    )


def make_corpus(root: Path, samples: list[Path], n: int = N_SYNTHETIC) -> list[str]:
    """Synthetic articles first (sorted by name), then the samples in a subfolder."""
    root.mkdir(parents=True)
    names = town_names(n)
    for i, name in enumerate(names):
        (root / f"{i:03d}_{name.lower()}.txt").write_text(article(name, i), encoding="utf-8")
    sub = root / "zz_samples"
    sub.mkdir()
    for p in samples:
        shutil.copy(p, sub / p.name)
    return names


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_DATA_DIR"] = str(settings.data_dir)
    env["NEWSBOT_INDEX_BATCH"] = "16"  # commit every few articles, so kills land mid-run
    # Opt-in chunk and sentence vectors, so that their consistency is checked too.
    env["NEWSBOT_DENSE_CHUNKS"] = str(VECTORS["dense_chunks"])
    env["NEWSBOT_SENTENCE_VECTORS"] = "true"
    if settings.chroma_host:
        env["NEWSBOT_CHROMA_HOST"] = settings.chroma_host
        env["NEWSBOT_CHROMA_PORT"] = str(settings.chroma_port)
        env["NEWSBOT_CHROMA_DATABASE"] = str(settings.chroma_database)
    return env


class IndexRun:
    """`newsbot index DIR` in a child process, with its progress bar parsed from stderr."""

    def __init__(self, settings: Settings, corpus: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "index", str(corpus)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=cli_env(settings),
        )
        self.started = time.monotonic()
        self.err = b""
        self.progress_at: float | None = None  # when the progress bar first appeared
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                return
            self.err += chunk
            if self.progress_at is None and b"/" in chunk and b"indexing" in self.err:
                self.progress_at = time.monotonic()

    @property
    def done(self) -> int:
        found = re.findall(rb"(\d+)/(\d+) \[", self.err)
        return int(found[-1][0]) if found else 0

    def kill_when(self, ready: Callable[[IndexRun], bool], timeout: float = 120.0) -> bool:
        """SIGKILL once `ready` holds; False when the run ended first."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if ready(self):
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait(30)
                self._reader.join(5)
                return True
            time.sleep(0.02)
        self.finish()
        return False

    def finish(self) -> str:
        out, _ = self.proc.communicate(timeout=300)
        self._reader.join(5)
        return out.decode(errors="replace")


def after(seconds: float) -> Callable[[IndexRun], bool]:
    return lambda run: time.monotonic() - run.started >= seconds


def progress_after(seconds: float) -> Callable[[IndexRun], bool]:
    return lambda run: run.progress_at is not None and time.monotonic() - run.progress_at >= seconds


def done_at_least(n: int) -> Callable[[IndexRun], bool]:
    return lambda run: run.done >= n


def _vectors(bot: Newsbot, name: str) -> list[tuple[str, dict]]:
    got = bot.store.client.get_collection(name).get(include=["metadatas"])
    return list(zip(got["ids"], got["metadatas"]))


def check_consistent(settings: Settings, question: str) -> dict[str, set[str]]:
    """What readers see after a crash is exactly the committed documents: vectors, and the
    lexical index (documents, versions and chunk layouts) that a new reader loads or repairs."""
    bot = Newsbot(settings)
    try:
        docs = bot.store.documents()
        chunks, sentences = _vectors(bot, CHUNKS), _vectors(bot, SENTENCES)
        dense = VECTORS["dense_chunks"]
        for source, d in docs.items():
            key, gen = _doc_key(source), d.generation
            mine = {rid for rid, m in chunks if m["source"] == source and m["generation"] == gen}
            assert mine == {f"{key}:{gen}:{i}" for i in range(min(dense, len(d.chunks)))}, source
            mine = {rid for rid, m in sentences if m["source"] == source and m["generation"] == gen}
            want = {f"{key}:{gen}:s{a}" for _, _, sents in d.chunks for a, _ in sents}
            assert mine == want, source
        snap = bot.searcher.snapshot()
        assert len(snap) == len(docs)
        for source, d in docs.items():
            mine = snap.document(source)
            assert mine is not None and mine.generation == d.generation, source
            assert mine.chunks == d.chunks, source
        # Searches and answers are made of committed text only (orphans are never served).
        if docs:
            texts = stored_texts(bot)
            for p in bot.searcher.search(question, k=10):
                assert texts[p.source][p.start : p.end] == p.text
            ans = bot.answerer.answer(question)
            for c in ans.citations:
                assert texts[c.source][c.start : c.end] == c.quote
        return {
            "docs": set(docs),
            "chunks": {rid for rid, _ in chunks},
            "sentences": {rid for rid, _ in sentences},
        }
    finally:
        bot.close()


def all_ids(settings: Settings) -> dict[str, list[str]]:
    bot = Newsbot(settings)
    try:
        out = {}
        for name in (DOCS, CHUNKS, SENTENCES):
            coll = bot.store.client.get_collection(name)
            ids = coll.get(include=[])["ids"]
            assert coll.count() == len(ids)
            out[name] = sorted(ids)
        return out
    finally:
        bot.close()


def test_kill_9_while_indexing_then_resume(
    store_kind: str, store_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    # One sample (a multi-chunk article) with the synthetic ones: embedding is a run's cost.
    samples = [SAMPLES / "002_c73d6df7dc4c2e06.txt"]
    corpus = tmp_path / "corpus"
    names = make_corpus(corpus, samples)
    total = N_SYNTHETIC + len(samples)
    settings = store_settings(tmp_path / "data", **VECTORS)
    question = f"When did the harbour of {names[30]} reopen?"

    # A reader that stays open through every crash (over a server only: an embedded store must
    # not be open in two processes at once, which is what the locks in test_locks.py enforce).
    reader = Newsbot(settings) if store_kind == "server" else None
    if reader is not None:
        reader.searcher.check_every = 0
        assert reader.searcher.snapshot().empty

    def reader_answers() -> None:
        if reader is not None:
            ans = reader.answerer.answer(question)
            snap = reader.searcher.snapshot()
            for c in ans.citations:
                assert snap.text(c.source)[c.start : c.end] == c.quote

    # Start-up, the middle of writing a batch, the middle of embedding one. The server variant
    # keeps the one kill that matters most (mid-writes): each run costs seconds of embedding.
    points = [after(0.5), done_at_least(3), progress_after(1.0)]
    if store_kind == "server":
        points = [done_at_least(3)]
    partial = 0
    for ready in points:
        run = IndexRun(settings, corpus)
        killed = run.kill_when(ready)
        state = check_consistent(settings, question)
        reader_answers()
        if killed and 0 < len(state["docs"]) < total:
            partial += 1
    assert partial >= 1, "no kill landed in the middle of a run"

    # Edit a third of the synthetic articles and kill the run that replaces them.
    for i, name in enumerate(names[:20]):
        (corpus / f"{i:03d}_{name.lower()}.txt").write_text(article(name, i, edition=1))
    run = IndexRun(settings, corpus)
    run.kill_when(done_at_least(3))
    check_consistent(settings, f"When did the harbour of {names[2]} reopen?")
    reader_answers()

    # The next run finishes the job.
    run = IndexRun(settings, corpus)
    out = run.finish()
    assert run.proc.returncode == 0, run.err.decode(errors="replace")[-2000:]
    assert "Traceback" not in out
    final = check_consistent(settings, question)
    assert len(final["docs"]) == total

    clean_settings = store_settings(tmp_path / "clean", **VECTORS)
    clean = Newsbot(clean_settings)
    report = clean.index([corpus])
    clean.close()
    assert len(report.added) == total and not report.failed
    assert all_ids(settings) == all_ids(clean_settings)

    # Answers over the finished index (the long-lived reader saw the versions change).
    for bot in [reader or Newsbot(settings)]:
        bot.searcher.check_every = 0
        ans = bot.answerer.answer(f"When did the harbour of {names[5]} reopen?")
        assert not ans.refused and any(names[5] in c.quote for c in ans.citations)
        assert len(bot.searcher.snapshot()) == total
        bot.close()


@pytest.mark.parametrize("store_kind", ["embedded"], indirect=True)
def test_an_interrupted_run_is_announced_to_readers(
    store_kind: str, store_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """Documents committed by a killed run become visible to a long-running reader even when
    the next run has nothing left to write (the version is bumped for them)."""
    corpus = tmp_path / "corpus"
    make_corpus(corpus, [], n=12)
    settings = store_settings(tmp_path / "data")
    reader = Newsbot(settings)
    assert reader.searcher.snapshot().empty
    from index.indexing import index_documents
    from index.reading import iter_sources

    items = list(iter_sources([corpus]))
    writer = Newsbot(settings)
    version = writer.store.version()
    # Simulate a run that committed everything and was killed before bumping the version.
    store = writer.store
    real_commit, real_end = store.commit_version, store.end_write
    store.commit_version = store.end_write = lambda: None  # type: ignore[method-assign]
    index_documents(store, items)
    store.commit_version, store.end_write = real_commit, real_end  # type: ignore[method-assign]
    assert writer.store.version() == version
    report = writer.index([corpus])
    assert not report.changed and len(report.unchanged) == 12
    assert writer.store.version() != version
    reader.searcher.check_every = 0
    assert len(reader.searcher.snapshot()) == 12
    writer.close()
    reader.close()
