"""PTB plumbing: per-chat ordering, rate limiting, "typing…", token redaction, chat memory.

Why apart from the handlers: none of this is the bot's behaviour; it is how the behaviour
runs safely under python-telegram-bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from typing import Any
from urllib.parse import quote

from telegram import Bot, Message, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, BaseUpdateProcessor

from bot.memory import Conversation

MAX_CONVERSATIONS = 10_000  # chats whose memory is kept; the least recently used go first


# --------------------------------------------------------------------------- logging
class RedactSecrets(logging.Filter):
    """Replaces secrets (the bot token) in log records.

    Why also a record factory: a filter on a logger misses records of its child loggers,
    and handlers belong to whoever configured logging (basicConfig, pytest), so the safe
    place to redact is where every record is made.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if len(secret) >= 8:
            self.secrets.update({secret, quote(secret, safe="")})

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to logging's own error report
            return True
        clean = self._clean(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if self._clean(text) != text:
                record.exc_text = self._clean(text)
        return True


_REDACTOR = RedactSecrets()
_FACTORY_INSTALLED = False


def protect_logs(*secrets: str | None) -> None:
    """Keep secrets out of every log record; quiet httpx, which logs URLs (with the token)."""
    global _FACTORY_INSTALLED
    for s in secrets:
        if s:
            _REDACTOR.add(s)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if not _FACTORY_INSTALLED:
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _REDACTOR.filter(record)
            return record

        logging.setLogRecordFactory(factory)
        _FACTORY_INSTALLED = True


# --------------------------------------------------------------------------- concurrency
class ChatOrderedProcessor(BaseUpdateProcessor):
    """Runs updates of different chats concurrently and those of one chat in arrival order.

    PTB creates one task per update in arrival order; each takes its chat's lock before
    any await, and asyncio locks are FIFO, so a chat's updates run one after another.
    """

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # no update of this chat is queued: drop its lock
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


class NewsbotRateLimiter(AIORateLimiter):
    """PTB's rate limiter (waits, and retries after RetryAfter) that lets chat actions pass.

    Why: "typing…" is not a message, yet AIORateLimiter would count it against a group's
    20 messages a minute and delay real answers.
    """

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


@asynccontextmanager
async def keep_typing(bot: Bot, message: Message) -> AsyncIterator[None]:
    """Show "typing…" now and every few seconds until the work is done."""
    async def action() -> None:
        with suppress(TelegramError):
            await bot.send_chat_action(
                message.chat_id, ChatAction.TYPING, message_thread_id=message.message_thread_id
            )

    async def keep() -> None:
        while True:
            await asyncio.sleep(4.5)
            await action()

    await action()
    task = asyncio.create_task(keep())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


# --------------------------------------------------------------------------- memory
class ConversationLRU(OrderedDict[int, Conversation]):
    """Chat id -> conversation memory, bounded so a busy bot's memory cannot grow forever."""

    def touch(self, key: int, make: Callable[[], Conversation]) -> Conversation:
        if key in self:
            self.move_to_end(key)
        else:
            self[key] = make()
            while len(self) > MAX_CONVERSATIONS:
                self.popitem(last=False)
        return self[key]
