"""Article ranking: which articles answer a question, best first.

Candidates are the union of the top `k` articles by BM25 over whole articles (title included)
and by the title-and-lead vectors. Each candidate gets the features below, and a linear model
orders them. The weights were fitted by `bench/fit_article_model.py` on the tune half of the
bench's dev weeks (listwise softmax loss, L2 0.01) and checked on the held-out half. The
measurements are in the README ("What made the difference").

Why a model, not reciprocal-rank fusion of the two lists plus a recency prior (the previous
ranking): fusion sees only ranks. It cannot tell a clear BM25 winner from a tie, and it cannot
use the best passage's score. Adding passages as a third fused list made things worse, because
round-up articles won on one paragraph. As one weighted feature among others, the best passage
helps. Every feature is relative to the candidates or bounded, so the weights carry over from
2,000 articles to 24,000.
"""

from __future__ import annotations

import math
import re
from datetime import date

import numpy as np

from index.lexical_view import View, top
from index.types import day_number

RRF_K = 60
# Questions that ask about the present prefer articles published shortly before "as of".
RECENT = re.compile(
    r"\b(this (week|month|year|weekend)|last (week|weekend)|recent(ly)?|latest|newest|"
    r"yesterday|today|tonight|now|current(ly)?|just|new|upcoming|ongoing)\b", re.IGNORECASE)
# In a news corpus every question leans towards recent articles (as much as being first in
# one ranking, for an article published on the as-of day); "this week" questions lean harder.
RECENCY_WEAK = 1.0 / (RRF_K + 1)
RECENCY_STRONG = 1.5 / (RRF_K + 1)
RECENCY_DAYS = 7.0  # the weekly news cycle: the past week counts as "now", then it halves weekly


def recency_prior(query: str) -> float:
    return RECENCY_STRONG if RECENT.search(query) else RECENCY_WEAK


def recency_bonuses(query: str, as_of: date | None, days: np.ndarray) -> np.ndarray:
    """What the recency prior adds for articles published on `days` (-1: unknown date)."""
    days = undated_as_typical(np.asarray(days, dtype=np.int64))
    if as_of is None:
        return np.zeros(len(days))
    out = recency_prior(query) * recency(day_number(as_of.isoformat()) - days)
    out[days < 0] = 0.0
    return out


def undated_as_typical(days: np.ndarray) -> np.ndarray:
    """The days of the candidates, an undated one (-1) taking the median day of the dated ones.

    An undated article is neither fresh nor stale among its rivals. Counting it as a fixed age
    before the as-of date (it was four weeks) made it the freshest of all when the question came
    long after the dated articles, and the stalest when it came soon after: on the sample
    articles (one of five dated) the seed dev set scored 31/34 answered well as of no date,
    27/34 as of 2026-12-02 and 19/34 as of 2025-03-14, the day after the dated one."""
    dated = days[days >= 0]
    if not len(dated) or len(dated) == len(days):
        return days
    return np.where(days >= 0, days, int(np.median(dated)))


def recency(age_days: np.ndarray) -> np.ndarray:
    """1 for the past week, then halving every week; 0 for the future (not evidence).

    Flat within the week on purpose: between two articles from this week, relevance decides,
    not which of them is a day younger (measured: a prior that decays from day 0 ranked a
    day-newer off-topic article first).
    """
    age = np.asarray(age_days, dtype=np.float64)
    weight = np.exp(-np.maximum(0.0, age - RECENCY_DAYS) * np.log(2) / RECENCY_DAYS)
    return np.where(age < 0, 0.0, weight)


# When no candidate is dated, an article counts as four weeks old (`undated_as_typical` gives
# an undated one its dated rivals' median day otherwise).
UNDATED_AGE = 28

FEATURES = (
    "bm25_rel",  # BM25 of the whole article / the best candidate's
    "bm25_rank",  # (RRF_K + 1) / (RRF_K + rank + 1) in the BM25 list (rank k when absent)
    "lead_cos",  # cosine of the title-and-lead vector with the question's
    "lead_rank",  # as bm25_rank, in the lead-vector list
    "recency",  # 1 for the past week, then halving weekly (`recency`)
    "recency_strong",  # the same, for questions that say "this week", "recently"…
    "title_cov",  # share of the question's idf mass whose terms are in the title
    "body_cov",  # share of the question's idf mass whose terms are anywhere in the article
    "chunk_rel",  # the article's best chunk by BM25 / the best chunk of the whole index
    "age_log",  # log(1 + days between publication and the as-of date)
    "chunks_log",  # log(1 + the article's chunks): its length
)
# Fitted on the bench's tune weeks (113 questions, strict gold labels). Measured on bench dev,
# strict Hits@1 / MRR@10: the previous fusion scored 0.735 / 0.834 on tune and 0.760 / 0.854 on
# held-out; this model scores 0.779 / 0.870 on tune and 0.792 / 0.879 on held-out.
WEIGHTS = np.array([1.67, 1.02, 1.33, 1.30, 0.80, 0.33, -0.46, 0.37, 2.07, -1.24, 0.55])


