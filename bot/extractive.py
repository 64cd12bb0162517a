"""The default answer: the question's best sentences, quoted verbatim, each with its sources."""

from __future__ import annotations

from bot.answer import Citation
from bot.evidence import Evidence, Sentence

# A claim must score at least this share of the best claim: no padding with weak sentences.
RELATIVE_FLOOR = 0.75


class CitationBook:
    """Numbers quotes in order of first use; the same span always gets the same number."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.citations: list[Citation] = []
        self._by_span: dict[tuple[str, int, int], int] = {}

    def cite(self, source: str, start: int, end: int) -> int:
        key = (source, start, end)
        if key not in self._by_span:
            doc = self.evidence.snapshot.documents[source]
            quote = (doc.text or "")[start:end]
            n = len(self.citations) + 1
            self.citations.append(Citation(n, source, quote, start, end, **doc.meta()))
            self._by_span[key] = n
        return self._by_span[key]


def choose_claims(evidence: Evidence, max_claims: int) -> list[Sentence]:
    """Best sentences first, skipping ones that repeat an earlier claim."""
    claims: list[Sentence] = []
    if not evidence.sentences:
        return claims
    best = evidence.sentences[0].score
    if evidence.factoid:
        max_claims = 1
    for s in evidence.sentences:
        if not s.relevant or s.score < RELATIVE_FLOOR * best:
            continue
        if any(evidence.same(s, c) for c in claims):
            continue
        claims.append(s)
        if len(claims) >= max_claims:
            break
    return claims


def extractive_answer(evidence: Evidence, max_claims: int = 3) -> tuple[str, list[Citation]]:
    book = CitationBook(evidence)
    lines: list[str] = []
    for claim in choose_claims(evidence, max_claims):
        group = [claim, *evidence.supporting(claim)]
        markers = "".join(f"[{book.cite(s.source, s.start, s.end)}]" for s in group)
        line = f"{claim.text} {markers}"
        if len(group) > 1:
            line += f" ({len(group)} sources report this.)"
        lines.append(line)
    return "\n\n".join(lines), book.citations
