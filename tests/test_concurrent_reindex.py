"""Re-indexing while the bot answers: no question fails, and every answer sees each document
either before or after its update, never half of it."""

from __future__ import annotations

import shutil
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bot.service import Newsbot
from bot.settings import Settings

from conftest import SAMPLES, stored_texts

QUESTIONS = [
    "What did Yuri Ushakov say the ceasefire would give Ukraine?",
    "Who said the ceasefire is nothing more than a temporary respite for the Ukrainian military?",
    "What did Zakharova say about foreign troops in Ukraine?",
    "How much of the territory in Kursk did Gerasimov say had been recaptured?",
    "When was Crimea annexed?",
    "What is the GDP of Russia?",
]
EDITED = ["000_f3e4660c212b88fe.txt", "002_c73d6df7dc4c2e06.txt", "004_2cb94cc94e0603c2.txt"]
PRUNED = "003_74605ea7ae005176.txt"


def edit(path: Path, round_no: int) -> None:
    """Insert a paragraph after the headline: every later offset moves."""
    original = (SAMPLES / path.name).read_text(encoding="utf-8")
    head, _, rest = original.partition("\n")
    note = (f"Editor's note, revision {round_no}: this report was updated {round_no} times "
            f"with corrections from our correspondents.\n")
    path.write_text(f"{head}\n{note * round_no}{rest}", encoding="utf-8")


def test_answers_stay_consistent_while_the_index_changes(
    store_kind: str, store_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    corpus = tmp_path / "articles"
    shutil.copytree(SAMPLES, corpus)
    settings = store_settings(tmp_path / "data")
    writer = Newsbot(settings)  # answers and re-indexes, like the Telegram bot with /reindex
    assert len(writer.index([corpus]).added) == 5
    reader = Newsbot(settings)  # another reader of the same index (another process, in effect)
    for bot in (writer, reader):
        bot.searcher.check_every = 0  # look for a new version before every question

    versions: dict[str, list[str]] = {}

    def record() -> None:
        for source, text in stored_texts(writer).items():
            if text not in versions.setdefault(source, []):
                versions[source].append(text)

    record()
    answers: list[tuple[str, object]] = []
    errors: list[str] = []
    done = threading.Event()

    def ask_loop(bot: Newsbot) -> None:
        i = 0
        while not done.is_set() or i < len(QUESTIONS):
            q = QUESTIONS[i % len(QUESTIONS)]
            i += 1
            try:
                answers.append((q, bot.answerer.answer(q)))
            except BaseException:  # noqa: BLE001 - every failure is a finding
                errors.append(traceback.format_exc())

    def reindex() -> None:
        try:
            for round_no in (1, 2, 3):
                for name in EDITED:
                    edit(corpus / name, round_no)
                if round_no == 2:
                    (corpus / PRUNED).unlink()
                if round_no == 3:
                    shutil.copy(SAMPLES / PRUNED, corpus / PRUNED)
                report = writer.index([corpus], prune=True)
                assert not report.failed
                record()
                time.sleep(0.2)
        except BaseException:  # noqa: BLE001
            errors.append(traceback.format_exc())
        finally:
            done.set()

    threads = [threading.Thread(target=ask_loop, args=(b,)) for b in (writer, reader)]
    threads.append(threading.Thread(target=reindex))
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads)
    assert not errors, "\n".join(errors[:3])
    assert len(answers) >= 2 * len(QUESTIONS)
    assert all(len(versions[s]) == 4 for s in EDITED)  # the original and three revisions

    answered = 0
    seen_versions: set[int] = set()
    for q, ans in answers:
        by_source: dict[str, list] = {}
        for c in ans.citations:  # type: ignore[attr-defined]
            by_source.setdefault(c.source, []).append(c)
        for source, cites in by_source.items():
            fits = [v for v in versions[source]
                    if all(v[c.start : c.end] == c.quote for c in cites)]
            assert fits, f"{q!r}: citations of {source} match no version of it"
            seen_versions.update(versions[source].index(v) for v in fits)
            # One version explains them all; offsets moved between versions, so a mix of
            # old and new offsets would fit none.
        answered += not ans.refused  # type: ignore[attr-defined]
    assert answered >= len(answers) // 2
    assert len(seen_versions) >= 2  # answers were given before and after updates
    writer.close()
    reader.close()
