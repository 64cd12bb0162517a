"""Per-conversation memory, bounded, shared by the REPL and the Telegram bot."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from index.lexical import terms

_FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|also|so|then|what about|how about|and what|what else|why|how come)\b", re.I
)
_PRONOUN = re.compile(r"\b(he|she|they|it|its|him|her|them|his|their|this|that|those|these|there)\b", re.I)


@dataclass
class Turn:
    question: str
    standalone: str
    answer: str


class Conversation:
    """The last few turns of one chat; old turns fall off so prompts stay small."""

    def __init__(self, max_turns: int = 4) -> None:
        self.turns: deque[Turn] = deque(maxlen=max(1, max_turns))

    def add(self, question: str, standalone: str, answer: str) -> None:
        self.turns.append(Turn(question, standalone, answer))

    def clear(self) -> None:
        self.turns.clear()

    @property
    def last(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    def looks_like_follow_up(self, question: str) -> bool:
        if not self.turns:
            return False
        return bool(_FOLLOW_UP_START.search(question) or _PRONOUN.search(question)) and len(
            terms(question)
        ) <= 6

    def retrieval_query(self, question: str) -> str:
        """Without an LLM, a follow-up borrows the previous question's words for retrieval."""
        last = self.last
        if last is None or not self.looks_like_follow_up(question):
            return question
        return f"{question} {last.standalone}"
