"""`Newsbot`: one knowledge base and one answerer per command, shared by CLI, REPL, bot and eval.

`bot/cli.py` builds exactly one per command and passes it on. Locks (embedded store only; see
`index/locking.py`) are taken here and nowhere else in `bot/`: `Newsbot(settings, lock=...)`
holds the data folder's lock from the first use of the store until `close()`, "shared" for
short readers (`ask`, `search`, `sources`, `eval`) and "exclusive" for writers and for
long-running servers (the REPL, the Telegram bot), which call `hold()` at start so that no
other process opens the embedded store while they serve. Writing (`index`, `forget`) takes it
exclusively for the duration, plus the writer lock. With a Chroma server readers take no lock
and many processes share the index; writers still take the local writer lock.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from index.embedding import Encoder, EncoderOptions, make_encoder
from index.errors import SourceError
from index.indexing import Progress, forget, index_documents, index_paths
from index.locking import DataDirLock, LockMode, writer_lock
from index.search import Searcher
from index.store import Store
from index.types import Document, IndexReport, StoredDocument

from bot.answer import Answerer, Writer
from bot.settings import Settings

_ENCODERS: dict[EncoderOptions, Encoder] = {}
_ENCODERS_LOCK = threading.Lock()


def shared_encoder(options: EncoderOptions) -> Encoder:
    """The configured encoder; the offline model is loaded once per process and shared."""
    if options.kind != "minilm":
        return make_encoder(options)
    with _ENCODERS_LOCK:
        if options not in _ENCODERS:
            _ENCODERS[options] = make_encoder(options)
        return _ENCODERS[options]


def make_writer(settings: Settings) -> Writer | None:
    options = settings.llm_options()
    if options is None:
        return None
    from bot.llm.writer import LLMWriter  # imports llama-index: only paid when an LLM is set

    return LLMWriter.create(options, Path(settings.prompts_dir))


class Newsbot:
    """The knowledge base plus the answerer, opened lazily so `--help` stays instant.

    `lock`: "shared" for a short reader, "exclusive" for a writer or a long-running server,
    None for library use (tests) that manages no locks. It matters only for the embedded store.
    """

    def __init__(
        self, settings: Settings, lock: LockMode | None = None, *, purpose: str | None = None
    ) -> None:
        if lock not in (None, "shared", "exclusive"):
            raise ValueError(f"lock must be None, 'shared' or 'exclusive', not {lock!r}")
        self.settings = settings
        self.lock_mode: LockMode | None = lock
        self.purpose = purpose
        self._held = False
        self._store: Store | None = None
        self._answerer: Answerer | None = None
        self._mutex = threading.RLock()
        target = settings.chroma_target()
        self._target = target
        self._dir_lock = DataDirLock.of(settings.data_dir) if target is None else None

    # ---- locks ---------------------------------------------------------------------------
    def hold(self) -> None:
        """Take this Newsbot's lock now rather than at first use (servers call it at start).

        Raises `IndexLockedError` naming the other process when one holds it.
        """
        with self._mutex:
            if self._held or self.lock_mode is None or self._dir_lock is None:
                return
            self._dir_lock.acquire(self.lock_mode, self.purpose)
            self._held = True

    @property
    def holds(self) -> LockMode | None:
        """The lock mode this Newsbot holds on the embedded index, if any."""
        return self.lock_mode if self._held else None

    def close(self) -> None:
        """Close the store and release the lock this Newsbot took."""
        with self._mutex:
            store, self._store, self._answerer = self._store, None, None
            if store is not None:
                store.close()
            if self._held and self._dir_lock is not None and self.lock_mode is not None:
                self._dir_lock.release(self.lock_mode)
            self._held = False

    def __enter__(self) -> Newsbot:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- the knowledge base --------------------------------------------------------------
    @property
    def store(self) -> Store:
        with self._mutex:
            if self._store is None:
                self.hold()
                encoder = shared_encoder(self.settings.encoder_options())
                self._store = Store.open(self.settings.data_dir, self._target, encoder)
            return self._store

    @property
    def searcher(self) -> Searcher:
        return self.answerer.searcher

    @property
    def answerer(self) -> Answerer:
        store = self.store
        with self._mutex:
            if self._answerer is None:
                self._answerer = Answerer(Searcher(store), self.settings.answer_options(),
                                          writer=make_writer(self.settings))
            return self._answerer

    @property
    def lock_path(self) -> Path:
        return self.settings.data_dir / "index.lock"

    def _writing(self, purpose: str) -> Any:
        """The exclusive data-folder lock for one write (a no-op context with a server)."""
        from contextlib import nullcontext

        return nullcontext() if self._dir_lock is None else self._dir_lock.hold("exclusive", purpose)

    def index(
        self, paths: list[Path], *, prune: bool = False, rebuild: bool = False,
        progress: Progress | None = None,
    ) -> IndexReport:
        with self._writing("newsbot index"):
            report = index_paths(self.store, paths, self.settings.index_options(), prune=prune,
                                 rebuild=rebuild, progress=progress, lock_path=self.lock_path)
        self._refresh()
        return report

    def index_documents(
        self, items: list[Document | SourceError], progress: Progress | None = None
    ) -> IndexReport:
        """Index documents read elsewhere (fetched pages, feed entries); see `index`."""
        with self._writing("newsbot index"), writer_lock(self.lock_path):
            report = index_documents(self.store, items, self.settings.index_options(),
                                     progress=progress)
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
        return sorted(docs.values(), key=lambda d: (d.meta.published or "", d.source))
