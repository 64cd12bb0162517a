"""`newsbot feeds add|list|remove|update` and `newsbot index URL...`: the command-line side of
bot/feeds.py. Kept out of bot/cli.py, which only registers the parser and routes to it; this
module imports nothing heavy until a command runs, so `newsbot --help` stays instant."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from index.locking import LockMode

    from bot.feed_registry import FeedRecord
    from bot.service import Newsbot

    MakeNewsbot = Callable[[LockMode | None, str], Newsbot]


def add_feeds_parser(sub: Any) -> None:
    """The `feeds` command and its four subcommands."""
    fp = sub.add_parser(
        "feeds", help="follow RSS/Atom feeds: add, list, remove, update",
        description="Follow RSS and Atom feeds. `newsbot feeds update` fetches every feed once "
        "(conditionally: an unchanged feed costs one small request) and indexes new and changed "
        "entries; run it from cron, or let `newsbot telegram` do it every "
        "NEWSBOT_FEEDS_EVERY_MINUTES.",
    )
    fsub = fp.add_subparsers(dest="feeds_command", metavar="SUBCOMMAND")
    add = fsub.add_parser("add", help="follow a feed (checked now, indexed by the next update)")
    add.add_argument("url", metavar="URL")
    add.add_argument("--name", help="what to call it (default: the feed's own title)")
    ls = fsub.add_parser("list", help="the feeds followed: name, URL, last fetched, articles, last error")
    ls.add_argument("--json", action="store_true", help="print JSON, one feed per line")
    rm = fsub.add_parser("remove", help="stop following a feed")
    rm.add_argument("url", metavar="URL")
    rm.add_argument("--forget", action="store_true",
                    help="also remove its articles from the index (those no other feed has)")
    up = fsub.add_parser("update", help="fetch every feed once and index what is new or changed")
    up.add_argument("urls", nargs="*", metavar="URL", help="only these feeds (default: all)")
    up.add_argument("--json", action="store_true", help="print the report as JSON")
    up.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    fp.set_defaults(feeds_parser=fp)


def split_urls(args: list[str]) -> tuple[list[str], list[str]]:
    """Command-line arguments as (URLs, paths): anything with a `scheme://` is a URL."""
    from index.urls import looks_like_url

    urls = [a for a in args if looks_like_url(a)]
    return urls, [a for a in args if not looks_like_url(a)]


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").removesuffix("Z") + " UTC" if iso else "never"


def feeds_table(records: list[FeedRecord]) -> str:
    if not records:
        return "No feeds followed. Add one with: newsbot feeds add URL"
    lines = []
    for r in records:
        lines.append(f"{r.name}\n  {r.url}\n  last fetched {_when(r.last_fetched)}, "
                     f"{len(r.sources)} article{'s' if len(r.sources) != 1 else ''}"
                     + (f"\n  last error: {r.last_error}" if r.last_error else ""))
    return "\n".join(lines)


def cmd_feeds(args: argparse.Namespace, newsbot: MakeNewsbot) -> int:
    """`newsbot feeds ...`; `newsbot(lock, purpose)` is bot/cli.py's one Newsbot of the command."""
    from bot.feeds import Feeds
    from bot.render import report_text

    command = getattr(args, "feeds_command", None)
    if not command:
        args.feeds_parser.print_help()
        return 2
    if command == "list":
        records = Feeds(newsbot(None, "newsbot feeds list")).followed()
        if args.json:
            for r in records:
                row = r.to_json()
                row.pop("entries", None)
                print(json.dumps(row, ensure_ascii=False))
        else:
            print(feeds_table(records))
        return 0
    if command == "add":
        feeds = Feeds(newsbot(None, "newsbot feeds add"))
        try:
            record = feeds.add(args.url, args.name)
        finally:
            feeds.close()
        print(f"Following {record.name} ({record.url}). "
              "Run `newsbot feeds update` to index its articles.")
        return 0
    if command == "remove":
        bot = newsbot("exclusive" if args.forget else None, "newsbot feeds remove")
        record, report = Feeds(bot).remove(args.url, forget=args.forget)
        print(f"No longer following {record.name} ({record.url}).")
        if report is not None:
            print(report_text(report))
        return 0
    # update
    feeds = Feeds(newsbot("exclusive", "newsbot feeds update"))
    try:
        updated = feeds.update(args.urls or None)
    finally:
        feeds.close()
    if args.json:
        print(json.dumps(updated.to_json(), ensure_ascii=False))
    elif not args.quiet or updated.index.failed or updated.failed_feeds:
        print(updated.text())
    return updated.exit_code


def cmd_index_urls(args: argparse.Namespace, newsbot: MakeNewsbot, urls: list[str],
                   paths: list[Path]) -> int:
    """`newsbot index` with URLs among its arguments: pages and feeds, plus any paths given."""
    from bot.errors import ConfigError
    from bot.feeds import Feeds, merge_reports
    from bot.render import report_text

    if args.prune or args.rebuild:
        raise ConfigError("--prune and --rebuild apply to folders, not to URLs; index the URLs separately")
    bot = newsbot("exclusive", "newsbot index")
    feeds = Feeds(bot)
    try:
        report = bot.index(paths) if paths else None
        from_web = feeds.index_urls(urls)
    finally:
        feeds.close()
    if report is None:
        report = from_web
    else:
        merge_reports(report, from_web)
        report.seconds += from_web.seconds
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), ensure_ascii=False) + "\n")
    else:
        print(report_text(report))
    nothing = not (report.added or report.updated or report.unchanged or report.removed)
    return 1 if report.failed and nothing else 0
