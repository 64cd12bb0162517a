"""The Telegram bot end to end: the real PTB Application from `build_application` talks real
HTTP to FakeTelegramServer, over the real index (Chroma + MiniLM).

Read-only tests share the session's sample index; tests that may change the index work on
a copy of it (shutil.copytree) plus a writable copy of the articles.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from conftest import make_settings
from index.errors import StoreError
from index.search import Searcher
from standins.telegram_api import BOT_ID, BOT_USERNAME, TEST_TOKEN, FakeTelegramServer
from telegram.ext import Application

from bot.answer import REFUSAL
from bot.memory import Conversation
from bot.service import Newsbot
from bot.settings import Settings
from bot.telegram.addressing import safe_file_name
from bot.telegram.formatting import TELEGRAM_LIMIT, esc, html_to_plain, render_answer, tg_len
from bot.telegram.handlers import ADMINS_ONLY, APOLOGY, TEXT_ONLY, UNAVAILABLE
from bot.telegram.wiring import build_application, run_bot

EXAMPLE = "What did Yuri Ushakov say the ceasefire would give Ukraine?"
ADMIN = 9001
USER = 5551
GROUP = -100777

ZORBLAND = """---
title: Zorbland's Old Harbour Lighthouse Reopens After Restoration
outlet: Zorbland Gazette
published: 2025-03-20
url: https://example.org/zorbland/lighthouse?id=7&lang=en
---
The Old Harbour lighthouse in Zorbland reopened to visitors on Thursday after a four-year \
restoration costing 12 million zorbs.

Harbour master Ilse Varga said the lamp would shine again "for ships & sailors alike", and \
that the lighthouse would welcome visitors from 9 am to 5 pm every day except Monday.

Engineers replaced the cracked 1890 Fresnel lens with a replica; children <under 12> climb \
the 214 steps for free.
""".encode()


# --------------------------------------------------------------------------- fixtures
@pytest.fixture
def tg() -> Iterator[FakeTelegramServer]:
    with FakeTelegramServer() as server:
        yield server
        assert not server.errors, server.errors


@pytest.fixture(scope="module")
def shared_bot(sample_index: Path) -> Newsbot:
    """One Newsbot over the read-only sample index for the whole module."""
    return Newsbot(make_settings(sample_index))


@pytest.fixture
def own_index(sample_index: Path, samples: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A private copy of the indexed samples: (data dir, articles dir)."""
    data = tmp_path / "data"
    shutil.copytree(sample_index, data)
    return data, samples


def tg_settings(tg: FakeTelegramServer, data_dir: Path, **kw: Any) -> Settings:
    return make_settings(data_dir, telegram_token=TEST_TOKEN, telegram_base_url=tg.base_url,
                         telegram_base_file_url=tg.base_file_url, **kw)


@asynccontextmanager
async def running(settings: Settings, newsbot: Any = None) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """The bot as `newsbot telegram` runs it, but started and stopped inside the test's loop."""
    app = build_application(settings, newsbot or Newsbot(settings))
    async with app:
        if app.post_init:  # run_polling/run_webhook call it; starting by hand does not
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def ask(tg: FakeTelegramServer, chat: int, text: str, n_before: int | None = None,
              timeout: float = 20, **kw: Any) -> dict[str, Any]:
    """Push a message and return the bot's first reply to it."""
    update = tg.push_message(chat, text, **kw)
    mid = update["message"]["message_id"]
    await tg.wait_for(lambda _c: any(m["reply_to"] == mid for m in tg.sent_messages(chat)), timeout)
    return next(m for m in tg.sent_messages(chat) if m["reply_to"] == mid)


def replies_to(tg: FakeTelegramServer, chat: int, mid: int) -> list[dict[str, Any]]:
    return [m for m in tg.sent_messages(chat) if m["reply_to"] == mid]


class FaultyNewsbot:
    """Fault injection: the real Newsbot, whose next answers raise the given errors."""

    def __init__(self, inner: Newsbot, *errors: Exception) -> None:
        self.inner = inner
        self.errors = list(errors)

    @property
    def answerer(self) -> FaultyNewsbot:
        return self

    def answer(self, *args: Any, **kw: Any) -> Any:
        if self.errors:
            raise self.errors.pop(0)
        return self.inner.answerer.answer(*args, **kw)

    def sources(self) -> Any:
        return self.inner.sources()


