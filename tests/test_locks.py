"""Processes sharing an embedded index: one writer at a time, and a clear word about who holds it.

Embedded Chroma allows one client per path per process and is not process-safe (chroma issues
#421, #961, #7040): `newsbot index` and long-running bots hold the data folder exclusively,
short readers hold it shared, and whoever is refused is told which process to stop.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.service import Newsbot
from index.errors import IndexLockedError
from index.locking import HOLDERS_DIR, DataDirLock, writer_lock
from index.errors import StoreError

from conftest import ROOT, make_settings
from test_crash import IndexRun, make_corpus

QUESTION = "What did Yuri Ushakov say the ceasefire would give Ukraine?"

HOLD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from index.locking import DataDirLock, writer_lock
    kind, mode, path = sys.argv[1:4]
    if kind == "dir":
        DataDirLock.of(Path(path)).acquire(mode, "lock-holder " + mode)
        print("held", flush=True)
        sys.stdin.read()
    else:
        with writer_lock(Path(path)):
            print("held", flush=True)
            sys.stdin.read()
    """
)


class Holder:
    """A child process that holds a lock until its stdin closes."""

    def __init__(self, kind: str, mode: str, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLD, kind, mode, str(path)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == "held", self.proc.stderr.read() if self.proc.stderr else ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(10)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def cli(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_DATA_DIR"] = str(data)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, text=True,
                          capture_output=True, env=env, cwd=ROOT, timeout=120)


@pytest.fixture
def index_copy(sample_index: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(sample_index, data, ignore=shutil.ignore_patterns("*.lock", HOLDERS_DIR))
    return data


def test_shared_readers_coexist_and_an_exclusive_one_is_refused_by_name(tmp_path: Path) -> None:
    readers = [Holder("dir", "shared", tmp_path), Holder("dir", "shared", tmp_path)]
    try:
        with pytest.raises(IndexLockedError) as exc:
            DataDirLock.of(tmp_path).acquire("exclusive", "newsbot index")
        msg = str(exc.value)
        for r in readers:
            assert f"pid {r.pid}" in msg
        assert "lock-holder shared" in msg and "wait for it to finish" in msg
        assert DataDirLock.of(tmp_path).mode is None  # nothing half-held after a refusal
        DataDirLock.of(tmp_path).acquire("shared", "a reader")  # readers share
        DataDirLock.of(tmp_path).release("shared")
    finally:
        for r in readers:
            r.release()
    with DataDirLock.of(tmp_path).hold("exclusive", "now alone"):
        assert DataDirLock.of(tmp_path).mode == "exclusive"
    assert DataDirLock.of(tmp_path).mode is None


def test_an_exclusive_holder_is_named_with_what_to_do(tmp_path: Path) -> None:
    bot = Holder("dir", "exclusive", tmp_path)
    try:
        with pytest.raises(IndexLockedError) as exc:
            DataDirLock.of(tmp_path).acquire("shared", "newsbot ask")
        msg = str(exc.value)
        assert f"pid {bot.pid}" in msg and "lock-holder exclusive" in msg
        assert "stop that process" in msg and "/reindex" in msg and "NEWSBOT_CHROMA_HOST" in msg
        assert str(tmp_path) in msg
    finally:
        bot.kill()  # kill -9: the kernel drops the lock; the holder's note is ignored
    assert (tmp_path / HOLDERS_DIR / f"{bot.pid}.json").exists()
    with DataDirLock.of(tmp_path).hold("exclusive"):
        pass


def test_one_process_shares_its_own_lock(tmp_path: Path) -> None:
    lock = DataDirLock.of(tmp_path)
    assert DataDirLock.of(tmp_path / "." ) is lock
    lock.acquire("exclusive", "bot")
    lock.acquire("shared", "reader in the same process")
    lock.release("exclusive")
    assert lock.mode == "shared"  # downgraded, still held for the reader
    outsider = subprocess.run(
        [sys.executable, "-c", HOLD.replace("sys.stdin.read()", "pass"), "dir", "shared",
         str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert outsider.returncode == 0, outsider.stderr  # another reader may join now
    lock.release("shared")
    assert lock.mode is None and not (tmp_path / HOLDERS_DIR / f"{os.getpid()}.json").exists()


def test_writer_lock_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "index.lock"
    other = Holder("writer", "exclusive", path)
    try:
        with pytest.raises(StoreError, match=rf"another `newsbot index` \(pid {other.pid}"):
            with writer_lock(path):
                pass
    finally:
        other.release()
    with writer_lock(path):
        pass


def test_two_index_runs_at_once_and_a_reader_meanwhile(tmp_path: Path) -> None:
    """The second `newsbot index` refuses with the first one's pid; so does `ask`."""
    corpus = tmp_path / "corpus"
    make_corpus(corpus, [])
    settings = make_settings(tmp_path / "data")
    first = IndexRun(settings, corpus)
    try:
        deadline = time.monotonic() + 60
        while first.progress_at is None and first.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert first.proc.poll() is None, "the first run ended before the second started"
        second = cli(settings.data_dir, "index", str(corpus))
        assert second.returncode == 1 and "Traceback" not in second.stderr
        assert f"pid {first.proc.pid}" in second.stderr and "newsbot index" in second.stderr
        assert "wait for it to finish" in second.stderr
        ask = cli(settings.data_dir, "ask", "When did the harbour reopen?")
        assert ask.returncode == 1 and "Traceback" not in ask.stderr
        assert f"pid {first.proc.pid}" in ask.stderr and "cannot read the index" in ask.stderr
    finally:
        first.proc.send_signal(signal.SIGKILL)
        first.finish()
    after = cli(settings.data_dir, "sources", "--json")  # the kill released the lock
    assert after.returncode == 0, after.stderr


def test_a_long_running_repl_keeps_the_index_to_itself(index_copy: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_DATA_DIR"] = str(index_copy)
    env["PYTHONUNBUFFERED"] = "1"
    repl = subprocess.Popen([sys.executable, "-m", "bot.cli", "repl"], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert repl.stdout is not None
        assert "articles indexed" in repl.stdout.readline()
        ask = cli(index_copy, "ask", QUESTION)
        assert ask.returncode == 1 and "Traceback" not in ask.stderr
        assert f"pid {repl.pid}" in ask.stderr and "newsbot repl" in ask.stderr
        assert "stop that process" in ask.stderr
        forget = cli(index_copy, "forget", "002_c73d6df7dc4c2e06.txt")
        assert forget.returncode == 1 and f"pid {repl.pid}" in forget.stderr
    finally:
        assert repl.stdin is not None
        repl.stdin.close()
        repl.wait(30)
    assert repl.returncode == 0
    assert cli(index_copy, "sources", "--json").returncode == 0  # free again


def test_newsbot_lock_modes(index_copy: Path, tmp_path: Path) -> None:
    settings = make_settings(index_copy)
    reader = Newsbot(settings, lock="shared")
    assert reader.holds is None  # taken when the store is opened
    assert reader.sources()
    assert reader.holds == "shared" and DataDirLock.of(index_copy).mode == "shared"
    other = Holder("dir", "shared", index_copy)  # another reader process is welcome
    other.release()
    bot = Newsbot(settings, lock="exclusive", purpose="newsbot telegram")
    bot.hold()
    bot.hold()  # idempotent
    assert bot.holds == "exclusive" and DataDirLock.of(index_copy).mode == "exclusive"
    outsider = subprocess.run(
        [sys.executable, "-c", HOLD, "dir", "shared", str(index_copy)], cwd=ROOT,
        capture_output=True, text=True, timeout=60, input="",
    )
    assert outsider.returncode != 0 and "newsbot telegram" in outsider.stderr
    assert bot.answerer.answer(QUESTION).citations  # the holder answers...
    report = bot.forget(["002_c73d6df7dc4c2e06.txt"])  # ...and writes
    assert report.removed
    bot.close()
    assert DataDirLock.of(index_copy).mode == "shared"  # the reader still holds its share
    reader.close()
    assert DataDirLock.of(index_copy).mode is None
    with Newsbot(make_settings(tmp_path / "d"), lock="exclusive") as w:
        w.store
        assert w.holds == "exclusive"
    assert DataDirLock.of(tmp_path / "d").mode is None


def test_a_server_needs_no_folder_lock(chroma_server, tmp_path: Path) -> None:
    from conftest import server_settings

    holder = Holder("dir", "exclusive", tmp_path / "data")  # irrelevant with a server
    try:
        bot = Newsbot(server_settings(chroma_server, tmp_path / "data"), lock="exclusive")
        bot.hold()
        assert bot.holds is None and bot.sources() == []
        bot.close()
    finally:
        holder.release()
