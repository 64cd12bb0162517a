"""Sentence vectors embedded on demand and cached by content.

By default no sentence is embedded at index time (that was 2,600 s for 2,000 articles); an
answer asks for the vectors of the few sentences it weighs, and each is embedded the first
time any question reaches it. The key is a hash of the model id and the sentence's text, so a
vector is valid whatever article, version or snapshot the sentence is found in.

The cache is kept in the process and appended to one file per model in the data folder
(`<data_dir>/vectors/<model>.bin`, fixed-size records: 16-byte key, then the float32 vector),
so other processes and later runs reuse it. Candidate answer values (`bot/claims.py`) are
embedded and cached the same way. Appends hold an flock; a record cut short by a
`kill -9` is dropped by the next writer (the file is cut back to whole records), and readers
only ever read whole records.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np


class VectorCache:
    def __init__(self, folder: Path | None, encoder: Any) -> None:
        self.encoder = encoder
        self.dim = int(getattr(encoder, "dimension", 0) or 0)
        model = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(getattr(encoder, "model_id", "model")))
        self.path = Path(folder) / f"{model}-{self.dim}.bin" if folder and self.dim else None
        self.record = 16 + 4 * self.dim
        self._mem: dict[bytes, np.ndarray] = {}
        self._read_upto = 0  # bytes of the file already read
        self._lock = threading.Lock()
        self.embedded = 0  # texts embedded by this cache (tests and the bench read it)

    def _key(self, text: str) -> bytes:
        return hashlib.blake2b(f"{self.encoder.model_id}\x00{text}".encode("utf-8"),
                               digest_size=16).digest()

    def _refresh(self) -> None:
        """Read the records other processes (or earlier runs) appended since the last read."""
        if self.path is None:
            return
        try:
            size = self.path.stat().st_size
        except OSError:
            return
        whole = size - size % self.record
        if whole <= self._read_upto:
            return
        with open(self.path, "rb") as f:
            f.seek(self._read_upto)
            data = f.read(whole - self._read_upto)
        n = len(data) // self.record
        if n:
            rec = np.frombuffer(data[: n * self.record], dtype=np.uint8).reshape(n, self.record)
            vecs = rec[:, 16:].copy().view(np.float32)
            for i in range(n):
                self._mem.setdefault(rec[i, :16].tobytes(), vecs[i])
        self._read_upto += n * self.record

    def _append(self, items: list[tuple[bytes, np.ndarray]]) -> None:
        if self.path is None or not items:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return  # a read-only data folder: the cache stays in memory
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size % self.record:  # a record cut short by a crash
                os.ftruncate(fd, size - size % self.record)
                size -= size % self.record
            blob = b"".join(k + np.asarray(v, dtype=np.float32).tobytes() for k, v in items)
            os.lseek(fd, size, os.SEEK_SET)
            os.write(fd, blob)
        except OSError:
            pass
        finally:
            os.close(fd)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of the texts, embedding only those never seen before."""
        keys = [self._key(t) for t in texts]
        with self._lock:
            if any(k not in self._mem for k in keys):
                self._refresh()
            todo = {k: t for k, t in zip(keys, texts) if k not in self._mem}
        if todo:
            vecs = self.encoder.embed(list(todo.values()))
            with self._lock:
                fresh = [(k, np.asarray(v, dtype=np.float32)) for k, v in zip(todo, vecs)
                         if k not in self._mem]
                self._mem.update(fresh)
                self.embedded += len(fresh)
                self._append(fresh)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return np.stack([self._mem[k] for k in keys])
