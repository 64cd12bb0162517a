"""Sentence-aware chunks that remember where they came from.

A chunk is the retrieval unit; the sentences inside it, stored as offsets, are the citation
unit. Every offset points into the document's cleaned text, so a quote can always be checked:
`document.text[start:end] == quote`.
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from index.types import Document

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


def _sentences(text: str) -> list[str]:
    """Sentences with their trailing whitespace, so they concatenate back to the text."""
    spans = sentence_spans(text)
    if not spans:
        return [text] if text else []
    out: list[str] = []
    cuts = [s for s, _ in spans][1:] + [len(text)]
    prev = 0
    for cut in cuts:
        out.append(text[prev:cut])
        prev = cut
    return out


@dataclass(frozen=True)
class Chunk:
    """A span of one document; `sentences` are absolute offsets inside it."""

    source: str
    index: int
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...]


@lru_cache(maxsize=4)
def _splitter(chunk_tokens: int) -> Any:
    from llama_index.core.node_parser import SentenceSplitter

    from index.embedding import count_wordpieces

    return SentenceSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=0,
        paragraph_separator="\n\n",
        tokenizer=count_wordpieces,
        chunking_tokenizer_fn=_sentences,
        include_metadata=False,
        include_prev_next_rel=False,
    )


def chunk_document(doc: Document, chunk_tokens: int = DEFAULT_CHUNK_TOKENS) -> list[Chunk]:
    """Split with llama-index's SentenceSplitter, then pin every chunk to its offsets."""
    splitter = _splitter(chunk_tokens)
    pieces: list[str] = splitter.split_text(doc.text)
    all_spans = sentence_spans(doc.text)
    chunks: list[Chunk] = []
    cursor = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        start = doc.text.find(piece, cursor)
        if start < 0:  # the splitter normalised whitespace: fall back to a tolerant match
            pattern = r"\s+".join(re.escape(w) for w in piece.split())
            m = re.compile(pattern).search(doc.text, cursor)
            if not m:
                continue
            start, end = m.start(), m.end()
        else:
            end = start + len(piece)
        cursor = end
        sents = tuple((s, e) for s, e in all_spans if s >= start and e <= end)
        if not sents:
            sents = ((start, end),)
        chunks.append(Chunk(doc.source, len(chunks), start, end, doc.text[start:end], sents))
    return chunks