# --------------------------------------------------------------------------- answering
async def test_question_answered_with_citations_and_follow_up(
    tg: FakeTelegramServer, shared_bot: Newsbot, sample_index: Path
) -> None:
    today = date.today()
    expected = shared_bot.answerer.answer(EXAMPLE, as_of=today)
    follow = "Who did he talk to?"
    conv = Conversation(4)
    shared_bot.answerer.answer(EXAMPLE, conv, as_of=today)
    with_context = render_answer(shared_bot.answerer.answer(follow, conv, as_of=today))
    without_context = render_answer(shared_bot.answerer.answer(follow, as_of=today))
    assert with_context != without_context  # the follow-up only makes sense with memory

    async with running(tg_settings(tg, sample_index), shared_bot) as app:
        assert [c["command"] for c in tg.commands] == ["ask", "sources", "reset", "help"]
        reply = await ask(tg, USER, EXAMPLE)
        text = reply["text"]
        assert reply["parse_mode"] == "HTML" and reply["link_preview_options"] == {"is_disabled": True}
        assert "[1]" in text and "<blockquote expandable>" in text
        assert expected.citations
        for c in expected.citations:
            assert f"<b>[{c.n}]</b>" in text
            quoted = f"<blockquote expandable>{esc(c.quote)}</blockquote>" in text
            assert quoted != (esc(c.quote) in esc(expected.text))  # each quote shown once
        assert [reply["text"]] == render_answer(expected)
        actions = tg.calls_to("sendChatAction")
        assert actions and actions[0]["action"] == "typing"

        assert [(await ask(tg, USER, follow))["text"]] == with_context
        await ask(tg, USER, "/reset")
        assert [(await ask(tg, USER, follow))["text"]] == without_context
        assert app.bot_data["frontend"].conversations[USER].turns[-1].question == follow

        refusal = await ask(tg, USER, "What is the weather on Mars today?")
        assert refusal["text"] == esc(REFUSAL)


LAMPS = ("amber", "cobalt", "crimson", "emerald", "golden", "ivory", "jade", "scarlet")
LONG_QUESTION = "What did the Zorbland lighthouse commission decide?"


