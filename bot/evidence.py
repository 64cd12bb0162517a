"""Which sentences bear on a question, which values answer it, and whether to answer at all.

Both answer modes start here: the extractive answer quotes the best sentences, the LLM answer
is only attempted when `Evidence.answerable` holds ("no evidence, no call").

Candidates are the sentences of the best articles (`Searcher.rank_articles`, as of the
question's date) and of the best fused chunk hits (`Searcher.retrieve`). Each sentence is
scored by a small logistic model (weights fitted on the tuning half of the bench dev questions;
see `bot/sentence_model.py`) over: the idf-weighted share of the question's terms in the
sentence and in its window (who said it is often named one sentence earlier), in the
article's title, the article's and the chunk's rank, the sentence's place in its article,
whether it holds a value of the kind the question asks for (`bot/answer_types.py`) close to
the question's words, and, where the index stores sentence vectors, the MiniLM similarity.
Names the corpus has never seen veto an answer outright.

For questions after one value (who / where / when / how many / which), the candidate values of
the best sentences are pooled (`bot/claims.py`): a value several sentences and outlets give
near the question's words wins, and two different figures given for the same point are a
disagreement to report, not a choice to make silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache

import numpy as np

from index.lexical import overlap, shingles, terms
from index.search import SAME_MEANING, Hit, Searcher, Snapshot, collapse
from index.types import Passage

from bot import answer_types as at
from bot.citations import CitationBook
from bot.claims import no_figure_of_asked_thing, previous_sentence, values
from bot.sentence_model import SENTENCE_WEIGHTS, ANSWERABLE, sentence_features

# Articles from the article ranking whose every sentence is a candidate, and chunk hits whose
# sentences are candidates too.
ARTICLES = 5
# The best this many sentences get a dense similarity (embedded on demand when not stored).
RERANK = 0  # measured: 6 or 10 with weight 1-6 lowered bench dev recall (0.665 -> 0.63-0.656);
# bench/fit_sentence_model.py's grid (depth 5-20, weight 1-6): held-out top-1/top-3 0.552/0.729 ->
# 0.521-0.562/0.688-0.729, tune within 0.504-0.522/0.637-0.681
SENTENCE_POOL = 12
POOL_DENSE = 0.4
# Two sentences from different outlets state the same thing when they share this share of
# word trigrams, or when their vectors are this close.
SAME_WORDS = 0.5
# Or when they share some wording and their MiniLM vectors are close. Measured on the sample
# articles: the same claim in other words scores 0.72-0.84 with 0.15-0.36 of its trigrams
# shared; different claims on the same topic 0.62 (vectors alone do not separate them:
# "resume weapon supplies" vs "lifted its suspension of military aid" is 0.65, vs "paused
# intelligence sharing" 0.62).
SOME_WORDS = 0.15
CLOSE_MEANING = 0.72
# Decline when no top sentence's window holds this share of the question's (idf-weighted)
# terms: chosen on bench dev's tuning half (it declines 2% there, nearly all wrong anyway)
# and the seed set's short questions ("How many prisoners were taken?").
MIN_COVERAGE = 0.25
# A sentence giving the claim's value corroborates it when it scores this share of the claim
# and covers this share of the question's terms that the claim covers: it bears on the same
# point, not only on the same name ("Putin vowed to treat captured soldiers as terrorists" is
# not corroborated by "Gerasimov told Putin ... 86%"). Coverage share chosen on bench dev tune
# and seed: 0 -> 0.5 leaves bench answers unchanged (recall 0.703), seed 26 -> 27 answered
# well, citation precision 0.931 -> 0.944; 0.75 costs bench held-out a question.
SUPPORT_FLOOR = 0.5
SUPPORT_COVERAGE = 0.5
# For a yes/no question ("Did Ukraine agree to the 30-day ceasefire?") a sentence of another
# outlet holding at least this share of the question's terms (and as many as the claim) says
# the same on the asked point, whatever else it says ("... a deal Kyiv agreed to on
# Tuesday"): seed dev 29 -> 30 answered well, precision 0.986 (0.8 and 0.9 alike); bench dev
# answers unchanged.
YES_NO_COVERAGE = 0.8

_AUTHOR_Q = re.compile(r"\b(who (wrote|authored|reported)|author|written by|byline|reporter)\b", re.I)
_AUTHOR_WORDS = "wrote write written author authored article story piece report reporter"
_BYLINE = re.compile(r"^By\s+[A-Z]")
# A dateline standing alone as a sentence ("New York CNN Business —", "Colombo, Sri Lanka CNN —"):
# where the story was filed, no claim of its own.
_DATELINE = re.compile(r"^\W*(?:[\w.'’&()]+[\s,]+){0,6}[\w.'’&()]*\s*[—–-]+\s*$")
_NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")
_WORDS = re.compile(r"(?u)\b\w\w+\b")  # the words `index.lexical.terms` reads


@dataclass
class Sentence:
    source: str
    start: int
    end: int
    text: str
    coverage: float  # of the sentence window
    score: float  # the model's probability that this sentence answers the question
    chunk: int | None
    dense: float | None = None
    index: int = 0  # the sentence's place in its article
    values: list[at.Span] = field(default_factory=list)  # answer values of the asked kind
    own: float = 0.0  # the question's (idf-weighted) terms in the sentence itself
    _shingles: set[tuple[str, ...]] | None = None

    @property
    def shingles(self) -> set[tuple[str, ...]]:
        if self._shingles is None:
            self._shingles = shingles(self.text)
        return self._shingles

    @property
    def relevant(self) -> bool:
        """Good enough to be quoted as a claim."""
        return self.score >= ANSWERABLE


@dataclass
class Evidence:
    question: str
    snapshot: Snapshot
    hits: list[Hit]
    top_k: int = 6
    sentences: list[Sentence] = field(default_factory=list)
    answerable: bool = False
    vectors: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)  # sentence vectors
    kind: str = at.NONE  # what kind of value the question asks for (bot/answer_types.py)
    articles: list[tuple[str, float]] = field(default_factory=list)  # rank_articles, as of
    question_terms: dict[str, float] = field(default_factory=dict)  # term -> idf
    pooled_values: list | None = None  # bot.claims.values(), computed once
    # Vectors of sentences given as (source, start), embedded on demand and cached by
    # content (`Searcher.sentence_vectors`): for comparing two sentences by meaning.
    fetch_vectors: Callable[[list[tuple[str, int]]], dict[tuple[str, int], np.ndarray]] | None = None
    # Vectors of short texts (candidate values), cached by content: None where there is no
    # encoder (crafted evidence in tests).
    embed: Callable[[list[str]], np.ndarray] | None = None

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
        words = overlap(a.shingles, b.shingles)
        if words >= SAME_WORDS:
            return True
        va = self.vectors.get((a.source, a.start))
        vb = self.vectors.get((b.source, b.start))
        if (va is None or vb is None) and words >= SOME_WORDS and self.fetch_vectors is not None:
            # No vectors for these sentences yet: fetch the pair (only pairs that already
            # share some wording, so this stays rare and cheap).
            todo = [(s.source, s.start) for s, v in ((a, va), (b, vb)) if v is None]
            self.vectors.update(self.fetch_vectors(todo))
            va = self.vectors.get((a.source, a.start))
            vb = self.vectors.get((b.source, b.start))
        if va is None or vb is None:
            return False
        cos = float(va @ vb)
        return cos >= SAME_MEANING or (words >= SOME_WORDS and cos >= CLOSE_MEANING)

    @property
    def factoid(self) -> bool:
        return self.kind in at.FACTOID_KINDS

    def supporting(self, claim: Sentence) -> list[Sentence]:
        """The sentence in each other source that states the same thing as `claim`: the same
        words or meaning, or (for a question after one value) the same value of the asked
        kind, in a sentence that bears on the question about as well, or (for a yes/no
        question) nearly all the question's terms."""
        out: dict[str, Sentence] = {}
        for s in self.sentences:
            if s.source == claim.source or s.source in out or not s.relevant:
                continue
            if self.same(claim, s) or (self.factoid and s.score >= SUPPORT_FLOOR * claim.score
                                       and s.coverage >= SUPPORT_COVERAGE * claim.coverage
                                       and _shared_value(claim, s)):
                out[s.source] = s
            elif self.yes_no and s.score >= SUPPORT_FLOOR * claim.score \
                    and s.own >= max(YES_NO_COVERAGE, claim.own):
                out[s.source] = s
        return list(out.values())

    @property
    def yes_no(self) -> bool:
        return at.yes_no(self.question)


