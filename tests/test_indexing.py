"""Incremental indexing against the real Chroma and the real model, in temporary folders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.service import Newsbot
from index.store import CHUNKS, SENTENCES
from index.errors import SourceError, StoreError

from conftest import make_settings


def _ids_by_source(bot: Newsbot, name: str = CHUNKS) -> dict[str, set[str]]:
    coll = bot.store.client.get_collection(name)
    got = coll.get(include=["metadatas"])
    out: dict[str, set[str]] = {}
    for rid, m in zip(got["ids"], got["metadatas"]):
        out.setdefault(m["source"], set()).add(rid)
    return out


def test_first_run_adds_everything(fresh_bot: Newsbot, samples: Path) -> None:
    report = fresh_bot.index([samples])
    assert sorted(report.added) == sorted(p.name for p in samples.glob("*.txt"))
    assert report.chunks_written > 30 and not report.failed


# The tests below check how chunk and sentence vectors are replaced, so their index has them
# (opt-in settings; by default only each article's title-and-lead vector is stored).
VECTORS = {"dense_chunks": None, "sentence_vectors": True}


@pytest.fixture(scope="module")
def vector_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import SAMPLES

    data = tmp_path_factory.mktemp("vector-index")
    bot = Newsbot(make_settings(data, **VECTORS))
    assert len(bot.index([SAMPLES]).added) == 5
    bot.close()
    return data


@pytest.fixture
def indexed(samples: Path, vector_index: Path, tmp_path: Path) -> Newsbot:
    """A private copy of the module's sample index (indexing afresh costs seconds)."""
    data = tmp_path / "data"
    shutil.copytree(vector_index, data)
    return Newsbot(make_settings(data, **VECTORS))


def test_unchanged_articles_write_nothing(indexed: Newsbot, samples: Path) -> None:
    before = _ids_by_source(indexed)
    version = indexed.store.version()
    report = indexed.index([samples])
    assert len(report.unchanged) == 5 and not report.changed
    assert report.chunks_written == 0
    assert _ids_by_source(indexed) == before
    assert indexed.store.version() == version


def test_editing_one_article_replaces_exactly_its_chunks(indexed: Newsbot, samples: Path) -> None:
    before = _ids_by_source(indexed)
    sentences_before = _ids_by_source(indexed, SENTENCES)
    target = samples / "003_74605ea7ae005176.txt"
    target.write_text(target.read_text() + "\n\nA brand new closing paragraph about Zorbland.")
    report = indexed.index([samples])
    assert report.updated == [target.name] and len(report.unchanged) == 4
    after = _ids_by_source(indexed)
    for source, ids in before.items():
        if source == target.name:
            assert ids.isdisjoint(after[source])  # every old chunk is gone
            assert len(after[source]) == report.chunks_written
        else:
            assert after[source] == ids  # nobody else was touched
    assert _ids_by_source(indexed, SENTENCES)[target.name].isdisjoint(sentences_before[target.name])
    hits = indexed.searcher.search("Zorbland", k=1)
    assert hits and hits[0].source == target.name and "Zorbland" in hits[0].text


def test_prune_removes_exactly_the_deleted_article(indexed: Newsbot, samples: Path) -> None:
    before = _ids_by_source(indexed)
    gone = samples / "001_a45f0d692161619c.txt"
    gone.unlink()
    report = indexed.index([samples])  # without --prune nothing is removed
    assert not report.removed and gone.name in _ids_by_source(indexed)
    report = indexed.index([samples], prune=True)
    assert report.removed == [gone.name]
    after = _ids_by_source(indexed)
    assert gone.name not in after and gone.name not in _ids_by_source(indexed, SENTENCES)
    assert after == {k: v for k, v in before.items() if k != gone.name}
    assert gone.name not in {d.source for d in indexed.sources()}


def test_rebuild_starts_over(indexed: Newsbot, samples: Path) -> None:
    report = indexed.index([samples], rebuild=True)
    assert len(report.added) == 5 and not report.unchanged


def test_bad_paths_leave_the_index_untouched(indexed: Newsbot, tmp_path: Path) -> None:
    before = _ids_by_source(indexed)
    with pytest.raises(SourceError, match="does not exist"):
        indexed.index([tmp_path / "missing"], prune=True)
    (tmp_path / "void").mkdir()
    with pytest.raises(SourceError, match="empty folder"):
        indexed.index([tmp_path / "void"], prune=True)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.txt").write_bytes(b"\xff\xfe\x00\x00")
    report = indexed.index([bad])
    assert report.failed and not report.changed
    assert _ids_by_source(indexed) == before


def test_orphans_from_a_crash_are_invisible_and_then_removed(indexed: Newsbot, samples: Path) -> None:
    """Chunks written for a version that was never committed must not be served."""
    question = "Who is the Zorbland lighthouse keeper?"
    coll = indexed.store.client.get_collection(CHUNKS)
    # The orphan is the perfect match for the question: if it were served, chunk 0 of 002
    # would come back with a similarity of 1.0.
    coll.upsert(ids=["orphan:deadbeef:0"], embeddings=[indexed.store.encoder.embed([question])[0].tolist()],
                metadatas=[{"source": "002_c73d6df7dc4c2e06.txt", "generation": "deadbeef", "i": 0, "pub_day": -1}])
    hits = indexed.searcher.retrieve(question).hits
    assert all(h.dense is None or h.dense < 0.9 for h in hits)
    indexed.index([samples])
    assert not coll.get(ids=["orphan:deadbeef:0"])["ids"]


def test_a_different_embedding_model_is_a_clear_error(indexed: Newsbot, tmp_path: Path) -> None:
    store = indexed.store

    class Other:
        model_id = "other-model"
        dimension = 8

        def embed(self, texts: list[str]):  # pragma: no cover - never reached
            raise AssertionError

    from index.store import Store

    other = Store(store.client, Other(), "the test index")  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="--rebuild"):
        other.documents()


def test_a_second_writer_is_refused(indexed: Newsbot, samples: Path) -> None:
    from index.indexing import writer_lock

    with writer_lock(indexed.lock_path):
        with pytest.raises(StoreError, match="another `newsbot index`"):
            indexed.index([samples])


def test_unchanged_input_is_not_cleaned_again(indexed: Newsbot, samples: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A source whose raw input hashes as when it was indexed skips cleaning (most of the cost
    of re-reading an archive); an edited one is cleaned and replaced as usual."""
    import index.reading as reading

    real = reading.clean_article
    cleaned: list[str] = []

    def spy(body: str):  # type: ignore[no-untyped-def]
        cleaned.append(body[:40])
        return real(body)

    monkeypatch.setattr(reading, "clean_article", spy)
    indexed.index([samples])  # the copied index was built without raw hashes: recorded now
    cleaned.clear()
    report = indexed.index([samples])
    assert len(report.unchanged) == 5 and not cleaned
    target = samples / "003_74605ea7ae005176.txt"
    target.write_text(target.read_text() + "\n\nOne more line.")
    report = indexed.index([samples])
    assert report.updated == [target.name] and len(cleaned) == 1
