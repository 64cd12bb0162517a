"""The grounding check on crafted passages: misattribution, direct answers, plain claims.

Why: the lexical check alone passed "Mr. Putin said that he and the US had agreed that Ukraine
would not be joining NATO" against a passage where Ushakov says it (a real small model wrote
it). A claim that names a speaker must cite a passage where that speaker says it; a claim that
names no one is checked as before. No index and no model: the evidence is a stand-in over
crafted article texts, so these tests run in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bot.answer import LLMFailure
from bot.citations import CitationBook
from bot.llm.attribution import attributions, claimed_speaker, matches
from bot.llm.grounding import Checker, check_answer
from index.chunking import sentence_spans
from index.types import ArticleMeta, Passage

NATO = """Kremlin aide dismisses ceasefire

Kremlin aide Yuri Ushakov said the plans are "nothing other than a temporary respite for the Ukrainian military".

Mr Ushakov told Russian state TV that he had spoken to an American diplomat about the deal.

Mr Ushakov also said that he and the US had agreed that Ukraine would not be joining NATO as part of any deal.

His comments echoed statements from Vladimir Putin, who has repeatedly said a temporary ceasefire would benefit Ukraine.
"""

PUTIN = """Putin visits troops in Kursk

Vladimir Putin visited his commanders in the Kursk region on Wednesday, wearing military fatigues.

Mr Putin said that Russia and the US had agreed that Ukraine would not be joining NATO as part of any deal.
"""

QUOTE = """Aide speaks on state TV

Mr Ushakov spoke to Russian state television on Thursday evening.

"The ceasefire is nothing more than a temporary respite for the Ukrainian military," he said.
"""

FACTS = """Talks in Saudi Arabia

The talks were held in Jeddah, Saudi Arabia, on Tuesday after nine hours of negotiations.

Ukraine agreed to a 30-day ceasefire proposal.
"""

AIDE = """Senior aide rejects plan

A senior aide to Vladimir Putin has dismissed proposals for a 30-day ceasefire as a temporary respite.
"""


class StubSnapshot:
    """The parts of an index snapshot the checker reads: texts, documents, no chunk table."""

    def __init__(self, texts: dict[str, str], metas: dict[str, ArticleMeta]) -> None:
        self.texts = texts
        self.metas = metas

    def text(self, source: str) -> str:
        return self.texts[source]

    def chunk_of(self, source: str, start: int) -> None:
        return None  # sentence offsets come from the splitter

    def document(self, source: str) -> object:
        return type("Doc", (), {"meta": self.metas[source]})()


@dataclass
class StubEvidence:
    snapshot: StubSnapshot
    passages: list[Passage] = field(default_factory=list)
    question: str = ""

    def citation_book(self) -> CitationBook:
        return CitationBook(self.snapshot.text, lambda s: self.snapshot.metas[s])


def evidence(*articles: tuple[str, str], question: str = "") -> StubEvidence:
    """Each (source, text) as one passage: its text after the title line."""
    texts = dict(articles)
    metas = {s: ArticleMeta(title=t.splitlines()[0], outlet=f"Outlet {s}") for s, t in articles}
    snap = StubSnapshot(texts, metas)
    passages = []
    for source, text in articles:
        start = text.index("\n") + 2
        passages.append(Passage(source, text[start:], start, len(text), 1.0, metas[source]))
    return StubEvidence(snap, passages, question)


# --- misattribution -------------------------------------------------------------------------------


def test_putin_claim_citing_ushakov_is_dropped() -> None:
    """The real small model's sentence: Ushakov says it, Putin is named a sentence later."""
    ev = evidence(("nato.txt", NATO))
    bad = "Mr. Putin said that he and the US had agreed that Ukraine would not be joining NATO [1]."
    with pytest.raises(LLMFailure):
        check_answer(bad, ev)  # type: ignore[arg-type]
    checker = Checker(ev)  # type: ignore[arg-type]
    good = "Ushakov said the ceasefire plans are a temporary respite for the Ukrainian military [1]."
    text, _ = checker.run(good + " " + bad)
    assert "Putin" not in text and "respite" in text
    assert checker.report.misattributed == 1 and checker.report.kept == 1
    dropped = checker.report.dropped[0]
    assert "Putin" in str(dropped["speaker"]) and "Ushakov" in str(dropped["cited"])


def test_correctly_attributed_claim_is_kept() -> None:
    ev = evidence(("nato.txt", NATO))
    claim = "Mr Ushakov said that he and the US had agreed that Ukraine would not be joining NATO [1]."
    text, cites = check_answer(claim, ev)
    assert "Ushakov" in text and len(cites) == 1
    assert "Mr Ushakov also said" in cites[0].quote


def test_role_and_organisation_count_as_the_speaker() -> None:
    ev = evidence(("nato.txt", NATO))
    text, _ = check_answer(
        "The Kremlin aide said the plans were nothing other than a temporary respite for the "
        "Ukrainian military [1].", ev)
    assert "Kremlin aide" in text


