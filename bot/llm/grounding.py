"""The grounding check: the model's sentences reduced to what the passages support.

The model only *proposes* sentences with [n] markers. Every sentence that survives is re-cited
with verbatim sentences of the passage it names (numbered by the evidence's `CitationBook`, so
`quote == text[start:end]` holds by construction); whatever cannot be tied to a retrieved
passage is dropped, and an answer that loses too much raises `LLMFailure` so the extractive
answer is shown instead.

The check is lexical: a kept sentence shares most of its content words with the quoted
sentence(s) of a passage the model was given, and every figure in it occurs in that passage.
It cannot tell "accepted" from "rejected"; the verbatim quotes are what let a reader check.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

from index.chunking import sentence_spans
from index.lexical import overlap, shingles, stopwords, terms
from index.types import Passage

from bot.answer import LLMFailure
from bot.citations import Citation
from bot.evidence import Evidence
from bot.llm.attribution import (
    Attribution, Speaker, attributions, matches, matches_meta, sentence_speakers, speaker_terms,
)

log = logging.getLogger(__name__)

FALLBACK = "showing quotes from the articles instead"
# A [n] marker is kept when the passage's best sentences hold this share of the claim's
# content words; the whole sentence must then be covered by its kept quotes at
# MIN_SENTENCE_SUPPORT. Words count equally: in a small corpus idf ranks paraphrase verbs
# ("insisted", "relayed") far above the names a claim is about.
MIN_MARKER_SUPPORT = 0.5
MIN_SENTENCE_SUPPORT = 0.6
# An unmarked sentence is attached to a passage only on a clear lexical best match.
REPAIR_SUPPORT = 0.7
REPAIR_MARGIN = 0.15
# A sentence needs this many distinct content words to be checkable ("HACKED." is not).
MIN_CLAIM_TERMS = 2
# A quote is the passage's best sentence, plus one more if it adds this share of the claim.
MAX_QUOTE_SENTENCES = 2
MIN_EXTRA_GAIN = 0.2
# A duplicate outlet is cited when one of its sentences repeats the quote's words.
DUPLICATE_OVERLAP = 0.5
# At least this share of the answer's substantive sentences must survive.
MIN_SURVIVING = 0.5
# Corroboration: another outlet's passage is cited too when it holds this share of a kept
# claim's words, every figure and every capitalised word (names, days, months) of it.
CORROBORATE_SUPPORT = 0.75
MIN_CORROBORATE_TERMS = 3
MAX_CORROBORATING = 2
_CAPITALISED = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'-]+")
# Pronouns, connectives, reporting verbs and words about the sources: how a model phrases a
# claim, not what it claims.
_PHRASING = """he she him her his them it we our you your me my another meanwhile however
additionally further furthermore moreover while whereas added noted insisted mentioned
explained described reported according article articles passage passages outlet outlets"""
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Days and months are checked like figures: "on Tuesday" must be in the sentence that holds the
# claim, not anywhere in the passage (a real small model wrote "The visit was on Tuesday"
# against a passage where the visit is on Wednesday and Tuesday is another event's day).
_DATE_WORDS = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|march|april|"
    r"june|july|august|september|october|november|december)\b", re.I)
# Sentences before a passage read for its first sentence's speaker ("He said ..." at the top).
SPEAKER_LOOKBACK = 3
# A named speaker's own sentences may hold one word fewer of the claim than the passage's best
# sentence (a headline often repeats the claim's words without a speaker).
SPEAKER_SLACK = 1


_MARKER = re.compile(
    r"\[\s*(?:(?:passages?|source|p)\s*)?(\d+(?:\s*(?:,|;|-|–|and)\s*(?:(?:passages?|p)\s*)?\d+)*)\s*\]",
    re.I,
)
_ONLY_MARKERS = re.compile(rf"^(?:\s*{_MARKER.pattern})+\s*[.,;]?\s*", re.I)
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S | re.I)  # reasoning models' scratchpad
_SOURCES_HEADING = re.compile(r"^\W*(sources|references|citations)\b\W*(?::.*)?$", re.I)
_DECLINE = re.compile(
    r"\b(do(es)?\s*n[o']t|cannot|can't|no)\b.{0,60}\b(answer|mention|say|contain|information|specify)",
    re.I,
)
# Questions whose answer can be one name, place, date or figure: only these may be answered
# with a bare "Sudzha [2]."
_FACTOID = re.compile(
    r"^\W*(?:(?:and|so|but)\s+)?(when|where|which|who|whom|whose|how (many|much|long|old|far)|"
    r"what (year|day|date|time|month|percentage|percent|share|number|town|city|country|place|"
    r"region|channel|agency|outlet)|in (which|what)|on (which|what)|at (which|what))\b", re.I)
_TRAILING_PUNCT = re.compile(r"([.!?…]+[\"”’)]*)$")


def marker_numbers(group: str) -> list[int]:
    """'1, 3' -> [1, 3]; '2-4' -> [2, 3, 4] (short ranges only)."""
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|\band\b)\s*", group):
        nums = [int(x) for x in re.findall(r"\d+", part)]
        if len(nums) == 2 and re.search(r"[-–]", part) and 0 <= nums[1] - nums[0] <= 10:
            out.extend(range(nums[0], nums[1] + 1))
        else:
            out.extend(nums)
    return out


@dataclass
class Proposed:
    """One sentence of the model's output, on the line it was written."""

    line: int
    text: str


