"""The default answer: the asked value or the best sentences, every claim cited verbatim.

- A question after one value (who / where / when / how many / which) gets the value itself
  first ("Sudzha [1][2]. (2 sources report this.)"), cited by the sentences that give it; the
  quotes, shown under the answer, prove it. They write it as the answer states it: a shorter
  form merged into the value ("2026" of "June 1, 2026") proves nothing (`_stating`: 15 of
  the 74 direct answers to bench dev questions cited such a quote; answer recall unchanged,
  cites a gold article 0.904 -> 0.890; seed unchanged).
- Two strong accounts giving different figures, or the two options of an "X or Y?" question
  each found, are said plainly: "Sources differ: Syrsky says 942 [1]; Gerasimov says over 400
  [2]."
- Otherwise (what did X say / why / how, or no value found) one to three of the best
  sentences, each with the other outlets that state the same thing. They come from the
  first one's article, except for a question after one value: a sentence of another article
  is quoted too when it gives one of the best pooled values that the quotes do not give yet,
  since the value is often in an article other than the best-scored one (with the full
  names of bot/claims.py: bench dev tune 0.646 -> 0.673 answered, cites a gold article
  0.805 -> 0.832; seed dev: 27 -> 26 answered well, citation precision 0.930 -> 0.910).
  That holds after a direct answer too (DIRECT_ONE_ARTICLE: bench dev answer recall 0.675
  -> 0.689, tune 0.655 -> 0.664, held-out 0.698 -> 0.719, unambiguous 0.627 -> 0.636; seed
  unchanged). When no value leads, the best sentences of any article are quoted: there is no
  answer's article to keep to (bench dev answer recall 0.703 -> 0.713, tune unchanged at
  0.673, held-out 0.740 -> 0.760, unambiguous 0.646 -> 0.656; seed unchanged, 30/34; for
  what / why / how questions the same costs seed citation precision 0.986 -> 0.973). And
  when no value leads, one quote gives the best pooled value all the same, in place of the
  last claim that gives none of the best values (`_with_best_value`; with the value "type"
  feature of bot/claims.py: bench dev answer recall 0.713 -> 0.722, tune 0.673 -> 0.699,
  held-out 0.760 -> 0.750; without it, tune 0.690 and held-out 0.740; seed unchanged). With
  the lone-dateline and "A and B" changes of the same commit, the figures became 0.727, tune
  0.699, held-out 0.760.
- For what / why / how, a sentence opening with "It" / "They" / "This" that carries on the best
  sentence (next in its article, or opening the next paragraph when the best one opens its
  own) is quoted second: the question's words name the subject, so the sentence saying what
  it did scores low. Seed dev 30 -> 31 answered well (the one answer it changed), citation
  precision 0.986 -> 0.986; bench dev answers unchanged (its questions are nearly all after
  one value).
"""

from __future__ import annotations

import re

from bot import answer_types as at
from bot.citations import Citation, CitationBook
from bot.claims import Value, disagreement, mentions, speaker, values, writes
from bot.evidence import Evidence, Sentence

_BYLINE = re.compile(r"^By\s+[A-Z]")
# A claim must score at least this share of the best claim: no padding with weak sentences.
RELATIVE_FLOOR = 0.3
# A value is stated as the answer when its best sentence scores this share of the best one.
VALUE_FLOOR = 0.3
# ...and beats the next value by this much (its score is a log-odds-like sum).
VALUE_MARGIN = 3.0
# Sentences after the first are quoted when they score this share of the best one (bench dev
# tune, with other outlets' claims allowed below: 0.0 answers 0.673, 0.5 answers 0.655).
EXTRA_FLOOR = 0.0
# ...and cover this share of the question's terms that the first claim covers.
# Chosen on bench tune answer recall: 0.7 0.637, 0.5 0.664, 0.3 / 0.15 / 0 0.673 (0.3 quotes
# the fewest claims); seed 26/34 answered well at both 0.5 and 0.3.
EXTRA_COVERAGE = 0.3
# Sources cited for one value at most (every one more is one more quote to read).
MAX_SOURCES = 2


def choose_claims(evidence: Evidence, max_claims: int) -> list[Sentence]:
    """Best sentences first, skipping ones that repeat an earlier claim."""
    claims: list[Sentence] = []
    if not evidence.sentences:
        return claims
    best = evidence.sentences[0].score
    for s in evidence.sentences:
        if not s.relevant or s.score < RELATIVE_FLOOR * best:
            continue
        if any(evidence.same(s, c) for c in claims):
            continue
        claims.append(s)
        if len(claims) == 1 and not evidence.factoid and (nxt := _continuation(evidence, s)):
            claims.append(nxt)
        if len(claims) >= max_claims:
            break
    return claims[:max_claims]


