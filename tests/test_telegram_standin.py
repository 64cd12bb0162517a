"""Tests for the FakeTelegramServer stand-in, driven by the REAL python-telegram-bot.

Why: other tests run the bot's PTB ``Application`` against this stand-in, so here we
prove PTB accepts its wire shapes (Bot methods, file download, long polling through
``Updater``, and error mapping to BadRequest / RetryAfter) without any mocks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from telegram import Bot, Update
from telegram.error import BadRequest, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes, MessageHandler, filters

try:  # works whether or not tests/ is a package on sys.path
    from tests.standins.telegram_api import BOT_ID, TEST_TOKEN, FakeTelegramServer
except ImportError:  # pragma: no cover - depends on rootdir/sys.path layout
    from standins.telegram_api import BOT_ID, TEST_TOKEN, FakeTelegramServer  # type: ignore[no-redef]

pytestmark = pytest.mark.asyncio

CHAT = 5551


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours *_PROXY env vars; make sure loopback traffic bypasses them."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture()
def tg() -> Iterator[FakeTelegramServer]:
    with FakeTelegramServer() as server:
        yield server


@pytest_asyncio.fixture()
async def bot(tg: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(TEST_TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as b:
        yield b


def _build_app(tg: FakeTelegramServer) -> Application:  # type: ignore[type-arg]
    return (
        ApplicationBuilder()
        .token(TEST_TOKEN)
        .base_url(tg.base_url)
        .base_file_url(tg.base_file_url)
        .build()
    )


async def test_get_me_and_send_message(tg: FakeTelegramServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == BOT_ID and me.is_bot and me.username == "newsbot_test_bot"
    assert me.can_join_groups and not me.can_read_all_group_messages

    msg = await bot.send_message(CHAT, "<b>hello</b> &amp; bye", parse_mode="HTML")
    assert msg.chat.id == CHAT and msg.from_user is not None and msg.from_user.id == BOT_ID
    assert msg.text == "hello & bye"  # Telegram returns the parsed plain text

    reply = await bot.send_message(CHAT, "second", reply_to_message_id=msg.message_id)
    assert reply.message_id != msg.message_id

    sent = tg.sent_messages(CHAT)
    assert [m["text"] for m in sent] == ["<b>hello</b> &amp; bye", "second"]
    assert sent[0]["chat_id"] == CHAT and sent[0]["parse_mode"] == "HTML"
    assert sent[0]["message_id"] == msg.message_id
    assert sent[1]["reply_to"] == msg.message_id
    assert isinstance(sent[1]["reply_parameters"], dict)
    assert [m for m, _ in tg.calls][:1] == ["getMe"]


async def test_edit_delete_and_chat_action(tg: FakeTelegramServer, bot: Bot) -> None:
    msg = await bot.send_message(CHAT, "draft")
    edited = await bot.edit_message_text("final", chat_id=CHAT, message_id=msg.message_id)
    assert not isinstance(edited, bool) and edited.text == "final"
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("final", chat_id=CHAT, message_id=msg.message_id)
    assert await bot.send_chat_action(CHAT, "typing")
    assert await bot.delete_message(CHAT, msg.message_id)
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(CHAT, msg.message_id)
    assert [e["text"] for e in tg.edited_messages(CHAT)] == ["final"]


async def test_commands_webhook_and_unknown_methods(tg: FakeTelegramServer, bot: Bot) -> None:
    assert await bot.set_my_commands([("start", "Start"), ("ask", "Ask a question")])
    cmds = await bot.get_my_commands()
    assert [c.command for c in cmds] == ["start", "ask"]
    assert await bot.set_webhook("https://example.invalid/hook")
    assert (await bot.get_webhook_info()).url == "https://example.invalid/hook"
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""
    assert await bot.set_message_reaction(CHAT, 1, "\U0001f44d")  # unknown -> True
    assert tg.calls_to("setMessageReaction")


async def test_get_file_and_download_pushed_document(tg: FakeTelegramServer, bot: Bot) -> None:
    content = bytes(range(256)) * 4
    update = tg.push_document(CHAT, CHAT, "report é.bin", content, "application/octet-stream")
    updates = await bot.get_updates(timeout=1)
    assert [u.update_id for u in updates] == [update["update_id"]]
    doc = updates[0].message.document if updates[0].message else None
    assert doc is not None and doc.file_name == "report é.bin" and doc.file_size == len(content)

    file = await bot.get_file(doc.file_id)
    assert file.file_path is not None and file.file_path.startswith(tg.base_file_url)
    assert bytes(await file.download_as_bytearray()) == content

    with pytest.raises(BadRequest, match="(?i)invalid file_id"):
        await bot.get_file("nope")


async def test_upload_document_round_trips(tg: FakeTelegramServer, bot: Bot) -> None:
    payload = b"\x00\x01binary\r\n--boundary-like--\r\n\xff"
    msg = await bot.send_document(CHAT, payload, filename="digest.bin", caption="<i>hi</i>", parse_mode="HTML")
    assert msg.document is not None and msg.caption == "hi"
    (sent,) = tg.sent_files(CHAT)
    assert sent["filename"] == "digest.bin" and sent["content"] == payload and sent["kind"] == "document"
    file = await bot.get_file(msg.document.file_id)
    assert bytes(await file.download_as_bytearray()) == payload


async def test_html_validation_mimics_telegram(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities: unsupported start tag \"br\""):
        await bot.send_message(CHAT, "a<br>b", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(CHAT, "<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(CHAT, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    ok = await bot.send_message(CHAT, '<a href="https://e.x/?a=1&amp;b=2">link</a> <code>1 &lt; 2</code>', parse_mode="HTML")
    assert ok.text == "link 1 < 2"


async def test_application_echo_over_long_polling(tg: FakeTelegramServer) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, f"echo: {update.effective_message.text}")

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "welcome")

    app = _build_app(tg)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    started = time.monotonic()
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            tg.push_message(CHAT, "/start")
            tg.push_message(CHAT, "hello bot")
            sent = await tg.wait_for_messages(2, chat_id=CHAT, timeout=5)
            assert sorted(m["text"] for m in sent) == ["echo: hello bot", "welcome"]
            tg.push_message(-100123, "group hi", user_id=77, chat_type="supergroup", reply_to_bot=True)
            (group_msg,) = await tg.wait_for_messages(1, chat_id=-100123, timeout=5)
            assert group_msg["text"] == "echo: group hi"
        finally:
            await app.updater.stop()
            await app.stop()
    assert time.monotonic() - started < 5
    assert tg.pending_updates == 0  # the final getUpdates confirmed everything
    assert {"deleteWebhook", "getMe", "getUpdates"} <= {m for m, _ in tg.calls}


async def test_fail_next_cant_parse_entities_raises_bad_request(tg: FakeTelegramServer, bot: Bot) -> None:
    # NB: PTB strips the "Bad Request: " prefix and capitalises ("Can't parse entities: ...").
    tg.fail_next("sendMessage", when=lambda p: p.get("parse_mode") == "HTML")
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(CHAT, "<b>x</b>", parse_mode="HTML")
    msg = await bot.send_message(CHAT, "x")  # plain-text retry goes through
    assert msg.text == "x"
    assert [m["text"] for m in tg.sent_messages(CHAT)] == ["x"]
    assert [m["ok"] for m in tg.sent_messages(CHAT, include_failed=True)] == [False, True]


async def test_fail_next_429_raises_retry_after(tg: FakeTelegramServer, bot: Bot) -> None:
    tg.fail_next("sendMessage", error_code=429, retry_after=7)
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(CHAT, "flood")
    assert "7" in str(excinfo.value)  # retry_after is int or timedelta depending on PTB_TIMEDELTA
    assert (await bot.send_message(CHAT, "ok now")).text == "ok now"


async def test_long_poll_waits_then_returns_early(tg: FakeTelegramServer, bot: Bot) -> None:
    t0 = time.monotonic()
    assert await bot.get_updates(timeout=0) == ()
    assert time.monotonic() - t0 < 0.4

    async def push_later() -> None:
        await asyncio.sleep(0.1)
        tg.push_sticker(CHAT)

    task = asyncio.create_task(push_later())
    t0 = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    await task
    assert time.monotonic() - t0 < 0.45 and updates[0].message and updates[0].message.sticker
    tg.push_photo(CHAT)
    tg.push_voice(CHAT)
    nxt = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=1)
    assert [bool(u.message and u.message.photo) for u in nxt] == [True, False]
    assert nxt[1].message and nxt[1].message.voice


async def test_callback_query_round_trip(tg: FakeTelegramServer, bot: Bot) -> None:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    markup = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    msg = await bot.send_message(CHAT, "pick", reply_markup=markup)
    tg.push_callback_query(CHAT, "more:1")
    (upd,) = await bot.get_updates(timeout=1)
    assert upd.callback_query and upd.callback_query.data == "more:1"
    assert upd.callback_query.message and upd.callback_query.message.message_id == msg.message_id
    assert await bot.answer_callback_query(upd.callback_query.id)
    assert tg.sent_messages(CHAT)[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "more:1"
