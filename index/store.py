"""Chroma storage with a commit point per document, so readers never see half an update.

Two collections:
- `newsbot_documents`: one record per source. It holds the cleaned text, the metadata, the
  chunk and sentence offsets, and a vector of the article's title and lead. Upserting this
  record is the commit point of a document.
- `newsbot_chunks` and `newsbot_sentences`: one vector per chunk and per sentence, tagged with
  the content hash ("generation") of the document they were cut from. Chunks of a generation that no document record names are either
  being written or left over from a crash; readers ignore them and the next run deletes them.

Plus `newsbot_meta`: the version (an epoch renewed by `--rebuild`, and a commit number that
every batch's records carry as `seq`), the "writing" mark and the tombstones of removed sources.

Everything a reader needs comes from these collections, so a Chroma server shared by several
processes works exactly like the embedded store. The lexical index (index/lexical_store.py) is
a local cache of them: a reader brings it up to date by asking for the records of commits after
the one it matches, and reads only those texts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.embedding import Encoder
from index.errors import StoreError
from index.types import ArticleMeta, Chunk, Document, StoredDocument

DOCS = "newsbot_documents"
CHUNKS = "newsbot_chunks"
SENTENCES = "newsbot_sentences"
META = "newsbot_meta"
SCHEMA = 1
_BATCH = 2000


def _doc_key(source: str) -> str:
    import hashlib

    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def _from_record(rid: str, meta: dict[str, Any]) -> StoredDocument:
    raw = json.loads(str(meta.get("chunks") or "[]"))
    chunks = [(int(s), int(e), [(int(a), int(b)) for a, b in sents]) for s, e, sents in raw]
    return StoredDocument(source=rid, generation=str(meta.get("generation", "")),
                          meta=ArticleMeta.from_json(meta), chunks=chunks,
                          raw=str(meta.get("raw") or ""))


@dataclass
class Pending:
    """A document ready to be written: its chunks and vectors (chunk vectors may cover only
    the first chunks, see `dense_chunks`)."""

    doc: Document
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    lead_vector: np.ndarray
    sentence_vectors: np.ndarray | None = None


def _record(doc: Document, chunks: Sequence[Chunk], seq: int) -> dict[str, Any]:
    """The document record's metadata: what readers need besides the text and the vector.

    `seq` is the commit this record belongs to: a reader whose lexical index matches commit
    `n` asks only for records with `seq > n` (see index/lexical_store.py)."""
    return {
        "generation": doc.generation,
        "seq": seq,
        "raw": doc.raw or "",
        **{k: v or "" for k, v in doc.meta.to_json().items()},
        "pub_day": doc.meta.pub_day,
        "n_chunks": len(chunks),
        "chunks": json.dumps([[c.start, c.end, [list(s) for s in c.sentences]] for c in chunks],
                             separators=(",", ":")),
        "indexed_at": time.time(),
    }


def embed_text_of(title: str | None, text: str) -> str:
    """What the dense model sees: the headline carries much of an article's meaning."""
    return f"{title}\n{text}" if title else text


@dataclass(frozen=True)
class ChromaTarget:
    """A Chroma server to use instead of the embedded store (built by `Settings.chroma_target()`)."""

    host: str
    port: int = 8000
    ssl: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    database: str | None = None
    timeout: float = 30.0


