"""From a question to a checked, cited answer, in either mode."""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import date
from typing import Protocol

from index.search import Searcher

from bot.answer import REFUSAL, Answer, Citation
from bot.errors import QuestionError
from bot.evidence import Evidence, gather
from bot.extractive import extractive_answer
from bot.memory import Conversation

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class LLMFailure(Exception):
    """The LLM could not give a usable answer; the message is a one-line note for the user.

    `unavailable` means it timed out or could not be reached: not worth a second wait.
    """

    def __init__(self, note: str, unavailable: bool = False) -> None:
        super().__init__(note)
        self.unavailable = unavailable


class Writer(Protocol):
    """An LLM answer writer (see bot/llm.py)."""

    def condense(self, question: str, conversation: Conversation) -> str: ...

    def write(self, question: str, evidence: Evidence) -> tuple[str, list[Citation]]: ...


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
        self,
        searcher: Searcher,
        *,
        top_k: int = 6,
        max_claims: int = 3,
        max_question_chars: int = 2000,
        writer: Writer | None = None,
    ) -> None:
        self.searcher = searcher
        self.top_k = top_k
        self.max_claims = max_claims
        self.max_question_chars = max_question_chars
        self.writer = writer

    def answer(
        self,
        question: str,
        conversation: Conversation | None = None,
        as_of: date | None = None,
    ) -> Answer:
        q = clean_question(question, self.max_question_chars)
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
        ev = gather(self.searcher, q, retrieval_query=standalone, as_of=as_of, top_k=self.top_k)
        t1 = time.perf_counter()
        ans = Answer(question=q, text=REFUSAL, refused=True, standalone_question=standalone)
        if ev.answerable:
            text, cites = "", []
            if self.writer is not None and not llm_down:
                try:
                    text, cites = self.writer.write(standalone, ev)
                    ans.mode = "llm"
                except LLMFailure as exc:
                    note = str(exc)
            if not cites:
                text, cites = extractive_answer(ev, self.max_claims)
                ans.mode = "extractive"
            if cites:
                ans.text, ans.citations, ans.refused = text, cites, False
                dates = [c.published for c in cites if c.published]
                ans.as_of = max(dates) if dates else None
        ans.note = note
        ans.timings_ms = {"retrieve": (t1 - t0) * 1000, "answer": (time.perf_counter() - t1) * 1000}
        if conversation is not None:
            conversation.add(q, standalone, ans.text)
        return ans
