"""`newsbot repl`: a multi-turn conversation in the terminal, for developers trying questions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from index.errors import NewsbotError

from bot.memory import Conversation
from bot.render import answer_text, sources_text
from bot.service import Newsbot

HELP = """Ask a question about the indexed articles; follow-ups keep the context.
  :sources   list the indexed articles
  :reset     forget the conversation so far
  :help      this text
  :quit      leave (Ctrl-D works too)"""


def _prompt_reader(history_file: Path) -> Callable[[str], str]:
    """prompt_toolkit gives line editing and persistent history; plain input() otherwise."""
    if not sys.stdin.isatty():
        return input
    try:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        history_file.parent.mkdir(parents=True, exist_ok=True)
        session: PromptSession[str] = PromptSession(history=FileHistory(str(history_file)))
        return session.prompt
    except Exception:  # no terminal capabilities: fall back to the plain prompt
        return input


def run_repl(bot: Newsbot, read: Callable[[str], str] | None = None) -> int:
    settings = bot.settings
    docs = bot.sources()
    if not docs:
        print("The index is empty. Add articles first: newsbot index sample_articles")
        return 1
    answerer = bot.answerer
    conversation = Conversation(settings.memory_turns)
    read = read or _prompt_reader(settings.data_dir / "repl_history")
    mode = "an LLM" if settings.llm_enabled else "quotes (extractive)"
    print(f"newsbot: {len(docs)} articles indexed; answering with {mode}. :help for commands.")
    while True:
        try:
            line = read("? ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line.startswith(":"):
            cmd = line[1:].strip().lower()
            if cmd in ("q", "quit", "exit"):
                return 0
            if cmd in ("h", "help", "?"):
                print(HELP)
            elif cmd == "sources":
                print(sources_text(bot.sources()))
            elif cmd == "reset":
                conversation.clear()
                print("(conversation forgotten)")
            else:
                print(f"unknown command {line!r}; :help lists them")
            continue
        try:
            ans = answerer.answer(line, conversation, as_of=date.today())
        except NewsbotError as exc:  # a bad question, or the store is down: say so, carry on
            print(exc)
            continue
        except KeyboardInterrupt:
            print("(interrupted)")
            continue
        if ans.standalone_question and ans.standalone_question != ans.question and settings.llm_enabled:
            print(f"(understood as: {ans.standalone_question})")
        print(answer_text(ans))
        print()
