"""The seed dev set in LLM mode against a real model, beside the extractive mode at the same code.

Why: the stand-in bench (seed_llm_standin.py) measures the checker against a well-behaved
script; this one measures what a person gets from a real small model, and lists every shown
claim that names a speaker next to the speaker of the passage it cites, so a misattribution can
be seen, not only counted. It starts no model: run one first, e.g. the local Qwen of
../shared/tools/local-llm/ (slow: 20-45 s an answer on 2 cores, 15-30 min for the 40 questions):

    LOCAL_LLM_DIR=/tmp/newsbot-local-llm bash ../shared/tools/local-llm/serve.sh 8011   # prints PID
    .venv/bin/python bench/seed_llm_local.py --base-url http://127.0.0.1:8011/v1 \\
        --out /tmp/seed-llm.json [--compare] [--prompts-dir DIR] [--ids d01,d02]
    kill PID
    .venv/bin/python bench/seed_llm_local.py --relist /tmp/seed-llm.json   # the listing again

The per-question log (--out with .jsonl) is written as it goes, so a long run can be polled.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answer import Answer  # noqa: E402
from bot.citations import MARKER  # noqa: E402
from bot.evaluation import load_questions  # noqa: E402
from bot.evaluation.seed import answer_all, summarise_seed  # noqa: E402
from bot.llm.attribution import attributions  # noqa: E402
from bot.llm.grounding import split_sentences  # noqa: E402
from bot.service import Newsbot  # noqa: E402
from bot.settings import Settings  # noqa: E402

SEED = ROOT.parent / "shared" / "eval" / "seed_dev.jsonl"


class ReportLog(logging.Handler):
    """Keeps the grounding checker's report of the answer being written."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.reports: list[Any] = []

    def emit(self, record: logging.LogRecord) -> None:
        report = getattr(record, "check_report", None)
        if report is not None:
            self.reports.append(report)


