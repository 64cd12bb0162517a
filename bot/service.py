"""Wiring: one knowledge base and one answerer per process, shared by CLI, REPL and Telegram."""

from __future__ import annotations

import threading
from pathlib import Path

from index.embedding import make_encoder
from index.indexing import Progress, forget, index_paths
from index.search import Searcher
from index.store import Store, StoredDocument
from index.types import IndexReport

from bot.answering import Answerer, Writer
from bot.settings import Settings


def open_store(settings: Settings) -> Store:
    encoder = make_encoder(
        settings.embedding,
        model=settings.embedding_model,
        base_url=settings.embedding_base_url,
        api_key=settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None,
        dimension=settings.embedding_dimension,
    )
    if settings.chroma_host:
        headers = {}
        if settings.chroma_auth_token:
            token = settings.chroma_auth_token.get_secret_value()
            if settings.chroma_auth_header.lower() == "authorization":
                token = f"Bearer {token}"
            headers[settings.chroma_auth_header] = token
        return Store.open_remote(
            settings.chroma_host, settings.chroma_port, encoder,
            ssl=settings.chroma_ssl, headers=headers,
        )
    return Store.open_local(settings.data_dir, encoder)


def make_writer(settings: Settings) -> Writer | None:
    if not settings.llm_enabled:
        return None
    from bot.llm import LLMWriter  # imports llama-index: only paid when an LLM is configured

    return LLMWriter.from_settings(settings)


class Newsbot:
    """The knowledge base plus the answerer, opened lazily so `--help` stays instant."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Store | None = None
        self._answerer: Answerer | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> Store:
        with self._lock:
            if self._store is None:
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
        report = index_paths(
            self.store, paths, prune=prune, rebuild=rebuild,
            chunk_tokens=self.settings.chunk_tokens, dense_chunks=self.settings.dense_chunks,
            max_bytes=self.settings.max_bytes, progress=progress, lock_path=self.lock_path,
            sentence_vectors=self.settings.sentence_vectors,
        )
        self._refresh()
        return report

    def forget(self, sources: list[str]) -> IndexReport:
        report = forget(self.store, sources, lock_path=self.lock_path)
        self._refresh()
        return report

    def _refresh(self) -> None:
        if self._answerer is not None:
            self._answerer.searcher.snapshot(force=True)

    def sources(self) -> list[StoredDocument]:
        docs = self.store.documents()
        return sorted(docs.values(), key=lambda d: (d.published or "", d.source))
