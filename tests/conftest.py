"""Shared fixtures: real Chroma, the real MiniLM model, temporary folders.

The store fixtures (`sample_bot`, `fresh_bot`, `store_settings`) run against the embedded store
and, in the modules listed in SERVER_MODULES, also against a real `chroma run` server started
once per session (each test gets its own Chroma database on it).
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.service import Newsbot
from bot.settings import Settings
from chroma_server import ChromaServer, serving

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_articles"
SHARED = ROOT.parent / "shared"
SEED = SHARED / "eval" / "seed_dev.jsonl"

# Test modules whose store fixtures run against both the embedded store and a Chroma server.
SERVER_MODULES = {
    "test_indexing", "test_search", "test_answer", "test_bad_input", "test_crash",
    "test_server_mode", "test_concurrent_reindex",
}
STORE_KINDS = ["embedded", "server"]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's NEWSBOT_* variables or proxies."""
    for key in list(os.environ):
        if key.startswith("NEWSBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


class MemoEncoder:
    """The real MiniLM, remembering every text's vector for the session.

    Tests index the same sample articles into many temporary stores; embedding each text once
    per session keeps the suite fast without changing any vector.
    """

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.model_id = inner.model_id  # type: ignore[attr-defined]
        self.dimension = inner.dimension  # type: ignore[attr-defined]
        self._memo: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            vectors = self.inner.embed(missing)  # type: ignore[attr-defined]
            with self._lock:
                self._memo.update(zip(missing, vectors))
        if not texts:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        with self._lock:
            return np.stack([self._memo[t] for t in texts])


@pytest.fixture(scope="session", autouse=True)
def _shared_encoder() -> Iterator[None]:
    """Every Newsbot in the test process shares one memoising MiniLM (see bot.service)."""
    from bot import service
    from index.embedding import EncoderOptions, MiniLM

    key = EncoderOptions()
    before = service._ENCODERS.get(key)
    service._ENCODERS[key] = MemoEncoder(MiniLM())  # type: ignore[assignment]
    yield
    if before is None:
        service._ENCODERS.pop(key, None)
    else:
        service._ENCODERS[key] = before


@pytest.fixture(autouse=True)
def _strict_citations(monkeypatch: pytest.MonkeyPatch) -> None:
    """A quote that is not verbatim is a bug: in tests it raises instead of being dropped."""
    from bot import citations

    monkeypatch.setattr(citations, "STRICT", True)


def stored_texts(bot: Newsbot) -> dict[str, str]:
    """Every committed document's cleaned text, read from the store itself."""
    store = bot.store
    return {s: t for s, (_, t) in store.documents_with_text(sorted(store.documents())).items()}


def make_settings(data_dir: Path, **kw: object) -> Settings:
    """Settings that ignore any .env file in the working directory."""
    return Settings(_env_file=None, data_dir=data_dir, **kw)  # type: ignore[call-arg]


# ---- a Chroma server for the session --------------------------------------------------------
@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    """A real `chroma run` on a free port for the whole session; tests must not stop it."""
    with serving(tmp_path_factory.mktemp("chroma-server") / "db") as server:
        yield server


def server_settings(
    server: ChromaServer, data_dir: Path, database: str | None = None, **kw: object
) -> Settings:
    """Settings for a Chroma database of its own (a new one unless `database` is given)."""
    return make_settings(
        data_dir, chroma_host=server.host, chroma_port=server.port,
        chroma_database=database or f"t_{uuid.uuid4().hex[:16]}", **kw,
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests of SERVER_MODULES that use a store fixture run against both kinds of store."""
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "store_kind" not in metafunc.fixturenames or module not in SERVER_MODULES:
        return
    if any("store_kind" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize")):
        return  # the test chose its kinds itself
    metafunc.parametrize("store_kind", STORE_KINDS, indirect=True)


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """"embedded" or "server"; only "embedded" outside SERVER_MODULES."""
    return str(getattr(request, "param", "embedded"))


@pytest.fixture
def store_settings(
    store_kind: str, request: pytest.FixtureRequest
) -> Callable[..., Settings]:
    """make_settings for this test's kind of store: `store_settings(data_dir, **kw)`.

    With a server every call gets a new database; pass `database=` to share one.
    """

    def make(data_dir: Path, database: str | None = None, **kw: object) -> Settings:
        if store_kind == "server":
            server = request.getfixturevalue("chroma_server")
            return server_settings(server, data_dir, database, **kw)
        return make_settings(data_dir, **kw)

    return make


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A writable copy of the five sample articles."""
    dst = tmp_path / "articles"
    shutil.copytree(SAMPLES, dst)
    return dst


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample articles indexed once per session; tests must not write to it."""
    data = tmp_path_factory.mktemp("sample-index")
    bot = Newsbot(make_settings(data))
    report = bot.index([SAMPLES])
    assert len(report.added) == 5, report
    return data


@pytest.fixture(scope="session")
def server_sample_settings(
    chroma_server: ChromaServer, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The sample articles indexed once per session on the Chroma server (read-only)."""
    settings = server_settings(chroma_server, tmp_path_factory.mktemp("server-sample"), "samples")
    bot = Newsbot(settings)
    report = bot.index([SAMPLES])
    assert len(report.added) == 5, report
    bot.close()
    return settings


@pytest.fixture
def sample_bot(store_kind: str, request: pytest.FixtureRequest) -> Iterator[Newsbot]:
    """A Newsbot over the shared read-only sample index (embedded, or on the server)."""
    if store_kind == "server":
        bot = Newsbot(request.getfixturevalue("server_sample_settings"))
        yield bot
        bot.close()
        return
    yield Newsbot(make_settings(request.getfixturevalue("sample_index")))


@pytest.fixture
def fresh_bot(store_kind: str, store_settings: Callable[..., Settings], tmp_path: Path) -> Iterator[Newsbot]:
    """A Newsbot over an empty index of its own (a new database on the server)."""
    bot = Newsbot(store_settings(tmp_path / "data"))
    yield bot
    bot.close()
