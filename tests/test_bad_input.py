"""A catalogue of bad input: each case gets one clear message and leaves the index as it was.

Runs against the embedded store and a Chroma server wherever the index is touched. Cases that
are already covered elsewhere (and not repeated here):
- reading level, one folder of bad files: tests/test_reading.py
  (empty, whitespace, PNG, Latin-1, NUL, unsupported type, missing path, empty folder, size)
- the CLI: tests/test_cli.py (`ask "   "` and a 20,000-character question exit 2 with one
  line; a missing path, a folder of one binary file, an empty index exit 1)
- questions: tests/test_answer.py (empty, whitespace, 20,000 characters, emoji only, control
  characters, an SQL/HTML/markdown string), which runs against both stores too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import QuestionError
from bot.service import Newsbot
from index.store import CHUNKS, SENTENCES

from conftest import ROOT, stored_texts

GOOD = (
    "Velmora harbour reopens after storm repairs\n\n"
    "The harbour of Velmora reopened on Monday after three weeks of storm repairs, mayor Anna "
    "Velmorasen said. The repairs cost 120 thousand crowns, according to the Velmora council.\n"
)
OTHER = (
    "Quindar bridge closes for the winter\n\n"
    "The old bridge at Quindar closed on Friday for its winter inspection, engineers said. "
    "Ferries will carry cars across the river until March.\n"
)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
SCRIPTS_ONLY = (
    "<html><head><style>body { color: red } .x { margin: 0 }</style>"
    "<script>var tracking = 'zorbscript'; document.write('hello');</script></head>"
    "<body><script>alert('zorbalert')</script><noscript>Please enable JavaScript</noscript>"
    "</body></html>"
)
SCRIPTS_AROUND_TEXT = (
    "<html><head><title>Quindar ferry timetable changes</title>"
    "<style>p { font-size: 12px } .zorbstyle { display: none }</style>"
    "<script>window.zorbscript = function () { return 'zorbscript'; };</script></head>"
    "<body><script type='text/javascript'>alert('zorbalert')</script>"
    "<article><h1>Quindar ferry timetable changes</h1>"
    "<p>The Quindar ferry will sail every twenty minutes from Monday, the operator said.</p>"
    "<style>.zorbinline { color: blue }</style>"
    "<p>Night crossings stop at midnight until the bridge reopens in March.</p>"
    "<script>console.log('zorbinbody')</script></article></body></html>"
)

# name, content, what the message says
BAD_FILES: dict[str, tuple[str, bytes, str]] = {
    "empty": ("empty.txt", b"", "is empty"),
    "whitespace only": ("blank.md", b"  \n\t\r\n   \n", "is empty"),
    "png renamed .txt": ("photo.txt", PNG, "binary file"),
    "invalid utf-8": ("broken.txt", b"The harbour \xff\xfe\xfa reopened", "not UTF-8"),
    "latin-1": ("latin.txt", "Caf\xe9 cr\xe8me in S\xe3o Paulo, na\xefve".encode("latin-1"), "not UTF-8"),
    "nul bytes": ("nul.txt", b"The harbour\x00reopened on Monday.", "binary file"),
    "html of scripts and styles only": ("scripts.html", SCRIPTS_ONLY.encode(), "no article text"),
}


def state(bot: Newsbot) -> dict[str, object]:
    """Everything that tells one index state from another."""
    def ids(name: str) -> list[str]:
        return sorted(bot.store.client.get_collection(name).get(include=[])["ids"])

    return {
        "docs": {s: d.generation for s, d in bot.store.documents().items()},
        "chunks": ids(CHUNKS),
        "sentences": ids(SENTENCES),
        "version": bot.store.version(),
    }


@pytest.fixture
def base(fresh_bot: Newsbot, tmp_path: Path) -> Newsbot:
    """An index (embedded or on the server) holding one good article."""
    good = tmp_path / "good"
    good.mkdir()
    (good / "velmora.txt").write_text(GOOD, encoding="utf-8")
    report = fresh_bot.index([good])
    assert report.added == ["velmora.txt"]
    return fresh_bot


# ---- files --------------------------------------------------------------------------------
@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_is_named_and_changes_nothing(base: Newsbot, tmp_path: Path, case: str) -> None:
    name, content, message = BAD_FILES[case]
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / name).write_bytes(content)
    before = state(base)
    for target in (folder, folder / name):  # a folder of it, and the file itself
        report = base.index([target])
        assert [e.source for e in report.failed] == [name]
        assert message in report.failed[0].reason
        assert not report.changed
    assert state(base) == before


def test_a_30_mb_file_is_refused_by_the_size_limit(base: Newsbot, tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    with (folder / "huge.txt").open("w") as f:
        line = "The harbour of Velmora reopened on Monday after storm repairs. " * 16 + "\n"
        for _ in range(30 * 1024 * 1024 // len(line) + 1):
            f.write(line)
    assert (folder / "huge.txt").stat().st_size > 30 * 1024 * 1024
    before = state(base)
    report = base.index([folder])
    assert [e.source for e in report.failed] == ["huge.txt"]
    assert "MB, over the 10 MB limit per file" in report.failed[0].reason
    assert state(base) == before
    # NEWSBOT_MAX_FILE_MB moves the limit: here below the size of a small article.
    small = tmp_path / "small"
    small.mkdir()
    (small / "quindar.txt").write_text(OTHER)
    tight = Newsbot(base.settings.model_copy(update={"max_file_mb": 0.0001}))
    report = tight.index([small])
    assert report.failed and "over the" in report.failed[0].reason and not report.changed
    assert state(base) == before
    tight.close()


def test_html_full_of_scripts_and_styles_is_indexed_without_them(base: Newsbot, tmp_path: Path) -> None:
    folder = tmp_path / "html"
    folder.mkdir()
    (folder / "ferry.html").write_text(SCRIPTS_AROUND_TEXT)
    report = base.index([folder])
    assert report.added == ["ferry.html"]
    doc, text = base.store.documents_with_text(["ferry.html"])["ferry.html"]
    assert doc.meta.title == "Quindar ferry timetable changes"
    assert "every twenty minutes" in text and "Night crossings" in text
    for junk in ("zorb", "alert(", "console.log", "color:", "{", "enable JavaScript"):
        assert junk not in text
    assert all("zorb" not in p.text for p in base.searcher.search("zorbscript zorbalert", k=5))


def test_a_symlink_loop_is_named(base: Newsbot, tmp_path: Path) -> None:
    folder = tmp_path / "links"
    folder.mkdir()
    (folder / "loop.txt").symlink_to("loop.txt")
    (folder / "a.md").symlink_to("b.md")
    (folder / "b.md").symlink_to("a.md")
    (folder / "again").symlink_to(".", target_is_directory=True)  # a folder loop: not followed
    (folder / "quindar.txt").write_text(OTHER)
    before = state(base)
    report = base.index([folder])
    assert report.added == ["quindar.txt"]  # the good one, once: the folder loop is not walked
    reasons = {e.source: e.reason for e in report.failed}
    assert set(reasons) == {"loop.txt", "a.md", "b.md"}
    assert all("symbolic links" in r for r in reasons.values())
    report = base.index([folder / "loop.txt"])  # named directly: not "does not exist"
    assert [e.source for e in report.failed] == ["loop.txt"] and not report.changed
    docs = dict(state(base)["docs"])  # type: ignore[call-overload]
    docs.pop("quindar.txt")
    assert docs == before["docs"]


def test_a_pipe_named_txt_does_not_hang_the_run(base: Newsbot, tmp_path: Path) -> None:
    """A FIFO stands in for a file that cannot be read (reading it would block forever)."""
    folder = tmp_path / "fifo"
    folder.mkdir()
    os.mkfifo(folder / "pipe.txt")
    (folder / "folder.txt").mkdir()  # a directory named like a file is walked, not read
    (folder / "folder.txt" / "quindar.md").write_text(OTHER)
    report = base.index([folder])
    assert report.added == ["folder.txt/quindar.md"]
    assert [(e.source, e.reason) for e in report.failed] == [
        ("pipe.txt", "is not a regular file (a pipe, socket or device)")]


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: file permissions are not "
                    "enforced, so an unreadable file cannot be made (see the FIFO test)")
def test_an_unreadable_file_is_named(base: Newsbot, tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    secret = folder / "secret.txt"
    secret.write_text(OTHER)
    secret.chmod(0)
    try:
        before = state(base)
        report = base.index([folder])
        assert [(e.source, e.reason) for e in report.failed] == [
            ("secret.txt", "cannot be read (permission denied)")]
        assert state(base) == before
    finally:
        secret.chmod(0o644)


def test_one_bad_file_among_good_ones(base: Newsbot, tmp_path: Path) -> None:
    """The good ones are indexed; every bad one is reported by name; nothing else changes."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "quindar.txt").write_text(OTHER)
    (folder / "ferry.html").write_text(SCRIPTS_AROUND_TEXT)
    for name, content, _ in BAD_FILES.values():
        (folder / name).write_bytes(content)
    before = state(base)
    report = base.index([folder])
    assert sorted(report.added) == ["ferry.html", "quindar.txt"]
    assert sorted(e.source for e in report.failed) == sorted(n for n, _, _ in BAD_FILES.values())
    after = state(base)
    assert after["docs"]["velmora.txt"] == before["docs"]["velmora.txt"]  # type: ignore[index]
    assert set(before["chunks"]) <= set(after["chunks"])  # type: ignore[arg-type]


