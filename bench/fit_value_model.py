"""Fit the answer-value scorer's weights (`VALUE_WEIGHTS` in bot/claims.py) on bench dev's
tuning half.

    NEWSBOT_DATA_DIR=/tmp/bench-idx python bench/fit_value_model.py

For each factoid dev question (bot/answer_types.py), the candidate values `bot.claims.values`
pools from the best sentences are labelled by whether they are the gold answer (the gold
answer inside the value, or the value a word-bounded part of the gold answer holding at least
half its words). A listwise softmax model is fitted on the weeks of even rank and reported on
both halves: the share of questions whose top value is right. Prints the weights.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import numpy as np

from bot.claims import VALUE_WEIGHTS, values
from fit_sentence_model import cached_features, listwise  # the same listwise loss (bench/ is on sys.path)
from bot.evaluation.realtimeqa import contains, half, normalise
from bot.evidence import gather
from bot.service import Newsbot
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
NAMES = list(VALUE_WEIGHTS)


def right(value: str, gold: str) -> bool:
    if contains(value, gold):
        return True
    return contains(gold, value) and len(normalise(value).split()) * 2 >= len(normalise(gold).split())


def collect(rows: list[dict], weeks: list[str]) -> list[dict]:
    bot = Newsbot(Settings())
    out = []
    for q in rows:
        ev = gather(bot.searcher, q["question"], as_of=date.fromisoformat(q["question_date"]))
        vals = values(ev) if ev.factoid else []
        out.append({"id": q["id"], "half": half(q["week"], weeks),
                    "X": [[v.features.get(k, 0.0) for k in NAMES] for v in vals],
                    "y": [int(right(v.text, q["answer"])) for v in vals]})
    return out


def collect_seed(path: Path, data_dir: Path) -> list[dict]:
    """The seed questions' values on the sample index: odd-numbered questions tune, even
    ones are held out; right = the value holds one string of every `must_include` group."""
    bot = Newsbot(Settings(data_dir=data_dir))
    out = []
    for q in (json.loads(x) for x in path.read_text().splitlines() if x.strip()):
        if q["type"] == "unanswerable":
            continue
        ev = gather(bot.searcher, q["question"])
        vals = values(ev) if ev.factoid else []
        ok = [int(all(any(m.lower() in v.text.lower() for m in g) for g in q["must_include"]))
              for v in vals]
        num = int("".join(c for c in q["id"] if c.isdigit()) or 0)
        out.append({"id": q["id"], "half": "seed_tune" if num % 2 else "seed_heldout",
                    "X": [[v.features.get(k, 0.0) for k in NAMES] for v in vals], "y": ok})
    return out


def fit(data: list[dict], l2: float, steps: int = 1500, lr: float = 0.3) -> np.ndarray:
    lists = [(np.asarray(d["X"], float), np.asarray(d["y"], float)) for d in data if any(d["y"])]
    return listwise(lists, len(NAMES), l2, steps, lr)


def top1(data: list[dict], w: np.ndarray) -> tuple[float, float]:
    n = len(data) or 1
    hit = sum(int(d["y"][int(np.argmax(np.asarray(d["X"]) @ w))]) for d in data if d["X"])
    pool = sum(int(any(d["y"])) for d in data)
    return round(hit / n, 3), round(pool / n, 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=Path,
                    default=ROOT.parent / "shared" / "bench" / "questions_dev.jsonl")
    ap.add_argument("--features", type=Path, default=None)
    ap.add_argument("--l2", type=float, default=1e-2)
    ap.add_argument("--seed", type=Path, default=ROOT.parent / "shared" / "eval" / "seed_dev.jsonl")
    ap.add_argument("--sample-index", type=Path, default=None,
                    help="the sample articles' index: also fit on the seed questions' odd half")
    args = ap.parse_args()
    data = cached_features(args.questions, args.features, collect)
    if args.sample_index:
        data += collect_seed(args.seed, args.sample_index)
    parts = {h: [d for d in data if d["half"] == h]
             for h in ("tune", "heldout", "seed_tune", "seed_heldout")}
    cur = np.asarray([VALUE_WEIGHTS[k] for k in NAMES], float)
    print("current weights, top1/pool:", {h: top1(p, cur) for h, p in parts.items() if p})
    w = fit(parts["tune"] + parts["seed_tune"], args.l2)
    print("fitted weights,  top1/pool:", {h: top1(p, w) for h, p in parts.items() if p})
    print(json.dumps({k: round(float(v), 3) for k, v in zip(NAMES, w)}))


if __name__ == "__main__":
    main()
