"""Which retrieved sentences bear on a question, and whether there is enough to answer at all.

Both answer modes start here: the extractive answer quotes the best sentences, the LLM answer
is only attempted when `Evidence.answerable` holds ("no evidence, no call").

Relevance has two signals. Lexical: the idf-weighted share of the question's terms that a
sentence and its neighbours (the sentence window) contain. Dense: the MiniLM cosine between the
question and the sentence, when sentences have vectors. Names the corpus has never seen veto an
answer outright.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date

import numpy as np

from index.lexical import overlap, shingles, terms
from index.search import SAME_MEANING, Hit, Searcher, Snapshot, collapse
from index.types import Passage

from bot.citations import CitationBook

# A sentence window must cover this share of the question's (idf-weighted) terms...
MIN_COVERAGE = 0.6
# ...or be this similar to the question (MiniLM cosine) while sharing some of its terms.
MIN_DENSE = 0.55
MIN_DENSE_COVERAGE = 0.25
# Sentences from this many top-ranked chunks are candidates, plus those the sentence
# vectors found with at least this similarity.
SENTENCE_POOL = 12
POOL_DENSE = 0.4
# Two sentences from different outlets state the same thing when they share this share of
# word trigrams, or when their vectors are this close.
SAME_WORDS = 0.5

_AUTHOR_Q = re.compile(r"\b(who (wrote|authored|reported)|author|written by|byline|reporter)\b", re.I)
_AUTHOR_WORDS = "wrote write written author authored article story piece report reporter"
_BYLINE = re.compile(r"^By\s+[A-Z]")
# Questions after one fact: one claim (with every outlet that reports it) answers them.
_FACTOID = re.compile(
    r"^\s*(when|where|which|who|whom|whose|how (many|much|long|old)|what (year|day|date|time|"
    r"percentage|percent|share|number|town|city|country|place))\b", re.I)
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")


@dataclass
class Sentence:
    source: str
    start: int
    end: int
    text: str
    coverage: float  # of the sentence window
    score: float
    chunk: int
    dense: float | None = None
    _shingles: set[tuple[str, ...]] | None = None

    @property
    def shingles(self) -> set[tuple[str, ...]]:
        if self._shingles is None:
            self._shingles = shingles(self.text)
        return self._shingles

    @property
    def relevant(self) -> bool:
        """Good enough to be quoted as a claim."""
        return self.coverage >= 0.8 * MIN_COVERAGE or (
            (self.dense or 0.0) >= MIN_DENSE and self.coverage >= MIN_DENSE_COVERAGE
        )


@dataclass
class Evidence:
    question: str
    snapshot: Snapshot
    hits: list[Hit]
    top_k: int = 6
    sentences: list[Sentence] = field(default_factory=list)
    answerable: bool = False
    vectors: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # sentence vectors

    @cached_property
    def passages(self) -> list[Passage]:
        """The top passages, duplicates collapsed: what an LLM is shown (extractive answers
        never need them, so they are only built when asked for)."""
        return collapse(self.snapshot, self.hits, self.top_k, self.vectors)

    def citation_book(self) -> CitationBook:
        """A numbering book that quotes from this evidence's snapshot."""
        snap = self.snapshot
        return CitationBook(snap.text, lambda source: snap.document(source).meta)  # type: ignore[union-attr]

    def same(self, a: Sentence, b: Sentence) -> bool:
        """Do two sentences state the same thing (nearly the same words, or meaning)?"""
        if overlap(a.shingles, b.shingles) >= SAME_WORDS:
            return True
        va = self.vectors.get((a.source, a.start))
        vb = self.vectors.get((b.source, b.start))
        return va is not None and vb is not None and float(va @ vb) >= SAME_MEANING

    @property
    def factoid(self) -> bool:
        return bool(_FACTOID.search(self.question))

    def supporting(self, claim: Sentence) -> list[Sentence]:
        """The sentence in each other source that states the same thing as `claim`."""
        out: dict[str, Sentence] = {}
        for s in self.sentences:
            if s.source != claim.source and s.source not in out and self.same(claim, s):
                out[s.source] = s
        return list(out.values())


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
        if ts and not any(snap.knows(t) for t in ts):
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
    """Retrieve for `retrieval_query` (the condensed follow-up) and judge against it."""
    query = retrieval_query or question
    r = searcher.retrieve(query, as_of)
    snap, hits = r.snapshot, r.hits
    ev = Evidence(question, snap, hits, top_k, vectors=dict(r.sentence_vecs))
    weights = {t: snap.idf(t) for t in set(terms(query))}
    asked = set(weights)
    author_q = bool(_AUTHOR_Q.search(question))
    if author_q:  # "who wrote the article about X" is about X; the byline answers
        for t in terms(_AUTHOR_WORDS):
            weights.pop(t, None)
    total = sum(weights.values())
    if not hits or total <= 0:
        return ev

    def cov(ts: set[str]) -> float:
        return sum(w for t, w in weights.items() if t in ts) / total

    pool = [h.chunk for h in hits[:SENTENCE_POOL]]
    for (source, start), sim in r.sentence_sims.items():
        pos = snap.chunk_of(source, start)
        if sim >= POOL_DENSE and pos is not None and pos not in pool:
            pool.append(pos)
    rank_of = {h.chunk: i for i, h in enumerate(hits)}
    best_hit = hits[0].score
    best_window = best_dense = 0.0
    for pos in pool:
        ref = snap.chunk(pos)
        doc = snap.document(ref.source)
        assert doc is not None  # the snapshot's own chunk
        title = doc.meta.title
        text = snap.text(ref.source)
        rank = rank_of.get(pos, len(hits))
        hit_score = hits[rank].score if rank < len(hits) else 0.0
        sent_terms = [snap.span_terms(ref.source, s, e) for s, e in ref.sentences]
        chunk_cov = cov(set().union(set(terms(title or "")), *sent_terms))
        for j, (s, e) in enumerate(ref.sentences):
            sent = text[s:e]
            own = cov(sent_terms[j])
            # The sentence window: who said it is often named one sentence earlier.
            window = cov(set().union(*sent_terms[max(0, j - 1) : j + 2]))
            bonus = 0.0
            if author_q and _BYLINE.match(sent) and chunk_cov >= MIN_COVERAGE:
                own = window = chunk_cov  # the byline answers "who wrote" in its own words
                bonus = 1.0
            dense = r.sentence_sims.get((ref.source, s))
            # A sentence that only repeats the question's words (a headline, say) answers nothing.
            news = len(sent_terms[j] - asked)
            if not bonus and (news < 3 or (s == 0 and sent == title)):
                bonus = -0.3
            score = (0.6 * own + 0.4 * window + 0.2 * chunk_cov + 0.1 * hit_score / best_hit
                     + max(0.0, (dense or 0.0) - 0.2) + bonus - 0.002 * rank)
            best_window = max(best_window, window)
            if window >= MIN_DENSE_COVERAGE:
                best_dense = max(best_dense, dense or 0.0)
            ev.sentences.append(Sentence(ref.source, s, e, sent, window, score, pos, dense))
    ev.sentences.sort(key=lambda x: -x.score)
    relevant = best_window >= MIN_COVERAGE or best_dense >= MIN_DENSE
    ev.answerable = bool(ev.sentences) and relevant and not unknown_names(snap, query)
    if ev.answerable:
        missing = [s for s in ev.sentences[:60] if (s.source, s.start) not in ev.vectors]
        ev.vectors.update(searcher.sentence_vectors(snap, [(s.source, s.start) for s in missing]))
    return ev
