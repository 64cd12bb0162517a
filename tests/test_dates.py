"""Date-aware retrieval: as-of filtering and the recency prior, on a small dated corpus."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.service import Newsbot
from index.article_ranking import recency

from conftest import make_settings

ROWS = [
    ("old", "2024-01-10", "Lighthouse keepers strike in Zorbland",
     "Lighthouse keepers in Zorbland went on strike over pay. The strike closed the harbour lighthouse."),
    ("recent", "2024-03-08", "Zorbland lighthouse keepers end strike",
     "Lighthouse keepers in Zorbland ended their strike this week after a pay deal. The harbour lighthouse reopened."),
    ("future", "2024-03-20", "Zorbland lighthouse keepers strike again",
     "Lighthouse keepers in Zorbland walked out again over pay. The harbour lighthouse is dark once more."),
    ("other", "2024-03-07", "Zorbland bakery wins prize",
     "A bakery in Zorbland won a national bread prize this week."),
]


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Newsbot:
    tmp = tmp_path_factory.mktemp("dated")
    path = tmp / "feed.jsonl"
    path.write_text("".join(json.dumps({"id": i, "published_at": d, "title": t, "source": "zorb.example",
                                        "text": x}) + "\n" for i, d, t, x in ROWS))
    bot = Newsbot(make_settings(tmp / "data"))
    assert len(bot.index([path]).added) == 4
    return bot


def test_recency_prior_is_flat_for_a_week_then_halves_weekly() -> None:
    assert recency(0) == recency(7) == 1.0 and recency(-1) == 0.0
    assert abs(recency(14) - 0.5) < 1e-9 and recency(77) < 0.001


def test_articles_after_as_of_are_not_evidence(dated: Newsbot) -> None:
    ranked = [s for s, _ in dated.searcher.rank_articles("Zorbland lighthouse keepers strike", as_of=date(2024, 3, 10))]
    assert "future" not in ranked
    ranked = [s for s, _ in dated.searcher.rank_articles("Zorbland lighthouse keepers strike", as_of=date(2024, 3, 25))]
    assert "future" in ranked


def test_this_week_prefers_the_latest_article_before_as_of(dated: Newsbot) -> None:
    ranked = dated.searcher.rank_articles(
        "What happened with the Zorbland lighthouse keepers strike this week?", as_of=date(2024, 3, 10))
    assert ranked[0][0] == "recent"
    # Asked as of January, the January article is the news.
    ranked = dated.searcher.rank_articles(
        "What happened with the Zorbland lighthouse keepers strike this week?", as_of=date(2024, 1, 12))
    assert ranked[0][0] == "old"


def test_answer_says_what_date_it_speaks_as_of(dated: Newsbot) -> None:
    ans = dated.answerer.answer("Did the Zorbland lighthouse keepers end their strike recently?", as_of=date(2024, 3, 10))
    assert not ans.refused
    assert ans.as_of and ans.as_of <= "2024-03-10"
    assert all(c.meta.published and c.meta.published <= "2024-03-10" for c in ans.citations)


def test_article_ranking_coverage_counts_each_query_term_once_per_article() -> None:
    """The title and body coverage features: the idf mass of the distinct query terms an
    article holds, however often it repeats them."""
    import numpy as np

    from index.article_ranking import _coverage

    qterms = np.array([3, 7, 9])
    idf = np.array([1.0, 2.0, 4.0])
    ids = np.array([3, 3, 3, 5, 9, 7, 1])
    owner = np.array([0, 0, 1, 1, 1, 2, 2])
    got = _coverage(ids, owner, 4, qterms, idf)
    assert got.tolist() == [1.0, 1.0 + 4.0, 2.0, 0.0]


def test_an_undated_article_is_neither_fresh_nor_stale_whenever_the_question_comes(
        tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Two reports of one story, one dated and one not: which ranks first must not flip with
    the as-of date (an undated article once counted as four weeks old before it, so it won
    whenever the question came long after the dated one, and lost whenever it came soon after)."""
    import numpy as np

    from index.article_ranking import undated_as_typical

    assert list(undated_as_typical(np.array([100, -1, 120, -1]))) == [100, 110, 120, 110]
    assert list(undated_as_typical(np.array([-1, -1]))) == [-1, -1]  # none dated: unchanged
    text = ("Lighthouse keepers in Zorbland ended their strike after a pay deal, the union said. "
            "The harbour lighthouse reopened on Friday.")
    path = tmp_path / "feed.jsonl"
    rows = [{"id": "dated", "published_at": "2024-03-08", "title": "Zorbland keepers end strike",
             "source": "zorb.example", "text": text},
            {"id": "undated", "title": "Zorbland keepers end strike", "source": "zorb.example",
             "text": text.replace("the union said", "union leaders said")}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    bot = Newsbot(make_settings(tmp_path / "data"))
    bot.index([path])
    q = "Did the Zorbland lighthouse keepers end their strike?"
    orders = {d: [s for s, _ in bot.searcher.rank_articles(q, as_of=d)]
              for d in (date(2024, 3, 9), date(2026, 12, 1))}
    assert orders[date(2024, 3, 9)] == orders[date(2026, 12, 1)], orders