@pytest.fixture(scope="module")
def long_bot(tmp_path_factory: pytest.TempPathFactory) -> Newsbot:
    """A made-up report whose long sentences each answer LONG_QUESTION: three such claims
    cannot fit in one message (real retrieval, real answering, no patched limit)."""
    root = tmp_path_factory.mktemp("long")
    (root / "articles").mkdir()
    sentences = [
        "The Zorbland lighthouse commission decided on Tuesday that the restored Old Harbour "
        "lighthouse will shine an amber beam across the bay every night from dusk until dawn, "
        "that the keepers' cottage beside it will become a museum of the harbour's fishing "
        "history with three rooms of nets, lanterns & ship models, and that the gallery will "
        "open to visitors on weekends once the engineers have finished testing the lamp, the "
        "new railings and the spiral staircase of 214 steps, which was rebuilt with oak from "
        "the old pier by carpenters from the island's only boatyard over two long winters, "
        "while the lamp itself, a Fresnel lens cast in 1887 and cleaned by hand by volunteers "
        "from the sailing club, will be lit again for the first time at a ceremony in June, "
        "and that, after a long argument about the cost of the scaffolding, the harbour "
        "master, the parish priest, the headmistress of the island school, the owner of the "
        "fish market, two retired keepers, the captain of the mail boat and a representative of "
        "the birdwatchers' society will sit on the advisory board that reports to the "
        "commission each spring on the state of the tower, the lamp, the cottage and the path "
        "along the cliffs, which the commission also decided to widen, fence and light with "
        "small solar lamps so that visitors can walk back to the village safely after dark, "
        "even on the foggy winter evenings when the beam itself is hard to see from the road.",
        "On Wednesday the Zorbland lighthouse commission decided to charge the ferry company "
        "for a night-time pilot boat for five years, to let the fishermen's guild fly its "
        "cobalt flag above the lantern room on feast days, to sound the old foghorn at noon on "
        "the first day of every month in memory of the sailors lost in the storm of 1911, and "
        "to ask the regional council for a grant to repaint the tower in its original red and "
        "white bands before the summer festival brings the usual crowds of visitors ashore, "
        "with any money left over going to the lifeboat station, whose crew rescued eleven "
        "people from the rocks below the tower during the gales of last November, "
        "and that every pupil of the primary school will plant a tamarisk hedge along the "
        "quay, that the bakery may sell pastries from a cart beside the gate during the summer "
        "months, that dogs must stay on a lead between the car park and the cottage, that the "
        "annual regatta will finish at the breakwater below the tower instead of the old jetty, "
        "that a webcam on the gallery will stream sunsets to the tourist office in the capital, "
        "that the choir may rehearse in the lantern room on Sunday evenings, and that anyone "
        "caught carving initials into the oak banisters will pay for their repair in full, "
        "a rule the commission asked the island's two constables to enforce with tact, "
        "especially during the week of the regatta, when the harbour fills with yachts and "
        "the narrow lanes behind the fish market are crowded until long after midnight.",
        "Finally the Zorbland lighthouse commission decided that it will meet again in two "
        "months to hear what the schools, the shopkeepers, the ferry crews and the families "
        "who live along the harbour wall think of the changes, that its minutes will be posted "
        "in the post office window every Friday, and that a small exhibition about the Zorbland "
        "keepers, with their logbooks, uniforms and the brass telescope found in the cellar, "
        "will travel to the mainland libraries during the winter months when the museum closes, "
        "accompanied by a recorded talk in which the last keeper, now ninety-one years old, "
        "describes the night the lamp failed and the fishing fleet steered home by torchlight, "
        "and that its treasurer, a retired accountant from the cannery, will publish a yearly "
        "statement of donations, ticket sales, grants and repairs, that a competition for "
        "painters and photographers will be held every autumn with the winning pictures hung "
        "in the museum's stairwell, that the weather station on the roof will be repaired by "
        "students from the maritime college, and that the brass bell recovered from the wreck "
        "of the schooner Margarethe will be mounted by the door and rung once at the start of "
        "each tour by the youngest visitor in the group, whatever the weather or the season.",
    ]
    (root / "articles" / "zorb.txt").write_text(
        "Zorbland lighthouse report\n\n" + "\n\n".join(sentences) + "\n", encoding="utf-8")
    bot = Newsbot(make_settings(root / "data", max_claims=8, top_k=20))
    assert len(bot.index([root / "articles"]).added) == 1
    return bot


async def test_long_answer_is_split_into_valid_parts(tg: FakeTelegramServer, long_bot: Newsbot) -> None:
    expected = long_bot.answerer.answer(LONG_QUESTION, as_of=date.today())
    parts = render_answer(expected)
    assert len(parts) >= 2, "the made-up reports should give an answer longer than one message"
    async with running(tg_settings(tg, long_bot.settings.data_dir), long_bot):
        update = tg.push_message(USER, LONG_QUESTION)
        sent = await tg.wait_for_messages(len(parts), USER)
    assert [m["text"] for m in sent] == parts
    assert all(m["reply_to"] == update["message"]["message_id"] for m in sent)
    assert all(tg_len(m["text"]) <= TELEGRAM_LIMIT for m in sent)
    assert not [m for m in tg.sent_messages(include_failed=True) if not m["ok"]]  # all valid
    for c in expected.citations:  # every quote arrives whole, in one part, and once
        block = f"<blockquote expandable>{esc(c.quote)}</blockquote>"
        shown = esc(c.quote) in esc(expected.text)
        assert sum(block in m["text"] for m in sent) == (0 if shown else 1)
        assert sum(esc(c.quote) in m["text"] for m in sent) == 1
    assert "nets, lanterns &amp; ship models" in sent[0]["text"]