def split_sentences(raw: str) -> list[Proposed]:
    """Sentences per line; markers the model put after a full stop go with the sentence before."""
    body = _THINK.sub("", raw)
    out: list[Proposed] = []
    for i, line in enumerate(body.splitlines()):
        if _SOURCES_HEADING.match(line.strip()) and out:
            break  # a references list at the end is not part of the answer
        for s, e in sentence_spans(line):
            piece = line[s:e]
            lead = _ONLY_MARKERS.match(piece)
            if lead and out and out[-1].line == i and not _MARKER.search(out[-1].text):
                out[-1].text += " " + lead.group(0).strip()
                piece = piece[lead.end() :].strip()
            if piece:
                out.append(Proposed(i, piece))
    return out


@lru_cache(maxsize=1)
def phrasing_terms() -> frozenset[str]:
    return frozenset(terms(_PHRASING))


def claim_terms(text: str) -> set[str]:
    """The words a sentence claims something with (its markers already removed)."""
    return set(terms(text)) - phrasing_terms()


def numbers_in(text: str) -> set[str]:
    """'1,100' and '1100' are the same figure; a number is the claim most worth checking."""
    return {n.replace(",", "").lstrip("0") or "0" for n in _NUMBER.findall(text)}


@dataclass
class PassageFacts:
    """One retrieved passage as the checker sees it: its sentences, words and figures."""

    passage: Passage
    text: str
    spans: list[tuple[int, int]]
    sent_terms: list[set[str]]
    meta_terms: set[str]
    numbers: set[str]
    dups: list[PassageFacts] = field(default_factory=list)
    before: list[str] = field(default_factory=list)  # the article's sentences just before
    byline_terms: set[str] = field(default_factory=set)  # outlet and author: who reports it
    _speakers: dict[int, Attribution] = field(default_factory=dict)

    def speakers(self, i: int) -> Attribution:
        """Who speaks in sentence i: named there, or in the nearest earlier sentence."""
        if i not in self._speakers:
            sents = self.before + [self.text[s:e] for s, e in self.spans[: i + 1]]
            self._speakers[i] = sentence_speakers(sents, len(sents) - 1, SPEAKER_LOOKBACK)
        return self._speakers[i]


def passage_spans(evidence: Evidence, p: Passage) -> list[tuple[int, int]]:
    """The passage's sentence offsets, from the index when it has them."""
    snap = evidence.snapshot
    pos = snap.chunk_of(p.source, p.start)
    spans: list[tuple[int, int]] = []
    if pos is not None:
        spans = [(s, e) for s, e in snap.chunk(pos).sentences if p.start <= s and e <= p.end]
    if not spans:
        spans = sentence_spans(snap.text(p.source), p.start, p.end)
    return spans


def passage_facts(evidence: Evidence, p: Passage, with_dups: bool = True) -> PassageFacts:
    text = evidence.snapshot.text(p.source)
    spans = passage_spans(evidence, p)
    meta = " ".join(x for x in (p.meta.outlet, p.meta.title, p.meta.author) if x)
    figures = numbers_in(text[p.start : p.end]) | numbers_in(meta)
    figures |= numbers_in((p.meta.published or "").replace("-", " "))
    src = PassageFacts(p, text, spans, [set(terms(text[s:e])) for s, e in spans], set(terms(meta)),
                 figures)
    first = spans[0][0] if spans else p.start
    src.before = [text[a:b] for a, b in sentence_spans(text, max(0, first - 1500), first)
                  ][-SPEAKER_LOOKBACK:]
    src.byline_terms = set(terms(" ".join(x for x in (p.meta.outlet, p.meta.author) if x)))
    if with_dups:
        src.dups = [passage_facts(evidence, d, with_dups=False) for d in p.also]
    return src