def _coverage(ids: np.ndarray, owner: np.ndarray, n: int, qterms: np.ndarray,
              idf: np.ndarray) -> np.ndarray:
    """For each of `n` owners, the idf mass of the distinct query terms found in its ids."""
    out = np.zeros(n)
    if not len(qterms) or not len(ids):
        return out
    hit = np.isin(ids, qterms)
    if not hit.any():
        return out
    width = int(qterms.max()) + 1
    pairs = np.unique(owner[hit].astype(np.int64) * width + ids[hit])
    who, term = pairs // width, pairs % width
    np.add.at(out, who, idf[np.searchsorted(qterms, term)])
    return out


def features(view: View, rows: list[int], qids: np.ndarray, bm25: np.ndarray,
             bm25_rank: dict[int, int], leads: np.ndarray | None, lead_rank: dict[int, int],
             chunk_scores: np.ndarray, max_day: int | None, strong: bool, k: int) -> np.ndarray:
    """The FEATURES of each candidate row, one row each (see the module docstring)."""
    n = len(rows)
    arr = np.asarray(rows, dtype=np.int64)
    X = np.zeros((n, len(FEATURES)))
    b = bm25[arr].astype(np.float64)
    X[:, 0] = b / (b.max() or 1.0)
    X[:, 1] = [(RRF_K + 1) / (RRF_K + bm25_rank.get(r, k) + 1) for r in rows]
    if leads is not None:
        X[:, 2] = leads[arr]
    X[:, 3] = [(RRF_K + 1) / (RRF_K + lead_rank.get(r, k) + 1) for r in rows]
    days = undated_as_typical(view.doc_day[arr])
    if max_day is not None:
        age = np.where(days >= 0, max_day - days, UNDATED_AGE)
        rec = np.where(days >= 0, recency(age), 0.0)
        X[:, 4] = rec
        X[:, 5] = rec if strong else 0.0
        X[:, 9] = np.log1p(np.maximum(age, 0))
    qterms = np.unique(qids)
    idf = view.base.chunk_stats.idf(qterms) if len(qterms) else np.zeros(0)
    mass = float(idf.sum()) or 1.0
    title_ids, title_own, body_ids, body_own = [], [], [], []
    spans = []
    for i, r in enumerate(rows):
        t, local = view.table_of_row(r)
        tid = t.title(local)
        title_ids.append(tid)
        title_own.append(np.full(len(tid), i))
        c0, c1 = t.chunk_range(local)
        bp = t.a["body_ptr"]
        bid = t.a["body_ids"][int(bp[c0]) : int(bp[c1])]
        body_ids.append(bid)
        body_own.append(np.full(len(bid), i))
        spans.append(view.chunk_range(r))
    tids, bids = np.concatenate(title_ids), np.concatenate(body_ids)
    X[:, 6] = _coverage(tids, np.concatenate(title_own), n, qterms, idf) / mass
    X[:, 7] = _coverage(bids, np.concatenate(body_own), n, qterms, idf) / mass
    best = float(chunk_scores.max()) if len(chunk_scores) else 0.0
    X[:, 8] = [float(chunk_scores[a:z].max()) / best if z > a and best > 0 else 0.0
               for a, z in spans]
    X[:, 10] = [math.log1p(z - a) for a, z in spans]
    return X


def candidates(view: View, qids: np.ndarray, bm25: np.ndarray, leads: np.ndarray | None,
               lead_rows: list[int] | None, chunk_scores: np.ndarray, max_day: int | None,
               strong: bool, k: int) -> tuple[list[int], np.ndarray]:
    """The candidate rows and their features (what `rank` scores and the fitting script fits).

    `leads` are the lead-vector cosines of every row (None when the encoder's vectors are not
    kept in the lexical index: then `lead_rows`, the store's own nearest rows, give the ranks).
    """
    if leads is not None:
        lead_rows = [r for r, _ in top(leads, k, floor=-1.5)]
    lead_rows = lead_rows or []
    bm25_rows = [r for r, _ in top(bm25, k)]
    rows = list(dict.fromkeys(bm25_rows + lead_rows))
    if not rows:
        return [], np.zeros((0, len(FEATURES)))
    return rows, features(view, rows, qids, bm25, {r: i for i, r in enumerate(bm25_rows)},
                          leads, {r: i for i, r in enumerate(lead_rows)}, chunk_scores, max_day,
                          strong, k)


def rank(rows: list[int], X: np.ndarray) -> list[tuple[int, float]]:
    """Candidate rows with their model scores, best first (ties keep BM25's order, then the
    leads')."""
    scores = X @ WEIGHTS
    order = np.argsort(-scores, kind="stable")
    return [(rows[i], float(scores[i])) for i in order]