def _value_keys(s: Sentence) -> set[str]:
    return {re.sub(r"^(on|in|the|about|over|some|since|last|this)\s+", "", v.text.lower())
            for v in s.values}


def _shared_value(a: Sentence, b: Sentence) -> bool:
    return bool(_value_keys(a) & _value_keys(b))


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


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, x))))


def candidates(
    searcher: Searcher, question: str, query: str, as_of: date | None, top_k: int = 6
) -> tuple[Evidence, list[dict[str, float]]]:
    """Every candidate sentence with its features (unscored): `gather` and model fitting."""
    r = searcher.retrieve(query, as_of)
    snap, hits = r.snapshot, r.hits
    ev = Evidence(question, snap, hits, top_k, vectors=dict(r.sentence_vecs),
                  fetch_vectors=lambda keys: searcher.sentence_vectors(snap, keys),
                  embed=searcher.vectors.embed)
    ev.kind = at.expected(question)
    # In the question's order, not a set's: `rarest` below takes the first of equally rare
    # terms, and a set's order changes with the process's hash seed (an answer did too).
    weights = {t: snap.idf(t) for t in dict.fromkeys(terms(query))}
    author_q = bool(_AUTHOR_Q.search(question))
    if author_q:  # "who wrote the article about X" is about X; the byline answers
        for t in terms(_AUTHOR_WORDS):
            weights.pop(t, None)
    ev.question_terms = weights
    total = sum(weights.values())
    if not hits or total <= 0:
        return ev, []
    ev.articles = searcher.rank_articles(query, k=ARTICLES, as_of=as_of)
    art_rank = {src: i for i, (src, _) in enumerate(ev.articles)}
    chunk_rank = {h.chunk: i for i, h in enumerate(hits)}
    # Which chunks' sentences are candidates: every chunk of the best articles, the best hits,
    # and the chunks of sentences whose vectors are close to the question.
    pool: dict[str, set[int] | None] = {src: None for src, _ in ev.articles}  # None: all
    for h in hits[:SENTENCE_POOL]:
        ref = snap.chunk(h.chunk)
        if ref.source not in pool or pool[ref.source] is not None:
            pool.setdefault(ref.source, set()).add(ref.index)  # type: ignore[union-attr]
    for (source, start), sim in r.sentence_sims.items():
        pos = snap.chunk_of(source, start)
        if sim >= POOL_DENSE and pos is not None:
            ref = snap.chunk(pos)
            if source not in pool or pool[source] is not None:
                pool.setdefault(source, set()).add(ref.index)  # type: ignore[union-attr]
    asked_text = question.lower()
    q_seq = [t for t in map(at.word_term, _WORDS.findall(query.lower())) if t in weights]
    q_pairs = {(a, b) for a, b in zip(q_seq, q_seq[1:]) if a != b}
    rarest = max(weights, key=lambda t: weights[t])
    top_sources = [src for src, _ in ev.articles]
    why_q = ev.kind == at.NONE and _WHY.match(question) is not None
    lower_seen: dict[tuple[str, str], bool] = {}

    def common_in(source: str) -> Callable[[str], bool]:
        """Is a word also written in lower case in this article or the best-ranked ones?"""
        def common(word: str) -> bool:
            key = (source, word)
            if key not in lower_seen:
                lower_seen[key] = any(word in _lower_words(snap, src)
                                      for src in [source, *top_sources])
            return lower_seen[key]
        return common

    feats: list[dict[str, float]] = []
    for source, wanted in pool.items():
        doc = snap.document(source)
        if doc is None:
            continue
        text = snap.text(source)
        title_terms = set(terms(doc.meta.title or ""))
        title_cov = sum(w for t, w in weights.items() if t in title_terms) / total
        flat: list[tuple[int, int, int]] = []  # (start, end, chunk index)
        chunk_pos: dict[int, int | None] = {}
        for ci, (cs, _, sents) in enumerate(doc.chunks):
            flat.extend((s, e, ci) for s, e in sents)
            chunk_pos[ci] = snap.chunk_of(source, cs) if sents else None
        sent_terms = [snap.span_terms(source, s, e) for s, e, _ in flat]
        arank = art_rank.get(source)
        opener_test = common_in(source)
        for j, (s, e, ci) in enumerate(flat):
            if wanted is not None and ci not in wanted:
                continue
            sent = text[s:e]
            own_t = sent_terms[j]
            win_t = own_t.union(*sent_terms[max(0, j - 1): j + 2])
            window = sum(w for t, w in weights.items() if t in win_t) / total
            byline = author_q and bool(_BYLINE.match(sent))
            if _DATELINE.match(sent):
                continue  # bench dev answer recall 0.722 -> 0.727 (it was quoted as a claim)
            if window <= 0 and not byline:
                continue  # shares no word with the question, nor do its neighbours
            own = sum(w for t, w in weights.items() if t in own_t) / total
            seq = [t for t in map(at.word_term, _WORDS.findall(sent.lower())) if t]
            at_q = [i for i, t in enumerate(seq) if t in weights]
            pairs = {(a, b) for a, b in zip(seq, seq[1:])}
            bigrams = len(pairs & q_pairs) / len(q_pairs) if q_pairs else 0.0
            density = (len({seq[i] for i in at_q}) / (at_q[-1] - at_q[0] + 1)) if len(at_q) > 1 else 0.0
            matched = len({seq[i] for i in at_q}) / len(weights)
            pos = chunk_pos.get(ci)
            crank = chunk_rank.get(pos) if pos is not None else None
            dense = r.sentence_sims.get((source, s))
            values = [v for v in at.spans(sent, ev.kind, opener_test)
                      if _new_value(v.text, weights, asked_text)] \
                if ev.factoid else []
            near = _nearness(sent, values, weights, total) if values else 0.0
            reason = 1.0 if why_q and _REASON.search(sent) else 0.0
            f = sentence_features(
                own=own, window=window, title=title_cov, article_rank=arank, chunk_rank=crank,
                index=j, news=len(own_t - set(weights)), dense=dense, has_value=bool(values),
                near=near, factoid=ev.factoid, byline=byline, is_title=(s == 0 and sent == doc.meta.title),
                length=len(own_t), bigrams=bigrams, density=density, matched=matched,
                rarest=1.0 if rarest in own_t else 0.0, reason=reason,
            )
            feats.append(f)
            ev.sentences.append(Sentence(source, s, e, sent, window, 0.0, pos, dense, j, values,
                                         own))
    return ev, feats