def test_the_cli_reports_bad_files_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "quindar.txt").write_text(OTHER)
    for name, content, _ in BAD_FILES.values():
        (folder / name).write_bytes(content)
    (folder / "loop.txt").symlink_to("loop.txt")
    with (folder / "huge.md").open("wb") as f:
        f.truncate(30 * 1024 * 1024 + 1)  # the size is refused before anything is read
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_DATA_DIR"] = str(tmp_path / "data")
    out = subprocess.run([sys.executable, "-m", "bot.cli", "index", "-q", str(folder)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stdout + out.stderr
    assert "added: quindar.txt" in out.stdout
    for name, _, message in BAD_FILES.values():
        assert f"skipped {name}: " in out.stdout and message in out.stdout
    assert "skipped loop.txt: cannot be read (Too many levels of symbolic links)" in out.stdout
    assert "skipped huge.md: is 31.5 MB, over the 10 MB limit per file" in out.stdout


# ---- questions ----------------------------------------------------------------------------
QUESTIONS = {
    "russian": "Что Юрий Ушаков сказал о перемирии для Украины?",
    "german": "Was hat Juri Uschakow über die Waffenruhe für die Ukraine gesagt?",
    "sql injection": "Ushakov ceasefire'; DROP TABLE embeddings; SELECT * FROM collections WHERE '1'='1",
    "html injection": "<img src=x onerror=alert(1)><script>alert('x')</script> What did <b>Ushakov</b> say?",
    "markdown injection": "**Ushakov** [click](javascript:alert(1)) `rm -rf /` # ceasefire\n> quote | a | b |",
    "chroma filter syntax": '{"$ne": null} {"source": {"$in": ["x"]}} Ushakov ceasefire',
    "bidi and zero-width": "Ush\u200bakov\u202e ceasefire\u2066?\u2069",
    "control characters": "\x1b[2J\x07What did\x00 Ushakov\x08 say\r\n\tabout the ceasefire?\x7f",
}


@pytest.mark.parametrize("case", list(QUESTIONS))
def test_odd_questions_are_answered_or_declined_never_broken(sample_bot: Newsbot, case: str) -> None:
    before = state(sample_bot)
    ans = sample_bot.answerer.answer(QUESTIONS[case])
    docs = stored_texts(sample_bot)
    for c in ans.citations:
        assert docs[c.source][c.start : c.end] == c.quote
    assert ans.refused == (not ans.citations)
    for payload in ("onerror", "<script", "DROP TABLE", "javascript:", "$ne", "\x1b", "\x00"):
        assert payload not in ans.text  # answers are quotes of articles, never of the question
    assert "\x00" not in ans.question and "\x1b" not in ans.question
    assert state(sample_bot) == before


@pytest.mark.parametrize("question", ["\u200b\u200b\u200b", "\u2066\u2069", "\ufeff \u00a0"])
def test_invisible_only_questions_get_a_message_or_a_refusal(sample_bot: Newsbot, question: str) -> None:
    try:
        ans = sample_bot.answerer.answer(question)
    except QuestionError as exc:
        assert "empty" in str(exc)
    else:
        assert ans.refused and not ans.citations


def test_odd_questions_over_the_cli(sample_index: Path) -> None:
    """`newsbot ask -`: one JSON line per question, an error object for an unusable one."""
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_DATA_DIR"] = str(sample_index)
    questions = [" ".join(q.split()) for q in QUESTIONS.values()] + ["\x00\x01\x02"]
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "-"], capture_output=True, text=True, env=env,
        cwd=ROOT, timeout=120, input="\n".join(questions) + "\n",
    )
    assert out.returncode == 0 and "Traceback" not in out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == len(questions)
    assert all("answer" in r for r in rows[:-1])
    assert "empty" in rows[-1]["error"]
