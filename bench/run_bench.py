"""Reproduce newsbot's figures on the RealTime QA bench (../shared/bench) in one run.

    python bench/run_bench.py [--shared ../shared] [--out bench/results/latest.json]

Builds the bench index from scratch in a temporary folder (timed, peak memory of the indexing
process), re-indexes it unchanged (must embed nothing), scores article retrieval on the dev
questions as of each question's date, times warm `search` and extractive `ask` through the
CLI's stdin mode, and times a cold `newsbot ask` on the sample index. The bench articles are
read from shared/ and never copied into the project.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_ENV = {"NEWSBOT_SENTENCE_VECTORS": "false", "NEWSBOT_DENSE_CHUNKS": "0"}


def newsbot(data: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            ) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """Run the CLI; return the result, wall seconds, and the child's peak RSS in MB."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    full_env.update(env or {})
    full_env["NEWSBOT_DATA_DIR"] = str(data)
    cmd = [sys.executable, "-m", "bot.cli", *args]
    t0 = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=full_env, cwd=ROOT)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return out, seconds, max(peak, before) // 1024


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[max(0, min(len(xs) - 1, round(p / 100 * (len(xs) - 1))))], 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = ap.parse_args()
    corpus = args.shared / "bench" / "corpus.jsonl"
    questions = args.shared / "bench" / "questions_dev.jsonl"
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as tmp:
        data = Path(tmp) / "bench-index"
        out, secs, peak = newsbot(data, "index", "--json", str(corpus), env=BENCH_ENV)
        rep = json.loads(out.stdout)
        result["index"] = {"seconds": round(secs, 1), "peak_rss_mb": peak,
                           "documents": len(rep["added"]), "chunks": rep["chunks_written"],
                           "failed": len(rep["failed"])}
        print(f"index from scratch: {secs:.1f} s, peak RSS {peak} MB, {len(rep['added'])} documents")

        out, secs, _ = newsbot(data, "index", "--json", str(corpus), env=BENCH_ENV)
        rep = json.loads(out.stdout)
        result["reindex_unchanged"] = {"seconds": round(secs, 1), "unchanged": len(rep["unchanged"]),
                                       "chunks_written": rep["chunks_written"]}
        print(f"re-index unchanged: {secs:.1f} s, {rep['chunks_written']} chunks written")

        out, secs, peak = newsbot(data, "eval", "--json", str(questions), env=BENCH_ENV)
        ev = json.loads(out.stdout)
        result["eval"] = ev["summary"]
        result["eval_peak_rss_mb"] = peak
        s = ev["summary"]["strict"]
        print(f"dev strict: Hits@1 {s['hits@1']} Hits@5 {s['hits@5']} Hits@10 {s['hits@10']} MRR@10 {s['mrr@10']}")

        rows = [json.loads(x) for x in questions.read_text().splitlines() if x.strip()]
        lines = "".join(json.dumps({"question": r["question"], "as_of": r["question_date"]}) + "\n"
                        for r in rows)
        for cmd in ("search", "ask"):
            out, _, _ = newsbot(data, cmd, "-", stdin=lines, env=BENCH_ENV)
            got = [json.loads(x) for x in out.stdout.splitlines()]
            key = "search" if cmd == "search" else None
            ms = [g["timings_ms"][key] if key else sum(g["timings_ms"].values()) for g in got]
            ms = ms[1:]  # the first question pays for loading the snapshot
            result[f"warm_{cmd}_ms"] = {"p50": pct(ms, 50), "p95": pct(ms, 95),
                                        "mean": round(statistics.mean(ms), 2)}
            print(f"warm {cmd}: p50 {pct(ms, 50)} ms, p95 {pct(ms, 95)} ms")

    with tempfile.TemporaryDirectory(prefix="newsbot-sample-") as tmp:
        data = Path(tmp) / "sample-index"
        newsbot(data, "index", str(ROOT / "sample_articles"))
        colds = []
        for _ in range(3):
            _, secs, _ = newsbot(data, "ask", "What did Yuri Ushakov say the ceasefire would give Ukraine?")
            colds.append(secs)
        result["cold_ask_sample_s"] = {"min": round(min(colds), 2), "median": round(statistics.median(colds), 2)}
        print(f"cold ask on the sample index: median {statistics.median(colds):.2f} s")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
