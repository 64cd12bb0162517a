"""Reproduce newsbot's figures on the RealTime QA bench (../shared/bench) in one run.

    python bench/run_bench.py [--pool] [--shared ../shared] [--out bench/results/latest.json]

With no settings at all (only the data directory): builds the index from scratch in a temporary
folder (timed, peak memory of the indexing process, seconds per phase), re-indexes it unchanged
(must embed nothing), re-indexes it with one article changed, scores the dev questions through
`newsbot eval` (article retrieval as the answers use it, plus the answer-level figures the eval
reports), times warm `search` and extractive `ask` through the CLI's stdin mode (and the
resident memory of that serving process), and times a cold `newsbot ask` (process start to
answer) on the same index and on the sample index.

`--pool` does the same on the 23,757-article pool (`pool.jsonl.gz`, unpacked to a temporary
folder, never into the project) with `pool_questions_dev.jsonl`. The bench articles are read
from shared/ and never copied into the project. The machine's load average is printed with the
figures: on a shared machine they are only as good as the load allows.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLD_QUESTION = "What did the Federal Reserve announce about interest rates this week?"

# Issue 10's "Done when" for answers on the bench corpus (key, how, target).
ANSWER_TARGETS = {
    "answer_recall": ("ge", 0.75), "refused": ("le", 0.10), "cites_gold": ("ge", 0.80),
    "quotes_verified": ("ge", 1.0), "unambiguous": ("ge", 0.65), "max_claims": ("le", 3),
}
ANSWER_SPEED_TARGETS = {"warm_ask_p50_ms": 150.0, "cold_ask_sample_s": 3.0}

TARGETS = {  # the "Done when" table: (bench, pool)
    "index_s": (120, 1200), "index_peak_mb": (1024, 2048), "cold_ask_s": (2.0, 3.0),
    "search_p50_ms": (20, 30), "search_p95_ms": (40, 60), "serving_rss_mb": (600, 1536),
    "reindex_one_s": (3.0, 5.0), "hits@1": (0.75, 0.70), "mrr@10": (0.84, 0.80),
}


def run_measured(data: Path, *args: str, stdin: str | None = None,
                 ) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """`newsbot`, sampling the child's RSS from /proc every 50 ms (its true peak)."""
    import threading

    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env["NEWSBOT_DATA_DIR"] = str(data)
    cmd = [sys.executable, "-m", "bot.cli", *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin is not None else None,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        status = Path(f"/proc/{proc.pid}/status")
        while not done.is_set():
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]) // 1024)
            except OSError:
                return
            done.wait(0.05)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    out, err = proc.communicate(stdin)
    done.set()
    t.join(1)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{err[-2000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), seconds, peak[0]


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return round(xs[max(0, min(len(xs) - 1, round(p / 100 * (len(xs) - 1))))], 2)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def one_changed(corpus: Path, dst: Path) -> str:
    """A copy of the corpus (JSON lines) with one article's text changed; returns its id."""
    changed = ""
    with corpus.open("rb") as src, dst.open("wb") as out:
        for i, line in enumerate(src):
            if i == 7:
                rec = json.loads(line)
                rec["text"] = rec["text"] + "\n\nThis article was updated with one more paragraph."
                changed = rec["id"]
                line = (json.dumps(rec) + "\n").encode("utf-8")
            out.write(line)
    return changed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--pool", action="store_true", help="the 23,757-article pool")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep the index in this folder")
    args = ap.parse_args()
    col = 1 if args.pool else 0
    name = "pool" if args.pool else "bench"
    out_path = args.out or ROOT / "bench" / "results" / f"{name}.json"
    bench = args.shared / "bench"
    questions = bench / ("pool_questions_dev.jsonl" if args.pool else "questions_dev.jsonl")
    result: dict[str, object] = {"corpus": name, "load_before": load()}
    print(f"{name}: load average {load()} (1, 5, 15 min) at the start")
    tmp_root = Path(tempfile.mkdtemp(prefix=f"newsbot-{name}-"))
    try:
        if args.pool:
            corpus = tmp_root / "pool.jsonl"
            with gzip.open(bench / "pool.jsonl.gz", "rb") as src, corpus.open("wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            corpus = bench / "corpus.jsonl"
        data = args.keep or tmp_root / "index"
        if data.exists():
            shutil.rmtree(data)

        out, secs, peak = run_measured(data, "index", "--json", str(corpus))
        rep = json.loads(out.stdout)
        phases = rep.get("phases", {})
        result["index"] = {"seconds": round(secs, 1), "peak_rss_mb": peak,
                           "documents": len(rep["added"]), "failed": len(rep["failed"]),
                           "phases": phases}
        print(f"index from scratch: {secs:.1f} s, peak RSS {peak} MB, {len(rep['added'])} "
              f"documents; phases " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()))

        out, secs, _ = run_measured(data, "index", "--json", str(corpus))
        rep = json.loads(out.stdout)
        result["reindex_unchanged"] = {"seconds": round(secs, 1), "unchanged": len(rep["unchanged"]),
                                       "chunks_written": rep["chunks_written"],
                                       "phases": rep.get("phases", {})}
        print(f"re-index unchanged: {secs:.1f} s, {rep['chunks_written']} chunks written")

        modified = tmp_root / "one-changed.jsonl"
        changed = one_changed(corpus, modified)
        out, secs, _ = run_measured(data, "index", "--json", str(modified))
        rep = json.loads(out.stdout)
        assert rep["updated"] == [changed], rep["updated"]
        result["reindex_one_changed"] = {"seconds": round(secs, 1), "updated": rep["updated"],
                                         "phases": rep.get("phases", {})}
        print(f"re-index with one article changed: {secs:.1f} s (process start to exit)")

        colds = []
        for _ in range(3):
            _, secs, cold_rss = run_measured(data, "ask", COLD_QUESTION)
            colds.append(secs)
        result["cold_ask_s"] = {"min": round(min(colds), 2), "median": round(statistics.median(colds), 2),
                                "rss_mb": cold_rss}
        print(f"cold ask on this index: median {statistics.median(colds):.2f} s "
              f"(min {min(colds):.2f} s), RSS {cold_rss} MB")

        out, secs, peak = run_measured(data, "eval", "--json", str(questions))
        ev = json.loads(out.stdout)
        result["eval"] = ev["summary"]
        result["eval_seconds"] = round(secs, 1)
        s = ev["summary"]["strict"]
        print(f"dev retrieval (strict): Hits@1 {s['hits@1']} Hits@5 {s['hits@5']} "
              f"Hits@10 {s['hits@10']} MRR@10 {s['mrr@10']}")
        answer_keys = [k for k in ev["summary"] if k not in ("strict", "lenient")
                       and not k.startswith(("strict_", "lenient_", "latency"))]
        for k in answer_keys:
            print(f"  {k}: {json.dumps(ev['summary'][k])}")

        rows = [json.loads(x) for x in questions.read_text().splitlines() if x.strip()]
        lines = "".join(json.dumps({"question": r["question"], "as_of": r["question_date"]}) + "\n"
                        for r in rows)
        for cmd in ("search", "ask"):
            out, _, peak = run_measured(data, cmd, "-", stdin=lines)
            got = [json.loads(x) for x in out.stdout.splitlines()]
            ms = [g["timings_ms"]["search"] if cmd == "search" else sum(g["timings_ms"].values())
                  for g in got]
            ms = ms[1:]  # the first question pays for loading the snapshot
            result[f"warm_{cmd}_ms"] = {"p50": pct(ms, 50), "p95": pct(ms, 95),
                                        "mean": round(statistics.mean(ms), 2), "rss_mb": peak}
            print(f"warm {cmd}: p50 {pct(ms, 50)} ms, p95 {pct(ms, 95)} ms; "
                  f"serving process RSS {peak} MB")

        sample = tmp_root / "sample-index"
        run_measured(sample, "index", str(ROOT / "sample_articles"))
        colds = [run_measured(sample, "ask", "What did Yuri Ushakov say the ceasefire would give Ukraine?")[1]
                 for _ in range(3)]
        result["cold_ask_sample_s"] = {"min": round(min(colds), 2), "median": round(statistics.median(colds), 2)}
        print(f"cold ask on the sample index: median {statistics.median(colds):.2f} s")
    finally:
        if args.keep is None:
            shutil.rmtree(tmp_root, ignore_errors=True)
        else:
            for p in tmp_root.glob("*.jsonl"):
                p.unlink()

    result["load_after"] = load()
    table(result, col)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2))
    print(f"wrote {out_path}")


