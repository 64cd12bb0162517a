"""Plain-text rendering of answers and reports for the terminal (CLI and REPL)."""

from __future__ import annotations

import textwrap

from index.types import IndexReport, StoredDocument

from bot.answer import Answer


def answer_text(ans: Answer, width: int = 100) -> str:
    parts = [ans.text]
    if ans.note:
        parts.append(f"(note: {ans.note})")
    if ans.as_of:
        parts.append(f"(as of {ans.as_of}, the newest cited article)")
    if ans.citations:
        parts.append("Sources:")
        for c in ans.citations:
            head = f"[{c.n}] {c.label}"
            if c.source not in (c.label, c.meta.url):  # a fetched page's id is its URL
                head += f" ({c.source})"
            if c.meta.url:
                head += f" {c.meta.url}"
            if c.quote in ans.text:  # the answer already shows this quote: say so once
                parts.append(f"{head} (quoted above)")
                continue
            quote = textwrap.fill(
                f"“{c.quote}”", width=width, initial_indent="    ", subsequent_indent="    "
            )
            parts.append(f"{head}\n{quote}")
    return "\n\n".join(parts)


def report_text(report: IndexReport) -> str:
    lines = [f"Indexed: {report.summary()}"]
    for label, items in (("added", report.added), ("updated", report.updated),
                         ("removed", report.removed)):
        if items and len(items) <= 20:
            lines.append(f"  {label}: {', '.join(items)}")
    for err in report.failed:
        lines.append(f"  skipped {err.source}: {err.reason}")
    return "\n".join(lines)


def sources_text(docs: list[StoredDocument]) -> str:
    if not docs:
        return "The index is empty. Add articles with: newsbot index PATH"
    lines = []
    for d in docs:
        meta = ", ".join(x for x in (d.meta.outlet, d.meta.published, f"{len(d.chunks)} chunks") if x)
        lines.append(f"{d.source}: {d.meta.title or '(untitled)'} ({meta})")
    return "\n".join(lines)
