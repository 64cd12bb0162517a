"""Chroma as a server: the same newsbot over `HttpClient`, shared by processes, and an outage
that gives one clear line and heals by itself when the server is back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.service import Newsbot
from bot.settings import Settings
from index.store import CHUNKS, ChromaTarget
from index.errors import StoreError

from chroma_server import ChromaServer, serving
from conftest import ROOT, SAMPLES, make_settings, server_settings, stored_texts

QUESTION = "What did Yuri Ushakov say the ceasefire would give Ukraine?"


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_DATA_DIR"] = str(settings.data_dir)
    if settings.chroma_host:
        env["NEWSBOT_CHROMA_HOST"] = settings.chroma_host
        env["NEWSBOT_CHROMA_PORT"] = str(settings.chroma_port)
        if settings.chroma_database:
            env["NEWSBOT_CHROMA_DATABASE"] = settings.chroma_database
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[ChromaServer]:
    """A server of this test's own, which the test may stop and start again."""
    with serving(tmp_path / "chroma") as server:
        yield server


@pytest.mark.parametrize("store_kind", ["server"], indirect=True)
def test_everything_works_over_http_without_local_files(sample_bot: Newsbot, tmp_path: Path) -> None:
    """Answers, search and BM25 come from the server: the data folder holds no index."""
    data = sample_bot.settings.data_dir
    assert not any(data.glob("**/chroma.sqlite3"))
    ans = sample_bot.answerer.answer(QUESTION)
    assert not ans.refused and len({c.source for c in ans.citations}) >= 2
    docs = stored_texts(sample_bot)
    for c in ans.citations:
        assert docs[c.source][c.start : c.end] == c.quote
    hits = sample_bot.searcher.retrieve("Gerasimov 86% of the territory in Kursk").hits
    assert any(h.bm25 is not None for h in hits[:3])  # the lexical side is there
    # Another "machine" (its own empty data folder) sees exactly the same index and ranking.
    elsewhere = Newsbot(sample_bot.settings.model_copy(update={"data_dir": tmp_path / "other"}))
    assert [p.source for p in elsewhere.searcher.search("Sudzha recaptured", k=5)] == \
        [p.source for p in sample_bot.searcher.search("Sudzha recaptured", k=5)]
    elsewhere.close()


