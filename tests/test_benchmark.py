"""`newsbot eval` on the bench format, on a tiny corpus in the bench's own shape."""

from __future__ import annotations

import json
from pathlib import Path

from bot.evaluation.realtimeqa import eval_bench, first_rank, metrics
from bot.service import Newsbot

from conftest import make_settings


def test_metrics() -> None:
    m = metrics([1, 3, None, 11])
    assert m["hits@1"] == 0.25 and m["hits@5"] == 0.5 and m["hits@10"] == 0.5
    assert m["mrr@10"] == round((1 + 1 / 3) / 4, 4) and m["n"] == 4
    assert first_rank(["a", "b", "c"], {"c"}) == 3 and first_rank(["a"], {"z"}) is None


def test_bench_format_end_to_end(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {"id": "g1", "title": "Zorbland lighthouse reopens", "source": "cnn.com", "published_at": "2024-03-08",
         "text": "The Zorbland lighthouse reopened on Monday after storm repairs."},
        {"id": "d1", "title": "Zorbland bakery wins prize", "source": "cnn.com", "published_at": "2024-03-07",
         "text": "A Zorbland bakery won a national bread prize."},
        {"id": "late", "title": "Zorbland lighthouse closes again", "source": "cnn.com", "published_at": "2024-04-01",
         "text": "The Zorbland lighthouse closed again after new storm damage."},
    ]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    settings = make_settings(tmp_path / "data")
    Newsbot(settings).index([corpus])
    questions = [
        {"id": "q1", "question": "Which landmark in Zorbland reopened this week?", "gold_ids": ["g1"],
         "also_relevant_ids": [], "label_type": "exact_url", "question_date": "2024-03-10",
         "answer": "lighthouse"},
        {"id": "q2", "question": "What did a Zorbland bakery win?", "gold_ids": ["d1"],
         "also_relevant_ids": ["g1"], "label_type": "silver_evidence_match", "question_date": "2024-03-10",
         "answer": "a violin"},
    ]
    result = eval_bench(Newsbot(settings), questions)
    s = result["summary"]
    assert s["strict"]["hits@1"] == 1.0 and s["strict"]["n"] == 2, result["questions"]
    assert s["strict_exact_url"]["n"] == 1 and s["lenient_silver_evidence_match"]["n"] == 1
    assert all("late" not in q["top"] for q in result["questions"])  # after question_date
    assert s["latency_ms_p50"] is not None
    # The first article holds the answer for q1 (in its headline), for q2 it holds no violin.
    assert [q["top_holds_answer"] for q in result["questions"]] == [True, False]
    assert s["top_holds_answer"] == 0.5