@dataclass
class Quote:
    spans: list[tuple[int, int]]
    support: float
    covered: set[str]
    main: int = -1  # the passage sentence that holds most of the claim


@dataclass
class CheckReport:
    """What the checker did; logged, and the basis of the fall-back decision."""

    substantive: int = 0
    kept: int = 0
    repaired: int = 0
    invalid_markers: int = 0
    unsupported_markers: int = 0
    misattributed: int = 0  # sentences dropped: the cited passage's speaker is someone else
    reattributed: int = 0  # sentences moved to the passage where their speaker says it
    corroborated: int = 0  # citations added from other outlets that state the same claim
    raw: str = ""  # what the model wrote
    # Every kept sentence that names a speaker, with its cited passages' speakers (for review).
    attributed: list[dict[str, object]] = field(default_factory=list)
    dropped: list[dict[str, object]] = field(default_factory=list)


class Checker:
    """Keeps the model's sentences that the retrieved passages support, re-cited verbatim."""

    def __init__(self, evidence: Evidence, question: str | None = None) -> None:
        self.evidence = evidence
        q = question if question is not None else getattr(evidence, "question", "")
        self.question_terms = claim_terms(q or "")
        self.factoid = bool(_FACTOID.search(q or ""))
        self.asked = set(terms(q or ""))  # every word of the question, for the relevance check
        self.sources = [passage_facts(evidence, p) for p in evidence.passages]
        self.book = evidence.citation_book()
        self.report = CheckReport()

    # -- scoring --

    @staticmethod
    def quote(claim: set[str], src: PassageFacts, among: set[int] | None = None) -> Quote:
        """The passage sentence(s) that best support the claim, greedily by words covered
        (only sentences in `among`, when given)."""
        if not claim or not src.spans:
            return Quote([], 0.0, set())
        covered: set[str] = set()
        chosen: list[int] = []
        while len(chosen) < MAX_QUOTE_SENTENCES:
            gain, best = 0, -1
            for i, st in enumerate(src.sent_terms):
                if among is not None and i not in among:
                    continue
                g = len((claim & st) - covered)
                if i not in chosen and g > gain:
                    gain, best = g, i
            if best < 0 or (chosen and gain < MIN_EXTRA_GAIN * len(claim)):
                break
            chosen.append(best)
            covered |= claim & src.sent_terms[best]
        if not chosen:
            return Quote([], 0.0, set())
        covered |= claim & src.meta_terms  # "Reuters reports ..." is backed by the byline
        return Quote(Checker._merge(src, sorted(chosen)), len(covered) / len(claim), covered,
                     chosen[0])

    @staticmethod
    def _merge(src: PassageFacts, chosen: list[int]) -> list[tuple[int, int]]:
        """Adjacent sentences on one line become one quote; others stay separate."""
        out: list[list[int]] = []
        prev = -2
        for i in chosen:
            s, e = src.spans[i]
            if out and i == prev + 1 and "\n" not in src.text[out[-1][1] : s]:
                out[-1][1] = e
            else:
                out.append([s, e])
            prev = i
        return [(s, e) for s, e in out]

    def cite(self, src: PassageFacts, q: Quote) -> list[int]:
        """Citation numbers for a quote, plus the same words in the duplicate outlets."""
        nums: list[int] = []
        for s, e in q.spans:
            nums.append(self.book.cite(src.passage.source, s, e))
            sh = shingles(src.text[s:e])
            for dup in src.dups:
                best = max(
                    ((overlap(sh, shingles(dup.text[a:b])), (a, b)) for a, b in dup.spans),
                    default=(0.0, (0, 0)),
                )
                if best[0] >= DUPLICATE_OVERLAP:
                    nums.append(self.book.cite(dup.passage.source, *best[1]))
        return list(dict.fromkeys(nums))

    # -- one sentence --

    @staticmethod
    def anchored(q: Quote, src: PassageFacts, need: set[str], bare: str = "") -> bool:
        """The claim's figures and dates are in the sentence that holds most of it, and the
        claim does not turn that sentence around (`reverses`)."""
        if q.main < 0:
            return not need
        s, e = src.spans[q.main]
        return need <= anchors(src.text[s:e]) and not (bare and reverses(bare, src.text[s:e]))

    def among(self, speaker: Speaker | None, src: PassageFacts) -> set[int] | None:
        return None if speaker is None else self.spoken_by(speaker, src)

    @staticmethod
    def spoken_by(speaker: Speaker, src: PassageFacts) -> set[int]:
        """The passage's sentences whose speaker (named there or just before) is `speaker`."""
        if matches_meta(speaker, src.byline_terms):
            return set(range(len(src.spans)))
        return {i for i in range(len(src.spans))
                if any(matches(speaker, named) for named in src.speakers(i).speakers)}

    def speaks(self, speaker: Speaker, claim: set[str], src: PassageFacts) -> bool:
        """Is `speaker` the one who says the claim's words in this passage?

        The sentences the speaker says (named there, or just before: "He said ...") must hold
        the claim's words (its speaker's name aside) about as well as the passage's best
        sentence does, whoever says that one; or the speaker is the passage's outlet or author.
        """
        if matches_meta(speaker, src.byline_terms):
            return True
        content = claim - speaker_terms(speaker) or claim
        best = max((len(content & st) for st in src.sent_terms), default=0)
        if not best:
            return False
        own = self.quote(content, src, self.spoken_by(speaker, src))
        return len(own.covered) >= max(1, best - SPEAKER_SLACK)

    def speaker_label(self, claim: set[str], src: PassageFacts, speaker: Speaker | None) -> str:
        """The speakers of the passage sentence(s) that hold the claim (for the report)."""
        content = claim - (speaker_terms(speaker) if speaker else set()) or claim
        scores = [len(content & st) for st in src.sent_terms]
        best = max(scores, default=0)
        labels = [src.speakers(i).label() for i, sc in enumerate(scores) if sc == best and best]
        return " | ".join(dict.fromkeys(labels)) or "(no sentence)"

    def repair(
        self, claim: set[str], figures: set[str], speaker: Speaker | None = None,
        exclude: set[int] = frozenset(),  # type: ignore[assignment]
        need: set[str] = frozenset(),  # type: ignore[assignment]
        bare: str = "",
    ) -> tuple[int, Quote] | None:
        """Attach a sentence to the passage that clearly supports it best (and, when the
        sentence names a speaker, where that speaker says it)."""
        ranked = sorted(
            ((q, k) for q, k, src in ((self.quote(claim, src, self.among(speaker, src)), k, src)
                                      for k, src in enumerate(self.sources)
                                      if k not in exclude and figures <= _figures(src))
             if self.anchored(q, src, need, bare)
             and (speaker is None or self.speaks(speaker, claim, src))),
            key=lambda x: -x[0].support,
        )
        if not ranked or ranked[0][0].support < REPAIR_SUPPORT:
            return None
        if len(ranked) > 1 and ranked[1][0].support > ranked[0][0].support - REPAIR_MARGIN:
            return None
        return ranked[0][1], ranked[0][0]

    def check(self, sentence: Proposed) -> str | None:
        """The sentence with renumbered markers, or None when the passages do not support it."""
        text = sentence.text
        matches_ = list(_MARKER.finditer(text))
        bare = tidy(_MARKER.sub(" ", text))
        claim = claim_terms(bare)
        if len(claim) < MIN_CLAIM_TERMS:
            if matches_:
                self.report.substantive += 1
                out = self.check_direct(text, matches_, bare, claim)
                if out is not None:
                    self.report.kept += 1
                    return out
            return None
        self.report.substantive += 1
        figures = numbers_in(bare)
        whole_speaker = claimed(bare)
        kept: dict[int, list[int]] = {}  # match index -> citation numbers
        covered: set[str] = set()
        backing: set[str] = set()
        cited_by: dict[int, Speaker | None] = {}  # passage index -> the speaker checked there
        misattributed: list[int] = []
        mis_speaker: Speaker | None = None
        sub_claim, prev_end = claim, 0
        for j, m in enumerate(matches_):
            segment = text[prev_end : m.start()]
            part = claim_terms(segment)
            sub_claim = part if len(part) >= MIN_CLAIM_TERMS else sub_claim
            # The segment's own speaker ("..., while Putin said Y [2]"), else the sentence's.
            speaker = claimed(segment) if attributions(segment, "claim") else claimed(
                text[: m.start()])
            need = anchors(segment if len(part) >= MIN_CLAIM_TERMS else bare)
            prev_end = m.end()
            for k in marker_numbers(m.group(1)):
                if not 1 <= k <= len(self.sources):
                    self.report.invalid_markers += 1
                    continue
                src = self.sources[k - 1]
                # A claim that names a speaker is quoted only from sentences that speaker says.
                among = None if speaker is None else self.spoken_by(speaker, src)
                whole = self.quote(claim, src, among)
                q = max(self.quote(sub_claim, src, among), whole, key=lambda x: x.support)
                if speaker is not None and q.support < MIN_MARKER_SUPPORT and self.quote(
                        sub_claim, src).support >= MIN_MARKER_SUPPORT:
                    misattributed.append(k - 1)  # supported, but in someone else's words
                    mis_speaker = mis_speaker or speaker
                    continue
                if q.support < MIN_MARKER_SUPPORT or not self.anchored(q, src, need, bare):
                    self.report.unsupported_markers += 1
                    continue
                if speaker is not None and not self.speaks(speaker, sub_claim, src):
                    misattributed.append(k - 1)
                    mis_speaker = mis_speaker or speaker
                    continue
                covered |= whole.covered | q.covered
                backing |= _figures(src)
                cited_by[k - 1] = speaker
                kept.setdefault(j, []).extend(self.cite(src, q))
        if kept:
            if len(covered) / len(claim) < MIN_SENTENCE_SUPPORT or not figures <= backing:
                return None
            self.report.kept += 1
            last = max(kept)
            kept[last].extend(self.corroborate(bare, claim, figures, set(cited_by), whole_speaker))
            out = _renumber(text, matches_, kept)
            self._note_attribution(out, claim, cited_by)
            return out
        if misattributed:
            # Cited where someone else says it: move it to where its speaker does, if one
            # passage clearly holds it; otherwise drop it.
            whole_speaker = whole_speaker or mis_speaker
            assert whole_speaker is not None
            fixed = self.repair(claim, figures, whole_speaker, exclude=set(misattributed),
                                need=anchors(bare), bare=bare)
            if fixed is None:
                cited = [{"source": self.sources[k].passage.source,
                          "speaker": self.speaker_label(claim, self.sources[k], whole_speaker)}
                         for k in dict.fromkeys(misattributed)]
                self.report.misattributed += 1
                self.report.dropped.append(
                    {"claim": bare, "speaker": whole_speaker.phrase, "cited": cited})
                log.info("llm claim dropped, misattributed: %r (the cited passage's speaker: %s)",
                         bare, "; ".join(c["speaker"] for c in cited))
                return None
            self.report.reattributed += 1
        else:
            fixed = self.repair(claim, figures, whole_speaker, need=anchors(bare), bare=bare)
        if fixed is None:
            return None
        k, q = fixed
        self.report.kept += 1
        self.report.repaired += 1
        nums = self.cite(self.sources[k], q) + self.corroborate(bare, claim, figures, {k},
                                                                whole_speaker)
        out = append_markers(bare, list(dict.fromkeys(nums)))
        self._note_attribution(out, claim, {k: whole_speaker})
        return out

    def corroborate(
        self, bare: str, claim: set[str], figures: set[str], cited: set[int],
        speaker: Speaker | None,
    ) -> list[int]:
        """Citations of other outlets' passages that state the same claim ("2 sources")."""
        if len(claim) < MIN_CORROBORATE_TERMS:
            return []
        sources = {self.sources[k].passage.source for k in cited}
        for k in cited:
            sources |= {d.passage.source for d in self.sources[k].dups}
        key = claim & set(terms(" ".join(_CAPITALISED.findall(bare))))
        found: list[tuple[float, int, Quote]] = []
        for k, src in enumerate(self.sources):
            if k in cited or src.passage.source in sources or not figures <= _figures(src):
                continue
            q = self.quote(claim, src, self.among(speaker, src))
            if (q.support < CORROBORATE_SUPPORT or not key <= q.covered
                    or not self.anchored(q, src, anchors(bare), bare)):
                continue
            if speaker is not None and not self.speaks(speaker, claim, src):
                continue
            found.append((q.support, k, q))
        out: list[int] = []
        seen: set[str] = set()
        for _, k, q in sorted(found, key=lambda x: -x[0]):
            source = self.sources[k].passage.source
            if source in seen:
                continue
            seen.add(source)
            out.extend(self.cite(self.sources[k], q))
            self.report.corroborated += 1
            if len(seen) >= MAX_CORROBORATING:
                break
        return out

    def check_direct(
        self, text: str, matches_: list[re.Match[str]], bare: str, claim: set[str]
    ) -> str | None:
        """A bare direct answer ("Sudzha [2].", "86% [1]."): too short to check on its own
        words, so it is checked with the question's: the cited passage must have a sentence
        holding the answer's words and figures and most of the question's."""
        if not claim or not self.question_terms or not self.factoid:
            return None
        figures = numbers_in(bare)
        asked = self.question_terms - claim
        kept: dict[int, list[int]] = {}
        for j, m in enumerate(matches_):
            for k in marker_numbers(m.group(1)):
                if not 1 <= k <= len(self.sources):
                    self.report.invalid_markers += 1
                    continue
                src = self.sources[k - 1]
                if not figures <= _figures(src):
                    continue
                best, best_i = -1.0, -1
                for i, st in enumerate(src.sent_terms):
                    if claim <= st:
                        share = len(asked & st) / len(asked) if asked else 1.0
                        if share > best:
                            best, best_i = share, i
                if best_i < 0 or best < MIN_MARKER_SUPPORT:
                    self.report.unsupported_markers += 1
                    continue
                q = Quote(self._merge(src, [best_i]), best, claim)
                kept.setdefault(j, []).extend(self.cite(src, q))
        return _renumber(text, matches_, kept) if kept else None

    def _note_attribution(self, out: str, claim: set[str], cited_by: dict[int, Speaker | None]) -> None:
        named = {k: sp for k, sp in cited_by.items() if sp is not None}
        if not named:
            return
        self.report.attributed.append({
            "claim": strip_markers(out),
            "speaker": "; ".join(dict.fromkeys(sp.phrase for sp in named.values())),
            "cited": [{"source": self.sources[k].passage.source,
                       "speaker": self.speaker_label(claim, self.sources[k], sp)}
                      for k, sp in named.items()],
        })

    # -- the whole answer --

    def run(self, raw: str) -> tuple[str, list[Citation]]:
        self.report.raw = raw
        lines: dict[int, list[str]] = {}
        for sentence in split_sentences(raw):
            out = self.check(sentence)
            if out:
                lines.setdefault(sentence.line, []).append(out)
        r = self.report
        log.info(
            "llm answer checked: %d/%d sentences kept (%d repaired), %d invalid and %d "
            "unsupported markers dropped, %d sentences dropped as misattributed (%d moved to "
            "their speaker's passage)", r.kept, r.substantive, r.repaired,
            r.invalid_markers, r.unsupported_markers, r.misattributed, r.reattributed,
            extra={"check_report": r},
        )
        if not r.kept:
            if _DECLINE.search(raw) and not _MARKER.search(raw):
                raise LLMFailure(f"the language model found no answer in the passages; {FALLBACK}")
            raise LLMFailure(f"the language model's answer did not cite the articles; {FALLBACK}")
        if r.kept < MIN_SURVIVING * r.substantive:
            raise LLMFailure(
                f"most of the language model's answer was not supported by the articles; {FALLBACK}"
            )
        text = "\n\n".join(" ".join(parts) for _, parts in sorted(lines.items()))
        if self.asked and not any(_in_terms(t, self.asked) for t in terms(strip_markers(text))):
            # Supported by the passages, but about something else than the question.
            raise LLMFailure(f"the language model's answer was not about the question; {FALLBACK}")
        return text, self.book.citations


