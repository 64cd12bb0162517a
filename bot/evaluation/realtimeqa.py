"""Quality on the bench format, as of each question's date: article ranking and answers.

Retrieval: article-level Hits@k and MRR@10 of `Searcher.rank_articles` (which the answers use).
Strict counts only `gold_ids`; lenient also counts `also_relevant_ids`. Exact-URL and silver
labels are reported separately as well, because they measure slightly different things.
`top_holds_answer` is the share of questions whose first-ranked article (headline or text)
contains the gold answer: labelled or not, that article could answer. On the pool, most of the
articles ranked above a gold one are unlabelled reports of the same story.

Answers (`answers=True`): every question goes through `Answerer.answer`, the path of `newsbot
ask`, and is scored as `../shared/bench/README.md` ("Answer-level scoring") says: right when the
answer's text or its quotes contain the gold answer (case-insensitive, word-bounded; curly and
straight quotes and apostrophes count as the same character, and quotation marks around the
whole answer are not required). Reported: answer recall, recall when answered, refused share,
cites-a-gold-article share, quotes verified, "unambiguous" (the gold answer in, none of the
quiz's other choices in), mean claims (paragraphs of the answer that carry [n] markers), and
the same figures for the two halves of the weeks (even-ranked weeks: "tune", odd: "heldout"),
so that a change tuned on one half can be checked on the other.
"""

from __future__ import annotations

import re
import statistics
import time
import unicodedata
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


_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "`": "'", "´": "'",
                         "\u00a0": " "})
_MARKER = re.compile(r"\[\d+\]")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    return re.sub(r"\s+", " ", text)


def contains(haystack: str, needle: str) -> bool:
    """Is `needle` in `haystack`, case-insensitive and word-bounded (both normalised)?"""
    n = normalise(needle).strip()
    if len(n) >= 2 and n[0] == n[-1] == '"':
        n = n[1:-1].strip()
    if not n:
        return False
    pat = (r"(?<!\w)" if n[0].isalnum() else "") + re.escape(n) + (r"(?!\w)" if n[-1].isalnum() else "")
    return re.search(pat, normalise(haystack)) is not None


def half(week: str | None, weeks: list[str]) -> str:
    """The tuning or held-out half a question's week belongs to."""
    if week is None or week not in weeks:
        return "tune"
    return "tune" if weeks.index(week) % 2 == 0 else "heldout"


def judge_answer(q: dict[str, Any], ans: Any, text_of: Any) -> dict[str, Any]:
    """One bench question's answer-level verdict."""
    whole = ans.text + "\n" + "\n".join(c.quote for c in ans.citations)
    gold = q.get("answer") or ""
    others = [c for c in (q.get("choices") or []) if normalise(c) != normalise(gold)]
    right = not ans.refused and contains(whole, gold)
    gold_ids = set(q.get("gold_ids") or [])
    claims = sum(1 for para in ans.text.split("\n\n") if _MARKER.search(para))
    return {
        "right": right,
        "refused": ans.refused,
        "cites_gold": any(c.source in gold_ids for c in ans.citations),
        "quotes_verified": all(text_of(c.source)[c.start : c.end] == c.quote for c in ans.citations),
        "unambiguous": right and not any(contains(whole, o) for o in others),
        "claims": claims,
        "citations": len(ans.citations),
    }


def answer_metrics(verdicts: list[dict[str, Any]]) -> dict[str, float]:
    n = len(verdicts) or 1
    answered = [v for v in verdicts if not v["refused"]]
    return {
        "n": len(verdicts),
        "answer_recall": round(sum(v["right"] for v in verdicts) / n, 4),
        "recall_when_answered": round(sum(v["right"] for v in answered) / (len(answered) or 1), 4),
        "refused": round(sum(v["refused"] for v in verdicts) / n, 4),
        "cites_gold": round(sum(v["cites_gold"] for v in verdicts) / n, 4),
        "quotes_verified": round(sum(v["quotes_verified"] for v in verdicts) / n, 4),
        "unambiguous": round(sum(v["unambiguous"] for v in verdicts) / n, 4),
        "mean_claims": round(sum(v["claims"] for v in answered) / (len(answered) or 1), 3),
        "max_claims": max((v["claims"] for v in verdicts), default=0),
        "mean_citations": round(sum(v["citations"] for v in answered) / (len(answered) or 1), 3),
    }


def eval_answers(bot: Newsbot, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Answer every bench question through `Answerer.answer` and score the answers."""
    answerer = bot.answerer
    snap = answerer.searcher.snapshot()
    answerer.answer("warm up", as_of=None)
    weeks = sorted({q["week"] for q in rows if q.get("week")})
    per_q, lat = [], []
    for q in rows:
        as_of = date.fromisoformat(q["question_date"]) if q.get("question_date") else None
        t0 = time.perf_counter()
        ans = answerer.answer(q["question"], as_of=as_of)
        lat.append((time.perf_counter() - t0) * 1000)
        v = judge_answer(q, ans, snap.text)
        v.update(id=q.get("id"), half=half(q.get("week"), weeks), answer=q.get("answer"),
                 text=ans.text)
        per_q.append(v)
    summary: dict[str, Any] = {"all": answer_metrics(per_q)}
    for h in ("tune", "heldout"):
        summary[h] = answer_metrics([v for v in per_q if v["half"] == h])
    summary["latency_ms_p50"] = round(statistics.median(lat), 2) if lat else None
    summary["latency_ms_p95"] = round(percentile(lat, 95), 2)
    return {"summary": summary, "questions": per_q}


def article_text(searcher: Any, source: str) -> str:
    """An article's headline and text, as the gold answer is looked for in it."""
    snap = searcher.snapshot()
    doc = snap.document(source)
    return ((doc.meta.title or "") if doc else "") + "\n" + snap.text(source)


def eval_bench(bot: Newsbot, rows: list[dict[str, Any]], answers: bool = True) -> dict[str, Any]:
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
            "top_holds_answer": bool(ranked and q.get("answer"))
            and contains(article_text(searcher, ranked[0]), q["answer"]),
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
    summary["top_holds_answer"] = round(
        sum(v["top_holds_answer"] for v in per_q) / (len(per_q) or 1), 4)
    summary["latency_ms_p50"] = round(statistics.median(lat), 2) if lat else None
    summary["latency_ms_p95"] = round(percentile(lat, 95), 2)
    result: dict[str, Any] = {"format": "bench", "summary": summary, "questions": per_q}
    if answers:
        got = eval_answers(bot, rows)
        summary["answers"] = got["summary"]
        for v, a in zip(per_q, got["questions"]):
            v["answer"] = {k: a[k] for k in ("right", "refused", "cites_gold", "unambiguous",
                                              "claims", "half")}
    return result
