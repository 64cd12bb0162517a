"""`LLMWriter`: condenses follow-ups and writes answers that the grounding check then trims."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from bot.answer import LLMFailure
from bot.citations import Citation
from bot.evidence import Evidence
from bot.llm.client import CallFailed, LLMOptions, chat, make_client
from bot.llm.grounding import FALLBACK, append_markers, check_answer, strip_markers, strip_thinking
from bot.llm.passages import format_passages
from bot.llm.prompts import Prompts
from bot.memory import Conversation

CONDENSE_MAX_TOKENS = 120
MAX_STANDALONE_CHARS = 500
HISTORY_ANSWER_CHARS = 400

log = logging.getLogger(__name__)


def history_text(conversation: Conversation) -> str:
    lines = []
    for turn in conversation.turns:
        answer = strip_markers(turn.answer)
        if len(answer) > HISTORY_ANSWER_CHARS:
            answer = answer[:HISTORY_ANSWER_CHARS].rsplit(" ", 1)[0] + " …"
        lines.append(f"User: {turn.standalone or turn.question}\nAssistant: {answer}")
    return "\n".join(lines)


def standalone_from(raw: str) -> str:
    """The first real line of the model's rewrite, without labels or quotes."""
    for line in strip_thinking(raw).splitlines():
        line = re.sub(r"^\W*(standalone question|question)\s*:\s*", "", line.strip(), flags=re.I)
        line = line.strip().strip("*\"'“”‘’`").strip()
        if line:
            return " ".join(line.split())
    return ""


class LLMWriter:
    """Writes answers with an OpenAI-compatible model; see the module docstring."""

    def __init__(
        self,
        llm: Any,
        prompts: Prompts,
        *,
        retries: int = 0,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.llm = llm  # a llama-index LLM; its own timeout applies to each call
        self.prompts = prompts
        self.retries = retries
        self.today = today

    @classmethod
    def create(cls, options: LLMOptions, prompts_dir: Path) -> LLMWriter:
        """Load and validate the prompts now, so a bad template stops start-up."""
        return cls(make_client(options), Prompts.load(prompts_dir), retries=options.retries)

    def _chat(self, messages: list[tuple[str, str]], **kwargs: Any) -> str:
        return chat(self.llm, messages, self.retries, **kwargs)

    def condense(self, question: str, conversation: Conversation) -> str:
        """The follow-up as a standalone question.

        On failure this raises LLMFailure: the Answerer then retrieves with the heuristic
        `conversation.retrieval_query(question)` and shows the note.
        """
        history = history_text(conversation)
        if not history:
            return question
        prompt = self.prompts.render(
            "condense", question=question, history=history, today=self.today().isoformat()
        )
        try:
            raw = self._chat([("user", prompt)], max_tokens=CONDENSE_MAX_TOKENS)
        except CallFailed as exc:
            raise LLMFailure(
                f"the language model {exc} when rewriting the follow-up; "
                "searched with the conversation's words instead",
                unavailable=exc.unavailable,
            ) from None
        standalone = standalone_from(raw)
        if not standalone or len(standalone) > MAX_STANDALONE_CHARS:
            raise LLMFailure(
                "the language model's rewrite of the follow-up was unusable; "
                "searched with the conversation's words instead"
            )
        return standalone

    def messages(self, question: str, evidence: Evidence) -> list[tuple[str, str]]:
        today = self.today().isoformat()
        user = self.prompts.render(
            "answer", question=question, passages=format_passages(evidence.passages),
            today=today, count=len(evidence.passages),
        )
        out = [("system", self.prompts.render("system", today=today))]
        example = self.prompts.worked_example()
        if example is not None:  # one worked turn (prompts/example.txt) before the real one
            shown = self.prompts.render(
                "answer", question=example.question, passages=example.passages, today=today,
                count=example.passages.count("<passage "),
            )
            out += [("user", shown), ("assistant", example.answer)]
        return out + [("user", user)]

    def write(self, question: str, evidence: Evidence) -> tuple[str, list[Citation]]:
        """An LLM answer, checked sentence by sentence against the passages it was given."""
        if not evidence.passages:
            raise LLMFailure(f"there were no passages for the language model; {FALLBACK}")
        try:
            raw = self._chat(self.messages(question, evidence))
        except CallFailed as exc:
            raise LLMFailure(f"the language model {exc}; {FALLBACK}") from None
        try:
            text, cites = check_answer(raw, evidence, question)
            return with_best_quote(text, cites, evidence)
        except LLMFailure:
            raise
        except Exception:  # a checker bug must cost the LLM answer, not the whole answer
            log.exception("checking the LLM answer failed")
            raise LLMFailure(
                f"the language model's answer could not be checked; {FALLBACK}"
            ) from None


def with_best_quote(text: str, cites: list[Citation], evidence: Evidence) -> tuple[str, list[Citation]]:
    """The checked answer, followed by the sentence the evidence scorer ranks first when the
    model cited nothing of it: a small model often answers from the wrong passage, and the
    reader should see the strongest evidence whatever the model made of it."""
    shown = [q for p in evidence.passages for q in (p, *p.also)]
    best = next((s for s in evidence.sentences if s.relevant), None)
    if best is not None and not any(
            p.source == best.source and p.start <= best.start and best.end <= p.end for p in shown):
        best = None  # the model was not shown it: an answer cites the passages it was given
    if not cites or best is None or any(
            c.source == best.source and c.start < best.end and best.start < c.end for c in cites):
        return text, cites
    book = evidence.citation_book()  # the checked quotes keep their numbers; the new one follows
    for c in sorted(cites, key=lambda c: c.n):
        book.cite(c.source, c.start, c.end)
    n = book.cite(best.source, best.start, best.end)
    return f"{text}\n\n{append_markers(book.citations[n - 1].quote, [n])}", book.citations
