"""The Telegram front end: thin python-telegram-bot handlers over `Newsbot`.

Why this shape: answering and indexing are synchronous and CPU-bound, so they run in worker
threads (`asyncio.to_thread`) and the event loop keeps serving other chats. Updates of
different chats are processed concurrently, updates of one chat strictly in order
(`ChatOrderedProcessor`), so answers never overtake their questions and a chat's
conversation memory is only touched by one answer at a time. All HTML comes from
`bot.telegram_format`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import tempfile
import unicodedata
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from index.reading import read_file
from index.types import IndexReport, KnowledgeBaseError, StoreError
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseUpdateProcessor,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.answer import QuestionError
from bot.cli import EXAMPLE
from bot.memory import Conversation
from bot.service import Newsbot
from bot.settings import Settings
from bot.telegram_format import (
    Unit,
    esc,
    html_to_plain,
    pack,
    render_answer,
    report_units,
    sources_units,
)

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

UPLOAD_SUFFIXES = (".txt", ".md", ".html")
MAX_CONVERSATIONS = 10_000  # chats whose memory is kept; the least recently used go first

USER_COMMANDS = [
    BotCommand("ask", "Ask a question about the news articles"),
    BotCommand("sources", "List the indexed articles"),
    BotCommand("reset", "Forget this chat's conversation"),
    BotCommand("help", "What I know and how to ask"),
]
ADMIN_COMMANDS = USER_COMMANDS + [
    BotCommand("reindex", "Re-index the articles folder (admins)"),
    BotCommand("forget", "Remove an article from the index (admins)"),
]

NOT_ALLOWED = ("Sorry, this bot is private and you are not on its list of users. "
               "Your Telegram user id is {uid}; ask the bot's owner to add it.")
ADMINS_ONLY = "Sorry, only the bot's admins can do that. You can still ask questions about the indexed articles."
UNAVAILABLE = "The knowledge base is temporarily unavailable. Please try again in a minute."
APOLOGY = "Sorry, something went wrong while handling that. Please try again."
TEXT_ONLY = ("I answer text questions about news articles. Please type your question, "
             "or see /help.")


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


# --------------------------------------------------------------------------- helpers
def safe_file_name(name: str | None, fallback: str = "article") -> str:
    """A file name that cannot escape the articles folder or hide itself (no dot first)."""
    name = unicodedata.normalize("NFKC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-")[:100] or fallback
    suffix = re.sub(r"[^\w]+", "", suffix).lower()[:10]
    return f"{stem}.{suffix}" if suffix else stem


def _command_for_us(message: Message, username: str) -> bool:
    """A /command at the start of the message, without @bot or with ours."""
    text = message.text or ""
    ents = message.entities or ()
    if not ents or ents[0].type != MessageEntity.BOT_COMMAND or ents[0].offset != 0:
        return False
    command = text.split(maxsplit=1)[0]
    return "@" not in command or command.split("@", 1)[1].lower() == username.lower()


def _mentions_bot(message: Message, bot_id: int, username: str) -> bool:
    for ent, text in {**message.parse_entities(), **message.parse_caption_entities()}.items():
        if ent.type == MessageEntity.MENTION and text[1:].lower() == username.lower():
            return True
        if ent.type == MessageEntity.TEXT_MENTION and ent.user is not None and ent.user.id == bot_id:
            return True
    return False


def _replies_to_bot(message: Message, bot_id: int) -> bool:
    reply = message.reply_to_message
    if reply is None or reply.from_user is None or reply.from_user.id != bot_id:
        return False
    # In forum topics every message "replies" to the topic's first message.
    return not (message.is_topic_message and reply.message_id == message.message_thread_id)


def _strip_mention(text: str, username: str) -> str:
    return re.sub(rf"(?i)@{re.escape(username)}\b", " ", text).strip()


class _LRU(OrderedDict[int, Conversation]):
    def touch(self, key: int, make: Callable[[], Conversation]) -> Conversation:
        if key in self:
            self.move_to_end(key)
        else:
            self[key] = make()
            while len(self) > MAX_CONVERSATIONS:
                self.popitem(last=False)
        return self[key]


# --------------------------------------------------------------------------- handlers
class TelegramFrontend:
    """The bot's behaviour; one instance per Application, handlers are its methods."""

    def __init__(self, settings: Settings, newsbot: Newsbot) -> None:
        self.settings = settings
        self.newsbot = newsbot
        self.conversations = _LRU()
        self._index_lock = asyncio.Lock()  # one indexing run at a time in this process

    # ---- who may do what -------------------------------------------------------------
    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids

    def is_allowed(self, user_id: int | None) -> bool:
        allowed = self.settings.allowed_user_ids
        return not allowed or self.is_admin(user_id) or (user_id is not None and user_id in allowed)

    def addressed(self, message: Message, context: Context) -> bool:
        """Private chats always; groups only for a mention, a reply to us, or our command."""
        if message.chat.type == ChatType.PRIVATE:
            return True
        bot = context.bot
        return (_replies_to_bot(message, bot.id) or _mentions_bot(message, bot.id, bot.username)
                or _command_for_us(message, bot.username))

    # ---- sending ---------------------------------------------------------------------
    async def send(self, message: Message, parts: list[str]) -> None:
        """Reply with HTML parts; a part Telegram cannot parse is resent as plain text."""
        for part in parts:
            try:
                await message.reply_text(part, do_quote=True)
            except BadRequest as exc:
                if "can't parse entities" not in str(exc).lower():
                    raise
                log.warning("Telegram rejected our HTML (%s); resending as plain text", exc)
                await message.reply_text(html_to_plain(part), parse_mode=None, do_quote=True)

    async def say(self, message: Message, text: str) -> None:
        """A short plain sentence (escaped, so any text is safe)."""
        await self.send(message, pack([Unit(body=text, splittable=True)]))

    @asynccontextmanager
    async def typing(self, message: Message, context: Context) -> AsyncIterator[None]:
        """Show "typing…" now and every few seconds until the work is done."""
        async def action() -> None:
            with suppress(TelegramError):
                await context.bot.send_chat_action(
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

    # ---- the gate --------------------------------------------------------------------
    async def gate(self, update: Update, context: Context) -> None:
        """Runs first for every update: users outside the allow-list get one refusal."""
        message, user = update.effective_message, update.effective_user
        if message is None:
            raise ApplicationHandlerStop
        if self.is_allowed(user.id if user else None):
            return
        if self.addressed(message, context):
            await self.say(message, NOT_ALLOWED.format(uid=user.id if user else "unknown"))
        raise ApplicationHandlerStop

    # ---- questions -------------------------------------------------------------------
    async def answer(self, message: Message, context: Context, question: str) -> None:
        chat_id = message.chat_id
        conv = (self.conversations.touch(chat_id, lambda: Conversation(self.settings.memory_turns))
                if self.settings.memory_turns > 0 else None)
        async with self.typing(message, context):
            try:
                ans = await asyncio.to_thread(self._answer, question, conv)
            except QuestionError as exc:
                await self.say(message, str(exc))
                return
            except StoreError as exc:
                log.warning("knowledge base unavailable: %s", exc)
                await self.say(message, UNAVAILABLE)
                return
        await self.send(message, render_answer(ans))

    def _answer(self, question: str, conv: Conversation | None) -> Any:
        return self.newsbot.answerer.answer(question, conv, as_of=date.today())

    async def on_private_text(self, update: Update, context: Context) -> None:
        message = update.effective_message
        assert message is not None
        await self.answer(message, context, message.text or "")

    async def on_group_text(self, update: Update, context: Context) -> None:
        message = update.effective_message
        assert message is not None
        if not self.addressed(message, context):
            return  # not for us: stay silent in groups
        await self.answer(message, context, _strip_mention(message.text or "", context.bot.username))

    async def on_ask(self, update: Update, context: Context) -> None:
        message = update.effective_message
        assert message is not None
        parts = (message.text or "").split(maxsplit=1)
        question = _strip_mention(parts[1], context.bot.username) if len(parts) > 1 else ""
        if not question:
            await self.say(message, f"Ask like this: /ask {EXAMPLE}")
            return
        await self.answer(message, context, question)

    # ---- information -----------------------------------------------------------------
    async def on_help(self, update: Update, context: Context) -> None:
        message = update.effective_message
        user = update.effective_user
        assert message is not None
        try:
            count = len(await asyncio.to_thread(self.newsbot.sources))
            knows = f"I know <b>{count}</b> indexed news article{'s' if count != 1 else ''}."
        except StoreError as exc:
            log.warning("knowledge base unavailable: %s", exc)
            knows = "The knowledge base is temporarily unavailable, so I cannot count my articles right now."
        how = ("Type a question in this chat" if message.chat.type == ChatType.PRIVATE
               else f"Mention me (@{esc(context.bot.username)}), reply to my message, or use /ask")
        text = (
            f"{knows} I answer questions about them with cited passages: every answer has "
            "numbered [n] markers and, below it, the verbatim quote from the article each one "
            f"comes from.\n\n{how}, for example:\n<i>{esc(EXAMPLE)}</i>\n\n"
            "Follow-up questions are understood in the context of the previous one; "
            "/reset forgets the conversation. /sources lists the articles."
        )
        if self.is_admin(user.id if user else None):
            text += ("\n\n<b>Admin:</b> /reindex re-indexes the articles folder; /forget SOURCE "
                     "removes an article; send a .txt, .md or .html file to add an article.")
        await self.send(message, [text])

    async def on_start(self, update: Update, context: Context) -> None:
        await self.on_help(update, context)

    async def on_sources(self, update: Update, context: Context) -> None:
        message = update.effective_message
        assert message is not None
        try:
            docs = await asyncio.to_thread(self.newsbot.sources)
        except StoreError as exc:
            log.warning("knowledge base unavailable: %s", exc)
            await self.say(message, UNAVAILABLE)
            return
        await self.send(message, pack(sources_units(docs)))

    async def on_reset(self, update: Update, context: Context) -> None:
        message = update.effective_message
        assert message is not None
        conv = self.conversations.pop(message.chat_id, None)
        if conv is not None:
            conv.clear()
        await self.say(message, "Done: I forgot our conversation. The next question starts fresh.")

    # ---- admin -----------------------------------------------------------------------
    async def _admin(self, update: Update) -> Message | None:
        """The message if its sender is an admin; otherwise refuse and return None."""
        message, user = update.effective_message, update.effective_user
        assert message is not None
        if self.is_admin(user.id if user else None):
            return message
        await self.say(message, ADMINS_ONLY)
        return None

    async def _index_op(self, message: Message, context: Context, fn: Callable[[], IndexReport],
                        what: str) -> IndexReport | None:
        """Run an indexing operation in a thread, one at a time, and reply with its report."""
        async with self.typing(message, context), self._index_lock:
            try:
                report = await asyncio.to_thread(fn)
            except KnowledgeBaseError as exc:  # admins get the precise one-line reason
                await self.say(message, str(exc))
                return None
        await self.send(message, pack(report_units(report, what)))
        return report

    async def on_reindex(self, update: Update, context: Context) -> None:
        message = await self._admin(update)
        if message is None:
            return
        folder = self.settings.articles_dir
        await self._index_op(message, context,
                             lambda: self.newsbot.index([folder], prune=True), f"Re-indexed {folder}")

    async def on_forget(self, update: Update, context: Context) -> None:
        message = await self._admin(update)
        if message is None:
            return
        sources = context.args or []
        if not sources:
            await self.say(message, "Usage: /forget SOURCE (the ids are listed by /sources)")
            return
        report = await self._index_op(message, context, lambda: self.newsbot.forget(sources), "Forgot")
        still = [s for s in (report.removed if report else [])
                 if (self.settings.articles_dir / s).is_file()]
        if still:
            await self.say(message, f"Note: {', '.join(still)} is still in the articles folder, "
                                    "so /reindex will add it again.")

    async def on_document(self, update: Update, context: Context) -> None:
        message = update.effective_message
        assert message is not None and message.document is not None
        if message.animation is not None:  # GIFs arrive as documents too
            await self.on_media(update, context)
            return
        if not self.addressed(message, context):
            return
        if await self._admin(update) is None:
            return
        doc = message.document
        name = safe_file_name(doc.file_name, fallback=f"article-{doc.file_unique_id}")
        if not name.lower().endswith(UPLOAD_SUFFIXES):
            await self.say(message, f"I can only add {', '.join(UPLOAD_SUFFIXES)} files; "
                                    f"{doc.file_name or 'this file'} is not one.")
            return
        limit = self.settings.max_bytes
        too_big = (f"{doc.file_name or name} is too large: the limit is "
                   f"{self.settings.max_file_mb:g} MB per file.")
        if doc.file_size is not None and doc.file_size > limit:
            await self.say(message, too_big)
            return
        async with self.typing(message, context):
            tg_file = await doc.get_file()
            data = bytes(await tg_file.download_as_bytearray())
        if len(data) > limit:
            await self.say(message, too_big)
            return
        path = self.settings.articles_dir / name
        await self._index_op(message, context, lambda: self._save_and_index(path, data),
                             f"Added {name}")

    def _save_and_index(self, path: Path, data: bytes) -> IndexReport:
        """Check the file reads as an article before it lands in the folder, then index it."""
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / path.name
            probe.write_bytes(data)
            read_file(probe, path.name, self.settings.max_bytes)  # SourceError: nothing is saved
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.part")
        partial.write_bytes(data)
        partial.replace(path)
        return self.newsbot.index([path])

    # ---- everything else -------------------------------------------------------------
    async def on_media(self, update: Update, context: Context) -> None:
        message = update.effective_message
        assert message is not None
        if self.addressed(message, context):
            await self.say(message, TEXT_ONLY)

    async def on_unknown_command(self, update: Update, context: Context) -> None:
        message = update.effective_message
        assert message is not None
        if message.chat.type == ChatType.PRIVATE:
            command = esc((message.text or "").split(maxsplit=1)[0])
            await self.send(message, [f"I don't know {command}. See /help."])

    async def on_error(self, update: object, context: Context) -> None:
        """Log the traceback, apologise to the user, and keep running."""
        log.error("error while handling an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_message is not None:
            with suppress(Exception):
                await update.effective_message.reply_text(APOLOGY, parse_mode=None, do_quote=True)

    async def post_init(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Publish the command menu (admins also see the admin commands)."""
        await app.bot.set_my_commands(USER_COMMANDS)
        for admin in self.settings.admin_ids:
            try:
                await app.bot.set_my_commands(ADMIN_COMMANDS, scope=BotCommandScopeChat(admin))
            except TelegramError as exc:  # e.g. the admin never opened a chat with the bot
                log.info("admin commands not set for %s: %s", admin, exc)


# --------------------------------------------------------------------------- wiring
def build_application(
    settings: Settings, newsbot: Newsbot | None = None
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The configured PTB Application; `newsbot` may be injected (tests, shared process)."""
    if settings.telegram_token is None:
        raise ValueError("NEWSBOT_TELEGRAM_TOKEN is not set")
    token = settings.telegram_token.get_secret_value()
    protect_logs(token, settings.telegram_webhook_secret.get_secret_value()
                 if settings.telegram_webhook_secret else None)
    front = TelegramFrontend(settings, newsbot or Newsbot(settings))
    builder = (
        ApplicationBuilder()
        .token(token)
        .defaults(Defaults(parse_mode=ParseMode.HTML,
                           link_preview_options=LinkPreviewOptions(is_disabled=True),
                           allow_sending_without_reply=True))
        .rate_limiter(NewsbotRateLimiter(max_retries=3))
        .concurrent_updates(ChatOrderedProcessor())
        .post_init(front.post_init)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
    if settings.telegram_base_file_url:
        builder = builder.base_file_url(settings.telegram_base_file_url)
    app = builder.build()
    app.bot_data["frontend"] = front

    new = filters.UpdateType.MESSAGE  # edited messages are not new questions
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    app.add_handler(TypeHandler(Update, front.gate), group=-1)
    for name, callback in (("start", front.on_start), ("help", front.on_help),
                           ("sources", front.on_sources), ("reset", front.on_reset),
                           ("ask", front.on_ask), ("reindex", front.on_reindex),
                           ("forget", front.on_forget)):
        app.add_handler(CommandHandler(name, callback, filters=new))
    app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND & private, front.on_private_text))
    app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND & groups, front.on_group_text))
    app.add_handler(MessageHandler(new & filters.Document.ALL, front.on_document))
    app.add_handler(MessageHandler(new & filters.COMMAND, front.on_unknown_command))
    app.add_handler(MessageHandler(new & ~filters.TEXT & ~filters.StatusUpdate.ALL, front.on_media))
    app.add_error_handler(front.on_error)
    return app