_WHY = re.compile(r"^\s*(?:why\b|what (?:was|is|were|are) the (?:reason|purpose|aim|goal|motive))", re.I)
# What a sentence giving a reason or a purpose says it with.
_REASON = re.compile(r"\b(?:because|in a bid to|in order to|so as to|so that|aimed at|aim(?:ed)? to|"
                     r"intended to|designed to|seeking to|sought to|in an effort to|in an attempt to|"
                     r"due to|owing to|as a result of|the reason|purpose|motivated by|"
                     r"in response to|in retaliation)\b", re.I)
_LOWER = re.compile(r"(?<![\w'’-])[a-z][a-z'’-]*")


def _lower_words(snap: Snapshot, source: str) -> frozenset[str]:
    """The words an article writes in lower case."""
    return _lower_set(snap.text(source) or "")


@lru_cache(maxsize=512)  # texts are shared objects of the snapshot's cache: their hash is kept
def _lower_set(text: str) -> frozenset[str]:
    return frozenset(_LOWER.findall(text))


def _new_value(value: str, weights: dict[str, float], asked: str) -> bool:
    """A value the question already names is not its answer ("Which university ..." may be
    answered by "Northeastern University", but not by "University")."""
    if value.lower() in asked:
        return False
    ts = terms(value)
    return not ts or any(t not in weights for t in ts)