# A sentence opening with a pronoun for a thing carries on the one before it ("The ceasefire was
# negotiated in Jeddah ... It called for an immediate, 30-day cessation of hostilities").
_CONTINUES = re.compile(r"^(?:It|They|This|These|That|Those)\s+[a-z]")


def _continuation(evidence: Evidence, s: Sentence) -> Sentence | None:
    """The candidate right after `s` in its article when it carries on `s`'s subject: a
    question's words name the subject, so the sentence that says what it did scores low."""
    text = evidence.snapshot.text(s.source)
    opens = s.start == 0 or text[:s.start].rstrip(" \t").endswith("\n")
    for c in evidence.sentences:
        if c.source != s.source or not c.relevant or not _CONTINUES.match(c.text):
            continue
        gap = text[s.end:c.start]
        if c.index == s.index + 1 or (  # or the next paragraph, on the topic s opened
                c.index == s.index + 2 and opens and text[c.start - 1] == "\n"
                and len(re.findall(r"\n\s*", gap)) == 1):
            return c
    return None


def _markers(book: CitationBook, group: list[Sentence]) -> str:
    return "".join(f"[{book.cite(s.source, s.start, s.end)}]" for s in group)


def _who(ev: Evidence, s: Sentence, first: bool = True) -> str:
    name = speaker(ev, s)
    if name:
        return name
    doc = ev.snapshot.document(s.source)
    if doc is not None and doc.meta.outlet:
        return doc.meta.outlet
    return "one report" if first else "another report"


def _report(n: int) -> str:
    return f" ({n} sources report this.)" if n > 1 else ""


def _differ_line(ev: Evidence, book: CitationBook, sides: list[tuple[str, Sentence]]) -> str:
    parts = [f"{_who(ev, s, i == 0)} says {text} {_markers(book, [s])}"
             for i, (text, s) in enumerate(sides)]
    return "Sources differ: " + "; ".join(parts) + "."


def _choice_answer(ev: Evidence, book: CitationBook) -> list[str] | None:
    options = at.choices(ev.question)
    if not options:
        return None
    found: list[tuple[str, Sentence]] = []
    for opt in options:
        pat = re.compile(rf"(?<!\w){re.escape(opt)}(?!\w)", re.I)
        s = next((s for s in ev.sentences[:20] if s.relevant and pat.search(s.text)), None)
        if s is not None:
            found.append((opt, s))
    if len(found) == 2 and found[0][1] is not found[1][1]:
        return [_differ_line(ev, book, found)]
    if len(found) == 2:  # one sentence sets the two accounts against each other
        s = found[0][1]
        return [f"Accounts differ: {s.text} {_markers(book, [s])}"]
    if len(found) == 1:
        opt, s = found[0]
        return [f"{opt[0].upper()}{opt[1:]} {_markers(book, [s])}."]
    return None


def _new_value(ev: Evidence, claim: Sentence, cited: list[Sentence]) -> bool:
    """After a direct answer: does the claim give one of the best pooled values that no quoted
    sentence gives? A figure of another unit than the one asked for, or a date of another
    grain, is no rival value ("24 settlements" beside "four Ukrainian territories", "August"
    beside "on Wednesday" for "on which day"): seed dev 27 -> 28 answered well, citation
    precision 0.944 -> 0.958 for units; bench dev unchanged."""
    return any(mentions(claim, v) and not any(mentions(c, v) for c in cited)
               for v in values(ev)[:NEW_VALUES]
               if min(v.features.get("unit", 0.0), v.features.get("grain", 0.0)) >= 0)


# Measured on bench dev tune / seed dev: 3 pooled values answer 0.646 / precision 0.906, 5
# 0.673 / 0.906, 8 0.673 / 0.892 (no gate at all: 0.673 / 0.892).
NEW_VALUES = 5
# After a direct answer, further claims from the answer's article only (see the docstring).
DIRECT_ONE_ARTICLE = False


def _leading_values(evidence: Evidence) -> tuple[Value, Value | None] | None:
    """The value a factoid answer states first, with the figure another strong account gives
    instead (sources that differ), when one value clearly leads."""
    if not evidence.factoid or evidence.kind == at.CHOICE or not evidence.sentences:
        return None
    vals = values(evidence)
    if not vals:
        return None
    margin = vals[0].score - vals[1].score if len(vals) > 1 else VALUE_MARGIN
    pair = disagreement(evidence, vals)
    if vals[0].sentences[0].score < VALUE_FLOOR * evidence.sentences[0].score or (
            margin < VALUE_MARGIN and pair is None):
        return None
    return pair if pair is not None else (vals[0], None)


