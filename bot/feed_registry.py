"""The feeds an index follows, and what newsbot remembers about each: `feeds.json` in the data
folder.

Why a JSON file and not a Chroma collection: the list must be readable while another process
holds the embedded index (`newsbot feeds list` or `feeds add` while the Telegram bot runs), it
must survive `newsbot index --rebuild`, and an admin should be able to read it. Every change is
a read-modify-write under an flock (`feeds.json.lock`), written to a temporary file, fsynced and
renamed over the old one, so a `kill -9` leaves either the old list or the new one, never half
of one. With a Chroma server the file stays with the machine that runs the updates, which is
the one machine allowed to write the index anyway (see README, "Chroma as a server").

A feed's validators (ETag, Last-Modified) and entry fingerprints are written only after its
entries are indexed (see bot/feeds.py): a crash in between makes the next update fetch and
finish the work instead of believing it done.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from index.errors import SourceError
from index.urls import normalise_url

FILE_NAME = "feeds.json"
SCHEMA = 1


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class EntryState:
    """What became of one feed entry: its article's source id, or why it has none.

    `retry`: the failure was a passing one (timeout, 5xx): the next update tries again.
    """

    fingerprint: str
    source: str | None = None
    error: str | None = None
    retry: bool = False


@dataclass
class FeedRecord:
    url: str  # as the admin gave it: fetched as is
    name: str
    added: str = field(default_factory=now_iso)
    etag: str | None = None
    last_modified: str | None = None
    last_fetched: str | None = None  # the last fetch that answered (200 or 304)
    fetch_error: str | None = None  # the last fetch failed: why
    problem: str | None = None  # the last feed read was truncated or malformed
    current: list[str] = field(default_factory=list)  # entry keys in the latest feed read
    entries: dict[str, EntryState] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return feed_key(self.url)

    @property
    def sources(self) -> set[str]:
        return {e.source for e in self.entries.values() if e.source}

    @property
    def entry_errors(self) -> list[str]:
        return [e.error for k in self.current if (e := self.entries.get(k)) and e.error]

    @property
    def last_error(self) -> str | None:
        """The feed's trouble in one line: fetch failure, else a broken feed, else its entries'."""
        if self.fetch_error:
            return self.fetch_error
        errors = ([self.problem] if self.problem else []) + self.entry_errors
        if not errors:
            return None
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return errors[0] + more

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["articles"] = len(self.sources)
        data["last_error"] = self.last_error
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FeedRecord:
        raw: dict[str, Any] = dict(data)
        entries: dict[str, dict[str, Any]] = raw.pop("entries", None) or {}
        rec = cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})
        rec.entries = {k: EntryState(**v) for k, v in entries.items()}
        return rec


def feed_key(url: str) -> str:
    """Two spellings of one feed URL are one feed."""
    try:
        return normalise_url(url)
    except SourceError:
        return url.strip()


class FeedRegistry:
    """The feed list of one data folder; every method re-reads the file (other processes write it)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME

    def feeds(self) -> list[FeedRecord]:
        return list(self._read().values())

    def get(self, url: str) -> FeedRecord | None:
        return self._read().get(feed_key(url))

    @contextmanager
    def editing(self) -> Iterator[dict[str, FeedRecord]]:
        """The feeds by key, to change in place; written back atomically when the block ends."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(FILE_NAME + ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            feeds = self._read()
            yield feeds
            self._write(feeds)
        finally:
            os.close(fd)

    def save(self, record: FeedRecord) -> bool:
        """Replace one feed's record; False (and nothing written) if it was removed meanwhile."""
        with self.editing() as feeds:
            if record.key not in feeds:
                return False
            feeds[record.key] = record
        return True

    def _read(self) -> dict[str, FeedRecord]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.path} cannot be read ({exc}); fix or delete it") from None
        if not isinstance(raw, dict) or not isinstance(raw.get("feeds"), list):
            raise ConfigError(f"{self.path} is not a newsbot feed list; fix or delete it")
        out: dict[str, FeedRecord] = {}
        for item in raw["feeds"]:
            try:
                rec = FeedRecord.from_json(item)
            except (TypeError, ValueError, AttributeError):
                raise ConfigError(f"{self.path} has a malformed feed entry; fix or delete it") from None
            out[rec.key] = rec
        return out

    def _write(self, feeds: dict[str, FeedRecord]) -> None:
        payload = {"schema": SCHEMA, "feeds": [asdict(r) for r in feeds.values()]}
        fd, tmp = tempfile.mkstemp(prefix=".feeds-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(payload, f, ensure_ascii=False, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        try:  # make the rename itself durable
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError:
            pass