def _nearness(sent: str, values: list[at.Span], weights: dict[str, float], total: float) -> float:
    """How close the sentence's nearest value is to the question's words (1: adjacent)."""
    words = [(m.start(), m.group(0)) for m in re.finditer(r"\w+", sent)]
    hits = [i for i, (_, w) in enumerate(words) if at.word_term(w) in weights]
    if not hits:
        return 0.0
    best = 0.0
    for v in values:
        vi = next((i for i, (o, _) in enumerate(words) if o >= v.start), len(words))
        d = min(abs(vi - h) for h in hits)
        best = max(best, 1.0 / (1.0 + d / 4.0))
    return best


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
    ev, feats = candidates(searcher, question, query, as_of, top_k)
    for s, f in zip(ev.sentences, feats):
        s.score = _sigmoid(sum(SENTENCE_WEIGHTS.get(k, 0.0) * v for k, v in f.items()))
    if RERANK and ev.sentences:
        # Dense reranking of the few best: their MiniLM similarity to the question, embedded
        # on demand (cached by content) when the index stores no sentence vectors.
        order = sorted(range(len(ev.sentences)), key=lambda i: -ev.sentences[i].score)[:RERANK]
        todo = [i for i in order if ev.sentences[i].dense is None]
        if todo:
            keys = [(ev.sentences[i].source, ev.sentences[i].start) for i in todo]
            vecs = searcher.sentence_vectors(ev.snapshot, keys)
            qv = searcher.query_vector(query)
            ev.vectors.update(vecs)
            for i, key in zip(todo, keys):
                if key in vecs:
                    s, f = ev.sentences[i], feats[i]
                    s.dense = float(qv @ vecs[key])
                    f["dense"] = max(0.0, s.dense - 0.2)
                    s.score = _sigmoid(sum(SENTENCE_WEIGHTS.get(k, 0.0) * v for k, v in f.items()))
    ev.sentences.sort(key=lambda x: -x.score)
    best = ev.sentences[0].score if ev.sentences else 0.0
    covered = max((s.coverage for s in ev.sentences[:5]), default=0.0)
    ev.answerable = (best >= ANSWERABLE and covered >= MIN_COVERAGE
                     and not unknown_names(ev.snapshot, query))
    if ev.answerable and ev.kind == at.NUMBER:
        ev.answerable = not no_figure_of_asked_thing(ev, values(ev))
    if ev.answerable and ev.kind == at.NONE:
        ev.answerable = not _speaker_never_on_topic(ev, query)
    return ev


