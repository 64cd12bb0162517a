"""What an answer is: text with [n] markers and the numbered, verbatim citations behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# The one refusal phrase: answering code and tests both use this constant.
REFUSAL = "I can't answer that from the indexed articles: none of them contains relevant evidence."


@dataclass
class Citation:
    """One numbered quote; `quote == cleaned_text_of(source)[start:end]` always holds."""

    n: int
    source: str
    quote: str
    start: int
    end: int
    title: str | None = None
    outlet: str | None = None
    author: str | None = None
    published: str | None = None
    url: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "source": self.source,
            "title": self.title,
            "outlet": self.outlet,
            "author": self.author,
            "published": self.published,
            "url": self.url,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
        }

    @property
    def label(self) -> str:
        """How a person recognises the article: outlet or title, then date."""
        name = self.outlet or self.title or self.source
        parts = [name]
        if self.outlet and self.title:
            parts = [f"{self.outlet}: {self.title}"]
        if self.author and not self.outlet:
            parts.append(f"by {self.author}")
        if self.published:
            parts.append(self.published)
        return ", ".join(parts)


@dataclass
class Answer:
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

from bot.errors import QuestionError  # noqa: E402,F401  TEMPORARY: bot/telegram still imports it here