@pytest.mark.parametrize("store_kind", ["server"], indirect=True)
def test_the_cli_against_a_server(sample_bot: Newsbot) -> None:
    out = cli(sample_bot.settings, "ask", QUESTION, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["citations"]
    rows = [json.loads(x) for x in cli(sample_bot.settings, "sources", "--json").stdout.splitlines()]
    assert len(rows) == 5


def test_a_server_that_is_down_is_one_clear_line_and_recovery_needs_no_restart(
    own_server: ChromaServer, tmp_path: Path
) -> None:
    settings = server_settings(own_server, tmp_path / "data", "main")
    bot = Newsbot(settings)
    bot.index([SAMPLES / "002_c73d6df7dc4c2e06.txt"])
    assert not bot.answerer.answer("Who said the ceasefire is a respite?").refused
    where = f"{own_server.host}:{own_server.port}"

    own_server.stop()
    with pytest.raises(StoreError) as exc:
        bot.searcher.check_every = 0
        bot.answerer.answer("Who said the ceasefire is a respite?")
    assert where in str(exc.value) and "\n" not in str(exc.value)
    with pytest.raises(StoreError, match=where):
        bot.sources()
    late = Newsbot(settings)  # opened while the server is down
    with pytest.raises(StoreError, match=f"cannot reach the Chroma server at {where}"):
        late.store
    out = cli(settings, "ask", QUESTION)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert f"cannot reach the Chroma server at {where}" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1

    own_server.start()  # same port, same data
    ans = bot.answerer.answer("Who said the ceasefire is a respite?")
    assert not ans.refused and ans.citations
    assert [d.source for d in bot.sources()] == ["002_c73d6df7dc4c2e06.txt"]
    assert [d.source for d in late.sources()] == ["002_c73d6df7dc4c2e06.txt"]
    bot.close()
    late.close()


def test_an_unreachable_address_is_named(tmp_path: Path) -> None:
    from chroma_server import free_port

    port = free_port()  # nothing listens there
    settings = make_settings(tmp_path, chroma_host="127.0.0.1", chroma_port=port)
    out = cli(settings, "sources")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith(f"newsbot: cannot reach the Chroma server at 127.0.0.1:{port}")


def test_a_rebuild_by_another_process_is_picked_up(
    chroma_server: ChromaServer, tmp_path: Path
) -> None:
    """Collections dropped and re-created elsewhere (`--rebuild`) are looked up again."""
    settings = server_settings(chroma_server, tmp_path / "a")
    reader = Newsbot(settings)
    reader.index([SAMPLES / "002_c73d6df7dc4c2e06.txt"])
    assert reader.answerer.answer("Who said the ceasefire is a respite?").citations
    writer = Newsbot(settings.model_copy(update={"data_dir": tmp_path / "b"}))
    writer.index([SAMPLES / "002_c73d6df7dc4c2e06.txt", SAMPLES / "003_74605ea7ae005176.txt"],
                 rebuild=True)
    reader.searcher.check_every = 0
    ans = reader.answerer.answer("Who said the ceasefire is a respite?")
    assert ans.citations
    assert len(reader.sources()) == 2
    writer.close()
    reader.close()


@pytest.mark.parametrize("store_kind", ["embedded", "server"], indirect=True)
def test_a_cap_on_dense_chunks_writes_consistent_vectors(
    store_kind: str, store_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """NEWSBOT_DENSE_CHUNKS=2: two chunk vectors per article (it used to fail on write)."""
    bot = Newsbot(store_settings(tmp_path / "data", dense_chunks=2))
    report = bot.index([SAMPLES])
    assert len(report.added) == 5 and not report.failed
    got = bot.store.client.get_collection(CHUNKS).get(include=["metadatas"])
    per_source: dict[str, int] = {}
    for m in got["metadatas"]:
        per_source[m["source"]] = per_source.get(m["source"], 0) + 1
    assert per_source and all(n == 2 for n in per_source.values())
    assert not bot.answerer.answer(QUESTION).refused
    bot.close()


def test_auth_headers() -> None:
    s = make_settings(Path("x"), chroma_host="h", chroma_auth_token="tok")
    assert s.chroma_target().headers == {"Authorization": "Bearer tok"}
    s = make_settings(Path("x"), chroma_host="h", chroma_auth_token="tok",
                      chroma_auth_header="X-Chroma-Token")
    assert s.chroma_target().headers == {"X-Chroma-Token": "tok"}
    assert make_settings(Path("x")).chroma_target() is None  # the embedded store


def test_two_writers_on_one_server_are_refused(chroma_server: ChromaServer, tmp_path: Path) -> None:
    """The second `newsbot index` refuses: through the lock file when it shares the data
    folder, through the server's write mark when it does not."""
    import signal
    import time

    from test_crash import IndexRun, make_corpus

    corpus = tmp_path / "corpus"
    make_corpus(corpus, [])
    first_settings = server_settings(chroma_server, tmp_path / "a")
    first = IndexRun(first_settings, corpus)
    try:
        deadline = time.monotonic() + 60
        while first.progress_at is None and first.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.proc.poll() is None
        same_folder = cli(first_settings, "index", str(corpus))
        assert same_folder.returncode == 1 and "Traceback" not in same_folder.stderr
        assert f"another `newsbot index` (pid {first.proc.pid}" in same_folder.stderr
        other_folder = cli(first_settings.model_copy(update={"data_dir": tmp_path / "b"}),
                           "index", str(corpus))
        assert other_folder.returncode == 1 and "Traceback" not in other_folder.stderr
        assert (f"another `newsbot index` (pid {first.proc.pid}) on this machine is writing to "
                f"the Chroma server at {chroma_server.host}:{chroma_server.port}") in other_folder.stderr
    finally:
        first.proc.send_signal(signal.SIGKILL)
        first.finish()


def test_a_server_that_never_answers_is_an_error_not_a_hang() -> None:
    """A process that accepts connections and then says nothing (a hung Chroma)."""
    import socket
    import threading
    import time

    from index.embedding import MiniLM
    from index.store import Store
    from index.errors import StoreError

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        t0 = time.monotonic()
        with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
            Store.open_remote(ChromaTarget("127.0.0.1", port, timeout=1.0), MiniLM())
        assert time.monotonic() - t0 < 5
    finally:
        stop.set()
        t.join(2)
        for c in held:
            c.close()
        listener.close()