_SAY_Q = re.compile(r"^\s*(?i:what (?:did|does|has|have|had)) ((?:[A-Z][\w'’.-]*\s+){0,3}[A-Z][\w'’.-]*)"
                    r"\s+(?i:say|said|tell|told|claim|claimed|state|stated|write|wrote)\b")
_SPEECH = re.compile(r"\b(?:sa(?:y|ys|id|ying)|t(?:ell|ells|old|elling)|stat(?:e|es|ed|ing|ement)|"
                     r"claim\w*|add(?:s|ed|ing)|wr(?:ote|ites|iting)|warn\w*|insist\w*|argu\w*|"
                     r"announc\w*|express\w*|describ\w*|call(?:s|ed|ing)|according|not(?:ed|ing)|"
                     r"urg(?:ed|es|ing)|quot\w*|assert\w*|acknowledg\w*|admit\w*|suggest\w*|"
                     r"explain\w*|declar\w*|vow\w*|promis\w*|dismiss\w*|reject\w*|den(?:y|ied|ies)|"
                     r"respond\w*|repl(?:y|ied|ies)|comment\w*|remark\w*|tweet\w*|posted|"
                     r"interview\w*|speech|spoke|speak\w*)\b", re.I)


def _speaker_never_on_topic(ev: Evidence, query: str) -> bool:
    """A "what did X say" question none of whose best sentences has X speaking: X named in
    the sentence (or the one before) with a verb of saying beside the name (the articles may
    name X, but only for what X did or what others said)."""
    m = _SAY_Q.match(query)
    if not m:
        return False
    who = set(terms(m.group(1)))
    for s in ev.sentences[:5]:
        for text in (s.text, previous_sentence(ev, s) or ""):
            if who & set(terms(text)):
                if _SPEECH.search(text) or (text is not s.text and _SPEECH.search(s.text)):
                    return False
                break
    return True
