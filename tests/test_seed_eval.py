"""The seed dev set (../shared/eval/seed_dev.jsonl) answered through the real pipeline."""

from __future__ import annotations

import pytest

from bot.evaluation import eval_seed, load_questions
from bot.service import Newsbot

from conftest import SEED


@pytest.fixture(scope="module")
def result(sample_index):  # type: ignore[no-untyped-def]
    if not SEED.exists():
        pytest.fail(f"{SEED} is missing: the shared/ folder must sit beside the project")
    from conftest import make_settings

    return eval_seed(Newsbot(make_settings(sample_index)), load_questions(SEED))


def test_every_answerable_question_cites_gold_and_holds_the_facts(result) -> None:  # type: ignore[no-untyped-def]
    for v in result["questions"]:
        if v["type"] == "unanswerable":
            continue
        assert not v["refused"], v
        assert not v["missing"], v
        assert v["cited"] and v["citations_in_gold"] == v["citations"], v


def test_every_unanswerable_question_is_declined(result) -> None:  # type: ignore[no-untyped-def]
    assert all(v["refused"] for v in result["questions"] if v["type"] == "unanswerable")


def test_every_quote_is_verified_against_its_source(result) -> None:  # type: ignore[no-untyped-def]
    assert result["summary"]["quotes_verified"] == result["summary"]["questions"]
