"""Answer quality on the seed format (`gold_sources`, `must_include`, `min_sources`).

Each question is answered through `Answerer.answer`, the path every user gets, as of today as
`newsbot ask`, the REPL and Telegram ask (the seed format has no question dates), and judged
the way `../shared/README.md` defines "answered well".
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.answer import Answer
from bot.evaluation.stats import percentile

if TYPE_CHECKING:
    from bot.service import Newsbot


def judge_seed(q: dict[str, Any], ans: Answer, texts: dict[str, str]) -> dict[str, Any]:
    """One question's verdict, exactly as the seed set's README defines it."""
    gold = set(q.get("gold_sources") or [])
    cited = [c.source for c in ans.citations]
    quotes_ok = all(texts.get(c.source, "")[c.start : c.end] == c.quote for c in ans.citations)
    if q.get("type") == "unanswerable":
        good = ans.refused
        missing: list[list[str]] = []
    else:
        low = ans.text.lower()
        missing = [g for g in q.get("must_include", []) if not any(s.lower() in low for s in g)]
        distinct_gold = {s for s in cited if s in gold}
        good = (
            not ans.refused
            and not missing
            and all(s in gold for s in cited)
            and len(distinct_gold) >= int(q.get("min_sources", 1))
        )
    return {
        "id": q.get("id"),
        "type": q.get("type"),
        "question": q["question"],
        "good": good,
        "refused": ans.refused,
        "missing": missing,
        "cited": sorted(set(cited)),
        "citations": len(cited),
        "citations_in_gold": sum(1 for s in cited if s in gold),
        "quotes_verified": quotes_ok,
        "mode": ans.mode,
        "ms": round(sum(ans.timings_ms.values()), 2),
    }


def summarise_seed(verdicts: list[dict[str, Any]]) -> dict[str, Any]:
    """The seed-format figures: answered well, declined, citation precision, latency."""
    answerable = [v for v in verdicts if v["type"] != "unanswerable"]
    unanswerable = [v for v in verdicts if v["type"] == "unanswerable"]
    n_cites = sum(v["citations"] for v in answerable)
    lat = [v["ms"] for v in verdicts]
    return {
        "questions": len(verdicts),
        "answered_well": sum(v["good"] for v in answerable),
        "answerable": len(answerable),
        "correctly_declined": sum(v["good"] for v in unanswerable),
        "unanswerable": len(unanswerable),
        "citation_precision": round(sum(v["citations_in_gold"] for v in answerable) / n_cites, 4)
        if n_cites else None,
        "quotes_verified": sum(v["quotes_verified"] for v in verdicts),
        "latency_ms_p50": round(statistics.median(lat), 2) if lat else None,
        "latency_ms_p95": round(percentile(lat, 95), 2),
    }


def answer_all(
    bot: Newsbot, rows: list[dict[str, Any]],
    annotate: Callable[[dict[str, Any], Answer], None] | None = None,
) -> list[dict[str, Any]]:
    """Answer every seed question with `bot` and judge it; `annotate` may add fields."""
    answerer = bot.answerer
    snap = answerer.searcher.snapshot()
    verdicts = []
    for q in rows:
        t0 = time.perf_counter()
        ans = answerer.answer(q["question"], as_of=date.today())
        texts = {c.source: snap.text(c.source) for c in ans.citations}
        v = judge_seed(q, ans, texts)
        v["ms"] = round((time.perf_counter() - t0) * 1000, 2)
        if annotate:
            annotate(v, ans)
        verdicts.append(v)
    return verdicts


def eval_seed(bot: Newsbot, rows: list[dict[str, Any]]) -> dict[str, Any]:
    bot.answerer.answer("warm up", as_of=None)
    verdicts = answer_all(bot, rows)
    return {"format": "seed", "summary": summarise_seed(verdicts), "questions": verdicts}


