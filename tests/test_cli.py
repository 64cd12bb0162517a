"""The `newsbot` command as a user runs it: real processes, real index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES

QUESTION = "What did Yuri Ushakov say the ceasefire would give Ukraine?"


def run(data: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_DATA_DIR"] = str(data)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True,
        env=env, cwd=ROOT, timeout=120,
    )


def test_help_lists_every_command(tmp_path: Path) -> None:
    out = run(tmp_path, "--help")
    assert out.returncode == 0
    for cmd in ("index", "ask", "search", "sources", "repl", "telegram", "eval", "forget"):
        assert cmd in out.stdout


def test_ask_json_matches_the_contract(sample_index: Path) -> None:
    out = run(sample_index, "ask", QUESTION, "--json")
    assert out.returncode == 0, out.stderr
    ans = json.loads(out.stdout)
    assert set(ans) >= {"question", "answer", "refused", "mode", "citations", "timings_ms"}
    assert ans["mode"] == "extractive" and ans["refused"] is False
    assert set(ans["timings_ms"]) >= {"retrieve", "answer"}
    texts = {p.name: None for p in SAMPLES.glob("*.txt")}
    assert len({c["source"] for c in ans["citations"]}) >= 2
    for c in ans["citations"]:
        assert set(c) == {"n", "source", "title", "outlet", "author", "published", "url", "quote", "start", "end"}
        assert c["source"] in texts
        assert f"[{c['n']}]" in ans["answer"]


def test_plain_ask_prints_the_answer_and_its_sources(sample_index: Path) -> None:
    out = run(sample_index, "ask", QUESTION)
    assert out.returncode == 0, out.stderr
    assert "[1]" in out.stdout and "Sources:" in out.stdout and "“" in out.stdout


def test_stdin_mode_prints_one_json_line_per_question(sample_index: Path) -> None:
    stdin = "When was Crimea annexed?\n\n" + json.dumps({"question": "What is the GDP of Russia?", "as_of": "2025-03-14"}) + "\n" + "   \n"
    out = run(sample_index, "ask", "-", stdin=stdin)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["question"] for x in lines] == ["When was Crimea annexed?", "What is the GDP of Russia?"]
    assert "2014" in lines[0]["answer"] and lines[1]["refused"] is True

    out = run(sample_index, "search", "-", "-k", "2", stdin="Sudzha recaptured\nWitkoff Moscow\n")
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(rows) == 2 and all(len(r["passages"]) == 2 for r in rows)
    p = rows[0]["passages"][0]
    assert set(p) >= {"source", "text", "start", "end", "score"}


def test_sources_json(sample_index: Path) -> None:
    out = run(sample_index, "sources", "--json")
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(rows) == 5
    assert all(set(r) == {"source", "title", "outlet", "author", "published", "url", "chunks"} for r in rows)
    assert all(r["chunks"] > 0 for r in rows)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("ask", "   "), 2, "empty"),
        (("ask", "x" * 20_000), 2, "20,000 characters"),
        (("ask", "--as-of", "yesterday", "Who?"), 2, "YYYY-MM-DD"),
    ],
)
def test_bad_questions_get_one_clear_line(sample_index: Path, args: tuple[str, ...], code: int, message: str) -> None:
    out = run(sample_index, *args)
    assert out.returncode == code
    assert message in out.stderr and "Traceback" not in out.stderr


def test_bad_paths_and_an_empty_index(tmp_path: Path) -> None:
    out = run(tmp_path / "data", "ask", QUESTION)
    assert out.returncode == 1 and "index is empty" in out.stderr and "Traceback" not in out.stderr
    out = run(tmp_path / "data", "index", str(tmp_path / "missing"))
    assert out.returncode == 1 and "does not exist" in out.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "pic.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    out = run(tmp_path / "data", "index", str(bad))
    assert out.returncode == 1 and "pic.txt" in out.stdout and "binary" in out.stdout


def test_index_reports_and_skips_unchanged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    arts = tmp_path / "arts"
    arts.mkdir()
    (arts / "one.md").write_text("Zorbland lighthouse reopens\n\nThe Zorbland lighthouse reopened on Monday after repairs.")
    first = run(data, "index", str(arts), "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["added"] == ["one.md"]
    second = run(data, "index", str(arts), "--json")
    rep = json.loads(second.stdout)
    assert rep["unchanged"] == ["one.md"] and rep["chunks_written"] == 0
    out = run(data, "ask", "When did the Zorbland lighthouse reopen?", "--json")
    assert "Monday" in json.loads(out.stdout)["answer"]


def test_an_invalid_setting_is_one_line(tmp_path: Path) -> None:
    env_out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--data-dir", str(tmp_path), "sources"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}, "NEWSBOT_TOP_K": "0"},
    )
    assert env_out.returncode == 2
    assert "invalid setting NEWSBOT_TOP_K" in env_out.stderr and "Traceback" not in env_out.stderr
