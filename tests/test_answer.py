"""Extractive answers: cited, verbatim, declined when there is no evidence."""

from __future__ import annotations

import re

import pytest

from conftest import stored_texts
from bot.answer import REFUSAL
from bot.errors import QuestionError
from bot.memory import Conversation
from bot.service import Newsbot

UNANSWERABLE = [
    "What is the GDP of Russia?",
    "Who is the prime minister of Japan?",
    "What is the capital of France?",
    "Who won the football match last night?",
    "What did Joe Biden say about the ceasefire?",
    "🙂🙂🙂",
]


def _check_citations(bot: Newsbot, ans) -> None:
    docs = stored_texts(bot)
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", ans.text)}
    assert markers == {c.n for c in ans.citations}
    for c in ans.citations:
        assert docs[c.source][c.start : c.end] == c.quote


def test_the_readme_question(sample_bot: Newsbot) -> None:
    ans = sample_bot.answerer.answer("What did Yuri Ushakov say the ceasefire would give Ukraine?")
    assert not ans.refused and ans.mode == "extractive"
    assert "Ushakov" in ans.text
    assert len(ans.text.split("\n\n")) <= 3  # at most three claims
    _check_citations(sample_bot, ans)


def test_a_quote_in_several_outlets_carries_all_of_them(sample_bot: Newsbot) -> None:
    ans = sample_bot.answerer.answer("Who said the ceasefire is nothing more than a temporary respite for the Ukrainian military?")
    _check_citations(sample_bot, ans)
    first = ans.text.split("\n\n")[0]
    assert len(re.findall(r"\[\d+\]", first)) >= 2
    assert re.search(r"\((\d) sources report this\.\)", first)


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_declines_without_evidence(sample_bot: Newsbot, question: str) -> None:
    ans = sample_bot.answerer.answer(question)
    assert ans.refused and ans.text == REFUSAL and not ans.citations


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 20_000])
def test_empty_and_huge_questions_are_refused_with_a_message(sample_bot: Newsbot, question: str) -> None:
    with pytest.raises(QuestionError) as exc:
        sample_bot.answerer.answer(question)
    assert "empty" in str(exc.value) or "20,000 characters" in str(exc.value)


def test_follow_up_without_llm_keeps_the_topic(sample_bot: Newsbot) -> None:
    conv = Conversation(4)
    first = sample_bot.answerer.answer("What did Russia say about foreign troops in Ukraine?", conv)
    assert not first.refused
    follow = sample_bot.answerer.answer("And what did Zakharova say?", conv)
    assert not follow.refused
    assert "Zakharova" in follow.text
    assert any("foreign" in c.quote or "troops" in c.quote or "army units" in c.quote for c in follow.citations)
    _check_citations(sample_bot, follow)
    assert len(conv.turns) == 2


def test_control_characters_and_injection_strings_are_just_text(sample_bot: Newsbot) -> None:
    for q in ["Who is\x00 Ushakov\x1b[31m?", "'; DROP TABLE documents; -- <script>alert(1)</script> **bold**"]:
        ans = sample_bot.answerer.answer(q)
        _check_citations(sample_bot, ans)
    assert sample_bot.store.documents()  # still there
