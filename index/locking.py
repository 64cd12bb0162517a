"""File locks that keep processes from corrupting an index they share.

Two locks, both `flock(2)` locks that the kernel drops when a process dies (even by `kill -9`):

- `writer_lock(path)`: one indexing run at a time (also for a Chroma server, where the file
  is local: writers on *different machines* must not run at once).
- `DataDirLock`: the embedded Chroma store is not process-safe (one client per path per
  process; chroma issues #421, #961, #7040). A process that serves the index for a long time
  (the Telegram bot, the REPL) or writes it (`newsbot index`, `forget`) holds the data
  folder's lock *exclusively*; short readers (`ask`, `search`, `sources`, `eval`) hold it
  *shared*. Whoever holds it is written next to the lock (pid, command, mode), so the one who
  is refused is told which process to stop.

Within one process the data-folder lock is shared by everyone who asks for it (counted per
mode), so a bot that holds it exclusively can still re-index and answer.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from index.errors import IndexLockedError, StoreError

LockMode = Literal["shared", "exclusive"]
LOCK_NAME = "newsbot.lock"
HOLDERS_DIR = "newsbot.lock.d"


def _command_line() -> str:
    argv = list(sys.argv) or ["python"]
    head = Path(argv[0]).name
    if head in ("cli.py", "__main__.py"):  # python -m bot.cli ...
        head = "newsbot"
    return " ".join([head, *argv[1:]])[:200]


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    try:  # a zombie (killed, not yet reaped) holds no locks
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def _describe(h: dict[str, object]) -> str:
    what = str(h.get("purpose") or h.get("command") or "a newsbot process")
    since = h.get("since")
    when = ""
    if isinstance(since, (int, float)):
        when = ", since " + time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since))
    return f"pid {h.get('pid')}: `{what}`, {h.get('mode', 'exclusive')}{when}"


@contextmanager
def writer_lock(path: Path | None, wait: bool = False) -> Iterator[None]:
    """One indexing run at a time: a second one refuses instead of interleaving writes."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raw = os.pread(fd, 512, 0).decode(errors="replace").strip()
            holder = raw.split("\n", 1)[0] or "another process"
            cmd = raw.split("\n", 1)[1].strip() if "\n" in raw else ""
            raise StoreError(
                f"another `newsbot index` (pid {holder}{': ' + cmd if cmd else ''}) is writing "
                "to this index; wait for it to finish and run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{_command_line()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


class DataDirLock:
    """The process-wide lock on one embedded index folder; get it with `DataDirLock.of(dir)`."""

    _registry: dict[Path, DataDirLock] = {}
    _registry_lock = threading.Lock()

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_NAME
        self._fd: int | None = None
        self._held: LockMode | None = None
        self._counts = {"shared": 0, "exclusive": 0}
        self._purposes: list[tuple[LockMode, str]] = []  # who asked, in order
        self._mutex = threading.RLock()
        atexit.register(self._forget_record)  # a process that exits holds nothing

    @classmethod
    def of(cls, data_dir: Path) -> DataDirLock:
        key = Path(os.path.realpath(data_dir))  # one lock per folder, however it is named
        with cls._registry_lock:
            lock = cls._registry.get(key)
            if lock is None:
                lock = cls._registry[key] = cls(key)
            return lock

    # ---- what this process holds ---------------------------------------------------------
    @property
    def mode(self) -> LockMode | None:
        return self._held

    def acquire(self, mode: LockMode, purpose: str | None = None) -> None:
        """Hold the lock in `mode` (or stronger) until the matching `release`."""
        if mode not in ("shared", "exclusive"):
            raise ValueError(f"lock mode must be 'shared' or 'exclusive', not {mode!r}")
        with self._mutex:
            want: LockMode = "exclusive" if mode == "exclusive" or self._counts["exclusive"] else "shared"
            self._set(want, purpose or _command_line())
            self._counts[mode] += 1
            self._purposes.append((mode, purpose or _command_line()))

    def release(self, mode: LockMode) -> None:
        with self._mutex:
            if self._counts[mode] <= 0:
                return
            self._counts[mode] -= 1
            for i in range(len(self._purposes) - 1, -1, -1):
                if self._purposes[i][0] == mode:
                    del self._purposes[i]
                    break
            if self._counts["exclusive"]:
                return
            if self._counts["shared"]:
                if self._held == "exclusive":
                    self._downgrade()
                return
            self._unlock()

    @contextmanager
    def hold(self, mode: LockMode, purpose: str | None = None) -> Iterator[None]:
        self.acquire(mode, purpose)
        try:
            yield
        finally:
            self.release(mode)

    # ---- the flock itself ----------------------------------------------------------------
    def _open(self) -> int:
        if self._fd is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        return self._fd

    def _set(self, want: LockMode, purpose: str) -> None:
        if self._held == want or (self._held == "exclusive" and want == "shared"):
            return
        fd = self._open()
        flag = fcntl.LOCK_EX if want == "exclusive" else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, flag | fcntl.LOCK_NB)
        except BlockingIOError:
            if self._held == "shared":
                # Linux drops the old lock before trying the new one: take it back.
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    self._held = None
            elif self._held is None:
                self._close()
            raise self._refusal(want, purpose) from None
        self._held = want
        self._record(want, purpose)

    def _downgrade(self) -> None:
        assert self._fd is not None
        fcntl.flock(self._fd, fcntl.LOCK_SH)  # never blocks: we hold it exclusively
        self._held = "shared"
        shared = [p for m, p in self._purposes if m == "shared"]
        self._record("shared", shared[-1] if shared else _command_line())

    def _unlock(self) -> None:
        self._forget_record()
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._close()
        self._held = None

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # ---- who holds it --------------------------------------------------------------------
    def _record_path(self) -> Path:
        return self.data_dir / HOLDERS_DIR / f"{os.getpid()}.json"

    def _record(self, mode: LockMode, purpose: str) -> None:
        info = {"pid": os.getpid(), "mode": mode, "purpose": purpose,
                "command": _command_line(), "since": round(time.time(), 3)}
        line = json.dumps(info, ensure_ascii=False)
        try:
            if mode == "exclusive" and self._fd is not None:
                os.ftruncate(self._fd, 0)
                os.pwrite(self._fd, (line + "\n").encode("utf-8"), 0)
            rec = self._record_path()
            rec.parent.mkdir(exist_ok=True)
            tmp = rec.with_suffix(".tmp")
            tmp.write_text(line + "\n", encoding="utf-8")
            os.replace(tmp, rec)
        except OSError:  # a read-only folder still locks; only the holder's name is lost
            pass

    def _forget_record(self) -> None:
        try:
            self._record_path().unlink()
        except OSError:
            pass

    def holders(self) -> list[dict[str, object]]:
        """The other living processes that say they hold this lock."""
        found: dict[int, dict[str, object]] = {}
        folder = self.data_dir / HOLDERS_DIR
        candidates: list[str] = []
        try:
            candidates += [p.read_text(encoding="utf-8") for p in folder.glob("*.json")]
        except OSError:
            pass
        try:
            candidates.append(self.path.read_text(encoding="utf-8"))
        except OSError:
            pass
        for raw in candidates:
            for line in raw.splitlines():
                try:
                    h = json.loads(line)
                    pid = int(h["pid"])
                except (ValueError, KeyError, TypeError):
                    continue
                if pid != os.getpid() and pid not in found and process_alive(pid):
                    found[pid] = h
        return sorted(found.values(), key=lambda h: float(str(h.get("since") or 0)))

    def _refusal(self, want: LockMode, purpose: str) -> IndexLockedError:
        holders = self.holders()
        who = "; ".join(_describe(h) for h in holders) or "another process (it did not say which)"

        def writes(h: dict[str, object]) -> bool:
            words = str(h.get("purpose") or h.get("command") or "").split()
            return "index" in words or "forget" in words

        if any(writes(h) for h in holders):
            advice = "wait for it to finish and try again"
        elif holders and all(h.get("mode") == "shared" for h in holders):
            advice = "wait for it to finish (it only reads) and try again"
        else:
            advice = ("stop that process (if it is the Telegram bot, re-index with /reindex in "
                      "Telegram instead)")
        if want == "shared":
            what = f"`{purpose}` cannot read the index at {self.data_dir}"
        else:
            what = f"`{purpose}` cannot use the index at {self.data_dir}"
        return IndexLockedError(
            f"{what}: it is in use by {who}. The embedded index can be used by only one process "
            f"while it is written or served; {advice}, or run Chroma as a server "
            "(NEWSBOT_CHROMA_HOST) so that several processes can share the index.",
            holders,
        )
