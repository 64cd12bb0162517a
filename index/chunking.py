"""Sentence-aware chunks that remember where they came from.

A chunk is the retrieval unit; the sentences inside it, stored as offsets, are the citation
unit. Every offset points into the document's cleaned text, so a quote can always be checked:
`document.text[start:end] == quote`.
"""

from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from index.types import Chunk, Document

DEFAULT_CHUNK_TOKENS = 160


@lru_cache(maxsize=1)
def _punkt() -> Any:
    """English Punkt (knows "Mr." and "U.S."), from the data llama-index ships: no download."""
    import nltk.data
    from nltk.tokenize.punkt import PunktTokenizer

    spec = importlib.util.find_spec("llama_index.core")
    if spec and spec.submodule_search_locations:
        cache = Path(list(spec.submodule_search_locations)[0]) / "_static" / "nltk_cache"
        if str(cache) not in nltk.data.path:
            nltk.data.path.append(str(cache))
    return PunktTokenizer("english")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of each sentence in text[start:end]; never crosses a line break."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    tok = _punkt()
    for m in re.finditer(r"[^\n]+", text[start:end]):
        line = m.group(0)
        base = start + m.start()
        for s, e in tok.span_tokenize(line):
            seg = line[s:e]
            lead = len(seg) - len(seg.lstrip())
            trail = len(seg) - len(seg.rstrip())
            if e - trail > s + lead:
                spans.append((base + s + lead, base + e - trail))
    return _join_open_quotes(text, spans)


def _open_quote(segment: str) -> bool:
    return segment.count("“") > segment.count("”") or segment.count('"') % 2 == 1


def _join_open_quotes(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Punkt ends a sentence inside a quotation; a citation should hold the whole quote."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        s, e = spans[i]
        j = i
        while (
            _open_quote(text[s:e]) and j + 1 < len(spans) and j - i < 3
            and "\n" not in text[e : spans[j + 1][0]]
        ):
            j += 1
            e = spans[j][1]
        # A bare attribution ("Ushakov said.") belongs to the quotation before it.
        if out and len(text[s:e].split()) <= 4 and re.search(r"[”\"’]\s*$", text[out[-1][0]:out[-1][1]]) \
                and "\n" not in text[out[-1][1]:s]:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
        i = j + 1
    return out


def chunk_document(doc: Document, chunk_tokens: int = DEFAULT_CHUNK_TOKENS) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `chunk_tokens` word pieces.

    The same job as llama-index's `SentenceSplitter` (which this replaced): the splitter
    re-tokenised every candidate split and lost offsets on whitespace it normalised, which
    made chunking the bench corpus slower than embedding it. Here each sentence is measured
    once (one batched call into the Rust tokenizer) and offsets are exact by construction.
    A paragraph break is preferred as a cut when the chunk is already half full.
    """
    from index.embedding import load_wordpiece

    text = doc.text
    spans = sentence_spans(text)
    if not spans:
        return []
    tok = load_wordpiece()
    # attention_mask, not ids: the tokenizer pads a batch to its longest text
    sizes = [sum(e.attention_mask) - 2 for e in tok.encode_batch([text[s:e] for s, e in spans])]
    groups: list[list[tuple[int, int]]] = [[]]
    used = 0
    for (s, e), n in zip(spans, sizes):
        cur = groups[-1]
        paragraph = bool(cur) and "\n" in text[cur[-1][1] : s]
        if cur and (used + n > chunk_tokens or (paragraph and used >= chunk_tokens // 2)):
            groups.append([])
            used = 0
        groups[-1].append((s, e))
        used += n
    return [
        Chunk(doc.source, i, g[0][0], g[-1][1], text[g[0][0] : g[-1][1]], tuple(g))
        for i, g in enumerate(groups)
        if g
    ]