def shown_attributions(text: str, quotes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each sentence of a shown answer that names a speaker, with the quotes it cites."""
    by_n = {q["n"]: q for q in quotes}
    out = []
    for sentence in split_sentences(text):  # markers after a full stop stay with their sentence
        named = [sp for sp in attributions(MARKER.sub(" ", sentence.text), "claim")[:1] if sp]
        if not named:
            continue
        out.append({
            "claim": sentence.text,
            "claimed_speaker": named[0].phrase,
            "quotes": [by_n[int(n)] for n in MARKER.findall(sentence.text) if int(n) in by_n],
        })
    return out


def print_attributions(verdicts: list[dict[str, Any]]) -> None:
    print("== shown claims that name a speaker (LLM mode), with the quotes they cite")
    for v in verdicts:
        if v["mode"] != "llm":
            continue
        for a in shown_attributions(v["answer"], v["quotes"]):
            print(f"{v['id']}: {a['claim']}\n    claimed: {a['claimed_speaker']}")
            for q in a["quotes"]:
                print(f"    [{q['n']}] {q['source']}: {q['quote']}")


def run(settings: Settings, rows: list[dict[str, Any]], log_path: Path | None,
        label: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    bot = Newsbot(settings)
    handler = ReportLog()
    grounding = logging.getLogger("bot.llm.grounding")
    grounding.addHandler(handler)
    grounding.setLevel(logging.INFO)
    started = time.perf_counter()

    def annotate(v: dict[str, Any], ans: Answer) -> None:
        report = handler.reports[-1] if handler.reports else None
        handler.reports.clear()
        quotes = [{"n": c.n, "source": c.source, "quote": c.quote} for c in ans.citations]
        v.update(
            answer=ans.text, note=ans.note, quotes=quotes,
            shown_attributed=shown_attributions(ans.text, quotes) if ans.mode == "llm" else [],
        )
        if report is not None:
            v["checker"] = {
                "proposed": report.substantive, "kept": report.kept, "repaired": report.repaired,
                "invalid_markers": report.invalid_markers,
                "unsupported_markers": report.unsupported_markers,
                "misattributed": report.misattributed, "reattributed": report.reattributed,
                "corroborated": report.corroborated,
                "attributed": report.attributed, "dropped": report.dropped, "raw": report.raw,
            }
        if log_path is not None:
            with log_path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"run": label, **v}) + "\n")
        print(f"[{label} {time.perf_counter() - started:6.0f}s] {v['id']} "
              f"{'ok  ' if v['good'] else 'FAIL'} {v['mode']:<10} {ans.text[:90]!r}", flush=True)

    try:
        verdicts = answer_all(bot, rows, annotate)
    finally:
        grounding.removeHandler(handler)
    summary = summarise_seed(verdicts)
    checked = [v["checker"] for v in verdicts if "checker" in v]
    summary.update(
        llm_answers=sum(v["mode"] == "llm" for v in verdicts),
        fallbacks=sum(bool(v.get("note")) for v in verdicts),
        llm_sentences_proposed=sum(c["proposed"] for c in checked),
        llm_sentences_kept=sum(c["kept"] for c in checked),
        claims_dropped_misattributed=sum(c["misattributed"] for c in checked),
        claims_moved_to_their_speaker=sum(c["reattributed"] for c in checked),
        corroborating_citations=sum(c["corroborated"] for c in checked),
        shown_attributed_claims=sum(len(v["shown_attributed"]) for v in verdicts),
        seconds=round(time.perf_counter() - started, 1),
    )
    return summary, verdicts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", help="the model's OpenAI-compatible /v1 URL")
    ap.add_argument("--relist", type=Path, default=None,
                    help="print the summaries and attributed claims of a saved --out file")
    ap.add_argument("--model", default="qwen")
    ap.add_argument("--timeout", type=float, default=180.0)
    ap.add_argument("--max-tokens", type=int, default=700)
    ap.add_argument("--prompts-dir", type=Path, default=None)
    ap.add_argument("--data-dir", type=Path, default=None,
                    help="an index of sample_articles (default: index them into a temp dir)")
    ap.add_argument("--file", type=Path, default=SEED)
    ap.add_argument("--ids", default="", help="comma-separated question ids (default: all)")
    ap.add_argument("--compare", action="store_true", help="also run the extractive mode")
    ap.add_argument("--out", type=Path, default=None, help="write summaries and answers (JSON)")
    args = ap.parse_args()
    if args.relist:
        saved = json.loads(args.relist.read_text(encoding="utf-8"))
        print(json.dumps(saved["summaries"], indent=2))
        print_attributions(saved["answers"]["llm"])
        return 0
    if not args.base_url:
        ap.error("--base-url is required")
    rows = load_questions(args.file)
    if args.ids:
        wanted = set(args.ids.split(","))
        rows = [r for r in rows if r.get("id") in wanted]
    log_path = args.out.with_suffix(".jsonl") if args.out else None
    if log_path is not None:
        log_path.write_text("", encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data_dir or Path(tmp) / "data"
        if args.data_dir is None:
            Newsbot(Settings(_env_file=None, data_dir=data)).index([ROOT / "sample_articles"])  # type: ignore[call-arg]
        results: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        if args.compare:
            results["extractive"] = run(Settings(_env_file=None, data_dir=data), rows,  # type: ignore[call-arg]
                                        log_path, "extractive")
        extra: dict[str, Any] = {"prompts_dir": args.prompts_dir} if args.prompts_dir else {}
        llm = Settings(
            _env_file=None, data_dir=data, llm_base_url=args.base_url,  # type: ignore[call-arg]
            llm_model=args.model, llm_api_key="local", llm_timeout=args.timeout,
            llm_max_tokens=args.max_tokens, **extra,
        )
        results["llm"] = run(llm, rows, log_path, "llm")
    summaries = {k: s for k, (s, _) in results.items()}
    print(json.dumps(summaries, indent=2))
    print_attributions(results["llm"][1])
    if args.out:
        args.out.write_text(json.dumps(
            {"settings": {"base_url": args.base_url, "model": args.model,
                          "timeout": args.timeout, "max_tokens": args.max_tokens,
                          "prompts_dir": str(args.prompts_dir or ROOT / "prompts")},
             "summaries": summaries,
             "answers": {k: vs for k, (_, vs) in results.items()}}, indent=1, default=str),
            encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
