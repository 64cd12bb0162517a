"""Reading sources: files, folders and JSON-lines exports, each problem named and skipped."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path

from index.cleaning import clean_article, html_to_text, split_front_matter
from index.errors import SourceError
from index.types import ArticleMeta, Document, Unchanged, parse_iso_date

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".html", ".htm"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED = sorted(TEXT_SUFFIXES | JSONL_SUFFIXES)
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@lru_cache(maxsize=1)
def _cleaner() -> bytes:
    """A hash of the code that turns raw input into documents: a new cleaner re-cleans all."""
    h = hashlib.blake2b(digest_size=16)
    for mod in ("cleaning.py", "reading.py"):
        h.update((Path(__file__).parent / mod).read_bytes())
    return h.digest()


def raw_hash(kind: str, data: bytes) -> str:
    """The hash that decides whether an input must be cleaned again (see `Document.raw`)."""
    return hashlib.blake2b(_cleaner() + kind.encode() + b"\x00" + data, digest_size=8).hexdigest()


_FAST_ID = re.compile(rb'^\s*\{\s*"id"\s*:\s*"([^"\\]{1,512})"')


def _str(v: object) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def document_from_text(
    source: str, raw: str, *, html: bool = False, extra: dict[str, object] | None = None
) -> Document:
    """Clean one article's text; metadata given explicitly wins over what the text suggests."""
    meta, body = split_front_matter(raw)
    if extra:
        meta = {**{k: v for k, v in extra.items() if v not in (None, "")}, **meta}
    if html:
        body, html_meta = html_to_text(body)
        meta = {**html_meta, **meta}
    cleaned = clean_article(body)
    if not cleaned.text.strip():
        raise SourceError(source, "has no article text after cleaning")
    return Document(source, cleaned.text, ArticleMeta(
        title=_str(meta.get("title")) or cleaned.title,
        outlet=_str(meta.get("outlet") or meta.get("source") or meta.get("site")),
        author=_str(meta.get("author")) or cleaned.author,
        published=parse_iso_date(meta.get("published") or meta.get("published_at")
                                 or meta.get("date")) or cleaned.published,
        url=_str(meta.get("url")),
    ))


def _read_bytes(path: Path, source: str, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
        if not path.is_file():  # a pipe would block the run forever; a device is no article
            raise SourceError(source, "is not a regular file (a pipe, socket or device)")
        if size > max_bytes:
            raise SourceError(
                source, f"is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit per file"
            )
        data = path.read_bytes()
    except PermissionError:
        raise SourceError(source, "cannot be read (permission denied)") from None
    except OSError as exc:
        raise SourceError(source, f"cannot be read ({exc.strerror or exc})") from None
    if not data.strip():
        raise SourceError(source, "is empty")
    if b"\x00" in data[:65536] or data[:8] == b"\x89PNG\r\n\x1a\n":
        raise SourceError(source, "is a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourceError(
            source, f"is not UTF-8 text (bad byte at offset {exc.start}); re-save it as UTF-8"
        ) from None


def read_file(
    path: Path, source: str, max_bytes: int = DEFAULT_MAX_BYTES,
    known: Mapping[str, str] | None = None,
) -> Document | Unchanged:
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES:
        raise SourceError(
            source, f"unsupported file type {suffix or '(none)'}; use {', '.join(SUPPORTED)}"
        )
    raw = _read_bytes(path, source, max_bytes)
    if known is None:
        return document_from_text(source, raw, html=suffix in {".html", ".htm"})
    digest = raw_hash(suffix, raw.encode("utf-8"))
    if known.get(source) == digest:
        return Unchanged(source, digest)
    doc = document_from_text(source, raw, html=suffix in {".html", ".htm"})
    return dataclasses.replace(doc, raw=digest)


def read_jsonl(
    path: Path, max_bytes: int = DEFAULT_MAX_BYTES, known: Mapping[str, str] | None = None
) -> Iterator[Document | SourceError | Unchanged]:
    """One article per line (a scraper's export); a bad line is reported by number and skipped.

    `known` maps source ids to the raw hashes they were indexed from: a line that hashes the
    same is yielded as `Unchanged` without being parsed or cleaned (cleaning is most of the
    cost of reading: 40 s for 24,000 articles)."""
    name = path.name
    try:
        f = path.open("rb")
    except OSError as exc:
        yield SourceError(name, f"cannot be read ({exc.strerror or exc})")
        return
    with f:
        for lineno, line in enumerate(f, 1):
            where = f"{name}:{lineno}"
            if not line.strip():
                continue
            digest = raw_hash("jsonl", line.rstrip(b"\r\n")) if known is not None else None
            if known:
                m = _FAST_ID.match(line)
                if m is not None:
                    rid = m.group(1).decode("utf-8", "replace").strip()
                    if known.get(rid) == digest:
                        yield Unchanged(rid, digest)  # type: ignore[arg-type]
                        continue
            try:
                rec = json.loads(line.decode("utf-8"))
                if not isinstance(rec, dict):
                    raise ValueError("not a JSON object")
                text = rec.get("text")
                rid = _str(rec.get("id"))
                if not rid:
                    raise ValueError("missing 'id'")
                if not isinstance(text, str) or not text.strip():
                    raise ValueError("missing or empty 'text'")
                if len(text.encode("utf-8")) > max_bytes:
                    raise ValueError("'text' is over the size limit")
                extra = {
                    "title": rec.get("title"),
                    "url": rec.get("url"),
                    "outlet": rec.get("outlet") or rec.get("source"),
                    "published": rec.get("published") or rec.get("published_at"),
                    "author": rec.get("author"),
                }
                doc = document_from_text(rid, text, extra=extra)
                if digest is not None and known is not None and known.get(doc.source) == digest:
                    yield Unchanged(doc.source, digest)
                    continue
                yield dataclasses.replace(doc, raw=digest) if digest else doc
            except SourceError as exc:
                yield SourceError(where, f"{exc.source} {exc.reason}")
            except (ValueError, UnicodeDecodeError) as exc:
                yield SourceError(where, f"bad line: {exc}")


def iter_sources(
    paths: list[Path], max_bytes: int = DEFAULT_MAX_BYTES, known: Mapping[str, str] | None = None
) -> Iterator[Document | SourceError | Unchanged]:
    """Every document under the given paths; source ids are relative to the folder given.

    With `known` (source -> raw hash it was indexed from), inputs that hash the same come back
    as `Unchanged` without being cleaned, and documents carry their raw hash."""
    for root in paths:
        if not root.exists() and not root.is_symlink():
            yield SourceError(str(root), "does not exist")
            continue
        if root.is_file() or (root.is_symlink() and not root.is_dir()):
            if root.suffix.lower() in JSONL_SUFFIXES:
                yield from read_jsonl(root, max_bytes, known)
                continue
            try:
                yield read_file(root, root.name, max_bytes, known)
            except SourceError as exc:
                yield exc
            continue
        found = False
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for fn in sorted(filenames):
                if fn.startswith("."):
                    continue
                path = Path(dirpath) / fn
                source = path.relative_to(root).as_posix()
                found = True
                if path.suffix.lower() in JSONL_SUFFIXES:
                    yield from read_jsonl(path, max_bytes, known)
                    continue
                try:
                    yield read_file(path, source, max_bytes, known)
                except SourceError as exc:
                    yield exc
        if not found:
            yield SourceError(str(root), "is an empty folder: no files to index")
