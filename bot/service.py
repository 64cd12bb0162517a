"""Wiring: one knowledge base and one answerer per process, shared by CLI, REPL and Telegram.

Locks (embedded store only; see `index/locking.py`): a `Newsbot(settings, lock=...)` takes the
data folder's lock before it opens the store and keeps it until `close()`. `newsbot index` and
`forget` hold it exclusively while writing; `ask`, `search`, `sources` and `eval` hold it
shared; a long-running process (the Telegram bot, the REPL) calls `hold_exclusive()` so that no
other process opens the embedded store while it serves. With a Chroma server
(`NEWSBOT_CHROMA_HOST`) readers take no lock and many processes share the index; writers still
take the local writer lock, so two writers on one machine never interleave.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from index.embedding import Encoder, make_encoder
from index.errors import SourceError
from index.indexing import Progress, forget, index_documents, index_paths
from index.locking import DataDirLock, LockMode, data_dir_lock, writer_lock
from index.search import Searcher
from index.store import Store, StoredDocument
from index.types import Document, IndexReport

from bot.answering import Answerer, Writer
from bot.settings import Settings

_ENCODERS: dict[tuple[str, ...], Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def make_settings_encoder(settings: Settings) -> Encoder:
    """The configured encoder; the offline model is loaded once per process and shared."""

    def build() -> Encoder:
        return make_encoder(
            settings.embedding,
            model=settings.embedding_model,
            base_url=settings.embedding_base_url,
            api_key=settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None,
            dimension=settings.embedding_dimension,
        )

    if settings.embedding != "minilm":
        return build()
    key = ("minilm",)
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = build()
        return _ENCODERS[key]


def chroma_headers(settings: Settings) -> dict[str, str]:
    headers: dict[str, str] = {}
    if settings.chroma_auth_token:
        token = settings.chroma_auth_token.get_secret_value()
        if settings.chroma_auth_header.lower() == "authorization":
            token = f"Bearer {token}"
        headers[settings.chroma_auth_header] = token
    return headers


def open_store(settings: Settings) -> Store:
    encoder = make_settings_encoder(settings)
    if settings.chroma_host:
        return Store.open_remote(
            settings.chroma_host, settings.chroma_port, encoder,
            ssl=settings.chroma_ssl, headers=chroma_headers(settings),
            database=settings.chroma_database, timeout=settings.chroma_timeout,
        )
    return Store.open_local(settings.data_dir, encoder)


def embedded(settings: Settings) -> bool:
    """True when the index is the embedded store in `data_dir` (no Chroma server)."""
    return not settings.chroma_host


@contextmanager
def process_lock(settings: Settings, mode: LockMode, purpose: str | None = None) -> Iterator[None]:
    """Hold the embedded index's folder lock for a block; nothing to hold with a server."""
    with data_dir_lock(settings.data_dir if embedded(settings) else None, mode, purpose):
        yield


def make_writer(settings: Settings) -> Writer | None:
    if not settings.llm_enabled:
        return None
    from bot.llm import LLMWriter  # imports llama-index: only paid when an LLM is configured

    return LLMWriter.from_settings(settings)