def table(r: dict, col: int) -> None:  # type: ignore[type-arg]
    """The issue's table for this corpus: figure, measured, target, met."""
    ev = r["eval"]["strict"]
    rows = [
        ("index from scratch", r["index"]["seconds"], "s", "index_s", "le"),
        ("peak memory while indexing", r["index"]["peak_rss_mb"], "MB", "index_peak_mb", "le"),
        ("cold `newsbot ask`", r["cold_ask_s"]["median"], "s", "cold_ask_s", "le"),
        ("warm search p50", r["warm_search_ms"]["p50"], "ms", "search_p50_ms", "le"),
        ("warm search p95", r["warm_search_ms"]["p95"], "ms", "search_p95_ms", "le"),
        ("serving process RSS (ask -)", r["warm_ask_ms"]["rss_mb"], "MB", "serving_rss_mb", "le"),
        ("re-index, one article changed", r["reindex_one_changed"]["seconds"], "s", "reindex_one_s", "le"),
        ("dev retrieval Hits@1", ev["hits@1"], "", "hits@1", "ge"),
        ("dev retrieval MRR@10", ev["mrr@10"], "", "mrr@10", "ge"),
    ]
    print()
    print(f"| figure ({r['corpus']}) | measured | target | met |")
    print("|---|---|---|---|")
    for label, value, unit, key, how in rows:
        target = TARGETS[key][col]
        ok = value <= target if how == "le" else value >= target
        print(f"| {label} | {value} {unit} | {'≤' if how == 'le' else '≥'} {target} {unit} | "
              f"{'yes' if ok else 'NO'} |")
    if "top_holds_answer" in r["eval"]:
        print(f"| dev retrieval, first article holds the gold answer | {r['eval']['top_holds_answer']} "
              "| (no target) | |")
    answers = r["eval"].get("answers") or {}
    if answers:
        print()
        bench = col == 0
        print(f"| dev answers ({r['corpus']}) | all | tune half | held-out half |"
              + (" target (all) | met |" if bench else ""))
        print("|---|---|---|---|" + ("---|---|" if bench else ""))
        for key in ("answer_recall", "refused", "cites_gold", "unambiguous", "quotes_verified",
                    "mean_claims", "max_claims"):
            line = f"| {key.replace('_', ' ')} | " + " | ".join(
                str(answers.get(h, {}).get(key, "")) for h in ("all", "tune", "heldout")) + " |"
            if bench and key in ANSWER_TARGETS:
                how, target = ANSWER_TARGETS[key]
                value = answers.get("all", {}).get(key, 0)
                ok = value >= target if how == "ge" else value <= target
                line += f" {'≥' if how == 'ge' else '≤'} {target} | {'yes' if ok else 'NO'} |"
            elif bench:
                line += " | |"
            print(line)
        print(f"| warm ask through eval, p50 / p95 ms | {answers.get('latency_ms_p50')} / "
              f"{answers.get('latency_ms_p95')} | | |" + (" | |" if bench else ""))
        if bench and "warm_ask_ms" in r and "cold_ask_sample_s" in r:
            warm, cold = r["warm_ask_ms"]["p50"], r["cold_ask_sample_s"]["median"]
            print()
            print("| answer speed (bench) | measured | target | met |")
            print("|---|---|---|---|")
            t = ANSWER_SPEED_TARGETS
            print(f"| warm extractive `ask -` p50 | {warm} ms | ≤ {t['warm_ask_p50_ms']} ms | "
                  f"{'yes' if warm <= t['warm_ask_p50_ms'] else 'NO'} |")
            print(f"| cold `newsbot ask`, sample index | {cold} s | ≤ {t['cold_ask_sample_s']} s | "
                  f"{'yes' if cold <= t['cold_ask_sample_s'] else 'NO'} |")
    print(f"load average before {r['load_before']}, after {r['load_after']}")


if __name__ == "__main__":
    main()
