"""Which retrieved sentences bear on a question, and whether there is enough to answer at all.

Both answer modes start here: the extractive answer quotes the best sentences, the LLM answer
is only attempted when `Evidence.answerable` holds ("no evidence, no call").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from index.lexical import overlap, shingles, terms
from index.search import Hit, Searcher, Snapshot, collapse
from index.types import Passage

# A sentence must cover this share of the question's (idf-weighted) terms to count as evidence.
MIN_COVERAGE = 0.6
# Or: a sentence this similar to the question (MiniLM cosine) that shares some of its words.
MIN_DENSE = 0.55
MIN_DENSE_COVERAGE = 0.25
DENSE_WEIGHT = 1.0
# Sentences from this many top-ranked chunks are considered.
SENTENCE_POOL = 12
_AUTHOR_Q = re.compile(r"\b(who (wrote|authored|reported)|author|written by|byline|reporter)\b", re.I)
_BYLINE = re.compile(r"^By\s+[A-Z]")


@dataclass
class Sentence:
    source: str
    start: int
    end: int
    text: str
    coverage: float
    score: float
    chunk: int
    dense: float | None = None
    _shingles: set[tuple[str, ...]] | None = None

    @property
    def shingles(self) -> set[tuple[str, ...]]:
        if self._shingles is None:
            self._shingles = shingles(self.text)
        return self._shingles


@dataclass
class Evidence:
    question: str
    snapshot: Snapshot
    hits: list[Hit]
    passages: list[Passage]
    sentences: list[Sentence] = field(default_factory=list)
    answerable: bool = False

    def supporting(self, claim: Sentence, threshold: float = 0.5) -> list[Sentence]:
        """Sentences in other sources that say the same thing in (nearly) the same words."""
        out: dict[str, Sentence] = {}
        for s in self.sentences:
            if s.source == claim.source or s.source in out:
                continue
            if overlap(claim.shingles, s.shingles) >= threshold:
                out[s.source] = s
        return list(out.values())


def _weights(snap: Snapshot, question: str) -> dict[str, float]:
    return {t: snap.bm25.idf(t) for t in set(terms(question))}


_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")


def unknown_names(snap: Snapshot, question: str) -> list[str]:
    """Names in the question (runs of capitalised words) of which no article has any word.

    A name the corpus has never seen ("Japan", "GDP", "Joe Biden") means the articles cannot
    answer, however many other words a sentence shares with the question. A name with one
    known word ("National Security Council") is not unknown.
    """
    q = question.strip()
    out = []
    for m in _NAME.finditer(q):
        if m.start() == 0 and " " not in m.group(0):
            continue  # the question's first word is capitalised anyway
        ts = terms(m.group(0))
        if ts and not any(snap.bm25.df.get(t, 0) for t in ts):
            out.append(m.group(0))
    return out


def gather(
    searcher: Searcher,
    question: str,
    *,
    retrieval_query: str | None = None,
    as_of: date | None = None,
    top_k: int = 6,
) -> Evidence:
    """Retrieve for `retrieval_query` (the condensed follow-up), judge against it too."""
    query = retrieval_query or question
    r = searcher.retrieve(query, as_of)
    snap, hits = r.snapshot, r.hits
    ev = Evidence(question, snap, hits, collapse(snap, hits, top_k))
    weights = _weights(snap, query)
    author_q = bool(_AUTHOR_Q.search(question))
    if author_q:  # "who wrote the article about X" is about X; the byline will answer
        for t in terms("wrote write written author authored article story piece report reporter"):
            weights.pop(t, None)
    total = sum(weights.values())
    if not hits or total <= 0:
        return ev

    def cov(ts: set[str]) -> float:
        return sum(w for t, w in weights.items() if t in ts) / total

    best_hit = hits[0].score
    seen: set[tuple[str, int]] = set()
    best_window = 0.0
    best_dense = 0.0
    for rank, hit in enumerate(hits[:SENTENCE_POOL]):
        ref = snap.chunks[hit.chunk]
        doc = snap.documents[ref.source]
        text = doc.text or ""
        sent_terms = [set(terms(text[s:e])) for s, e in ref.sentences]
        title_terms = set(terms(doc.title or ""))
        chunk_cov = cov(set().union(title_terms, *sent_terms))
        for j, (s, e) in enumerate(ref.sentences):
            if (ref.source, s) in seen:
                continue
            seen.add((ref.source, s))
            sent = text[s:e]
            own = cov(sent_terms[j])
            # The sentence window: who said it is often named one sentence earlier.
            window = cov(set().union(*sent_terms[max(0, j - 1) : j + 2]))
            if author_q and _BYLINE.match(sent) and chunk_cov >= MIN_COVERAGE:
                own = window = max(own, chunk_cov)  # the byline answers "who wrote"
            dense = r.sentence_sims.get((ref.source, s))
            score = (0.6 * own + 0.4 * window + 0.2 * chunk_cov + 0.1 * hit.score / best_hit
                     + DENSE_WEIGHT * max(0.0, (dense or 0.0) - 0.2) - 0.002 * rank)
            best_window = max(best_window, window)
            if window >= MIN_DENSE_COVERAGE:
                best_dense = max(best_dense, dense or 0.0)
            ev.sentences.append(Sentence(ref.source, s, e, sent, window, score, hit.chunk, dense))
    ev.sentences.sort(key=lambda x: -x.score)
    relevant = best_window >= MIN_COVERAGE or best_dense >= MIN_DENSE
    ev.answerable = bool(ev.sentences) and relevant and not unknown_names(snap, query)
    return ev
