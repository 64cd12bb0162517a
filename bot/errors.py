"""The conversation's errors meant for a person; all are `NewsbotError`s (see index/errors.py).

The CLI prints any `NewsbotError` on one line (exit code `exit_code`); the Telegram bot sends
it as a short reply. Internal failures that still leave an answer (the LLM timed out) are not
errors: they become a note on the answer.
"""

from __future__ import annotations

from index.errors import IndexLockedError, NewsbotError, SourceError, StoreError


class QuestionError(NewsbotError):
    """A question we will not process (empty, too long)."""

    exit_code = 2


class PromptError(NewsbotError):
    """A prompt template that cannot be used; raised at start-up, naming file and variable."""

    exit_code = 2


class ConfigError(NewsbotError):
    """A setting or an input file that cannot be used (bad eval file, missing token)."""

    exit_code = 2


__all__ = ["ConfigError", "IndexLockedError", "NewsbotError", "PromptError", "QuestionError",
           "SourceError", "StoreError"]
