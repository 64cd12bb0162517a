"""Feeds and links in Telegram: admins' /addfeed, /feeds, /removefeed and links, and the
scheduled refresh.

Why a JobQueue job in a worker thread: fetching and embedding take seconds to minutes, so the
refresh runs in `asyncio.to_thread` and the event loop keeps answering questions meanwhile; it
takes the front end's indexing lock, so it never runs beside /reindex or an upload, and the
job queue never starts a second refresh while one is still running.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from telegram import Message, Update
from telegram.ext import Application, ContextTypes

from bot.errors import NewsbotError
from bot.feed_registry import FeedRecord
from bot.feeds import Feeds, FeedsReport
from bot.telegram.formatting import Unit, esc, pack, report_units
from bot.telegram.handlers import TelegramFrontend
from bot.telegram.runtime import keep_typing

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
T = TypeVar("T")

# A message that is nothing but a link (any scheme: a bad one gets a clear refusal).
LINK_ONLY = r"^\s*[A-Za-z][A-Za-z0-9+.-]*://\S+\s*$"
JOB_NAME = "newsbot-feeds"


class FeedCommands:
    """The feed handlers and the refresh job of one Application."""

    def __init__(self, front: TelegramFrontend, feeds: Feeds | None = None) -> None:
        self.front = front
        self.settings = front.settings
        self.feeds = feeds or Feeds(front.newsbot, settings=front.settings)

    # ---- plumbing --------------------------------------------------------------------
    async def _indexing(self, message: Message, context: Context, fn: Callable[[], T]) -> T | None:
        """Run `fn` in a worker thread under the front end's indexing lock; errors are replied."""
        async with keep_typing(context.bot, message), self.front.index_lock:
            try:
                return await asyncio.to_thread(fn)
            except NewsbotError as exc:  # admins get the precise one-line reason
                await self.front.say(message, str(exc))
                return None

    @staticmethod
    def _arg(context: Context) -> str | None:
        return context.args[0] if context.args else None

    # ---- commands --------------------------------------------------------------------
    async def on_addfeed(self, update: Update, context: Context) -> None:
        message = await self.front.admin_only(update)
        if message is None:
            return
        url = self._arg(context)
        if not url:
            await self.front.say(message, "Usage: /addfeed URL (an RSS or Atom feed)")
            return

        def follow() -> tuple[FeedRecord, FeedsReport]:
            record = self.feeds.add(url)
            return record, self.feeds.update([record.url])

        done = await self._indexing(message, context, follow)
        if done is None:
            return
        record, report = done
        units = [Unit(head=f"<b>Following</b> {esc(record.name)}\n", body=record.url)]
        failed = report.failed_feeds
        if failed:
            units.append(Unit(body=f"The first fetch failed: {failed[0].error}", splittable=True,
                              joiner="\n"))
        units += report_units(report.index, "Indexed")
        units.append(Unit(body=f"It is refreshed every {self.settings.feeds_every_minutes:g} minutes."
                          if self.settings.feeds_every_minutes > 0 else
                          "Scheduled refreshes are off (NEWSBOT_FEEDS_EVERY_MINUTES=0).",
                          splittable=True, joiner="\n"))
        await self.front.send(message, pack(units))

    async def on_feeds(self, update: Update, context: Context) -> None:
        message = await self.front.admin_only(update)
        if message is None:
            return
        records = await asyncio.to_thread(self.feeds.followed)
        if not records:
            await self.front.say(message, "No feeds are followed. Add one with /addfeed URL")
            return
        units = [Unit(head=f"<b>{len(records)} feed{'s' if len(records) != 1 else ''}</b>")]
        for r in records:
            when = (r.last_fetched or "never").replace("T", " ").removesuffix("Z")
            line = (f'<a href="{html.escape(r.url, quote=True)}">{esc(r.name)}</a>\n'
                    f"last fetched {esc(when)}, {len(r.sources)} article{'s' if len(r.sources) != 1 else ''}")
            units.append(Unit(head=line, body=f"\nlast error: {r.last_error}" if r.last_error else "",
                              splittable=True))
        await self.front.send(message, pack(units))

    async def on_removefeed(self, update: Update, context: Context) -> None:
        message = await self.front.admin_only(update)
        if message is None:
            return
        url = self._arg(context)
        if not url:
            await self.front.say(message, "Usage: /removefeed URL [forget] (the URLs are listed by /feeds)")
            return
        forget = any(a.lower().lstrip("-") == "forget" for a in (context.args or [])[1:])
        done = await self._indexing(message, context, lambda: self.feeds.remove(url, forget=forget))
        if done is None:
            return
        record, report = done
        units = [Unit(body=f"No longer following {record.name}.", splittable=True)]
        if report is not None:
            units += report_units(report, "Forgot")
        else:
            units.append(Unit(body="Its articles stay in the index (/removefeed URL forget "
                                   "removes them too).", splittable=True, joiner="\n"))
        await self.front.send(message, pack(units))

    async def on_link(self, update: Update, context: Context) -> None:
        """A private message that is only a link: admins get the page (or feed) indexed."""
        message = await self.front.admin_only(update)
        if message is None:
            return
        url = (message.text or "").strip()
        report = await self._indexing(message, context, lambda: self.feeds.index_urls([url]))
        if report is not None:
            await self.front.send(message, pack(report_units(report, "Indexed")))

    # ---- the schedule ----------------------------------------------------------------
    def schedule(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Refresh every NEWSBOT_FEEDS_EVERY_MINUTES with PTB's JobQueue (0 = never)."""
        seconds = self.settings.feeds_every_minutes * 60
        if seconds <= 0:
            return
        if app.job_queue is None:
            log.warning("feeds are not refreshed: install python-telegram-bot[job-queue]")
            return
        app.job_queue.run_repeating(self.refresh, interval=seconds, first=min(seconds, 60.0),
                                    name=JOB_NAME)

    async def refresh(self, context: Context) -> None:
        """One scheduled update of every feed; problems go to the log, not to users."""
        if not await asyncio.to_thread(self.feeds.followed):
            return
        async with self.front.index_lock:
            try:
                report = await asyncio.to_thread(self.feeds.update)
            except NewsbotError as exc:
                log.warning("feed refresh failed: %s", exc)
                return
        for line in (f.line() for f in report.feeds):
            log.info("feed %s", line)
        for err in report.index.failed:
            log.info("feed entry skipped: %s", err)
