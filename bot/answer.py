"""From a question to a checked, cited answer, in either mode.

`Answerer.answer` is the one path every front end uses: clean the question, condense a
follow-up, gather evidence, let the LLM writer try (when configured), fall back to the
extractive writer, then `verify()` every citation before the answer leaves.

A question after one value whose value the articles clearly give (or on which two strong
accounts differ) is answered by the extractive writer even in LLM mode: the value and its
quotes are the answer, and a small model only adds ways to get it wrong. On the seed dev set
the local Qwen 1.5B wrote "The US suspended its military aid for Kyiv on Tuesday" (the quote
says the March 3 suspension was lifted on Tuesday), cited one outlet where two give the day,
and gave one side of a question the sources disagree on. The model writes the rest: what /
why / how questions, and factoid questions with no clear value.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from index.search import Searcher

from bot.citations import Citation, verify
from bot.errors import QuestionError
from bot.evidence import Evidence, gather
from bot.extractive import extractive_answer, states_value
from bot.memory import Conversation

# The one refusal phrase: answering code and tests both use this constant.
REFUSAL = "I can't answer that from the indexed articles: none of them contains relevant evidence."

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class Answer:
    """Text with [n] markers and the numbered, verbatim citations behind them."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    mode: Literal["extractive", "llm"] = "extractive"
    note: str | None = None  # e.g. "the LLM did not answer in time; showing quotes instead"
    as_of: str | None = None  # newest cited article's date
    standalone_question: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "mode": self.mode,
            "citations": [c.to_json() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.note:
            out["note"] = self.note
        if self.as_of:
            out["as_of"] = self.as_of
        if self.standalone_question and self.standalone_question != self.question:
            out["standalone_question"] = self.standalone_question
        return out


class LLMFailure(Exception):
    """The LLM could not give a usable answer; the message is a one-line note for the user.

    `unavailable` means it timed out or could not be reached: not worth a second wait.
    """

    def __init__(self, note: str, unavailable: bool = False) -> None:
        super().__init__(note)
        self.unavailable = unavailable


class Writer(Protocol):
    """An LLM answer writer (see bot/llm/writer.py); raises LLMFailure when it cannot."""

    def condense(self, question: str, conversation: Conversation) -> str: ...

    def write(self, question: str, evidence: Evidence) -> tuple[str, list[Citation]]: ...


@dataclass(frozen=True)
class AnswerOptions:
    """How answers are made (built by `Settings.answer_options()`)."""

    top_k: int = 6  # passages an LLM is shown
    max_claims: int = 3  # claims an extractive answer quotes at most
    max_question_chars: int = 2000


def clean_question(question: str, max_chars: int) -> str:
    """Reject what cannot be a question; strip control characters from what can."""
    q = unicodedata.normalize("NFC", _CONTROL.sub(" ", question or "")).strip()
    q = re.sub(r"\s+", " ", q)
    if not q:
        raise QuestionError("Please type a question: the message was empty.")
    if len(q) > max_chars:
        raise QuestionError(
            f"That question is {len(q):,} characters long; please keep it under {max_chars:,}."
        )
    return q


class Answerer:
    def __init__(
        self, searcher: Searcher, options: AnswerOptions = AnswerOptions(),
        writer: Writer | None = None,
    ) -> None:
        self.searcher = searcher
        self.options = options
        self.writer = writer

    def answer(
        self,
        question: str,
        conversation: Conversation | None = None,
        as_of: date | None = None,
    ) -> Answer:
        q = clean_question(question, self.options.max_question_chars)
        t0 = time.perf_counter()
        note = None
        llm_down = False
        standalone = q
        if conversation is not None and conversation.turns:
            if self.writer is not None:
                try:
                    standalone = self.writer.condense(q, conversation)
                except LLMFailure as exc:
                    note = str(exc)
                    llm_down = exc.unavailable  # don't wait out a second timeout
                    standalone = conversation.retrieval_query(q)
            else:
                standalone = conversation.retrieval_query(q)
        ev = gather(self.searcher, q, retrieval_query=standalone, as_of=as_of,
                    top_k=self.options.top_k)
        t1 = time.perf_counter()
        ans = Answer(question=q, text=REFUSAL, refused=True, standalone_question=standalone)
        if ev.answerable:
            text, cites = "", []
            if self.writer is not None and not llm_down and not states_value(ev):
                try:
                    text, cites = self.writer.write(standalone, ev)
                    ans.mode = "llm"
                except LLMFailure as exc:
                    note = str(exc)
            if not cites:
                text, cites = extractive_answer(ev, self.options.max_claims)
                ans.mode = "extractive"
            text, cites = verify(text, cites, ev.snapshot.text)
            if cites:
                ans.text, ans.citations, ans.refused = text, cites, False
                dates = [c.meta.published for c in cites if c.meta.published]
                ans.as_of = max(dates) if dates else None
        ans.note = note
        ans.timings_ms = {"retrieve": (t1 - t0) * 1000, "answer": (time.perf_counter() - t1) * 1000}
        if conversation is not None:
            conversation.add(q, standalone, ans.text)
        return ans
