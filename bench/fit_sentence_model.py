"""Fit the sentence scorer's weights (bot/sentence_model.py) on the tuning half of bench dev.

    NEWSBOT_DATA_DIR=/tmp/bench-idx python bench/fit_sentence_model.py [--features F.jsonl]

For each dev question, every candidate sentence `bot.evidence.candidates` finds (as of the
question's date) is labelled by whether it holds the gold answer. A logistic regression (L2,
plain gradient descent) is fitted on the weeks of even rank ("tune") and reported on both
halves: the share of questions whose top-scored sentence holds the answer, and whose top three
do. The dense feature is left out of the fit (the bench index stores no sentence vectors: only
the best few sentences get one, on demand); the best DENSE_COLLECT sentences' cosines are
collected so that the rerank depth and the dense weight can be chosen on the tuning half
(printed as a grid). Prints the weights to paste into bot/sentence_model.py. The bench articles are
read from the index only.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import json
from datetime import date
from pathlib import Path

import numpy as np

from bot.evaluation.realtimeqa import contains, half
from bot.evidence import candidates
from bot.sentence_model import DENSE_WEIGHT, FEATURES, SENTENCE_WEIGHTS
from bot.service import Newsbot
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIT = [f for f in FEATURES if f not in ("dense", "reason")]  # set by hand (bot/sentence_model.py)


# The best this many sentences by the weights in force also get their MiniLM cosine to the
# question (embedded on demand, as `gather` does for its best RERANK): what the dense weight
# and RERANK are chosen on.
DENSE_COLLECT = 30


def collect(rows: list[dict], weeks: list[str]) -> list[dict]:
    bot = Newsbot(Settings())
    searcher = bot.searcher
    out = []
    for q in rows:
        as_of = date.fromisoformat(q["question_date"])
        ev, feats = candidates(searcher, q["question"], q["question"], as_of)
        labels = [int(contains(s.text, q["answer"])) for s in ev.sentences]
        z = [sum(SENTENCE_WEIGHTS.get(k, 0.0) * v for k, v in f.items()) for f in feats]
        best = sorted(range(len(z)), key=lambda i: -z[i])[:DENSE_COLLECT]
        keys = [(ev.sentences[i].source, ev.sentences[i].start) for i in best]
        vecs = searcher.sentence_vectors(ev.snapshot, keys) if keys else {}
        qv = searcher.query_vector(q["question"])
        dense: list[float | None] = [None] * len(z)
        for i, key in zip(best, keys):
            if key in vecs:
                dense[i] = float(qv @ vecs[key])
        out.append({"id": q["id"], "half": half(q["week"], weeks),
                    "X": [[f[k] for k in FIT] for f in feats], "y": labels, "dense": dense})
    return out


def rerank_report(data: list[dict], w: np.ndarray, k: int, weight: float) -> tuple[float, float]:
    """Top-1 and top-3 shares when the best k by `w` add `weight` x the dense feature."""
    top1 = top3 = 0
    for d in data:
        if not d["X"]:
            continue
        s = np.asarray(d["X"]) @ w
        order = np.argsort(-s, kind="stable")
        for i in order[:k]:
            cos = d["dense"][i]
            if cos is not None:
                s[i] += weight * max(0.0, cos - 0.2)  # as sentence_features' "dense"
        order = np.argsort(-s, kind="stable")
        y = np.asarray(d["y"])
        top1 += int(y[order[0]])
        top3 += int(y[order[:3]].any())
    return top1 / len(data), top3 / len(data)


def fit(data: list[dict], l2: float = 1e-2, steps: int = 1500, lr: float = 0.3) -> np.ndarray:
    """Listwise: per question, the softmax over its sentences should put its mass on the
    sentences holding the answer (questions whose pool holds none are skipped)."""
    lists = [(np.asarray(d["X"], dtype=float), np.asarray(d["y"], dtype=float))
             for d in data if d["X"] and any(d["y"])]
    return listwise(lists, len(FIT), l2, steps, lr)


def cached_features(questions: Path, cache: Path | None, collect: Callable[[list[dict], list[str]], list[dict]]) -> list[dict]:
    """The features `collect(rows, weeks)` gathers, read from `cache` when it exists."""
    if cache and cache.exists():
        return [json.loads(x) for x in cache.read_text().splitlines()]
    rows = [json.loads(x) for x in questions.read_text().splitlines() if x.strip()]
    data = collect(rows, sorted({q["week"] for q in rows}))
    if cache:
        cache.write_text("".join(json.dumps(d) + "\n" for d in data))
    return data


def listwise(lists: list[tuple[np.ndarray, np.ndarray]], dim: int, l2: float, steps: int,
             lr: float) -> np.ndarray:
    """Gradient descent on the listwise softmax loss (shared with fit_value_model.py)."""
    w = np.zeros(dim)
    for _ in range(steps):
        g = np.zeros_like(w)
        for X, y in lists:
            s = X @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            q = p * y
            q /= q.sum()
            g += X.T @ (p - q)
        w -= lr * (g / len(lists) + l2 * w)
    return w


def calibrate(data: list[dict], w: np.ndarray) -> tuple[float, float]:
    """Scale and offset that turn the ranking score into a probability (pointwise logistic
    on the tuning sentences): what the refusal threshold and value pooling read."""
    z = np.concatenate([np.asarray(d["X"], dtype=float) @ w for d in data if d["X"]])
    y = np.concatenate([np.asarray(d["y"], dtype=float) for d in data if d["X"]])
    a, b = 1.0, 0.0
    for _ in range(3000):
        p = 1 / (1 + np.exp(-(a * z + b)))
        a -= 0.5 * float(np.mean((p - y) * z))
        b -= 0.5 * float(np.mean(p - y))
    return a, b


def report(data: list[dict], w: np.ndarray, name: str) -> None:
    top1 = top3 = pool = 0
    for d in data:
        if not d["X"]:
            continue
        s = np.asarray(d["X"]) @ w
        order = np.argsort(-s)
        y = np.asarray(d["y"])
        pool += int(y.any())
        top1 += int(y[order[0]])
        top3 += int(y[order[:3]].any())
    n = len(data)
    print(f"{name}: n={n} pool {pool / n:.3f} top1 {top1 / n:.3f} top3 {top3 / n:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=Path,
                    default=ROOT.parent / "shared" / "bench" / "questions_dev.jsonl")
    ap.add_argument("--features", type=Path, default=None, help="cache of collected features")
    ap.add_argument("--l2", type=float, default=1e-2)
    args = ap.parse_args()
    data = cached_features(args.questions, args.features, collect)
    tune = [d for d in data if d["half"] == "tune"]
    w = fit(tune, args.l2)
    for name, part in (("tune", tune), ("heldout", [d for d in data if d["half"] == "heldout"])):
        report(part, w, name)
    a, b = calibrate(tune, w)
    w = w * a
    w[FIT.index("bias")] += b
    weights = {k: round(float(v), 3) for k, v in zip(FIT, w)}
    weights["dense"] = DENSE_WEIGHT
    print(json.dumps(weights))
    if all("dense" in d for d in data):
        held = [d for d in data if d["half"] == "heldout"]
        print("dense rerank (k, weight): tune top1/top3, heldout top1/top3")
        for k in (0, 5, 8, 10, 15, 20):
            for weight in ((0.0,) if k == 0 else (1.0, 2.0, 3.0, 4.0, 6.0)):
                t, h = rerank_report(tune, w, k, weight), rerank_report(held, w, k, weight)
                print(f"  {k:2d} {weight:3.1f}  {t[0]:.3f} {t[1]:.3f}  {h[0]:.3f} {h[1]:.3f}")


if __name__ == "__main__":
    main()