class Newsbot:
    """The knowledge base plus the answerer, opened lazily so `--help` stays instant.

    `lock`: "shared" for a short reader, "exclusive" for a writer or a long-running server,
    None (the default) for library use that manages locks itself. It is taken when the store
    is first opened and released by `close()`; it matters only for the embedded store.
    """

    def __init__(
        self, settings: Settings, lock: LockMode | None = None, *, purpose: str | None = None
    ) -> None:
        if lock not in (None, "shared", "exclusive"):
            raise ValueError(f"lock must be None, 'shared' or 'exclusive', not {lock!r}")
        self.settings = settings
        self.lock_mode: LockMode | None = lock
        self.purpose = purpose
        self._held: list[LockMode] = []
        self._store: Store | None = None
        self._answerer: Answerer | None = None
        self._lock = threading.RLock()

    # ---- locks ---------------------------------------------------------------------------
    @property
    def _dir_lock(self) -> DataDirLock | None:
        return DataDirLock.of(self.settings.data_dir) if embedded(self.settings) else None

    def _acquire(self, mode: LockMode, purpose: str | None = None) -> None:
        lock = self._dir_lock
        if lock is not None:
            lock.acquire(mode, purpose or self.purpose)
            self._held.append(mode)

    def hold_exclusive(self, purpose: str | None = None) -> None:
        """Keep the embedded index to this process until `close()` (for long-running bots).

        Raises `IndexLockedError` (a `StoreError`) naming the other process when one holds
        it. Does nothing with a Chroma server, and nothing the second time.
        """
        with self._lock:
            if "exclusive" not in self._held:
                self._acquire("exclusive", purpose)

    @property
    def holds(self) -> LockMode | None:
        """The lock mode this Newsbot holds on the embedded index, if any."""
        if "exclusive" in self._held:
            return "exclusive"
        return "shared" if self._held else None

    @contextmanager
    def _writing(self, purpose: str) -> Iterator[None]:
        lock = self._dir_lock
        if lock is None:
            yield
            return
        with lock.hold("exclusive", purpose):
            yield

    def close(self) -> None:
        """Close the store and release every lock this Newsbot took."""
        with self._lock:
            store, self._store, self._answerer = self._store, None, None
            if store is not None:
                store.close()
            lock = self._dir_lock
            while self._held:
                mode = self._held.pop()
                if lock is not None:
                    lock.release(mode)

    def __enter__(self) -> Newsbot:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- the knowledge base --------------------------------------------------------------
    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
                if self.lock_mode is not None and self.lock_mode not in self._held:
                    self._acquire(self.lock_mode)
                self._store = open_store(self.settings)
            return self._store

    @property
    def searcher(self) -> Searcher:
        return self.answerer.searcher

    @property
    def answerer(self) -> Answerer:
        store = self.store
        with self._lock:
            if self._answerer is None:
                s = self.settings
                self._answerer = Answerer(
                    Searcher(store),
                    top_k=s.top_k,
                    max_claims=s.max_claims,
                    max_question_chars=s.max_question_chars,
                    writer=make_writer(s),
                )
            return self._answerer

    @property
    def lock_path(self) -> Path:
        return self.settings.data_dir / "index.lock"

    def index(
        self, paths: list[Path], *, prune: bool = False, rebuild: bool = False,
        progress: Progress | None = None,
    ) -> IndexReport:
        with self._writing("newsbot index"):
            report = index_paths(
                self.store, paths, prune=prune, rebuild=rebuild,
                chunk_tokens=self.settings.chunk_tokens, dense_chunks=self.settings.dense_chunks,
                max_bytes=self.settings.max_bytes, progress=progress, lock_path=self.lock_path,
                sentence_vectors=self.settings.sentence_vectors,
                batch_texts=self.settings.index_batch,
            )
        self._refresh()
        return report

    def index_documents(self, items: list[Document | SourceError]) -> IndexReport:
        """Index documents read elsewhere (fetched pages, feed entries); see `index`."""
        with self._writing("newsbot index"), writer_lock(self.lock_path):
            report = index_documents(
                self.store, items, chunk_tokens=self.settings.chunk_tokens,
                dense_chunks=self.settings.dense_chunks, sentence_vectors=self.settings.sentence_vectors,
                batch_texts=self.settings.index_batch,
            )
        self._refresh()
        return report

    def forget(self, sources: list[str]) -> IndexReport:
        with self._writing("newsbot forget"):
            report = forget(self.store, sources, lock_path=self.lock_path)
        self._refresh()
        return report

    def _refresh(self) -> None:
        if self._answerer is not None:
            self._answerer.searcher.snapshot(force=True)

    def sources(self) -> list[StoredDocument]:
        docs = self.store.documents()
        return sorted(docs.values(), key=lambda d: (d.published or "", d.source))