def states_value(evidence: Evidence) -> bool:
    """Does the extractive answer open with the asked value itself, or with sources that
    differ on it (rather than with sentences)?"""
    if evidence.kind == at.CHOICE:
        return _choice_answer(evidence, evidence.citation_book()) is not None
    return _leading_values(evidence) is not None


def extractive_answer(evidence: Evidence, max_claims: int = 3) -> tuple[str, list[Citation]]:
    book = evidence.citation_book()
    lines: list[str] = []  # the direct answer (a value, sources that differ, a choice)
    cited: list[Sentence] = []
    if evidence.kind == at.CHOICE:
        lines = _choice_answer(evidence, book) or []
    elif (lead := _leading_values(evidence)) is not None:
        a, b = lead
        if b is not None:
            sides = [(a.text, a.sentences[0]), (b.text, b.sentences[0])]
            lines = [_differ_line(evidence, book, sides)]
            cited = [a.sentences[0], b.sentences[0]]
        else:
            group = _stating(evidence, a) or a.sentences[:MAX_SOURCES]
            lines = [f"{a.text} {_markers(book, group)}.{_report(len(group))}"]
            cited = list(group)
    # Then the best sentences not yet quoted: the direct answer's context, or the answer
    # itself for what / why / how questions.
    top = evidence.sentences[0].score if evidence.sentences else 0.0
    direct = bool(cited)  # a value (or sources that differ) answers; sentences support it
    groups: list[list[Sentence]] = []  # each claim with the other outlets stating it
    for claim in choose_claims(evidence, max_claims + len(cited)):
        if len(lines) + len(groups) >= max_claims:
            break
        if (lines or groups) and claim.score < EXTRA_FLOOR * top:
            break
        if lines and not cited:
            break  # a choice answer stands alone
        if cited and _BYLINE.match(cited[0].text):
            break  # "who wrote it": the byline answers
        if cited and claim.source != cited[0].source and (not evidence.factoid or direct and (
                DIRECT_ONE_ARTICLE or not _new_value(evidence, claim, cited))):
            continue  # further claims come from the article the answer comes from, unless
            # another article offers a value the quotes do not give yet, or no value leads
        if cited and claim.coverage < EXTRA_COVERAGE * cited[0].coverage:
            continue  # ...and bear on the question about as much as the first
        if any(claim is c or evidence.same(claim, c) for c in cited):
            continue
        group = _group(evidence, claim, cited)
        groups.append(group)
        cited.extend(group)
    if not lines and groups and evidence.factoid and evidence.kind != at.CHOICE \
            and not _BYLINE.match(groups[0][0].text):
        groups = _with_best_value(evidence, groups, max_claims)
    lines += [f"{g[0].text} {_markers(book, g)}{_report(len(g))}" for g in groups]
    return "\n\n".join(lines), book.citations


def _stating(evidence: Evidence, v: Value) -> list[Sentence]:
    """The value's sentences that write it as the answer states it, best first, one per
    outlet: a merged shorter form ("2026" of "June 1, 2026", "Virginia" of "Charleston, West
    Virginia") is no quote for the fuller one."""
    out: dict[str, Sentence] = {}
    for s in (*v.sentences, *evidence.sentences):
        if s.relevant and s.source not in out and writes(s, v):
            out[s.source] = s
    return sorted(out.values(), key=lambda s: -s.score)[:MAX_SOURCES]


def _group(evidence: Evidence, claim: Sentence, cited: list[Sentence]) -> list[Sentence]:
    """The claim with the other outlets' sentences that state it, none quoted already."""
    group = [claim, *evidence.supporting(claim)][:MAX_SOURCES]
    return [s for s in group if not any(s is c for c in cited)] or [claim]


def _with_best_value(evidence: Evidence, groups: list[list[Sentence]],
                     max_claims: int) -> list[list[Sentence]]:
    """No value leads by VALUE_MARGIN, but the best pooled value is still the likeliest
    answer: make sure a quote gives it, in place of the last claim that gives none of the
    best values."""
    vals = values(evidence)
    if not vals or any(mentions(s, vals[0]) for g in groups for s in g):
        return groups
    best_sentence = vals[0].sentences[0]
    if len(groups) >= max_claims:
        best = vals[:NEW_VALUES]
        idle = [g for g in groups[1:] if not any(mentions(s, v) for s in g for v in best)]
        drop = idle[-1] if idle else groups[-1]
        groups = [g for g in groups if g is not drop]
    kept = [s for g in groups for s in g]
    return [*groups, _group(evidence, best_sentence, kept)]