async def test_rejected_markup_is_resent_as_plain_text(
    tg: FakeTelegramServer, shared_bot: Newsbot, sample_index: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tg.fail_next("sendMessage", when=lambda p: p.get("parse_mode") == "HTML")
    async with running(tg_settings(tg, sample_index), shared_bot):
        update = tg.push_message(USER, EXAMPLE)
        [plain] = await tg.wait_for_messages(1, USER)
    [failed] = [m for m in tg.sent_messages(USER, include_failed=True) if not m["ok"]]
    assert failed["parse_mode"] == "HTML"
    assert plain["parse_mode"] is None and plain["reply_to"] == update["message"]["message_id"]
    assert plain["text"] == html_to_plain(failed["text"])
    assert "<blockquote" not in plain["text"] and "[1]" in plain["text"]
    assert "can't parse entities" in caplog.text.lower()


async def test_other_messages_commands_and_bad_questions(
    tg: FakeTelegramServer, shared_bot: Newsbot, sample_index: Path
) -> None:
    async with running(tg_settings(tg, sample_index), shared_bot):
        mids = [tg.push_sticker(USER)["message"]["message_id"],
                tg.push_photo(USER)["message"]["message_id"],
                tg.push_voice(USER)["message"]["message_id"]]
        await tg.wait_for_messages(3, USER)
        assert all([m["text"] for m in replies_to(tg, USER, mid)] == [esc(TEXT_ONLY)] for mid in mids)

        too_long = await ask(tg, USER, "why " * 600)
        assert "please keep it under 2,000" in too_long["text"]
        assert "/ask What did Yuri" in (await ask(tg, USER, "/ask"))["text"]
        assert "I don't know /frobnicate" in (await ask(tg, USER, "/frobnicate now"))["text"]

        helptext = (await ask(tg, USER, "/help"))["text"]
        assert "<b>5</b> indexed news articles" in helptext and esc(EXAMPLE) in helptext
        assert "/reindex" not in helptext  # admin help only for admins
        assert "<b>Zorbland" not in helptext
        sources = (await ask(tg, USER, "/sources"))["text"]
        assert "5 indexed articles" in sources and "004_2cb94cc94e0603c2.txt" in sources
        for doc in shared_bot.sources():
            assert esc(doc.meta.title or "(untitled)") in sources and (doc.meta.published or "no date") in sources
        assert (await ask(tg, USER, "/start"))["text"] == helptext


async def test_flood_control_is_waited_out(
    tg: FakeTelegramServer, shared_bot: Newsbot, sample_index: Path
) -> None:
    tg.fail_next("sendMessage", error_code=429, retry_after=1)
    async with running(tg_settings(tg, sample_index), shared_bot):
        assert "[1]" in (await ask(tg, USER, EXAMPLE))["text"]
    assert [m["ok"] for m in tg.sent_messages(USER, include_failed=True)] == [False, True]


# --------------------------------------------------------------------------- admin
async def test_admin_uploads_an_article_and_the_next_answer_cites_it(
    tg: FakeTelegramServer, own_index: tuple[Path, Path]
) -> None:
    data, articles = own_index
    settings = tg_settings(tg, data, articles_dir=articles, admin_ids=[ADMIN], max_file_mb=0.05)
    async with running(settings):
        before = await ask(tg, ADMIN, "When did the Zorbland lighthouse reopen?", user_id=ADMIN)
        assert before["text"] == esc(REFUSAL)

        up = tg.push_document(ADMIN, ADMIN, "Zorbland Lighthouse.md", ZORBLAND, "text/markdown")
        await tg.wait_for(lambda _c: replies_to(tg, ADMIN, up["message"]["message_id"]), 30)
        [report] = replies_to(tg, ADMIN, up["message"]["message_id"])
        assert "Added Zorbland_Lighthouse.md:</b> added 1, updated 0" in report["text"]
        assert (articles / "Zorbland_Lighthouse.md").read_bytes() == ZORBLAND
        assert tg.calls_to("getFile")

        after = (await ask(tg, ADMIN, "When did the Zorbland lighthouse reopen?", user_id=ADMIN))["text"]
        assert "[1]" in after and "Zorbland Gazette: Zorbland&#x27;s Old Harbour" not in after
        assert ('<a href="https://example.org/zorbland/lighthouse?id=7&amp;lang=en">Zorbland Gazette: '
                "Zorbland's Old Harbour Lighthouse Reopens After Restoration, 2025-03-20</a>") in after
        assert ("The Old Harbour lighthouse in Zorbland reopened to visitors on Thursday") in after
        assert "<blockquote expandable>" in after or "(quoted above)" in after  # never twice
        free = (await ask(tg, ADMIN, "Who climbs the Zorbland lighthouse steps for free?", user_id=ADMIN))["text"]
        assert "children &lt;under 12&gt; climb the 214 steps for free." in free

        pdf = tg.push_document(ADMIN, ADMIN, "report.pdf", b"%PDF-1.4", "application/pdf")
        big = tg.push_document(ADMIN, ADMIN, "big.txt", b"word " * 12000, "text/plain")
        await tg.wait_for(lambda _c: replies_to(tg, ADMIN, big["message"]["message_id"]), 10)
        assert "can only add .txt, .md, .html files" in replies_to(tg, ADMIN, pdf["message"]["message_id"])[0]["text"]
        assert "too large: the limit is 0.05 MB" in replies_to(tg, ADMIN, big["message"]["message_id"])[0]["text"]
        assert not (articles / "report.pdf").exists() and not (articles / "big.txt").exists()
        binary = tg.push_document(ADMIN, ADMIN, "notes.txt", b"\x00\x01\x02binary", "text/plain")
        await tg.wait_for(lambda _c: replies_to(tg, ADMIN, binary["message"]["message_id"]), 10)
        assert "notes.txt: is a binary file" in replies_to(tg, ADMIN, binary["message"]["message_id"])[0]["text"]
        assert not (articles / "notes.txt").exists()

        reindex = (await ask(tg, ADMIN, "/reindex", user_id=ADMIN, timeout=30))["text"]
        assert "added 0, updated 0, unchanged 6, removed 0" in reindex
        forgot = await ask(tg, ADMIN, "/forget Zorbland_Lighthouse.md", user_id=ADMIN, timeout=30)
        assert "removed 1" in forgot["text"]
        await tg.wait_for(lambda _c: len(replies_to(tg, ADMIN, forgot["reply_to"])) == 2)
        note = replies_to(tg, ADMIN, forgot["reply_to"])[-1]["text"]
        assert "Zorbland_Lighthouse.md is still in the articles folder" in note
        assert "<b>5 indexed articles</b>" in (await ask(tg, ADMIN, "/sources", user_id=ADMIN))["text"]


async def test_non_admins_cannot_change_anything(tg: FakeTelegramServer, own_index: tuple[Path, Path]) -> None:
    data, articles = own_index
    settings = tg_settings(tg, data, articles_dir=articles, admin_ids=[ADMIN])
    bot = Newsbot(settings)
    before = bot.sources()
    files_before = sorted(p.name for p in articles.iterdir())
    (articles / "001_a45f0d692161619c.txt").unlink()  # /reindex by an admin would remove it
    async with running(settings, bot):
        up = tg.push_document(USER, USER, "zorbland.md", ZORBLAND, "text/markdown")
        await tg.wait_for(lambda _c: replies_to(tg, USER, up["message"]["message_id"]))
        assert replies_to(tg, USER, up["message"]["message_id"])[0]["text"] == esc(ADMINS_ONLY)
        assert (await ask(tg, USER, "/reindex"))["text"] == esc(ADMINS_ONLY)
        assert (await ask(tg, USER, "/forget 000_f3e4660c212b88fe.txt"))["text"] == esc(ADMINS_ONLY)
        assert "/reindex" not in (await ask(tg, USER, "/help"))["text"]
    assert not tg.calls_to("getFile")
    assert sorted(p.name for p in articles.iterdir()) == [
        f for f in files_before if f != "001_a45f0d692161619c.txt"]
    assert bot.sources() == before


# --------------------------------------------------------------------------- who is served
async def test_users_outside_the_allow_list_are_refused(
    tg: FakeTelegramServer, shared_bot: Newsbot, sample_index: Path
) -> None:
    settings = tg_settings(tg, sample_index, allowed_user_ids=[USER], admin_ids=[ADMIN])
    async with running(settings, shared_bot):
        for text in (EXAMPLE, "/help", "/sources"):
            refused = await ask(tg, 6001, text)
            assert "not on its list of users" in refused["text"] and "6001" in refused["text"]
        sticker = tg.push_sticker(6001)
        await tg.wait_for(lambda _c: replies_to(tg, 6001, sticker["message"]["message_id"]))
        assert "not on its list" in replies_to(tg, 6001, sticker["message"]["message_id"])[0]["text"]
        assert "[1]" in (await ask(tg, USER, EXAMPLE))["text"]
        assert "[1]" in (await ask(tg, ADMIN, EXAMPLE))["text"]  # admins are always allowed
        # In a group, a stranger's message that is not for the bot gets no reply at all.
        quiet = tg.push_message(GROUP, EXAMPLE, user_id=6001, chat_type="supergroup")
        loud = await ask(tg, GROUP, f"@{BOT_USERNAME} {EXAMPLE}", user_id=6001, chat_type="supergroup")
        assert "not on its list" in loud["text"]
        assert not replies_to(tg, GROUP, quiet["message"]["message_id"])
    assert not [c for c in tg.calls_to("sendChatAction") if c["chat_id"] == "6001"]


async def test_groups_answer_only_mentions_replies_and_ask(
    tg: FakeTelegramServer, shared_bot: Newsbot, sample_index: Path
) -> None:
    group = {"chat_type": "supergroup", "user_id": 4321}
    async with running(tg_settings(tg, sample_index), shared_bot):
        ignored = [tg.push_message(GROUP, EXAMPLE, **group)["message"]["message_id"],
                   tg.push_sticker(GROUP, **group)["message"]["message_id"],
                   tg.push_message(GROUP, "/ask@some_other_bot hello", **group)["message"]["message_id"]]
        mentioned = await ask(tg, GROUP, f"@{BOT_USERNAME} {EXAMPLE}", **group)
        assert "[1]" in mentioned["text"]
        replied = await ask(tg, GROUP, "Who did he talk to?", reply_to_bot=True, **group)
        assert "[1]" in replied["text"]
        asked = await ask(tg, GROUP, f"/ask {EXAMPLE}", **group)
        asked_at = await ask(tg, GROUP, f"/ask@{BOT_USERNAME} {EXAMPLE}", **group)
        assert asked["text"] == asked_at["text"] and "[1]" in asked["text"]
        # The updates of one chat are handled in order, so the ignored ones are settled by now.
        assert all(not replies_to(tg, GROUP, mid) for mid in ignored)
        assert len(tg.sent_messages(GROUP)) == 4
        assert len(tg.calls_to("sendChatAction")) == 4
        empty = await ask(tg, GROUP, f"@{BOT_USERNAME}", **group)
        assert empty["text"] == "Please type a question: the message was empty."


async def test_fifty_chats_at_once_are_all_answered_in_order(
    tg: FakeTelegramServer, shared_bot: Newsbot, sample_index: Path
) -> None:
    chats = range(20_001, 20_051)
    questions = (EXAMPLE, "What did Maria Zakharova say about peacekeepers?")
    async with running(tg_settings(tg, sample_index), shared_bot):
        asked = {c: [tg.push_message(c, q)["message"]["message_id"] for q in questions] for c in chats}
        await tg.wait_for(lambda _c: len(tg.sent_messages()) >= 100, timeout=60)
    expected = [render_answer(shared_bot.answerer.answer(q, as_of=date.today()))[0] for q in questions]
    for c in chats:
        sent = sorted(tg.sent_messages(c), key=lambda m: m["message_id"])
        assert [m["reply_to"] for m in sent] == asked[c]
        assert sent[0]["text"] == expected[0]  # fresh memory: same as a standalone question
        assert "[1]" in sent[1]["text"]


# --------------------------------------------------------------------------- failures
async def test_handler_error_gets_an_apology_and_the_bot_keeps_serving(
    tg: FakeTelegramServer, shared_bot: Newsbot, sample_index: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    faulty = FaultyNewsbot(shared_bot, RuntimeError("injected failure"))
    async with running(tg_settings(tg, sample_index), faulty):
        assert (await ask(tg, USER, EXAMPLE))["text"] == APOLOGY
        assert "[1]" in (await ask(tg, USER, EXAMPLE))["text"]
        assert "[1]" in (await ask(tg, USER + 1, EXAMPLE))["text"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert errors and "RuntimeError: injected failure" in caplog.text
    assert TEST_TOKEN not in caplog.text


async def test_store_unavailable_is_reported_and_the_next_message_retries(
    tg: FakeTelegramServer, shared_bot: Newsbot, sample_index: Path
) -> None:
    down = StoreError("cannot reach the Chroma server at 127.0.0.1:8000: connection refused")
    async with running(tg_settings(tg, sample_index), FaultyNewsbot(shared_bot, down)):
        assert (await ask(tg, USER, EXAMPLE))["text"] == esc(UNAVAILABLE)
        assert "[1]" in (await ask(tg, USER, EXAMPLE))["text"]


CHROMA = Path(sys.executable).with_name("chroma")


@contextmanager
def chroma_server(path: Path, port: int) -> Iterator[None]:
    """A real Chroma server (the `chroma` CLI) serving `path`, stopped on exit."""
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "chroma did not start"
                time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


CHECK_EVERY = inspect.signature(Searcher).parameters["check_every"].default


@pytest.mark.skipif(not CHROMA.exists(), reason="the chroma CLI is not installed")
async def test_chroma_server_down_is_reported_and_the_bot_recovers_when_it_is_back(
    tg: FakeTelegramServer, sample_index: Path, tmp_path: Path, unused_tcp_port: int
) -> None:
    served = tmp_path / "served"
    shutil.copytree(sample_index, served)
    settings = tg_settings(tg, tmp_path / "unused", chroma_host="127.0.0.1", chroma_port=unused_tcp_port)
    async with running(settings):
        assert (await ask(tg, USER, EXAMPLE))["text"] == esc(UNAVAILABLE)  # never reached
        assert "temporarily unavailable" in (await ask(tg, USER, "/help"))["text"]
        with chroma_server(served, unused_tcp_port):
            assert "[1]" in (await ask(tg, USER, EXAMPLE))["text"]
        # The bot checks the store's version at most every CHECK_EVERY seconds and answers
        # from what it holds in between; the first check after that finds the server gone.
        await asyncio.sleep(CHECK_EVERY + 0.5)
        assert (await ask(tg, USER, EXAMPLE))["text"] == esc(UNAVAILABLE)  # went away
        with chroma_server(served, unused_tcp_port):
            assert "[1]" in (await ask(tg, USER, EXAMPLE))["text"]  # back


async def test_the_token_never_reaches_the_logs(
    tg: FakeTelegramServer, shared_bot: Newsbot, sample_index: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app_settings = tg_settings(tg, sample_index)
    httpx_logger = logging.getLogger("httpx")
    async with running(app_settings, shared_bot):
        assert httpx_logger.level == logging.WARNING  # request URLs carry the token
        httpx_logger.setLevel(logging.INFO)  # someone turns it back on: the filter still redacts
        try:
            await ask(tg, USER, EXAMPLE)
            logging.getLogger("bot.telegram").warning("oops %s", TEST_TOKEN)
        finally:
            httpx_logger.setLevel(logging.WARNING)
    assert "HTTP Request: POST" in caplog.text and "[REDACTED]" in caplog.text
    assert TEST_TOKEN not in caplog.text
    assert not [r for r in caplog.records if TEST_TOKEN in r.getMessage()]


# --------------------------------------------------------------------------- run_bot
def test_run_bot_without_a_token_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = make_settings(tmp_path)
    assert run_bot(settings, Newsbot(settings)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "NEWSBOT_TELEGRAM_TOKEN is not set" in err


def test_run_bot_with_a_rejected_token_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeTelegramServer(token="999:other-token") as server:
        settings = make_settings(tmp_path, telegram_token=TEST_TOKEN, telegram_base_url=server.base_url)
        assert run_bot(settings, Newsbot(settings)) == 2
    err = capsys.readouterr().err
    assert "Telegram rejected the bot token" in err and TEST_TOKEN not in err


def test_run_bot_uses_a_webhook_when_configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(Application, "run_webhook", lambda self, **kw: seen.update(kw))
    settings = make_settings(
        tmp_path, telegram_token=TEST_TOKEN, telegram_webhook_url="https://bot.example.org/hook/abc",
        telegram_webhook_listen="0.0.0.0", telegram_webhook_port=8080, telegram_webhook_secret="s3cret-value",
    )
    assert run_bot(settings, Newsbot(settings)) == 0
    assert seen["listen"] == "0.0.0.0" and seen["port"] == 8080 and seen["url_path"] == "hook/abc"
    assert seen["webhook_url"] == "https://bot.example.org/hook/abc" and seen["secret_token"] == "s3cret-value"


def test_safe_file_name() -> None:
    assert safe_file_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_file_name("..\\evil\\.hidden.MD") == "hidden.md"
    assert safe_file_name("My Article (final).html") == "My_Article_final.html"
    assert safe_file_name("....txt", fallback="article-1") == "article-1.txt"
    assert safe_file_name(None) == "article"
    assert BOT_ID  # the stand-in's bot id is what replies are checked against
