"""Retrieval quality on the bench format: article-level Hits@k and MRR@10, as of each question.

Strict counts only `gold_ids`; lenient also counts `also_relevant_ids`. Exact-URL and silver
labels are reported separately as well, because they measure slightly different things.
"""

from __future__ import annotations

import statistics
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.evaluation.stats import percentile

if TYPE_CHECKING:
    from bot.service import Newsbot

KS = (1, 5, 10)


def metrics(ranks: list[int | None]) -> dict[str, float]:
    """ranks: 1-based rank of the first relevant article, None when not in the top 10."""
    n = len(ranks) or 1
    out = {f"hits@{k}": round(sum(1 for r in ranks if r is not None and r <= k) / n, 4) for k in KS}
    out["mrr@10"] = round(sum(1.0 / r for r in ranks if r is not None and r <= 10) / n, 4)
    out["n"] = len(ranks)
    return out


def first_rank(ranked: list[str], relevant: set[str]) -> int | None:
    for i, src in enumerate(ranked[:10], 1):
        if src in relevant:
            return i
    return None


def eval_bench(bot: Newsbot, rows: list[dict[str, Any]]) -> dict[str, Any]:
    searcher = bot.searcher
    searcher.snapshot()
    searcher.rank_articles("warm up", as_of=None)
    per_q = []
    lat = []
    for q in rows:
        as_of = date.fromisoformat(q["question_date"]) if q.get("question_date") else None
        t0 = time.perf_counter()
        ranked = [src for src, _ in searcher.rank_articles(q["question"], k=10, as_of=as_of)]
        lat.append((time.perf_counter() - t0) * 1000)
        gold = set(q.get("gold_ids") or [])
        lenient = gold | set(q.get("also_relevant_ids") or [])
        per_q.append({
            "id": q.get("id"),
            "label_type": q.get("label_type"),
            "strict_rank": first_rank(ranked, gold),
            "lenient_rank": first_rank(ranked, lenient),
            "top": ranked[:3],
        })
    summary: dict[str, Any] = {
        "strict": metrics([v["strict_rank"] for v in per_q]),
        "lenient": metrics([v["lenient_rank"] for v in per_q]),
    }
    for label in sorted({v["label_type"] for v in per_q if v["label_type"]}):
        sub = [v for v in per_q if v["label_type"] == label]
        summary[f"strict_{label}"] = metrics([v["strict_rank"] for v in sub])
        summary[f"lenient_{label}"] = metrics([v["lenient_rank"] for v in sub])
    summary["latency_ms_p50"] = round(statistics.median(lat), 2) if lat else None
    summary["latency_ms_p95"] = round(percentile(lat, 95), 2)
    return {"format": "bench", "summary": summary, "questions": per_q}
