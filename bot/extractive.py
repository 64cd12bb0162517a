"""The default answer: the question's best sentences, quoted verbatim, each with its sources."""

from __future__ import annotations

from bot.citations import Citation
from bot.evidence import Evidence, Sentence

# A claim must score at least this share of the best claim: no padding with weak sentences.
RELATIVE_FLOOR = 0.75


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
    book = evidence.citation_book()
    lines: list[str] = []
    for claim in choose_claims(evidence, max_claims):
        group = [claim, *evidence.supporting(claim)]
        markers = "".join(f"[{book.cite(s.source, s.start, s.end)}]" for s in group)
        line = f"{claim.text} {markers}"
        if len(group) > 1:
            line += f" ({len(group)} sources report this.)"
        lines.append(line)
    return "\n\n".join(lines), book.citations
