"""Telegram HTML rendering and splitting (pure functions; Telegram's HTML rules come from the
stand-in's validator, the same one the end-to-end tests are checked against)."""

from __future__ import annotations

import html
import re

from conftest import SAMPLES

from index.errors import SourceError
from index.types import ArticleMeta, IndexReport, StoredDocument
from standins.telegram_api import _check_html

from bot.answer import REFUSAL, Answer, Citation
from bot.telegram.formatting import (
    TELEGRAM_LIMIT,
    Unit,
    esc,
    fit,
    html_to_plain,
    pack,
    render_answer,
    report_units,
    sources_units,
    tg_len,
)

EXAMPLE = "What did Yuri Ushakov say the ceasefire would give Ukraine?"


def valid(part: str) -> str:
    """Assert Telegram would accept the part; return the text it would show."""
    error, plain = _check_html(part)
    assert error is None, (error, part[:300])
    assert tg_len(part) <= TELEGRAM_LIMIT and tg_len(plain) <= TELEGRAM_LIMIT
    return plain


def cite(n: int, quote: str, **kw: object) -> Citation:
    return Citation(n=n, source=f"s{n}.txt", quote=quote, start=0, end=len(quote),
                    meta=ArticleMeta(**kw))  # type: ignore[arg-type]


def test_answer_has_markers_sources_links_and_escaped_quotes() -> None:
    ans = Answer(
        question="q", text="Tom & Jerry <b>fought</b>. [1][2]\n\nThey made up. [2]",
        citations=[
            cite(1, 'He said "5 < 6 & 7 > 3".', title="Cats & Mice", outlet="The <Daily>",
                 published="2025-03-13", url="https://example.org/a?x=1&y=2"),
            cite(2, "Plain quote.", title="No link", url="javascript:alert(1)"),
        ],
        as_of="2025-03-13",
    )
    [part] = render_answer(ans)
    plain = valid(part)
    assert "Tom &amp; Jerry &lt;b&gt;fought&lt;/b&gt;. [1][2]" in part
    assert "<blockquote expandable>He said \"5 &lt; 6 &amp; 7 &gt; 3\".</blockquote>" in part
    assert '<a href="https://example.org/a?x=1&amp;y=2">The &lt;Daily&gt;: Cats &amp; Mice, 2025-03-13</a>' in part
    assert "javascript" not in part  # only web links become links; the label stays
    assert "<b>[2]</b> No link\n<blockquote expandable>Plain quote.</blockquote>" in part
    assert "<i>As of 2025-03-13, the newest cited article.</i>" in part
    assert plain.index("[1] The <Daily>") < plain.index("[2] No link")


def test_refusal_is_the_plain_text_and_a_note_is_italic() -> None:
    ans = Answer(question="q", text=REFUSAL, refused=True, note="the LLM did not answer in time")
    assert render_answer(ans) == [f"{esc(REFUSAL)}\n\n<i>the LLM did not answer in time</i>"]
    assert render_answer(Answer(question="q", text=REFUSAL, refused=True)) == [esc(REFUSAL)]


def long_answer() -> Answer:
    """An answer the size of a generous extractive one: sample-article paragraphs as quotes."""
    paras = sorted((p.strip() for f in sorted(SAMPLES.glob("*.txt"))
                    for p in f.read_text(encoding="utf-8").split("\n") if len(p.strip()) > 200),
                   key=len, reverse=True)[:16]
    cites = [cite(i, q, title=f"Article {i} & co", outlet="Outlet", published="2025-03-13")
             for i, q in enumerate(paras, 1)]
    text = "\n\n".join(f"{c.quote[:150]}… [{c.n}]" for c in cites)
    return Answer(question=EXAMPLE, text=text, citations=cites, as_of="2025-03-13")


def test_long_answer_splits_between_citation_blocks() -> None:
    ans = long_answer()
    whole = "\n\n".join(render_answer(ans, limit=10**6))
    assert tg_len(whole) > 2 * TELEGRAM_LIMIT, "needs three messages"
    parts = render_answer(ans)
    assert len(parts) >= 3
    for part in parts:
        valid(part)
    assert "\n\n".join(parts) == whole  # only split, nothing lost or reordered
    for c in ans.citations:  # each citation block whole in exactly one part
        block = f"<b>[{c.n}]</b> Outlet: Article {c.n} &amp; co, 2025-03-13\n" \
                f"<blockquote expandable>{esc(c.quote)}</blockquote>"
        assert sum(block in p for p in parts) == 1


def test_a_quote_too_long_for_one_message_is_truncated_inside_its_tags() -> None:
    quote = ("The lighthouse keeper & his <dog> walked along the pier. " * 120).strip()
    ans = Answer(question="q", text="Long. [1]", citations=[cite(1, quote, title="T")])
    parts = render_answer(ans)
    assert len(parts) == 2
    plain = valid(parts[1])
    assert parts[1].startswith("<b>Sources</b>\n<b>[1]</b> T\n<blockquote expandable>The lighthouse")
    assert parts[1].endswith("…</blockquote>")
    assert quote.startswith(plain.split("\n", 2)[2].rstrip("…").rstrip())


def test_over_long_paragraphs_split_at_sentences_words_then_characters() -> None:
    sentences = " ".join(f"Sentence {i} has a few & <odd> words." for i in range(400))
    parts = pack([Unit(body=sentences, splittable=True)])
    assert len(parts) >= 4
    assert all(p.endswith("words.") for p in parts)
    assert " ".join(html.unescape(p) for p in parts) == sentences
    blob = "&" * 5000  # no boundary at all; escaping makes each character five long
    pieces = fit(Unit(body=blob, open="<i>", close="</i>", splittable=True))
    for p in pieces:
        valid(p)
    assert "".join(html_to_plain(p) for p in pieces) == blob


def test_length_counts_utf16_like_telegram() -> None:
    emoji = "\U0001f600"
    assert tg_len(emoji) == 2
    parts = pack([Unit(body=f"{emoji} " * 3000, splittable=True)])
    assert len(parts) == 3 and all(tg_len(p) <= TELEGRAM_LIMIT for p in parts)


def test_plain_fallback_strips_tags_unescapes_and_keeps_links() -> None:
    part = ('<b>[1]</b> <a href="https://x.org/?a=1&amp;b=2">Outlet &amp; Co</a>\n'
            "<blockquote expandable>5 &lt; 6</blockquote>")
    assert html_to_plain(part) == "[1] Outlet & Co (https://x.org/?a=1&b=2)\n5 < 6"


def test_sources_and_reports_render_valid_html() -> None:
    docs = [StoredDocument(source=f"{i:03d}_<x>.txt", generation="g",
                           meta=ArticleMeta(title=f"Title & {i}", outlet="Outlet",
                                            published="2025-03-13"))
            for i in range(300)]
    parts = pack(sources_units(docs))
    assert len(parts) > 1
    text = "".join(valid(p) for p in parts)
    assert "300 indexed articles" in text and "Title & 299" in text and "299_<x>.txt" in text
    report = IndexReport(added=["a.md"], unchanged=["b.txt"],
                         failed=[SourceError("c.pdf", "unsupported file type .pdf")])
    [part] = pack(report_units(report, "Re-indexed <dir>"))
    shown = valid(part)
    assert shown.startswith("Re-indexed <dir>: added 1, updated 0, unchanged 1, removed 0")
    assert "\nadded: a.md\nskipped c.pdf: unsupported file type .pdf" in shown
    assert re.search(r"<b>Re-indexed &lt;dir&gt;:</b>", part)
