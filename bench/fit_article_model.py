"""Fit the article ranking's weights (index/article_ranking.py: FEATURES, WEIGHTS).

    python bench/fit_article_model.py --data-dir <bench index> [--questions ...] [--l2 0.01]
        [--check <pool index> --check-questions ../shared/bench/pool_questions_dev.jsonl]

Features come from the searcher itself (`Searcher.article_features`), so the fit sees exactly
what ranking sees. The weights are fitted on the tune half of the dev weeks (strict gold labels,
listwise softmax loss), then both halves are scored with them and with the weights in force.
`--check` scores another index (the pool) with the fitted weights, without fitting on it.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import numpy as np

from bot.evaluation.realtimeqa import half
from bot.service import Newsbot
from bot.settings import Settings
from fit_sentence_model import listwise  # the same loss (bench/ is on sys.path)
from index.article_ranking import FEATURES, WEIGHTS

ROOT = Path(__file__).resolve().parent.parent


def collect(data_dir: Path, questions: Path) -> list[dict]:
    bot = Newsbot(Settings(data_dir=data_dir), lock="shared", purpose="fit_article_model")
    out = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        sources, X = bot.searcher.article_features(q["question"],
                                                   date.fromisoformat(q["question_date"]))
        gold = set(q["gold_ids"])
        out.append({"week": q["week"], "X": X,
                    "y": np.array([1.0 if s in gold else 0.0 for s in sources])})
    return out


def score(rows: list[dict], w: np.ndarray) -> tuple[float, float]:
    """Strict Hits@1 and MRR@10 of ranking each question's candidates by X @ w."""
    h1, mrr = [], []
    for r in rows:
        if not len(r["y"]):
            h1.append(0.0)
            mrr.append(0.0)
            continue
        order = np.argsort(-(r["X"] @ w), kind="stable")[:10]
        hit = [i for i, j in enumerate(order) if r["y"][j] > 0]
        h1.append(1.0 if hit and hit[0] == 0 else 0.0)
        mrr.append(1.0 / (hit[0] + 1) if hit else 0.0)
    return round(float(np.mean(h1)), 4), round(float(np.mean(mrr)), 4)


def report(name: str, rows: list[dict], fitted: np.ndarray) -> None:
    weeks = sorted({r["week"] for r in rows})
    for part in ("tune", "heldout"):
        sub = [r for r in rows if half(r["week"], weeks) == part]
        print(f"{name} {part} ({len(sub)}): in force {score(sub, WEIGHTS)}, "
              f"fitted {score(sub, fitted)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--questions", type=Path,
                    default=ROOT.parent / "shared" / "bench" / "questions_dev.jsonl")
    ap.add_argument("--l2", type=float, default=0.01)
    ap.add_argument("--check", type=Path, help="another index to score (not fitted on)")
    ap.add_argument("--check-questions", type=Path)
    args = ap.parse_args()
    rows = collect(args.data_dir, args.questions)
    weeks = sorted({r["week"] for r in rows})
    tune = [(r["X"], r["y"]) for r in rows
            if half(r["week"], weeks) == "tune" and r["y"].sum() > 0]
    w = listwise(tune, len(FEATURES), args.l2, 2000, 0.5)
    print("fitted:", json.dumps(dict(zip(FEATURES, np.round(w, 2).tolist()))))
    print("WEIGHTS = np.array([" + ", ".join(f"{x:.2f}" for x in w) + "])")
    report("bench", rows, w)
    if args.check:
        report("check", collect(args.check, args.check_questions or args.questions), w)


if __name__ == "__main__":
    main()
