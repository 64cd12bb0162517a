"""The saved lexical index (index/lexical_store.py): round trip, incremental updates that touch
only the changed article, start-up without reading the archive's texts, `kill -9` while it is
written, and readers on other machines of a Chroma server keeping their own copy up to date."""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.service import Newsbot
from index.lexical_store import LexicalIndex, State

from conftest import ROOT, SAMPLES, make_settings, server_settings, stored_texts
from test_crash import make_corpus

TARGET = "002_c73d6df7dc4c2e06.txt"


def _postings(state: State) -> dict[str, tuple[str, list[int], list[list[int]]]]:
    """Every live article's generation and term ids (title, each chunk), as strings' ids."""
    out = {}
    for source in state.generations():
        loc = state.locate(source)
        assert loc is not None
        if loc[0] == 0:
            e = state.base.table.entry(loc[1])
        else:
            e = state.delta[loc[1]]
        words = state.vocab.all_terms()
        out[source] = (e.generation, [words[i] for i in e.title],
                       [[words[i] for i in b] for b in e.bodies])
    return out


@pytest.fixture
def bot(samples: Path, sample_index: Path, tmp_path: Path) -> Newsbot:
    data = tmp_path / "data"
    shutil.copytree(sample_index, data)
    return Newsbot(make_settings(data))


def test_the_saved_index_round_trips(bot: Newsbot) -> None:
    lex = bot.store.lexical()
    state = lex.load()
    assert state is not None and state.version == bot.store.version()
    again = LexicalIndex(lex.path, lex.dim).load()  # another process loading the same files
    assert again is not None and _postings(again) == _postings(state)
    # Every committed document is there with its generation and chunk layout.
    docs = bot.store.documents()
    snap = bot.searcher.snapshot()
    assert len(snap) == len(docs)
    for source, d in docs.items():
        mine = snap.document(source)
        assert mine is not None and mine.generation == d.generation and mine.chunks == d.chunks
        assert mine.meta == d.meta
    texts = stored_texts(bot)
    for p in bot.searcher.search("Gerasimov 86% of the territory in Kursk", k=5):
        assert texts[p.source][p.start : p.end] == p.text


def test_add_change_remove_touch_only_that_article(bot: Newsbot, samples: Path) -> None:
    lex = bot.store.lexical()
    before = lex.load()
    assert before is not None
    old = _postings(before)
    base = before.base.name

    # Change one article: only its postings differ; the base is not rebuilt.
    target = samples / TARGET
    target.write_text(target.read_text() + "\n\nThe Zorbland envoy arrived late.")
    report = bot.index([samples])
    assert report.updated == [TARGET]
    changed = lex.load()
    assert changed is not None and changed.base.name == base and lex.builds == 0
    assert [e.source for e in changed.delta] == [TARGET]
    new = _postings(changed)
    assert set(new) == set(old)
    assert {s for s in new if new[s] != old[s]} == {TARGET}
    assert "zorbland" in {t for body in new[TARGET][2] for t in body}
    assert bot.searcher.search("Zorbland envoy", k=1)[0].source == TARGET

    # Add one.
    extra = samples / "zz_new.txt"
    extra.write_text("Quorvex harbour reopened on Tuesday after the storm, the mayor said.\n")
    bot.index([samples])
    added = lex.load()
    assert added is not None and added.base.name == base
    now = _postings(added)
    assert set(now) == set(new) | {"zz_new.txt"}
    assert all(now[s] == new[s] for s in new)

    # Remove one: masked in the base, gone from answers, nothing else touched.
    gone = samples / "001_a45f0d692161619c.txt"
    gone.unlink()
    bot.index([samples], prune=True)
    removed = lex.load()
    assert removed is not None and removed.base.name == base
    after = _postings(removed)
    assert set(after) == set(now) - {gone.name}
    assert all(after[s] == now[s] for s in after)
    assert gone.name not in {p.source for p in bot.searcher.search("Ushakov respite", k=10)}

    # A fresh build of the same articles has exactly the same postings.
    clean = Newsbot(make_settings(bot.settings.data_dir.parent / "clean"))
    clean.index([samples])
    fresh = clean.store.lexical().load()
    assert fresh is not None and _postings(fresh) == after


