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


def test_make_bench_says_whether_each_answer_target_is_met(capsys) -> None:  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import run_bench

    def answers(recall: float) -> dict:  # type: ignore[type-arg]
        row = {"answer_recall": recall, "refused": 0.0, "cites_gold": 0.9, "unambiguous": 0.7,
               "quotes_verified": 1.0, "mean_claims": 2.8, "max_claims": 3}
        return {"all": row, "tune": row, "heldout": row, "latency_ms_p50": 80, "latency_ms_p95": 200}

    def result(recall: float) -> dict:  # type: ignore[type-arg]
        return {"corpus": "bench", "index": {"seconds": 70, "peak_rss_mb": 800},
                "cold_ask_s": {"median": 1.5}, "warm_search_ms": {"p50": 15, "p95": 22},
                "warm_ask_ms": {"p50": 60, "p95": 160, "rss_mb": 430},
                "reindex_one_changed": {"seconds": 2.1}, "cold_ask_sample_s": {"median": 1.5},
                "eval": {"strict": {"hits@1": 0.78, "mrr@10": 0.87}, "answers": answers(recall)},
                "load_before": "0", "load_after": "0"}

    run_bench.table(result(0.74), 0)
    recall_row = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("| answer recall"))
    assert recall_row.endswith("| NO |"), recall_row
    run_bench.table(result(0.76), 0)
    recall_row = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("| answer recall"))
    assert recall_row.endswith("| yes |"), recall_row