class Store:
    """The knowledge base's storage; `describe` names it in every error message."""

    def __init__(self, client: Any, encoder: Encoder, describe: str,
                 data_dir: Path | None = None) -> None:
        self.client = client
        self.data_dir = data_dir  # local files: the lexical index, the sentence-vector cache
        self.encoder = encoder
        self.describe = describe
        self._docs: Any = None
        self._chunks: Any = None
        self._sentences: Any = None
        self._meta: Any = None
        self._next_seq: int | None = None  # the commit number this writer's records get
        self.texts_read = 0  # texts fetched from the store by this process (tests read it)
        self._lexical: Any = None

    # ---- opening -------------------------------------------------------------------------
    @classmethod
    def open_local(cls, path: Path, encoder: Encoder) -> Store:
        import chromadb
        from chromadb.config import Settings

        path.mkdir(parents=True, exist_ok=True)
        try:
            client = chromadb.PersistentClient(
                path=str(path), settings=Settings(anonymized_telemetry=False)
            )
        except Exception as exc:
            raise StoreError(f"cannot open the index at {path}: {exc}") from exc
        return cls(client, encoder, f"the index at {path}", data_dir=path)

    @classmethod
    def open(cls, data_dir: Path, target: ChromaTarget | None, encoder: Encoder) -> Store:
        """The embedded store in `data_dir`, or the server `target` names."""
        if target is None:
            return cls.open_local(data_dir, encoder)
        store = cls.open_remote(target, encoder)
        store.data_dir = data_dir
        return store

    @classmethod
    def open_remote(cls, target: ChromaTarget, encoder: Encoder) -> Store:
        """A Chroma server; `target.database` (created when missing) keeps indexes apart.

        Chroma's client waits forever on a server that accepts but does not answer; a hung
        server must be an error after `target.timeout` seconds, like a dead one.
        """
        host, port, ssl, headers = target.host, target.port, target.ssl, target.headers
        database, timeout = target.database, target.timeout
        import chromadb
        import httpx
        from chromadb.config import Settings
        from chromadb.errors import NotFoundError

        where = f"the Chroma server at {host}:{port}"
        if database:
            where += f" (database {database!r})"
        url = f"{'https' if ssl else 'http'}://{host}:{port}/api/v2/heartbeat"
        try:
            httpx.get(url, headers=headers or {}, timeout=timeout).raise_for_status()
        except Exception as exc:
            raise StoreError(f"cannot reach {where}: {_short(exc) or type(exc).__name__}") from exc
        kw: dict[str, Any] = {"host": host, "port": port, "ssl": ssl, "headers": headers or {}}
        if database:
            kw["database"] = database
        try:
            try:
                client = chromadb.HttpClient(**kw, settings=Settings(anonymized_telemetry=False))
            except NotFoundError:
                if not database:
                    raise
                admin = chromadb.AdminClient(Settings(
                    chroma_api_impl="chromadb.api.fastapi.FastAPI", chroma_server_host=host,
                    chroma_server_http_port=port, chroma_server_ssl_enabled=ssl,
                    chroma_server_headers=headers or None, anonymized_telemetry=False,
                ))
                try:
                    admin.create_database(database)
                except Exception:  # created meanwhile by another process: use it
                    pass
                client = chromadb.HttpClient(**kw, settings=Settings(anonymized_telemetry=False))
            session = getattr(getattr(client, "_server", None), "_session", None)
            if session is not None:
                session.timeout = httpx.Timeout(timeout)
            client.heartbeat()
        except Exception as exc:
            raise StoreError(f"cannot reach {where}: {_short(exc)}") from exc
        return cls(client, encoder, where)

    def lexical(self) -> Any:
        """The lexical index of this store (index/lexical_store.py): in the data folder next to
        the embedded store's files, or, for a server, in a subfolder of the local data folder
        named after the server and database (each machine keeps its own, brought up to date
        from the server's commits). Without a data folder it lives in a temporary one."""
        if self._lexical is None:
            import tempfile

            from index.lexical_store import LexicalIndex, lexical_dir

            root = self.data_dir
            if root is None:
                root = Path(tempfile.mkdtemp(prefix="newsbot-lexical-"))
            self._lexical = LexicalIndex(lexical_dir(root, self.server), lead_dim(self.encoder))
        return self._lexical

    @property
    def vector_cache_path(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "vectors"

    def close(self) -> None:
        """Release the client (the embedded store's files; a server's connections)."""
        close = getattr(self.client, "close", None)
        self._docs = self._chunks = self._sentences = self._meta = None
        if callable(close):
            try:
                close()
            except Exception:  # closing is best effort
                pass

    def _call(self, what: str, fn: Any, *args: Any, _retry: bool = True, **kw: Any) -> Any:
        """Run a Chroma call, turning connection failures into one readable line."""
        try:
            return fn(*args, **kw)
        except StoreError:
            raise
        except Exception as exc:
            owner = getattr(fn, "__self__", None)
            name = getattr(owner, "name", None) if owner is not self.client else None
            if type(exc).__name__ == "NotFoundError" and name in (DOCS, CHUNKS, SENTENCES, META):
                # Dropped and re-created by another process (`--rebuild`): look it up again.
                self._docs = self._chunks = self._sentences = self._meta = None
                if _retry:
                    self._collections()
                    fresh = {DOCS: self._docs, CHUNKS: self._chunks,
                             SENTENCES: self._sentences, META: self._meta}[name]
                    return self._call(what, getattr(fresh, fn.__name__), *args,
                                      _retry=False, **kw)
            raise StoreError(f"{what} failed on {self.describe}: {_short(exc)}") from exc

    def _sentence_collection(self) -> Any:
        self._collections()
        return self._sentences

    def _collections(self) -> tuple[Any, Any, Any]:
        if self._docs is None:
            dim = self.encoder.dimension
            meta = {"hnsw:space": "cosine", "embed_model": self.encoder.model_id,
                    "newsbot_schema": SCHEMA}
            if dim:
                meta["embed_dim"] = dim

            def get(name: str, m: dict[str, Any]) -> Any:
                return self._call(
                    "opening the collections",
                    self.client.get_or_create_collection,
                    name, embedding_function=None, metadata=m,
                )

            docs = get(DOCS, meta)
            chunks = get(CHUNKS, meta)
            self._sentences = get(SENTENCES, meta)
            self._meta = get(META, {"newsbot_schema": SCHEMA})
            recorded = (docs.metadata or {}).get("embed_model")
            if recorded and recorded != self.encoder.model_id:
                raise StoreError(
                    f"{self.describe} was built with the embedding model {recorded!r}, but "
                    f"{self.encoder.model_id!r} is configured. Rebuild it with "
                    "`newsbot index --rebuild PATH`, or set the embedding back."
                )
            self._docs, self._chunks = docs, chunks
        return self._docs, self._chunks, self._meta

    # ---- reading -------------------------------------------------------------------------
    @property
    def server(self) -> str | None:
        """Names a Chroma server (and database) for the local lexical cache; None if embedded."""
        return None if self.describe.startswith("the index at ") else self.describe

    def version_info(self) -> tuple[str, int]:
        """(epoch, commit sequence number). The epoch is new after `--rebuild` (the collections
        are dropped, the numbers start again); the number grows with every commit."""
        _, _, meta = self._collections()
        got = self._call("reading the index version", meta.get, ids=["version"],
                         include=["metadatas"])
        if got["ids"]:
            m = got["metadatas"][0] or {}
            if "epoch" in m:
                return str(m["epoch"]), int(m.get("seq") or 0)
            return f"legacy-{m.get('version')}", 0  # written before commit numbers
        return "", 0

    def version(self) -> str:
        """Changes whenever a document is committed or removed; cheap enough to poll."""
        epoch, seq = self.version_info()
        return f"{epoch}:{seq}" if epoch else "0"

    def _write_seq(self) -> int:
        """The number the records of the next commit carry: one more than the last commit."""
        if self._next_seq is None:
            self._next_seq = self.version_info()[1] + 1
        return self._next_seq

    def _bump_version(self) -> None:
        _, _, meta = self._collections()
        epoch, _ = self.version_info()
        if not epoch or epoch.startswith("legacy-"):
            import uuid

            epoch = uuid.uuid4().hex[:12]
        seq = self._write_seq()
        self._call("writing the index version", meta.upsert, ids=["version"],
                   embeddings=[[1.0]], metadatas=[{"epoch": epoch, "seq": seq,
                                                   "at": time.time()}])
        self._next_seq = seq + 1

    def count_documents(self) -> int:
        docs, _, _ = self._collections()
        return int(self._call("counting documents", docs.count))

    def records_since(self, seq: int | None) -> dict[str, StoredDocument]:
        """Committed records (no text) of commits after `seq`; all of them for None."""
        docs, _, _ = self._collections()
        where = None if seq is None else {"seq": {"$gt": seq}}
        out: dict[str, StoredDocument] = {}
        offset = 0
        while True:
            got = self._call("reading the documents", docs.get, where=where,
                             include=["metadatas"], limit=_BATCH, offset=offset)
            for rid, m in zip(got["ids"], got["metadatas"]):
                out[rid] = _from_record(rid, m)
            if len(got["ids"]) < _BATCH:
                return out
            offset += _BATCH

    def removed_since(self, seq: int) -> set[str]:
        """Sources removed by commits after `seq` (their tombstones)."""
        _, _, meta = self._collections()
        got = self._call("reading removals", meta.get,
                         where={"$and": [{"kind": "removed"}, {"seq": {"$gt": seq}}]},
                         include=["metadatas"])
        return {str(m["source"]) for m in got["metadatas"] if m}

    def fetch(
        self, sources: list[str], text: bool = True
    ) -> dict[str, tuple[StoredDocument, str, np.ndarray | None]]:
        """Records of some documents with their texts and title-and-lead vectors, read in one
        call so that they match; absent sources are left out."""
        docs, _, _ = self._collections()
        include = ["metadatas", "documents", "embeddings"] if text else ["metadatas"]
        out: dict[str, tuple[StoredDocument, str, np.ndarray | None]] = {}
        for b in range(0, len(sources), _BATCH):
            got = self._call("reading documents", docs.get, ids=sources[b : b + _BATCH],
                             include=include)
            texts = got.get("documents") if text else None
            embs = got.get("embeddings") if text else None
            for i, (rid, meta) in enumerate(zip(got["ids"], got["metadatas"])):
                vec = None if embs is None else np.asarray(embs[i], dtype=np.float32)
                out[rid] = (_from_record(rid, meta), (texts[i] or "") if texts is not None
                            else "", vec)
            if text:
                self.texts_read += len(got["ids"])
        return out

    def texts(self, sources: list[str]) -> dict[str, tuple[str, str]]:
        """source -> (generation, cleaned text) of some documents, read together."""
        docs, _, _ = self._collections()
        out: dict[str, tuple[str, str]] = {}
        for b in range(0, len(sources), _BATCH):
            got = self._call("reading texts", docs.get, ids=sources[b : b + _BATCH],
                             include=["metadatas", "documents"])
            for rid, meta, text in zip(got["ids"], got["metadatas"], got["documents"]):
                out[rid] = (str((meta or {}).get("generation", "")), text or "")
            self.texts_read += len(got["ids"])
        return out

    def documents(self) -> dict[str, StoredDocument]:
        """All committed documents (the manifest): metadata and chunk layout, no text."""
        docs, _, _ = self._collections()
        out: dict[str, StoredDocument] = {}
        offset = 0
        while True:
            got = self._call("reading the documents", docs.get, include=["metadatas"],
                             limit=_BATCH, offset=offset)
            ids = got["ids"]
            for i, rid in enumerate(ids):
                out[rid] = _from_record(rid, got["metadatas"][i])
            if len(ids) < _BATCH:
                return out
            offset += _BATCH

    def documents_with_text(self, sources: list[str]) -> dict[str, tuple[StoredDocument, str]]:
        """Records and cleaned texts of some documents, read together so the two match."""
        docs, _, _ = self._collections()
        out: dict[str, tuple[StoredDocument, str]] = {}
        for b in range(0, len(sources), _BATCH):
            got = self._call("reading documents", docs.get, ids=sources[b : b + _BATCH],
                             include=["metadatas", "documents"])
            for rid, meta, text in zip(got["ids"], got["metadatas"], got["documents"]):
                out[rid] = (_from_record(rid, meta), text or "")
            self.texts_read += len(got["ids"])
        return out

    def count_chunks(self) -> int:
        _, chunks, _ = self._collections()
        return int(self._call("counting chunks", chunks.count))

    def count_sentences(self) -> int:
        return int(self._call("counting sentences", self._sentence_collection().count))

    def query_chunks(
        self, vector: np.ndarray, k: int, max_day: int | None = None
    ) -> list[tuple[str, str, int, float]]:
        """Nearest chunk vectors as (source, generation, chunk index, cosine similarity)."""
        _, chunks, _ = self._collections()
        where = {"pub_day": {"$lte": max_day}} if max_day is not None else None
        got = self._call(
            "searching", chunks.query, query_embeddings=[vector.tolist()],
            n_results=k, where=where, include=["metadatas", "distances"],
        )
        out = []
        for meta, dist in zip(got["metadatas"][0], got["distances"][0]):
            if not meta:  # deleted (an old generation) while the search ran
                continue
            out.append((str(meta["source"]), str(meta["generation"]), int(meta["i"]),
                        1.0 - float(dist)))
        return out

    def query_sentences(
        self, vector: np.ndarray, k: int, max_day: int | None = None
    ) -> list[tuple[str, str, int, int, float, np.ndarray]]:
        """Nearest sentences as (source, generation, start, end, cosine similarity, vector)."""
        coll = self._sentence_collection()
        where = {"pub_day": {"$lte": max_day}} if max_day is not None else None
        got = self._call(
            "searching", coll.query, query_embeddings=[vector.tolist()],
            n_results=k, where=where, include=["metadatas", "distances", "embeddings"],
        )
        return [(str(m["source"]), str(m["generation"]), int(m["start"]), int(m["end"]),
                 1.0 - float(d), np.asarray(v, dtype=np.float32))
                for m, d, v in zip(got["metadatas"][0], got["distances"][0], got["embeddings"][0])
                if m and v is not None]  # else deleted while the search ran

    def sentence_vectors(
        self, keys: Iterable[tuple[str, str, int]]
    ) -> dict[tuple[str, int], np.ndarray]:
        """Stored vectors of sentences given as (source, generation, start)."""
        keys = list(keys)
        if not keys:
            return {}
        ids = [f"{_doc_key(src)}:{gen}:s{start}" for src, gen, start in keys]
        back = {i: (src, start) for i, (src, _, start) in zip(ids, keys)}
        got = self._call("reading sentence vectors", self._sentence_collection().get,
                         ids=ids, include=["embeddings"])
        embs = got.get("embeddings")
        if embs is None:
            return {}
        return {back[i]: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], embs)}

    def query_documents(
        self, vector: np.ndarray, k: int, max_day: int | None = None
    ) -> list[tuple[str, str, float]]:
        """Nearest article (title + lead) vectors as (source, generation, similarity)."""
        docs, _, _ = self._collections()
        where = {"pub_day": {"$lte": max_day}} if max_day is not None else None
        got = self._call(
            "searching", docs.query, query_embeddings=[vector.tolist()],
            n_results=k, where=where, include=["metadatas", "distances"],
        )
        return [(rid, str(m["generation"]), 1.0 - float(d))
                for rid, m, d in zip(got["ids"][0], got["metadatas"][0], got["distances"][0])
                if m]  # else removed while the search ran

    # ---- writing -------------------------------------------------------------------------
    def write_documents(self, batch: Sequence[Pending], replaced: set[str] = frozenset()) -> None:
        """Write a batch: all vectors, then all document records in one call, then drop the
        vectors of the versions they replaced.

        The one upsert of the records is the batch's commit point. A crash before it leaves
        the previous versions in force (plus orphan vectors that `remove_orphans` deletes);
        a crash after it leaves the new ones. Batching matters: Chroma spends ~35 ms per
        call, which one call per article turned into most of an indexing run.
        """
        docs, coll, _ = self._collections()
        rows: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
        srows: dict[str, list[Any]] = {"ids": [], "embeddings": [], "metadatas": []}
        for p in batch:
            gen, key, day = p.doc.generation, _doc_key(p.doc.source), p.doc.meta.pub_day
            for c, v in zip(p.chunks, p.chunk_vectors):
                rows["ids"].append(f"{key}:{gen}:{c.index}")
                rows["embeddings"].append(v.tolist())
                rows["metadatas"].append({"source": p.doc.source, "generation": gen,
                                          "i": c.index, "pub_day": day})
            spans = [sp for c in p.chunks for sp in c.sentences]
            for (a, z), v in zip(spans, p.sentence_vectors if p.sentence_vectors is not None else []):
                srows["ids"].append(f"{key}:{gen}:s{a}")
                srows["embeddings"].append(v.tolist())
                srows["metadatas"].append({"source": p.doc.source, "generation": gen,
                                           "start": a, "end": z, "pub_day": day})
        for what, target, data in (("writing chunks", coll, rows),
                                   ("writing sentences", self._sentences, srows)):
            for b in range(0, len(data["ids"]), _BATCH):
                self._call(what, target.upsert, **{k: v[b : b + _BATCH] for k, v in data.items()})
        if not batch:
            return
        self._call(
            "committing documents", docs.upsert,
            ids=[p.doc.source for p in batch],
            embeddings=[p.lead_vector.tolist() for p in batch],
            documents=[p.doc.text for p in batch],
            metadatas=[_record(p.doc, p.chunks, self._write_seq()) for p in batch],
        )
        old = sorted(replaced & {p.doc.source for p in batch})
        if old:
            stale = {"$and": [{"source": {"$in": old}},
                              {"generation": {"$nin": [p.doc.generation for p in batch]}}]}
            self._call("removing old chunks", coll.delete, where=stale)
            self._call("removing old sentences", self._sentences.delete, where=stale)

    def remove_document(self, source: str) -> None:
        """Uncommit the record first, so a crash between the two leaves only orphans.

        A tombstone (before the delete, so a crash cannot lose it) tells readers' lexical
        indexes that the source is gone; a tombstone of a source that still exists is
        harmless (readers check)."""
        docs, coll, meta = self._collections()
        self._call("marking a removal", meta.upsert, ids=[f"removed:{_doc_key(source)}"],
                   embeddings=[[1.0]], metadatas=[{"kind": "removed", "source": source,
                                                   "seq": self._write_seq()}])
        self._call("removing a document", docs.delete, ids=[source])
        self._call("removing its chunks", coll.delete, where={"source": source})
        self._call("removing its sentences", self._sentences.delete, where={"source": source})

    def remove_orphans(self, committed: dict[str, str] | None = None) -> int:
        """Delete chunks whose generation no committed document names (crash leftovers);
        `committed` maps source -> generation."""
        _, chunks, _ = self._collections()
        if committed is None:
            committed = {s: d.generation for s, d in self.documents().items()}
        removed = 0
        for coll in (chunks, self._sentences):
            stale: list[str] = []
            offset = 0
            while True:
                got = self._call("scanning vectors", coll.get, include=["metadatas"],
                                 limit=_BATCH, offset=offset)
                for rid, m in zip(got["ids"], got["metadatas"]):
                    gen = committed.get(str(m.get("source")))
                    if gen is None or gen != m.get("generation"):
                        stale.append(rid)
                if len(got["ids"]) < _BATCH:
                    break
                offset += _BATCH
            for b in range(0, len(stale), _BATCH):
                self._call("removing orphan vectors", coll.delete, ids=stale[b : b + _BATCH])
            removed += len(stale)
        return removed

    def commit_version(self) -> None:
        self._bump_version()

    def begin_write(self) -> bool:
        """Mark an indexing run as under way; True when the previous one never finished.

        A run killed after committing some documents may not have bumped the version; the
        next run must then bump it even if it has nothing left to do, or readers that poll
        the version would never see those documents.

        The mark names its host and pid, so a second writer on the same machine is refused
        even when it uses another data folder (and so another lock file) with one server.
        """
        import os
        import socket

        from index.locking import process_alive

        _, _, meta = self._collections()
        self._next_seq = None  # continue from the last commit (a killed run's records too)
        got = self._call("reading the index state", meta.get, ids=["writing"],
                         include=["metadatas"])
        host = socket.gethostname()
        if got["ids"]:
            m = got["metadatas"][0] or {}
            pid = int(m.get("pid") or 0)
            if m.get("host") == host and pid != os.getpid() and process_alive(pid):
                raise StoreError(
                    f"another `newsbot index` (pid {pid}) on this machine is writing to "
                    f"{self.describe}; wait for it to finish and run again"
                )
        self._call("marking a write", meta.upsert, ids=["writing"], embeddings=[[1.0]],
                   metadatas=[{"pid": os.getpid(), "host": host, "started": time.time()}])
        return bool(got["ids"])

    def end_write(self) -> None:
        _, _, meta = self._collections()
        self._call("finishing a write", meta.delete, ids=["writing"])

    def reset(self) -> None:
        """Drop every collection (for --rebuild and for a change of embedding model)."""
        for name in (DOCS, CHUNKS, SENTENCES, META):
            try:
                self.client.delete_collection(name)
            except Exception:  # absent already
                pass
        self._docs = self._chunks = self._sentences = self._meta = None
        self._next_seq = None


def lead_dim(encoder: Encoder) -> int:
    """Dimension of the title-and-lead vectors the lexical index keeps (0: it keeps none and
    the store's own vector index ranks leads; for encoders whose dimension is not fixed)."""
    from index.embedding import MINILM_ID

    return int(encoder.dimension or 0) if encoder.model_id == MINILM_ID else 0


def _short(exc: BaseException) -> str:
    s = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return s[:300]