def test_misattributed_claim_moves_to_where_its_speaker_says_it() -> None:
    ev = evidence(("nato.txt", NATO), ("putin.txt", PUTIN))
    claim = "Mr Putin said that Russia and the US had agreed that Ukraine would not be joining NATO [1]."
    checker = Checker(ev)  # type: ignore[arg-type]
    _, cites = checker.run(claim)
    assert [c.source for c in cites] == ["putin.txt"]
    assert checker.report.reattributed == 1 and checker.report.misattributed == 0


def test_speaker_named_a_sentence_earlier() -> None:
    """A bare quote ('..., he said.') is said by the person named just before it."""
    ev = evidence(("quote.txt", QUOTE))
    text, _ = check_answer(
        "Ushakov said the ceasefire is nothing more than a temporary respite for the Ukrainian "
        "military [1].", ev)
    assert "Ushakov" in text
    with pytest.raises(LLMFailure):
        check_answer("Zelensky said the ceasefire is nothing more than a temporary respite for "
                     "the Ukrainian military [1].", ev)


def test_a_person_who_only_modifies_the_speaker_is_not_the_speaker() -> None:
    """'A senior aide to Vladimir Putin has dismissed ...': the aide speaks, not Putin."""
    ev = evidence(("aide.txt", AIDE))
    with pytest.raises(LLMFailure):
        check_answer("Putin dismissed proposals for a 30-day ceasefire as a temporary respite [1].",
                     ev)
    text, _ = check_answer("A senior aide to Putin dismissed the proposals for a 30-day ceasefire "
                           "as a temporary respite [1].", ev)
    assert "aide" in text


def test_unattributed_factual_claim_is_unaffected() -> None:
    ev = evidence(("facts.txt", FACTS), ("nato.txt", NATO))
    checker = Checker(ev)  # type: ignore[arg-type]
    text, cites = checker.run("The talks were held in Jeddah, Saudi Arabia, on Tuesday [1]. "
                              "He said Ukraine would not be joining NATO as part of any deal [2].")
    assert "Jeddah" in text and "NATO" in text and len(cites) == 2
    assert checker.report.misattributed == 0 and checker.report.attributed == []


def test_outlet_is_the_speaker_of_its_own_report() -> None:
    ev = evidence(("facts.txt", FACTS))
    text, _ = check_answer("Outlet facts.txt reported that the talks were held in Jeddah, Saudi "
                           "Arabia [1].", ev)
    assert "Jeddah" in text


# --- the attribution reader -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "speaker"),
    [
        ("Mr. Putin said that he and the US had agreed.", "putin"),
        ("According to Gerasimov, Russia has retaken 86% of the territory.", "gerasimov"),
        ("Gerasimov told Putin that Russian forces had advanced.", "gerasimov"),
        ("Ukraine's top commander, Oleksandr Syrsky, said 942 prisoners were taken.", "syrski"),
        ("“It is a respite,” said Mr Ushakov.", "ushakov"),
        ("However, Zelensky said the proposal was meaningful.", "zelenski"),
        ("Putin, wearing military fatigues, told commanders to free the region.", "putin"),
        ("Ushakov's comments echoed earlier statements.", "ushakov"),
    ],
)
def test_claimed_speaker(sentence: str, speaker: str) -> None:
    sp = claimed_speaker(sentence)
    assert sp is not None and sp.name and sp.name[-1] == speaker, sp


@pytest.mark.parametrize(
    "sentence",
    ["He said the talks went well.", "The talks were held in Jeddah.",
     "According to the passage, the talks were held in Jeddah.",
     "The article says the ceasefire was agreed."],
)
def test_no_named_speaker(sentence: str) -> None:
    assert claimed_speaker(sentence) is None


def test_modifiers_and_roles() -> None:
    aide = attributions("A senior aide to Vladimir Putin has dismissed the plan.")[0]
    putin = claimed_speaker("Putin said so.")
    kremlin_aide = claimed_speaker("The Kremlin aide said so.")
    ushakov = attributions("Kremlin aide Yuri Ushakov said so.")[0]
    assert aide is not None and putin is not None and kremlin_aide is not None
    assert ushakov is not None
    assert not matches(putin, aide)
    assert matches(kremlin_aide, ushakov) and not matches(kremlin_aide, aide)
    assert matches(claimed_speaker("Yuri Ushakov said so.") or putin, ushakov)


def test_sentence_spans_keep_honorifics() -> None:
    """'Mr.' does not end a sentence, so the speaker stays with the claim."""
    text = "Mr. Putin said that he agreed [1]."
    assert [text[s:e] for s, e in sentence_spans(text)] == [text]


# --- direct answers ---------------------------------------------------------------------------


