"""`newsbot eval`: answer quality on the seed format, retrieval quality on the bench format.

Seed format (`gold_sources`, `must_include`): each question is answered and judged the way
`../shared/README.md` defines "answered well". Bench format (`gold_ids`): articles are ranked
for each question as of its `question_date`, and Hits@k / MRR@10 are reported.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.answer import Answer
from bot.settings import Settings


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    xs = sorted(values)
    k = max(0, min(len(xs) - 1, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def load_questions(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
    return rows[:limit] if limit else rows


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
        "latency_ms_p95": round(_percentile(lat, 95), 2),
    }


def answer_all(
    bot: Any, rows: list[dict[str, Any]], annotate: Callable[[dict[str, Any], Answer], None] | None = None
) -> list[dict[str, Any]]:
    """Answer every seed question with `bot` (a Newsbot) and judge it; `annotate` may add fields."""
    answerer = bot.answerer
    texts = {s: d.text or "" for s, d in bot.store.documents(with_text=True).items()}
    verdicts = []
    for q in rows:
        t0 = time.perf_counter()
        ans = answerer.answer(q["question"])
        v = judge_seed(q, ans, texts)
        v["ms"] = round((time.perf_counter() - t0) * 1000, 2)
        if annotate:
            annotate(v, ans)
        verdicts.append(v)
    return verdicts


def eval_seed(settings: Settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    from bot.service import Newsbot

    bot = Newsbot(settings)
    bot.answerer.answer("warm up", as_of=None)
    verdicts = answer_all(bot, rows)
    return {"format": "seed", "summary": summarise_seed(verdicts), "questions": verdicts}


def run_eval(settings: Settings, path: Path, *, as_json: bool = False, limit: int | None = None) -> int:
    rows = load_questions(path, limit)
    if not rows:
        print(f"newsbot: {path} holds no questions", file=sys.stderr)
        return 1
    if "gold_ids" in rows[0]:
        from bot.benchmark import eval_bench

        result = eval_bench(settings, rows)
    else:
        result = eval_seed(settings, rows)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    if result["format"] == "seed":
        for v in result["questions"]:
            mark = "ok  " if v["good"] else "FAIL"
            extra = "" if v["good"] else f"  missing={v['missing']} cited={v['cited']} refused={v['refused']}"
            print(f"{mark} {v['id']:<6} {v['question'][:70]}{extra}")
    print(json.dumps(result["summary"], indent=2))
    return 0