# Verbs that undo what follows them ("lifted its March 3 suspension of military aid").
_UNDO = re.compile(r"\b(?:lift(?:s|ed|ing)?|end(?:s|ed|ing)?|revers(?:e|es|ed|ing)|"
                   r"cancel(?:s|led|ed|ling)?|overturn(?:s|ed|ing)?|scrap(?:s|ped|ping)?|"
                   r"rescind(?:s|ed|ing)?|revok(?:e|es|ed|ing)|repeal(?:s|ed|ing)?|undo(?:es|ne)?|"
                   r"undid|withdr(?:aw|aws|awn|ew)|drop(?:s|ped|ping)?)\b", re.I)
_UNDONE_WINDOW = 5  # words after the verb that may name what it undoes
_POSSESSIVES = frozenset({"its", "his", "her"})  # not among bm25s' stop words


def reverses(claim: str, quote: str) -> bool:
    """Does the claim state as done what the quote says was undone? "The US suspended its
    military aid on Tuesday" from "The US lifted its March 3 suspension of military aid for
    Kyiv on Tuesday": the words and the day are all in the quote, so only this catches it (the
    local Qwen wrote exactly that). A claim that keeps an undoing verb, or the undone noun
    itself, is left to the other checks."""
    if _UNDO.search(claim):
        return False
    claim_words = {w.lower() for w in re.findall(r"[A-Za-z]+", claim)}
    dated = anchors(claim)
    for m in _UNDO.finditer(quote):
        after = list(re.finditer(r"[A-Za-z’'-]+|\d+", quote[m.end():]))[:_UNDONE_WINDOW]
        for w_ in after:
            noun = w_.group(0).lower()
            if noun in stopwords() or noun in _POSSESSIVES or len(noun) < 3 or noun in claim_words:
                continue
            stem = max(3, len(noun) - 4)
            if not any(len(os.path.commonprefix([noun, w])) >= stem and w.endswith(("ed", "ing"))
                       for w in claim_words):
                continue
            # "suspended military aid on March 3" from "lifted its March 3 suspension": the
            # claim's date is the undone thing's own, so the claim is about that thing
            if dated and dated <= anchors(quote[m.end(): m.end() + w_.end()]):
                continue
            return True
    return False