def test_bare_direct_answer_is_checked_with_the_question() -> None:
    ev = evidence(("facts.txt", FACTS), ("nato.txt", NATO),
                  question="In which city were the talks held?")
    text, cites = check_answer("Jeddah [1]. The talks were held in Jeddah, Saudi Arabia [1].", ev)
    assert text.startswith("Jeddah [1].") and len(cites) == 1
    assert "Jeddah" in cites[0].quote
    with pytest.raises(LLMFailure):  # the cited passage does not hold it
        check_answer("Jeddah [2].", ev)
    with pytest.raises(LLMFailure):  # nor does any passage hold this one
        check_answer("Geneva [1].", ev)


# --- corroboration --------------------------------------------------------------------------

VISIT_A = """Putin in Kursk

Vladimir Putin visited the Kursk region on Wednesday and met his commanders.
"""
VISIT_B = """Kremlin leader at the front

On Wednesday Putin visited troops in the Kursk region, wearing military fatigues.
"""
VISIT_C = """A later trip

Vladimir Putin visited the Kursk region on Friday and met his commanders.
"""


def test_another_outlet_stating_the_claim_is_cited_too() -> None:
    ev = evidence(("a.txt", VISIT_A), ("b.txt", VISIT_B), ("c.txt", VISIT_C))
    checker = Checker(ev)  # type: ignore[arg-type]
    text, cites = checker.run("Vladimir Putin visited the Kursk region on Wednesday [1].")
    assert [c.source for c in cites] == ["a.txt", "b.txt"]  # not c.txt: another day
    assert text.endswith("[1][2].") and checker.report.corroborated == 1


# --- figures and dates belong to the sentence that holds the claim --------------------------------

VISIT_AND_AID = """Putin at the front

Vladimir Putin visited the Kursk region on Wednesday and met his commanders.

The US lifted its suspension of military aid on Tuesday after talks in Saudi Arabia.
"""


def test_a_day_taken_from_another_sentence_is_not_supported() -> None:
    """A real small model wrote 'The visit to the Kursk region was on Tuesday': both words are
    in the passage, in different sentences about different events."""
    ev = evidence(("visit.txt", VISIT_AND_AID))
    with pytest.raises(LLMFailure):
        check_answer("The visit to the Kursk region was on Tuesday [1].", ev)
    text, _ = check_answer("The visit to the Kursk region was on Wednesday [1].", ev)
    assert "Wednesday" in text


def test_a_supported_answer_about_something_else_falls_back() -> None:
    ev = evidence(("facts.txt", FACTS), ("nato.txt", NATO),
                  question="How many Ukrainian territories does Moscow want recognised?")
    with pytest.raises(LLMFailure, match="not about the question"):
        check_answer("The talks were held in Jeddah, Saudi Arabia, on Tuesday [1].", ev)


MILITARY = """Sudzha retaken

The Russian military reported that its forces had recaptured 24 settlements in the border area.

This morning, the Russian Defence Ministry announced the retaking of the town of Sudzha.
"""


def test_an_attributed_claim_quotes_only_its_speaker() -> None:
    """A real model's 'The Defence Ministry said it had recaptured the town of Sudzha' was
    quoted with the military's sentence too (for 'recaptured'): another speaker's words."""
    ev = evidence(("mil.txt", MILITARY))
    _, cites = check_answer("The Defence Ministry said it had recaptured the town of Sudzha [1].", ev)
    assert [c.quote[:30] for c in cites] == ["This morning, the Russian Defe"]


HEADLINE = """Negotiator rejects ceasefire agreement

Russian negotiator rejects the ceasefire agreement.

Yuri Ushakov told the news channel Russia-1 that he had already explained Moscow's position to Mike Waltz.
"""


def test_a_headline_with_the_claim_words_does_not_hide_the_speaker() -> None:
    """A real model's 'Ushakov explained Moscow's position on the ceasefire agreement' was
    dropped because the headline held more of its words; Ushakov's own sentence holds it."""
    ev = evidence(("head.txt", HEADLINE))
    text, _ = check_answer("Ushakov explained Moscow's position on the ceasefire agreement [1].", ev)
    assert "Ushakov" in text


AID = """Aid to Kyiv restored

The US lifted its March 3 suspension of military aid for Kyiv on Tuesday after talks in Jeddah.

Officials said deliveries would restart within days.
"""


def test_a_claim_that_turns_an_undoing_around_is_not_supported() -> None:
    """The local Qwen wrote 'The US suspended its military aid for Kyiv on Tuesday' from this
    sentence: every word and the day are in it, the meaning is the reverse."""
    ev = evidence(("aid.txt", AID))
    with pytest.raises(LLMFailure):
        check_answer("The US suspended its military aid for Kyiv on Tuesday [1].",
                     ev)  # type: ignore[arg-type]
    for fine in ("The US lifted its suspension of military aid for Kyiv on Tuesday [1].",
                 "The US suspended military aid for Kyiv on March 3 [1]."):  # the undone thing's date
        text, cites = check_answer(fine, ev)  # type: ignore[arg-type]
        assert cites and "[1]" in text, fine
