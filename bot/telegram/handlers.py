"""The bot's behaviour: thin python-telegram-bot handlers over `Newsbot`.

Why this shape: answering and indexing are synchronous and CPU-bound, so they run in worker
threads (`asyncio.to_thread`) and the event loop keeps serving other chats; updates of one
chat run in order (`ChatOrderedProcessor`), so a chat's memory is touched by one answer at
a time. All HTML comes from `bot.telegram.formatting`.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Callable
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Any

from index.reading import read_file
from index.types import IndexReport
from telegram import BotCommand, BotCommandScopeChat, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes

from bot.errors import NewsbotError, QuestionError, StoreError
from bot.examples import EXAMPLE
from bot.memory import Conversation
from bot.service import Newsbot
from bot.settings import Settings
from bot.telegram.addressing import addressed, is_admin, is_allowed, safe_file_name, strip_mention
from bot.telegram.formatting import (
    Unit,
    esc,
    html_to_plain,
    pack,
    render_answer,
    report_units,
    sources_units,
)
from bot.telegram.runtime import ConversationLRU, keep_typing

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

UPLOAD_SUFFIXES = (".txt", ".md", ".html")

USER_COMMANDS = [
    BotCommand("ask", "Ask a question about the news articles"),
    BotCommand("sources", "List the indexed articles"),
    BotCommand("reset", "Forget this chat's conversation"),
    BotCommand("help", "What I know and how to ask"),
]
ADMIN_COMMANDS = USER_COMMANDS + [
    BotCommand("reindex", "Re-index the articles folder (admins)"),
    BotCommand("forget", "Remove an article from the index (admins)"),
    BotCommand("addfeed", "Follow an RSS or Atom feed (admins)"),
    BotCommand("feeds", "List the feeds followed (admins)"),
    BotCommand("removefeed", "Stop following a feed (admins)"),
]

NOT_ALLOWED = ("Sorry, this bot is private and you are not on its list of users. "
               "Your Telegram user id is {uid}; ask the bot's owner to add it.")
ADMINS_ONLY = "Sorry, only the bot's admins can do that. You can still ask questions about the indexed articles."
UNAVAILABLE = "The knowledge base is temporarily unavailable. Please try again in a minute."
APOLOGY = "Sorry, something went wrong while handling that. Please try again."
TEXT_ONLY = ("I answer text questions about news articles. Please type your question, "
             "or see /help.")


class TelegramFrontend:
    """The bot's behaviour; one instance per Application, handlers are its methods."""

    def __init__(self, settings: Settings, newsbot: Newsbot) -> None:
        self.settings = settings
        self.newsbot = newsbot
        self.conversations = ConversationLRU()
        self.index_lock = asyncio.Lock()  # one indexing run at a time in this process

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

    # ---- the gate --------------------------------------------------------------------
    async def gate(self, update: Update, context: Context) -> None:
        """Runs first for every update: users outside the allow-list get one refusal."""
        message, user = update.effective_message, update.effective_user
        if message is None:
            raise ApplicationHandlerStop
        if is_allowed(user.id if user else None, self.settings.allowed_user_ids, self.settings.admin_ids):
            return
        if addressed(message, context.bot.id, context.bot.username):
            await self.say(message, NOT_ALLOWED.format(uid=user.id if user else "unknown"))
        raise ApplicationHandlerStop

    # ---- questions -------------------------------------------------------------------
    async def answer(self, message: Message, context: Context, question: str) -> None:
        chat_id = message.chat_id
        conv = (self.conversations.touch(chat_id, lambda: Conversation(self.settings.memory_turns))
                if self.settings.memory_turns > 0 else None)
        async with keep_typing(context.bot, message):
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
        if not addressed(message, context.bot.id, context.bot.username):
            return  # not for us: stay silent in groups
        await self.answer(message, context, strip_mention(message.text or "", context.bot.username))

    async def on_ask(self, update: Update, context: Context) -> None:
        message = update.effective_message
        assert message is not None
        parts = (message.text or "").split(maxsplit=1)
        question = strip_mention(parts[1], context.bot.username) if len(parts) > 1 else ""
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
        if is_admin(user.id if user else None, self.settings.admin_ids):
            text += ("\n\n<b>Admin:</b> /reindex re-indexes the articles folder; /forget SOURCE "
                     "removes an article; send a .txt, .md or .html file, or a link, to add an "
                     "article. /addfeed URL follows an RSS or Atom feed, /feeds lists the feeds, "
                     "/removefeed URL stops following one.")
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
    async def admin_only(self, update: Update) -> Message | None:
        """The message if its sender is an admin; otherwise refuse and return None."""
        message, user = update.effective_message, update.effective_user
        assert message is not None
        if is_admin(user.id if user else None, self.settings.admin_ids):
            return message
        await self.say(message, ADMINS_ONLY)
        return None

    async def _index_op(self, message: Message, context: Context, fn: Callable[[], IndexReport],
                        what: str) -> IndexReport | None:
        """Run an indexing operation in a thread, one at a time, and reply with its report."""
        async with keep_typing(context.bot, message), self.index_lock:
            try:
                report = await asyncio.to_thread(fn)
            except NewsbotError as exc:  # admins get the precise one-line reason
                await self.say(message, str(exc))
                return None
        await self.send(message, pack(report_units(report, what)))
        return report

    async def on_reindex(self, update: Update, context: Context) -> None:
        message = await self.admin_only(update)
        if message is None:
            return
        folder = self.settings.articles_dir
        await self._index_op(message, context,
                             lambda: self.newsbot.index([folder], prune=True), f"Re-indexed {folder}")

    async def on_forget(self, update: Update, context: Context) -> None:
        message = await self.admin_only(update)
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
        if not addressed(message, context.bot.id, context.bot.username):
            return
        if await self.admin_only(update) is None:
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
        async with keep_typing(context.bot, message):
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
        if addressed(message, context.bot.id, context.bot.username):
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