def _in_terms(term: str, pool: set[str]) -> bool:
    """'russia' ~ 'russian': equal, or one a 5+ letter prefix of the other."""
    if term in pool:
        return True
    return len(term) >= 5 and any(len(p) >= 5 and (p.startswith(term) or term.startswith(p))
                                  for p in pool)


def anchors(text: str) -> set[str]:
    """The figures and day or month names of a text: what a claim most often gets wrong."""
    return numbers_in(text) | {m.lower() for m in _DATE_WORDS.findall(text)}


def claimed(text: str) -> Speaker | None:
    """The speaker a sentence of the model attributes its words to (None: no one, or "he")."""
    found = attributions(text, "claim")
    return found[0] if found else None


def _figures(src: PassageFacts) -> set[str]:
    """Numbers a claim citing this passage may use: its own and its duplicates'."""
    out = set(src.numbers)
    for d in src.dups:
        out |= d.numbers
    return out


def tidy(text: str) -> str:
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\s+([.,;:!?…])", r"\1", text).strip()


def _renumber(text: str, matches: list[re.Match[str]], kept: dict[int, list[int]]) -> str:
    """Each kept marker becomes its citation numbers; dropped markers vanish."""
    out, pos, used = [], 0, set()
    for j, m in enumerate(matches):
        out.append(text[pos : m.start()])
        nums = [n for n in kept.get(j, []) if n not in used]
        used.update(nums)
        out.append("".join(f"[{n}]" for n in nums))
        pos = m.end()
    out.append(text[pos:])
    return tidy("".join(out))


def append_markers(bare: str, nums: list[int]) -> str:
    """'Claim.' -> 'Claim [3].', the style the system prompt asks for."""
    markers = "".join(f"[{n}]" for n in nums)
    m = _TRAILING_PUNCT.search(bare)
    if m:
        return f"{bare[: m.start()].rstrip()} {markers}{m.group(1)}"
    return f"{bare} {markers}"


def strip_markers(text: str) -> str:
    """The text without [n] markers (for history shown to the model)."""
    return tidy(_MARKER.sub(" ", text))


def strip_thinking(raw: str) -> str:
    """A reasoning model's <think> scratchpad is not part of its answer."""
    return _THINK.sub("", raw)


def check_answer(
    raw: str, evidence: Evidence, question: str | None = None
) -> tuple[str, list[Citation]]:
    """The model's answer reduced to what the retrieved passages support, re-cited verbatim.

    `question` (the standalone question) lets a bare direct answer ("Sudzha [2].") be checked.
    """
    return Checker(evidence, question).run(raw)


