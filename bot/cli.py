"""`newsbot`: index articles, ask and search them, and run the REPL or the Telegram bot."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from index.types import KnowledgeBaseError, StoreError

from bot.errors import QuestionError
from bot.examples import EXAMPLE


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date in YYYY-MM-DD form") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="newsbot",
        description="Answers questions about news articles with verbatim, cited quotes.",
        epilog=f'Start with:  newsbot index sample_articles  then  newsbot ask "{EXAMPLE}"',
    )
    p.add_argument("--data-dir", type=Path, help="index folder (default: $NEWSBOT_DATA_DIR or ./newsbot-data)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    ix = sub.add_parser("index", help="add or update articles (.txt .md .html folders, or .jsonl)",
                        description="Index files and folders incrementally: unchanged articles are "
                        "skipped, changed ones replaced.")
    ix.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    ix.add_argument("--prune", action="store_true", help="remove indexed articles no longer under PATH")
    ix.add_argument("--rebuild", action="store_true", help="drop the index and build it again")
    ix.add_argument("--json", action="store_true", help="print the report as JSON")
    ix.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    for name, helptext in (("ask", "answer a question with cited quotes"),
                           ("search", "show the passages retrieval finds (no answer)")):
        sp = sub.add_parser(name, help=helptext, description=helptext.capitalize() + ". "
                            "Use - to read one question per line from stdin (JSON lines out).")
        sp.add_argument("question", nargs="+", metavar="QUESTION", help="the question, or - for stdin")
        sp.add_argument("--json", action="store_true", help="print JSON")
        sp.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD",
                        help="answer as of this date: later articles are not evidence (default: today)")
        if name == "search":
            sp.add_argument("-k", type=int, default=5, help="passages to show (default 5)")

    sr = sub.add_parser("sources", help="list the indexed articles")
    sr.add_argument("--json", action="store_true", help="print JSON")
    fg = sub.add_parser("forget", help="remove articles from the index by source id")
    fg.add_argument("sources", nargs="+", metavar="SOURCE")
    sub.add_parser("repl", help="ask questions interactively, with follow-ups")
    sub.add_parser("telegram", help="run the Telegram bot (needs NEWSBOT_TELEGRAM_TOKEN)")
    ev = sub.add_parser("eval", help="score answers or retrieval on a question set")
    ev.add_argument("file", type=Path, help="seed (gold_sources) or bench (gold_ids) JSONL")
    ev.add_argument("--json", action="store_true", help="print JSON")
    ev.add_argument("--limit", type=int, help="only the first N questions")
    return p


def _settings(args: argparse.Namespace) -> Any:
    from bot.settings import Settings

    s = Settings()
    if args.data_dir:
        s.data_dir = args.data_dir
    return s


def _emit(obj: object) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _stdin_items() -> Iterator[tuple[str, date | None]]:
    """Plain lines, or JSON objects {"question": ..., "as_of": "YYYY-MM-DD"}."""
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        if line.startswith("{"):
            try:
                obj = json.loads(line)
                as_of = date.fromisoformat(obj["as_of"]) if obj.get("as_of") else None
                yield str(obj.get("question", "")), as_of
                continue
            except (ValueError, KeyError, TypeError):
                pass
        yield line, None


def _batch(args: argparse.Namespace, one: Callable[[str, date | None], dict[str, object]]) -> int:
    text = " ".join(args.question)
    if text.strip() != "-":
        return -1
    for q, as_of in _stdin_items():
        try:
            _emit(one(q, as_of or args.as_of))
        except QuestionError as exc:
            _emit({"question": q, "error": str(exc)})
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from bot.render import report_text
    from bot.service import Newsbot

    bot = Newsbot(_settings(args), lock="exclusive", purpose="newsbot index")
    bar: Any = None

    def progress(done: int, total: int, source: str) -> None:
        nonlocal bar
        if args.quiet or args.json or total == 0:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="doc", desc="indexing", file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    try:
        report = bot.index(args.paths, prune=args.prune, rebuild=args.rebuild, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        _emit(report.to_json())
    else:
        print(report_text(report))
    nothing = not (report.added or report.updated or report.unchanged or report.removed)
    return 1 if report.failed and nothing else 0


def _check_not_empty(bot: Any) -> None:
    if not bot.store.documents():
        raise StoreError("the index is empty: add articles first with `newsbot index sample_articles`")


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.render import answer_text
    from bot.service import Newsbot

    bot = Newsbot(_settings(args), lock="shared", purpose="newsbot ask")
    _check_not_empty(bot)
    answerer = bot.answerer
    today = date.today()

    def one(q: str, as_of: date | None) -> dict[str, object]:
        return answerer.answer(q, as_of=as_of or today).to_json()

    rc = _batch(args, one)
    if rc >= 0:
        return rc
    ans = answerer.answer(" ".join(args.question), as_of=args.as_of or today)
    if args.json:
        _emit(ans.to_json())
    else:
        print(answer_text(ans))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    import time

    from bot.answering import clean_question
    from bot.service import Newsbot

    settings = _settings(args)
    bot = Newsbot(settings, lock="shared", purpose="newsbot search")
    _check_not_empty(bot)
    searcher = bot.searcher
    today = date.today()

    def one(q: str, as_of: date | None) -> dict[str, object]:
        q = clean_question(q, settings.max_question_chars)
        t0 = time.perf_counter()
        passages = searcher.search(q, k=args.k, as_of=as_of or today)
        ms = (time.perf_counter() - t0) * 1000
        return {"query": q, "passages": [p.to_json() for p in passages],
                "timings_ms": {"search": round(ms, 2)}}

    rc = _batch(args, one)
    if rc >= 0:
        return rc
    out = one(" ".join(args.question), args.as_of)
    if args.json:
        _emit(out)
        return 0
    passages = out["passages"]
    assert isinstance(passages, list)
    if not passages:
        print("No passages found.")
    for i, p in enumerate(passages, 1):
        also = ", ".join(a["source"] for a in p["also"])
        print(f"{i}. {p['source']} [{p['start']}:{p['end']}] score {p['score']:.4f}"
              + (f" (also in {also})" if also else ""))
        print("   " + p["text"].replace("\n", " ")[:400])
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from bot.render import sources_text
    from bot.service import Newsbot

    docs = Newsbot(_settings(args), lock="shared", purpose="newsbot sources").sources()
    if args.json:
        for d in docs:
            _emit({"source": d.source, "title": d.title, "outlet": d.outlet,
                   "published": d.published, "chunks": len(d.chunks)})
    else:
        print(sources_text(docs))
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from bot.render import report_text
    from bot.service import Newsbot

    report = Newsbot(_settings(args), lock="exclusive", purpose="newsbot forget").forget(args.sources)
    print(report_text(report))
    return 1 if report.failed and not report.removed else 0


def cmd_repl(args: argparse.Namespace) -> int:
    from bot.repl import run_repl
    from bot.service import process_lock

    settings = _settings(args)
    with process_lock(settings, "exclusive", "newsbot repl"):  # embedded index: ours alone
        return run_repl(settings)


def cmd_telegram(args: argparse.Namespace) -> int:
    from bot.service import Newsbot, process_lock
    from bot.telegram import run_bot

    settings = _settings(args)
    with process_lock(settings, "exclusive", "newsbot telegram"):  # embedded index: ours alone
        return run_bot(settings, Newsbot(settings))


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation import run_eval
    from bot.service import process_lock

    settings = _settings(args)
    with process_lock(settings, "shared", "newsbot eval"):
        return run_eval(settings, args.file, as_json=args.json, limit=args.limit)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "index": cmd_index, "ask": cmd_ask, "search": cmd_search, "sources": cmd_sources,
    "forget": cmd_forget, "repl": cmd_repl, "telegram": cmd_telegram, "eval": cmd_eval,
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except QuestionError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 2
    except KnowledgeBaseError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `newsbot ask ... | head`
        sys.stderr.close()
        return 0
    except Exception as exc:  # configuration errors and the like: one line, not a traceback
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            err = exc.errors()[0]
            name = "NEWSBOT_" + str((err.get("loc") or ("?",))[0]).upper()
            print(f"newsbot: invalid setting {name}: {err.get('msg')}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
