"""Feeds in Telegram end to end: the real PTB Application (its JobQueue included) against the
Bot API stand-in, the stand-in news site, the real fetcher, Chroma and MiniLM.

An admin's /addfeed indexes the feed at once; a scheduled refresh (every 1.2 s here) picks up a
new entry without blocking answers, and the next answer cites it. Non-admins are refused and
nothing changes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from standins.news_site import BRIDGE, DROUGHT, SNOW_LEOPARDS, NewsSite
from standins.telegram_api import TEST_TOKEN, FakeTelegramServer

from bot.feed_registry import FeedRegistry
from bot.service import Newsbot
from bot.settings import Settings
from bot.telegram.handlers import ADMINS_ONLY

ADMIN = 9001
USER = 5551


@pytest.fixture
def tg() -> Iterator[FakeTelegramServer]:
    with FakeTelegramServer() as server:
        yield server
        assert not server.errors, server.errors


@pytest.fixture
def site() -> Iterator[NewsSite]:
    with NewsSite() as s:
        yield s


from test_telegram import running  # noqa: E402  the bot as `newsbot telegram` runs it


def settings_for(tg: FakeTelegramServer, data: Path, **kw: Any) -> Settings:
    return make_settings(data, telegram_token=TEST_TOKEN, telegram_base_url=tg.base_url,
                         telegram_base_file_url=tg.base_file_url, admin_ids=[ADMIN],
                         fetch_host_delay=0, **kw)


async def ask(tg: FakeTelegramServer, chat: int, text: str, timeout: float = 30) -> str:
    """Push a message and return the text of the bot's first reply to it."""
    mid = tg.push_message(chat, text)["message"]["message_id"]
    await tg.wait_for(lambda _c: any(m["reply_to"] == mid for m in tg.sent_messages(chat)), timeout)
    return str(next(m for m in tg.sent_messages(chat) if m["reply_to"] == mid)["text"])


async def until(check: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_addfeed_then_a_scheduled_refresh_answers_from_a_new_entry(
    tg: FakeTelegramServer, site: NewsSite, tmp_path: Path
) -> None:
    settings = settings_for(tg, tmp_path / "data", feeds_every_minutes=0.02)
    registry = FeedRegistry(settings.data_dir)
    bot = Newsbot(settings)
    feed = site.url("/herald/rss.xml")
    async with running(settings, bot) as app:
        jobs = app.job_queue.get_jobs_by_name("newsbot-feeds")  # type: ignore[union-attr]
        assert len(jobs) == 1

        # Non-admins: refused, and nothing is fetched, followed or indexed.
        assert await ask(tg, USER, f"/addfeed {feed}") == ADMINS_ONLY
        assert await ask(tg, USER, site.url(DROUGHT.path)) == ADMINS_ONLY
        assert await ask(tg, USER, "/feeds") == ADMINS_ONLY
        assert await ask(tg, USER, f"/removefeed {feed}") == ADMINS_ONLY
        assert not site.requests and registry.feeds() == [] and not bot.store.documents()

        reply = await ask(tg, ADMIN, f"/addfeed {feed}")
        assert "<b>Following</b> Velmora Herald" in reply and "added 3" in reply
        assert site.url(BRIDGE.path) in reply

        # A new entry; its page is slow, and answers go on while the refresh waits for it.
        site.page_delay = 1.5
        site.publish("herald", SNOW_LEOPARDS)
        await until(lambda: site.requests_to(SNOW_LEOPARDS.path))
        reply = await ask(tg, USER, "How much did the repair of the Harbour Bridge in Velmora cost?")
        assert f'<a href="{site.url(BRIDGE.path)}">' in reply
        assert site.url(SNOW_LEOPARDS.path) not in bot.store.documents()  # answered mid-refresh

        def remembered() -> bool:  # saved after the index is committed and the bot's view reloaded
            record = registry.get(feed)
            return record is not None and site.url(SNOW_LEOPARDS.path) in record.sources

        await until(remembered)
        site.page_delay = 0.0
        reply = await ask(tg, USER, "What were the snow leopard cubs named?")
        assert f'<a href="{site.url(SNOW_LEOPARDS.path)}">' in reply  # cited, with its link

        listing = await ask(tg, ADMIN, "/feeds")
        assert "Velmora Herald" in listing and "4 articles" in listing

        # An admin's link is indexed as one page; a non-web link is refused in one line.
        reply = await ask(tg, ADMIN, site.url(DROUGHT.path) + "?utm_source=telegram")
        assert "added 1" in reply and site.url(DROUGHT.path) in reply
        reply = await ask(tg, ADMIN, "ftp://127.0.0.1/story.txt")
        assert "only http:// and https://" in reply

        reply = await ask(tg, ADMIN, f"/removefeed {feed}")
        assert "No longer following Velmora Herald" in reply and registry.feeds() == []
    bot.close()