def run_bot(settings: Settings) -> int:
    """`newsbot telegram`: long polling, or a webhook when NEWSBOT_TELEGRAM_WEBHOOK_URL is set."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value().strip():
        print("newsbot: NEWSBOT_TELEGRAM_TOKEN is not set; get a token from @BotFather and put "
              "it in .env", file=sys.stderr)
        return 2
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        level=settings.log_level.upper())
    newsbot = Newsbot(settings)
    try:
        newsbot.answerer  # noqa: B018 - load the models and check the prompt templates now
    except KnowledgeBaseError as exc:  # e.g. the Chroma server is down: serve and retry later
        log.warning("the knowledge base is not available yet: %s", exc)
    except ValueError as exc:  # a broken prompt template or setting: refuse to start
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    app = build_application(settings, newsbot)
    try:
        if settings.telegram_webhook_url:
            secret = settings.telegram_webhook_secret
            app.run_webhook(
                listen=settings.telegram_webhook_listen,
                port=settings.telegram_webhook_port,
                url_path=urlsplit(settings.telegram_webhook_url).path.lstrip("/"),
                webhook_url=settings.telegram_webhook_url,
                secret_token=secret.get_secret_value() if secret else None,
                allowed_updates=[Update.MESSAGE],
                close_loop=False,
            )
        else:
            app.run_polling(allowed_updates=[Update.MESSAGE], close_loop=False)
    except InvalidToken:
        print("newsbot: Telegram rejected the bot token; check NEWSBOT_TELEGRAM_TOKEN", file=sys.stderr)
        return 2
    except NetworkError as exc:
        print(f"newsbot: cannot reach Telegram: {exc}", file=sys.stderr)
        return 1
    return 0


__all__ = ["ChatOrderedProcessor", "TelegramFrontend", "build_application",
           "protect_logs", "run_bot", "safe_file_name"]
