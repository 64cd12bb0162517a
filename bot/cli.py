"""`newsbot`: index articles, ask and search them, and run the REPL or the Telegram bot."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from index.errors import NewsbotError, StoreError
from index.locking import LockMode

from bot.errors import QuestionError
from bot.examples import EXAMPLE
from bot.feeds_cli import add_feeds_parser, cmd_feeds, cmd_index_urls, split_urls

if TYPE_CHECKING:
    from bot.service import Newsbot


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

    ix = sub.add_parser("index", help="add or update articles (.txt .md .html folders, .jsonl, web page or feed URLs)",
                        description="Index files and folders incrementally: unchanged articles are "
                        "skipped, changed ones replaced.")
    ix.add_argument("paths", nargs="+", metavar="PATH_OR_URL",
                    help="files, folders, or http(s) URLs of web pages and RSS/Atom feeds")
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
    add_feeds_parser(sub)
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
        except QuestionError as exc:  # one bad line of many: say so on that line
            _emit({"question": q, "error": str(exc)})
    return 0


def _newsbot(args: argparse.Namespace, lock: LockMode | None, purpose: str) -> Newsbot:
    """The one Newsbot of this command (its lock is released when the process exits)."""
    from bot.service import Newsbot

    return Newsbot(_settings(args), lock=lock, purpose=purpose)


def cmd_index(args: argparse.Namespace) -> int:
    from bot.render import report_text

    urls, paths = split_urls(args.paths)
    args.paths = [Path(p) for p in paths]
    if urls:  # web pages and feeds (bot/feeds_cli.py)
        return cmd_index_urls(args, lambda lock, purpose: _newsbot(args, lock, purpose), urls, args.paths)
    bot = _newsbot(args, "exclusive", "newsbot index")
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


def _check_not_empty(bot: Newsbot) -> None:
    if not bot.store.count_documents():  # a count: reading every record costs seconds
        raise StoreError("the index is empty: add articles first with `newsbot index sample_articles`")


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.render import answer_text

    bot = _newsbot(args, "shared", "newsbot ask")
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

    from bot.answer import clean_question

    bot = _newsbot(args, "shared", "newsbot search")
    _check_not_empty(bot)
    searcher = bot.searcher
    today = date.today()
    max_chars = bot.settings.max_question_chars

    def one(q: str, as_of: date | None) -> dict[str, object]:
        q = clean_question(q, max_chars)
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

    docs = _newsbot(args, "shared", "newsbot sources").sources()
    if args.json:
        for d in docs:
            _emit({"source": d.source, **d.meta.to_json(), "chunks": len(d.chunks)})
    else:
        print(sources_text(docs))
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    from bot.render import report_text

    report = _newsbot(args, "exclusive", "newsbot forget").forget(args.sources)
    print(report_text(report))
    return 1 if report.failed and not report.removed else 0


def cmd_repl(args: argparse.Namespace) -> int:
    from bot.repl import run_repl

    bot = _newsbot(args, "exclusive", "newsbot repl")
    bot.hold()  # the embedded index is ours alone while the REPL runs
    return run_repl(bot)


def cmd_telegram(args: argparse.Namespace) -> int:
    from bot.telegram import run_bot

    bot = _newsbot(args, "exclusive", "newsbot telegram")
    bot.hold()  # the embedded index is ours alone while the bot runs
    return run_bot(bot.settings, bot)


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluation import run_eval

    return run_eval(_newsbot(args, "shared", "newsbot eval"), args.file, as_json=args.json,
                    limit=args.limit)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "index": cmd_index, "ask": cmd_ask, "search": cmd_search, "sources": cmd_sources,
    "forget": cmd_forget, "repl": cmd_repl, "telegram": cmd_telegram, "eval": cmd_eval,
    "feeds": lambda args: cmd_feeds(args, lambda lock, purpose: _newsbot(args, lock, purpose)),
}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except NewsbotError as exc:  # meant for a person: one line, never a traceback
        print(f"newsbot: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:
        err = exc.errors()[0]
        name = "NEWSBOT_" + str((err.get("loc") or ("?",))[0]).upper()
        print(f"newsbot: invalid setting {name}: {err.get('msg')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `newsbot ask ... | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
