"""The seed dev set in LLM mode, against the stand-in OpenAI server scripted from real passages.

Why: this measures the LLM path's plumbing and its citation checker, not a model. The stand-in
"model" answers every question with the best sentence (by word overlap with the question) of
each of the top passages it was sent, each followed by that passage's [n] marker, the way a
well-behaved model would. Whatever the checker then drops, repairs or renumbers shows up in
the same summary `newsbot eval` prints (computed with `bot.evaluation.seed.judge_seed`).

    /work/venv/bin/python bench/seed_llm_standin.py [--top 3] [--compare] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # for standins.openai_api

from index.chunking import sentence_spans  # noqa: E402
from index.lexical import terms  # noqa: E402

from bot.evaluation import load_questions  # noqa: E402
from bot.evaluation.seed import answer_all, summarise_seed  # noqa: E402
from bot.service import Newsbot  # noqa: E402
from bot.settings import Settings  # noqa: E402

SEED = ROOT.parent / "shared" / "eval" / "seed_dev.jsonl"
_PASSAGE = re.compile(r'<passage id="(\d+)"[^>]*>\n(.*?)\n</passage>', re.S)
_QUESTION = re.compile(r"^Question: (.*)$", re.M)
_FOLLOW_UP = re.compile(r"^Follow-up question: (.*)$", re.M)
# A passage is quoted only if its best sentence is nearly as on-topic as the best one, as a
# sensible model would do (the extractive answer uses the same floor).
RELATIVE_FLOOR = 0.75
# --adversarial: claims no passage supports, one with a valid marker, one with an invalid one.
FABRICATED = [
    "The ceasefire was signed in Geneva by all parties on 1 January 2030 [1].",
    "Officials confirmed that parliament would ratify the agreement within days [9].",
]


def best_sentence(text: str, question: str) -> tuple[int, str]:
    """The passage sentence sharing most distinct words with the question."""
    q = set(terms(question))
    scored = [(len(q & set(terms(text[s:e]))), text[s:e]) for s, e in sentence_spans(text)]
    return max(scored, default=(0, ""), key=lambda x: x[0])


def scripted_answer(body: dict[str, Any], top: int = 3, adversarial: bool = False) -> str:
    """What a well-behaved model would write: the top passages' best sentences, cited.

    A condense request is answered with the follow-up unchanged.
    """
    prompt = str(body["messages"][-1]["content"])
    follow_up = _FOLLOW_UP.search(prompt)
    if follow_up:
        return follow_up.group(1)
    question = _QUESTION.search(prompt)
    q = question.group(1) if question else ""
    best = [(n, *best_sentence(text, q)) for n, text in _PASSAGE.findall(prompt)[:top]]
    floor = RELATIVE_FLOOR * max((score for _, score, _ in best), default=0)
    lines = [
        re.sub(r"([.!?…]+[\"”’]*)?$", f" [{n}]\\1", sent.rstrip(), count=1)
        for n, score, sent in best if score and score >= floor
    ]
    if adversarial:
        lines += FABRICATED
    return " ".join(lines) or "The passages do not say."


class CheckerLog(logging.Handler):
    """Adds up what bot.llm.grounding's checker reports for each answer (kept, repaired, dropped)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.totals = dict.fromkeys(
            ("sentences_kept", "sentences_proposed", "repaired", "invalid_markers",
             "unsupported_markers", "misattributed", "reattributed"), 0)

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("llm answer checked") and isinstance(record.args, tuple):
            for key, n in zip(self.totals, record.args):
                self.totals[key] += int(n)


def run(settings: Settings, rows: list[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    bot = Newsbot(settings)

    def annotate(v: dict[str, Any], ans: Any) -> None:
        v["note"] = ans.note
        v["fabricated"] = any(f.split(" [")[0][:40] in ans.text for f in FABRICATED)

    verdicts = answer_all(bot, rows, annotate)
    summary = summarise_seed(verdicts)
    summary["llm_answers"] = sum(v["mode"] == "llm" for v in verdicts)
    summary["fallbacks"] = sum(bool(v["note"]) for v in verdicts)
    summary["fabricated_claims_shown"] = sum(v["fabricated"] for v in verdicts)
    return summary, verdicts


def print_run(title: str, summary: dict[str, Any], verdicts: list[dict[str, Any]]) -> None:
    print(f"== {title}")
    for v in verdicts:
        mark = "ok  " if v["good"] else "FAIL"
        extra = "" if v["good"] else f"  missing={v['missing']} cited={v['cited']} refused={v['refused']}"
        note = f"  note={v['note']!r}" if v["note"] else ""
        print(f"{mark} {v['id']:<6} {v['mode']:<10} {v['question'][:60]}{extra}{note}")
    print(json.dumps(summary, indent=2))


def main() -> int:
    from standins.openai_api import FakeOpenAIServer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--file", type=Path, default=SEED)
    ap.add_argument("--top", type=int, default=3, help="passages the stand-in quotes")
    ap.add_argument("--compare", action="store_true", help="also run the extractive mode")
    ap.add_argument("--adversarial", action="store_true",
                    help="the stand-in also writes two unsupported claims per answer")
    ap.add_argument("--json", action="store_true", help="print the summaries as JSON only")
    args = ap.parse_args()
    rows = load_questions(args.file)
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer() as server:
        data = Path(tmp) / "data"
        Newsbot(Settings(_env_file=None, data_dir=data)).index([ROOT / "sample_articles"])
        server.responder = lambda body: scripted_answer(body, args.top, args.adversarial)
        checker_log = CheckerLog()
        logging.getLogger("bot.llm.grounding").addHandler(checker_log)
        logging.getLogger("bot.llm.grounding").setLevel(logging.INFO)
        llm = Settings(
            _env_file=None, data_dir=data, llm_base_url=server.base_url,  # type: ignore[call-arg]
            llm_model="test-model", llm_api_key="x", llm_retries=0, llm_timeout=5.0,
        )
        results = {"llm_standin": run(llm, rows)}
        results["llm_standin"][0]["llm_requests"] = len(server.chat_requests())
        results["llm_standin"][0]["checker"] = checker_log.totals
        if args.compare:
            results["extractive"] = run(Settings(_env_file=None, data_dir=data), rows)  # type: ignore[call-arg]
    if args.json:
        print(json.dumps({k: s for k, (s, _) in results.items()}))
    else:
        for title, (summary, verdicts) in results.items():
            print_run(title, summary, verdicts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