def test_the_delta_is_merged_when_it_grows(bot: Newsbot, samples: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import index.lexical_store as ls

    monkeypatch.setattr(ls, "DELTA_MIN", 1)
    monkeypatch.setattr(ls, "DELTA_SHARE", 0.0)
    lex = bot.store.lexical()
    before = lex.load()
    assert before is not None
    for name in ("001_a45f0d692161619c.txt", TARGET):
        p = samples / name
        p.write_text(p.read_text() + "\n\nA closing line about Zorbland.")
    bot.index([samples])
    merged = lex.load()
    assert merged is not None and merged.base.name != before.base.name and not merged.delta
    assert not merged.masked and len(merged) == 5
    assert bot.searcher.search("closing line about Zorbland", k=2)[0].source in {
        "001_a45f0d692161619c.txt", TARGET}
    # Old segments are deleted once no state names them.
    names = {p.name for p in lex.path.iterdir()}
    assert before.base.name not in names


READER = r"""
import json, sys
sys.path.insert(0, "tests")
from conftest import make_settings
from bot.service import Newsbot
from pathlib import Path
bot = Newsbot(make_settings(Path(sys.argv[1])))
passages = bot.searcher.search(sys.argv[2], k=3)
ans = bot.answerer.answer(sys.argv[2])
print(json.dumps({"texts_read": bot.store.texts_read, "docs": len(bot.searcher.snapshot()),
                  "top": passages[0].source if passages else None}))
"""


def test_a_starting_reader_reads_only_the_texts_it_quotes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    names = make_corpus(corpus, [], n=60)
    data = tmp_path / "data"
    writer = Newsbot(make_settings(data))
    writer.index([corpus])
    writer.close()
    question = f"When did the harbour of {names[7]} reopen?"
    out = subprocess.run([sys.executable, "-c", READER, str(data), question], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["docs"] == 60 and got["top"] == f"007_{names[7].lower()}.txt"
    assert 0 < got["texts_read"] <= 20, got  # the hits' articles, not the archive


CHILD = r"""
import random, sys, time
sys.path.insert(0, "tests")
import index.lexical_store as ls
from index.lexical_store import LexicalIndex
path, dim = sys.argv[1], int(sys.argv[2])
lex = LexicalIndex(path, dim)
state = lex.load()
rng = random.Random(int(sys.argv[3]))
print("ready", flush=True)
while True:
    # Alternate small delta saves and full merges, each a complete new state.
    ls.DELTA_MIN = 0 if rng.random() < 0.5 else 10**6
    rows = list(range(state.base.table.n))
    victim = rng.choice(rows)
    e = state.base.table.entry(victim)
    e.generation = "%016x" % rng.getrandbits(64)
    state = lex.save(state.apply([e], [], state.epoch, state.seq + 1, state.vocab.copy()))
"""


def test_kill_9_while_the_lexical_index_is_written(bot: Newsbot, tmp_path: Path) -> None:
    lex = bot.store.lexical()
    assert lex.load() is not None
    rng = random.Random(11)
    for i in range(6):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(lex.path), str(lex.dim), str(i)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        state = LexicalIndex(lex.path, lex.dim).load()
        assert state is not None  # the last complete state, never a half-written one
        assert len(state) == 5
        for source in state.generations():
            loc = state.locate(source)
            assert loc is not None
    # The states the child wrote claim commits the store never made (made-up generations): the
    # next reader rebuilds from the store and answers with committed text only.
    reader = Newsbot(make_settings(bot.settings.data_dir))
    snap = reader.searcher.snapshot()
    docs = reader.store.documents()
    assert {s: snap.document(s).generation for s in docs} == {s: d.generation for s, d in docs.items()}  # type: ignore[union-attr]
    texts = stored_texts(reader)
    for p in reader.searcher.search("temporary respite for the Ukrainian military", k=5):
        assert texts[p.source][p.start : p.end] == p.text
    leftovers = [p.name for p in lex.path.iterdir() if p.name.startswith(("base-", "delta-", "state-"))]
    assert len([n for n in leftovers if n.startswith("state-")]) == 1, leftovers


def test_a_state_that_disagrees_with_the_store_is_repaired(bot: Newsbot) -> None:
    """A generation the store does not hold under the same version (a corrupt cache) is never
    served: its text is refused, and the searcher re-reads that document and searches again."""
    lex = bot.store.lexical()
    state = lex.load()
    assert state is not None
    loc = state.locate(TARGET)
    assert loc is not None
    e = state.base.table.entry(loc[1])
    e.generation = "0" * 16
    e.bounds, e.sents = e.bounds + 1, e.sents + 1  # every chunk and sentence one character later
    lex.save(state.apply([e], [], state.epoch, state.seq, state.vocab.copy()))
    reader = Newsbot(make_settings(bot.settings.data_dir))
    assert reader.searcher.snapshot().document(TARGET).generation == "0" * 16  # type: ignore[union-attr]
    assert reader.searcher.snapshot().text(TARGET) == ""  # not the new text under old offsets
    texts = stored_texts(reader)
    passages = reader.searcher.search("Zelensky Trump meeting White House", k=5)
    for p in passages:
        for q in [p, *p.also]:
            assert texts[q.source][q.start : q.end] == q.text
    fixed = reader.searcher.snapshot()
    assert fixed.document(TARGET).generation == bot.store.documents()[TARGET].generation  # type: ignore[union-attr]
    assert TARGET in {q.source for p in passages for q in [p, *p.also]}


def test_server_readers_on_two_machines_keep_their_own_copy(chroma_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    writer = Newsbot(server_settings(chroma_server, tmp_path / "machine-a", "lexical_two"))
    samples = tmp_path / "articles"
    shutil.copytree(SAMPLES, samples)
    writer.index([samples])
    # Machine B: its own data folder, same server database. Its first search builds its copy.
    reader = Newsbot(server_settings(chroma_server, tmp_path / "machine-b", "lexical_two"))
    reader.searcher.check_every = 0
    assert len(reader.searcher.snapshot()) == 5
    first = reader.store.texts_read
    assert first == 5  # built once from the server's texts
    assert any((tmp_path / "machine-b" / "lexical").rglob("CURRENT"))
    # A change on machine A: B reads that one text, nothing else.
    target = samples / TARGET
    target.write_text(target.read_text() + "\n\nThe Zorbland envoy arrived late.")
    writer.index([samples])
    hits = reader.searcher.search("Zorbland envoy", k=1)
    assert hits[0].source == TARGET
    assert reader.store.texts_read - first <= 2  # the changed article (and its quote)
    # A third process on machine B starts from B's saved copy: no text read to start.
    out = subprocess.run(
        [sys.executable, "-c", SERVER_READER, str(tmp_path / "machine-b"), chroma_server.host,
         str(chroma_server.port)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"docs": 5, "texts_read": 0}
    writer.close()
    reader.close()


SERVER_READER = r"""
import json, sys
sys.path.insert(0, "tests")
from conftest import server_settings
from bot.service import Newsbot
from pathlib import Path
class S: pass
s = S(); s.host = sys.argv[2]; s.port = int(sys.argv[3])
bot = Newsbot(server_settings(s, Path(sys.argv[1]), "lexical_two"))
n = len(bot.searcher.snapshot())
print(json.dumps({"docs": n, "texts_read": bot.store.texts_read}))
"""


@pytest.mark.parametrize("block", [3, 2048])
def test_bm25_built_a_block_at_a_time_scores_like_bm25s_own_builder(
        block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Our builder (numpy, a block of documents at a time, to bound memory) must give bm25s'
    own scores: random documents over a small vocabulary, every single-term and a few
    multi-term queries."""
    import bm25s
    import numpy as np

    from index import bm25_index as lexical_store

    monkeypatch.setattr(lexical_store, "BM25_BLOCK", block)
    rng = random.Random(7)
    vocab = [f"w{i}" for i in range(40)]
    docs = [[rng.randrange(40) for _ in range(rng.randrange(1, 30))] for _ in range(23)]
    ptr = np.cumsum([0] + [len(d) for d in docs])
    ids = np.array([t for d in docs for t in d], dtype=np.int32)
    ours, stats = lexical_store.build_bm25(ptr, ids, len(vocab))
    ref = bm25s.BM25(k1=lexical_store.K1, b=lexical_store.B)
    ref.index(bm25s.tokenization.Tokenized(ids=[list(d) for d in docs],
                                           vocab={w: i for i, w in enumerate(vocab)}),
              show_progress=False)
    queries = [[t] for t in range(40)] + [rng.sample(range(40), 3) for _ in range(10)]
    for q in queries:
        got = lexical_store.bm25_scores(ours, np.array(q), len(docs), None)
        want = ref.get_scores_from_ids(q)
        assert np.allclose(got, want, atol=1e-5), q
    assert stats.df.tolist() == [sum(t in d for d in docs) for t in range(40)]
