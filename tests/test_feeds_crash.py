"""`kill -9` during `newsbot feeds update` leaves an index that answers correctly, a feed list
that never claims work that was not committed, and the next update finishes the job.

The update runs as a real `python -m bot.cli feeds update` process against the stand-in news
site in this process; it is killed at several moments after the first feed's pages were
fetched (so while its articles are embedded and committed, or soon after). After each kill:
the index is consistent (the checks of test_crash.py), and every feed whose validators were
saved has all its remembered articles in the index, which is what lets a 304 be trusted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, make_settings
from standins.news_site import Article, NewsSite
from test_crash import check_consistent

from bot.feed_registry import FeedRegistry
from bot.service import Newsbot

ALL_CHUNKS = 1000  # more chunks than any article here has
TOWNS = ["Askvik", "Brenna", "Dalsund", "Eikrem", "Fossli", "Grindal", "Holmsjo", "Isfjord",
         "Jarvik", "Kolbu", "Lonset", "Mosvik"]


def wire_article(i: int, town: str) -> Article:
    return Article(
        "herald", f"{town.lower()}-library", f"{town} Opens a New Public Library", "Wire Desk",
        f"2025-04-{i + 1:02d}", (
            f"The town of {town} opened its new public library on Saturday after {i + 2} years of "
            f"building work, mayor Eva {town}dal said.",
            f"The library holds {20 + i} thousand books and a reading room for {40 + i} people.",
            f"Librarian Nils {town}berg said the first week's visitors had borrowed {300 + 9 * i} books.",
            "The old library building will become a youth club in the autumn.",
        ), f"{town}'s new library.")


def update_process(data: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    # Every chunk and sentence embedded (what check_consistent checks), small batches: embedding
    # takes long enough, and commits come often enough, for kills to land between commits.
    env.update(NEWSBOT_DATA_DIR=str(data), NEWSBOT_FETCH_HOST_DELAY="0", NEWSBOT_INDEX_BATCH="16",
               NEWSBOT_SENTENCE_VECTORS="true", NEWSBOT_DENSE_CHUNKS=str(ALL_CHUNKS))
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "feeds", "update", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)


def kill_after_pages(site: NewsSite, proc: subprocess.Popen[bytes], pages: set[str], delay: float) -> bool:
    """SIGKILL `delay` seconds after the last of `pages` was requested; False if it ended first."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        seen = [r for r in site.requests if r.path in pages]
        if {r.path for r in seen} >= pages and time.monotonic() - max(r.at for r in seen) >= delay:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            return True
        time.sleep(0.01)
    proc.communicate(timeout=120)
    return False


def feed_list_is_truthful(data: Path, indexed: set[str]) -> None:
    """A feed with saved validators has every article it remembers in the index."""
    for record in FeedRegistry(data).feeds():
        remembered = {s.source for s in record.entries.values() if s.source}
        assert remembered <= indexed, (record.url, remembered - indexed)
        if record.etag or record.last_modified:
            assert record.current and all(k in record.entries for k in record.current)


def test_kill_9_during_feeds_update_then_finish(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = make_settings(data, fetch_host_delay=0, sentence_vectors=True, dense_chunks=ALL_CHUNKS)
    with NewsSite() as site:
        wire = [wire_article(i, town) for i, town in enumerate(TOWNS)]
        for a in wire:
            site.publish("herald", a)
        bot = Newsbot(settings)
        from bot.feeds import Feeds

        feeds = Feeds(bot)
        feeds.add(site.url("/herald/rss.xml"))
        feeds.add(site.url("/courier/atom.xml"))
        feeds.close()
        bot.close()
        herald_pages = {a.path for a in wire}
        question = f"How many books does the new library in {TOWNS[7]} hold?"

        killed = 0
        for delay in (0.3, 2.0, 3.0):  # model loading, then embedding and commits
            site.clear_requests()
            proc = update_process(data)
            if kill_after_pages(site, proc, herald_pages, delay):
                killed += 1
            state = check_consistent(settings, question)
            feed_list_is_truthful(data, state["docs"])
        assert killed >= 2, "the updates finished before they could be killed"

        site.clear_requests()
        proc = update_process(data)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
        json.loads(out)
        state = check_consistent(settings, question)
        want = {site.url(a.path) for a in wire} | {
            site.url(p) for p in ("/herald/2025/05/harbour-bridge-reopens.html",
                                  "/herald/2025/05/lake-orvid-record-low.html",
                                  "/herald/2025/05/tram-line-airport.html",
                                  "/courier/2025/05/farmers-drought-losses.html",
                                  "/courier/2025/05/valley-school-solar.html")}
        assert state["docs"] == want
        feed_list_is_truthful(data, state["docs"])

        # Done: the next update is one conditional request per feed, answered 304.
        site.clear_requests()
        proc = update_process(data)
        out, _ = proc.communicate(timeout=120)
        assert [f["status"] for f in json.loads(out)["feeds"]] == ["not modified", "not modified"]
        assert sorted((r.path, r.status) for r in site.requests) == [
            ("/courier/atom.xml", 304), ("/herald/rss.xml", 304)]

        bot = Newsbot(settings)
        ans = bot.answerer.answer(question).to_json()
        assert any(c["source"] == site.url(wire[7].path) for c in ans["citations"])  # type: ignore[union-attr]
        bot.close()
