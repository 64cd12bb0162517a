"""The seed dev set (../shared/eval/seed_dev.jsonl) answered through the real pipeline.

A benchmark with aggregate floors, not a rule per question: fitting the answerer to a dozen
questions does not carry over to new ones (hidden sets of the same kinds judge it). The floors
sit just under the measured figures, so a change that makes answers worse fails here; the
targets of issue 10 (90% answered well, every unanswerable declined, precision 0.95) are
reported by `newsbot eval`.
"""

from __future__ import annotations

import pytest

from bot.evaluation import eval_seed, load_questions
from bot.service import Newsbot

from conftest import SEED

ANSWERED_WELL = 0.88  # of answerable questions (measured: 31/34 = 0.91; 30/34 = 0.88 passes)
DECLINED = 6  # of the 6 unanswerable ones (measured: 6)
PRECISION = 0.96  # citations whose source is a gold source (measured: 0.986)


@pytest.fixture(scope="module")
def result(sample_index):  # type: ignore[no-untyped-def]
    if not SEED.exists():
        pytest.fail(f"{SEED} is missing: the shared/ folder must sit beside the project")
    from conftest import make_settings

    return eval_seed(Newsbot(make_settings(sample_index)), load_questions(SEED))


def test_answerable_questions_are_mostly_answered_well(result) -> None:  # type: ignore[no-untyped-def]
    s = result["summary"]
    assert s["answered_well"] >= ANSWERED_WELL * s["answerable"], s


def test_unanswerable_questions_are_declined(result) -> None:  # type: ignore[no-untyped-def]
    assert result["summary"]["correctly_declined"] >= DECLINED, result["summary"]


def test_citations_come_from_the_articles_that_answer(result) -> None:  # type: ignore[no-untyped-def]
    assert result["summary"]["citation_precision"] >= PRECISION, result["summary"]


def test_every_quote_is_verified_against_its_source(result) -> None:  # type: ignore[no-untyped-def]
    assert result["summary"]["quotes_verified"] == result["summary"]["questions"]


def test_conflict_questions_show_both_sides(result) -> None:  # type: ignore[no-untyped-def]
    conflicts = [v for v in result["questions"] if v["type"] == "conflict"]
    assert conflicts and all(not v["missing"] and not v["refused"] for v in conflicts), conflicts


def test_answers_do_not_change_with_the_hash_seed(sample_index) -> None:  # type: ignore[no-untyped-def]
    """Equally rare question terms were once taken in a set's order, so one answer quoted a
    third claim or not depending on PYTHONHASHSEED: a figure must not depend on it."""
    import json
    import os
    import subprocess
    import sys

    if not SEED.exists():
        pytest.fail(f"{SEED} is missing: the shared/ folder must sit beside the project")
    def run(seed: str) -> list[tuple[object, ...]]:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-m", "bot.cli", "--data-dir", str(sample_index), "eval", str(SEED),
             "--json"], env=env, capture_output=True, text=True, check=True).stdout
        return [(q["id"], q["citations"], tuple(q["cited"]), q["good"])
                for q in json.loads(out)["questions"]]

    assert run("1") == run("4")
