"""The one root of errors meant for a person, and the knowledge base's kinds of it.

Whatever raises a `NewsbotError` promises a message a user can act on: the CLI prints it on one
line, the Telegram bot sends it as a short reply. Anything else that escapes is a bug and is
reported as one. `bot/errors.py` adds the conversation's kinds (a bad question, a bad prompt
template, a bad setting or input file).
"""

from __future__ import annotations


class NewsbotError(Exception):
    """An error whose message is meant for a person: one line, saying what to do."""

    exit_code = 1  # what the CLI exits with; 2 for a usage mistake


class SourceError(NewsbotError):
    """A source that cannot be read or holds no usable text; the message names it."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreError(NewsbotError):
    """The vector store cannot be opened or used (wrong model, server down, locked)."""


class IndexLockedError(StoreError):
    """Another process holds the index; the message names it and says what to do."""

    def __init__(self, message: str, holders: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.holders = holders
