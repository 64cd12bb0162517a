"""The Telegram front end: `run_bot` serves a `Newsbot` over python-telegram-bot.

formatting renders HTML, addressing decides who and what is served, runtime is the PTB
plumbing, handlers is the behaviour, wiring assembles and runs the Application.
"""

from bot.telegram.addressing import safe_file_name
from bot.telegram.handlers import TelegramFrontend
from bot.telegram.runtime import ChatOrderedProcessor, protect_logs
from bot.telegram.wiring import build_application, run_bot

__all__ = ["ChatOrderedProcessor", "TelegramFrontend", "build_application",
           "protect_logs", "run_bot", "safe_file_name"]
