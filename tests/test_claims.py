"""Answer behaviours on small crafted articles: direct answers, corroboration, disagreement."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import make_settings, stored_texts
from bot import answer_types as at
from bot.claims import values
from bot.service import Newsbot

FILLER = (
    "The regional council met on Monday to discuss the annual budget for parks. "
    "Residents asked about bus timetables and the new library opening hours. "
    "A local bakery won a prize for its rye bread at the county fair. "
)

ARTICLES = {
    # Two outlets, two different figures for the same point, each from a named source.
    "a_harbour.md": ("Harbour Gazette", "Storm damage at Port Alder",
                     "The storm hit Port Alder on Tuesday night. Harbour master Elena Voss said "
                     "the storm destroyed 40 fishing boats in the harbour. "
                     "Crews began clearing debris on Wednesday morning. " + FILLER),
    "b_harbour.md": ("Coast Herald", "Port Alder counts its losses",
                     "Insurers are still assessing the losses at Port Alder. Mayor Tomas Berg "
                     "said the storm destroyed 75 fishing boats in the harbour. "
                     "The fishing fleet will need months to recover. " + FILLER),
    # A paraphrase pair: the same claim in different words from two outlets.
    "c_aid.md": ("Daily Ledger", "Washington restarts support for Valdoria",
                 "Officials met in Geneva for a second day of talks. The United States agreed "
                 "to resume weapon supplies to Valdoria on Thursday. "
                 "Diplomats described the mood as cautious. " + FILLER),
    "d_aid.md": ("Evening Post", "Aid to Valdoria flows again",
                 "The decision followed weeks of pressure from allies. On Thursday the United "
                 "States lifted its suspension of military aid to Valdoria. "
                 "Analysts expect deliveries within a fortnight. " + FILLER),
    # Unrelated to the others.
    "e_orchid.md": ("Garden Weekly", "Rare orchid blooms in Kelby",
                    "A rare ghost orchid bloomed in the Kelby botanical garden this week. "
                    "Head gardener Priya Nandi said the flower last bloomed in 2009. "
                    "Visitors queued for hours to see it. " + FILLER),
    # A person named for what he did, never quoted.
    "g_ferry.md": ("Lune Courier", "New ferry for Lune",
                   "Ferry captain Jonas Weld docked the new ferry at Lune pier on Friday. "
                   "The ferry carries up to 300 passengers across the bay. " + FILLER),
    # Where and when questions.
    "f_summit.md": ("World Desk", "Summit in Jeddah",
                    "Delegations from both countries gathered for the summit. The talks were "
                    "held in Jeddah, Saudi Arabia, and lasted eight hours. "
                    "The next round is planned for March 21. " + FILLER),
}


def index_articles(root: Path, articles: dict[str, tuple[str, str, str]]) -> Newsbot:
    """A bot over a few crafted articles: file name -> (outlet, title, text)."""
    folder = root / "articles"
    folder.mkdir()
    for name, (outlet, title, text) in articles.items():
        (folder / name).write_text(f"---\ntitle: {title}\noutlet: {outlet}\n"
                                   f"published: 2025-03-14\n---\n{text}\n", encoding="utf-8")
    bot = Newsbot(make_settings(root / "index"))
    bot.index([folder])
    return bot


def one_article_values(root: Path, title: str, text: str, question: str):  # type: ignore[no-untyped-def]
    """The evidence for `question` over one crafted article (its pooled values computed)."""
    from bot.claims import values
    from bot.evidence import gather
    bot = index_articles(root, {"a.md": ("Desk", title, text)})
    ev = gather(bot.searcher, question)
    values(ev)
    return ev


@pytest.fixture(scope="module")
def crafted_bot(tmp_path_factory: pytest.TempPathFactory) -> Newsbot:
    folder = tmp_path_factory.mktemp("crafted")
    for name, (outlet, title, text) in ARTICLES.items():
        (folder / name).write_text(
            f"---\ntitle: {title}\noutlet: {outlet}\npublished: 2025-03-14\n---\n{text}\n",
            encoding="utf-8")
    bot = Newsbot(make_settings(tmp_path_factory.mktemp("crafted-index")))
    bot.index([Path(folder)])
    return bot


def _check(bot: Newsbot, ans) -> None:  # type: ignore[no-untyped-def]
    texts = stored_texts(bot)
    assert {int(n) for n in re.findall(r"\[(\d+)\]", ans.text)} == {c.n for c in ans.citations}
    for c in ans.citations:
        assert texts[c.source][c.start : c.end] == c.quote


def test_conflicting_figures_are_said_plainly_with_who_says_what(crafted_bot: Newsbot) -> None:
    ans = crafted_bot.answerer.answer("How many fishing boats did the storm destroy at Port Alder?")
    _check(crafted_bot, ans)
    first = ans.text.split("\n\n")[0]
    assert first.startswith("Sources differ:"), ans.text
    assert "40" in first and "75" in first
    assert "Voss" in first and "Berg" in first
    assert {c.source for c in ans.citations} >= {"a_harbour.md", "b_harbour.md"}


def test_a_paraphrase_pair_is_corroborated(crafted_bot: Newsbot) -> None:
    ans = crafted_bot.answerer.answer("When did the United States resume military aid to Valdoria?")
    _check(crafted_bot, ans)
    first = ans.text.split("\n\n")[0]
    assert "Thursday" in first
    assert "(2 sources report this.)" in first
    cited = {c.source for c in ans.citations if f"[{c.n}]" in first}
    assert cited == {"c_aid.md", "d_aid.md"}


def test_an_unrelated_pair_is_not_joined(crafted_bot: Newsbot) -> None:
    ans = crafted_bot.answerer.answer("When did the ghost orchid last bloom in Kelby?")
    _check(crafted_bot, ans)
    assert "2009" in ans.text
    assert {c.source for c in ans.citations} == {"e_orchid.md"}
    assert "sources report this" not in ans.text


@pytest.mark.parametrize("question, value", [
    ("Where were the talks held?", "Jeddah"),
    ("When is the next round of talks planned?", "March 21"),
    ("Who is the head gardener at the Kelby botanical garden?", "Priya Nandi"),
    ("How many hours did the talks in Jeddah last?", "eight hours"),
])
def test_a_factoid_question_gets_the_value_first(crafted_bot: Newsbot, question: str, value: str) -> None:
    ans = crafted_bot.answerer.answer(question)
    _check(crafted_bot, ans)
    first = ans.text.split("\n\n")[0]
    assert value in first and re.search(r"\[\d+\]", first), ans.text
    assert len(first) < len(value) + 60, "the first line is the value, not a sentence"


def test_question_kinds() -> None:
    assert at.expected("In which city were the talks held?") == at.PLACE
    assert at.expected("Who represented the United States?") == at.PERSON
    assert at.expected("When did the US suspend its aid?") == at.DATE
    assert at.expected("How many prisoners were taken?") == at.NUMBER
    assert at.expected("How long did it take for Sudzha to fall?") == at.DURATION
    assert at.expected("What did Zelensky say about the talks?") == at.NONE
    assert at.expected("Was the withdrawal orderly or chaotic?") == at.CHOICE
    assert at.expected("Which film won best picture?") == at.NAME


def test_question_kind_follows_the_head_noun_of_which() -> None:
    # the head is the phrase's last place / date / person noun, whatever follows it
    assert at.expected("Which US state raises the most turkeys?") == at.PLACE
    assert at.expected("The CIA may operate inside which country to fight cartels?") == at.PLACE
    assert at.expected("Which Russian state news agency quoted him?") == at.PERSON
    assert at.expected("Which member of the squad scored the winner?") == at.PERSON
    assert at.expected("Which head of state resigned this week?") == at.PERSON
    assert at.expected("What is the official deadline to file taxes?") == at.DATE
    assert at.expected("Which type of severe weather swept the South?") == at.NAME
    assert at.expected("What is it called?") == at.NAME


def test_a_lone_sentence_opener_written_in_lower_case_elsewhere_is_no_name() -> None:
    lower = {"despite", "photos"}.__contains__
    assert [v.text for v in at.spans("Despite the rain, Biden spoke.", at.PERSON, lower)] == ["Biden"]
    assert [v.text for v in at.spans("Photos show floods in Texas.", at.PLACE, lower)] == ["Texas"]
    assert [v.text for v in at.spans("Texas was hit hard.", at.PLACE, lower)] == ["Texas"]
    # without the articles' lower-case words nothing is dropped; a fuller name is kept
    assert "Despite" in [v.text for v in at.spans("Despite the rain, Biden spoke.", at.PERSON)]
    assert [v.text for v in at.spans("Hurricane Lee nears.", at.NAME, {"hurricane"}.__contains__)] \
        == ["Hurricane Lee"]


def test_value_spans() -> None:
    s = "Officials said 942 soldiers were captured on March 3, and the town fell in about three days."
    assert "942 soldiers" in [v.text for v in at.spans(s, at.NUMBER)]
    assert "March 3" in [v.text for v in at.spans(s, at.DATE)]
    assert "about three days" in [v.text for v in at.spans(s, at.DURATION)]
    names = [v.text for v in at.spans("The talks were held in Jeddah, Saudi Arabia, with Marco Rubio.", at.PLACE)]
    assert "Jeddah, Saudi Arabia" in names and "Marco Rubio" in names


def test_another_article_is_quoted_only_for_a_best_value_not_yet_given() -> None:
    from bot.claims import Value
    from bot.evidence import Evidence, Sentence
    from bot.extractive import NEW_VALUES, _new_value

    def sent(source: str, text: str) -> Sentence:
        vals = at.spans(text, at.PERSON)
        return Sentence(source, 0, len(text), text, 0.5, 0.5, None, values=vals)

    ev = Evidence("Who won the prize?", snapshot=None, hits=[])  # type: ignore[arg-type]
    names = ["Ada Lovelace", "Alan Turing"] + [f"Person{i} Name" for i in range(NEW_VALUES)]
    ev.pooled_values = [Value(n.lower(), n, at.PERSON) for n in names]
    cited = [sent("a", "The prize jury praised Alan Turing for his work.")]
    assert _new_value(ev, sent("b", "The prize went to Ada Lovelace."), cited)
    assert not _new_value(ev, sent("b", "Alan Turing was praised again."), cited)
    last = names[-1]  # pooled, but not among the best NEW_VALUES
    assert not _new_value(ev, sent("b", f"The prize went to {last}."), cited)


def test_a_surname_takes_the_full_name_it_is_part_of(tmp_path: Path) -> None:
    text = ("Star forward Maya Okafor signed a record contract with the Harbor City Gulls on "
            "Monday. Okafor said she was proud. Okafor will earn more than any player before. "
            "Okafor trained with the team on Tuesday. " + FILLER)
    ev = one_article_values(tmp_path, "Record contract", text,
                            "Which player signed a record contract with the Gulls?")
    assert "maya okafor" in [v.key for v in values(ev)]
    assert "okafor" not in [v.key for v in values(ev)]


def test_what_did_x_say_needs_x_speaking(crafted_bot: Newsbot) -> None:
    from bot.answer import REFUSAL

    ans = crafted_bot.answerer.answer("What did Priya Nandi say about the ghost orchid?")
    _check(crafted_bot, ans)
    assert not ans.refused and "2009" in ans.text
    # the articles name him, but only for what he did: nothing he said to quote
    ans = crafted_bot.answerer.answer("What did Jonas Weld say about the new ferry?")
    assert ans.refused and ans.text == REFUSAL


def test_a_mention_whose_context_gives_the_other_kind_does_not_fit() -> None:
    from bot.claims import _kind_fit

    def fit(text: str, value: str, kind: str) -> float:
        i = text.index(value)
        return _kind_fit(text, at.Span(i, i + len(value), value, at.NAME), kind)

    assert fit("The summit was held in Ankara, Turkey, on Monday.", "Ankara, Turkey", at.PLACE) == 1.0
    assert fit("Trump and Putin said they had agreed.", "Trump and Putin", at.PLACE) == -1.0
    assert fit("President Joe Biden spoke first.", "Joe Biden", at.PERSON) == 1.0
    assert fit("He flew to Paris.", "Paris", at.PERSON) == -1.0
    assert fit("Paris is lovely.", "Paris", at.NAME) == 0.0


def test_a_bare_figure_counts_the_words_after_it() -> None:
    from bot.claims import Value, _unit_match
    from bot.evidence import Evidence, Sentence

    def value(question: str, text: str, figure: str) -> float:
        ev = Evidence(question, snapshot=None, hits=[])  # type: ignore[arg-type]
        s = Sentence("a", 0, len(text), text, 0.5, 0.5, None, values=at.spans(text, at.NUMBER))
        v = Value(figure.lower(), figure, at.NUMBER, sentences=[s])
        return _unit_match(ev, v)

    q = "How many Ukrainian territories does Russia want recognised?"
    assert value(q, "Russia wants recognition of its claims to four Ukrainian territories.", "four") == 1.0
    assert value(q, "Russian forces recaptured 24 settlements in five days.", "24 settlements") == -1.0
    # a figure with a unit of its own counts that unit, whatever follows it
    assert value("How many civilians were killed?",
                 "About 5,000 people, civilians among them, stayed.", "About 5,000 people") == -1.0


def test_a_figure_of_another_unit_is_no_rival_value() -> None:
    from bot.claims import Value
    from bot.evidence import Evidence, Sentence
    from bot.extractive import _new_value

    ev = Evidence("How many territories?", snapshot=None, hits=[])  # type: ignore[arg-type]
    four = Value("four", "four", at.NUMBER, features={"unit": 1.0})
    other = Value("24 settlements", "24 settlements", at.NUMBER, features={"unit": -1.0})
    ev.pooled_values = [four, other]
    text = "Russian forces recaptured 24 settlements."
    claim = Sentence("b", 0, len(text), text, 0.5, 0.5, None, values=at.spans(text, at.NUMBER))
    cited_text = "Russia claims four territories."
    cited = [Sentence("a", 0, len(cited_text), cited_text, 0.5, 0.5, None,
                      values=at.spans(cited_text, at.NUMBER))]
    assert not _new_value(ev, claim, cited)
    other.features["unit"] = 0.0  # a bare figure may count the asked thing
    assert _new_value(ev, claim, cited)


def test_a_shared_name_alone_does_not_corroborate() -> None:
    from bot.evidence import Evidence, Sentence

    def sent(source: str, text: str, coverage: float) -> Sentence:
        return Sentence(source, 0, len(text), text, coverage, 0.3, None,
                        values=at.spans(text, at.PERSON))

    ev = Evidence("Whom did Putin vow to treat as terrorists?", snapshot=None, hits=[])  # type: ignore[arg-type]
    ev.kind = at.PERSON
    claim = sent("a", "Putin vowed to treat captured soldiers as terrorists.", 0.8)
    same_point = sent("b", "Captured soldiers will be treated as terrorists, Putin warned.", 0.7)
    other_point = sent("c", "Gerasimov told Putin that troops had retaken 86% of the land.", 0.2)
    ev.sentences = [claim, same_point, other_point]
    assert ev.supporting(claim) == [same_point]


def test_a_date_question_asks_for_a_grain() -> None:
    assert at.date_grain("On which day did the minister resign?") == "day"
    assert at.date_grain("In what year was the bridge built?") == "year"
    assert at.date_grain("When did the talks start?") is None
    assert at.grain_fit("on Wednesday", "day") == 1.0
    assert at.grain_fit("March 3", "day") == 1.0
    assert at.grain_fit("August", "day") == -1.0
    assert at.grain_fit("last year", "year") == -1.0
    assert at.grain_fit("in 2014", "year") == 1.0
    assert at.grain_fit("August", None) == 0.0
    assert at.grain_fit("March 3", "month") == 1.0  # a day of a month holds the month
    assert at.grain_fit("August 2024", "year") == 1.0
    assert at.yes_no("Russia made an offer. Did Ukraine agree to the truce?")
    assert not at.yes_no("Did Ukraine agree to the truce or reject it?")  # a choice


def test_on_which_day_is_answered_by_the_day(tmp_path: Path) -> None:
    bot = index_articles(tmp_path, {
        "a.md": ("North Desk", "The minister's visit to Kelby",
                 "The minister visited the flooded town of Kelby on Wednesday, weeks after the "
                 "floods of August. "
                 "She met the mayor at the town hall. " + FILLER),
        "b.md": ("South Desk", "Minister in Kelby",
                 "Kelby, which flooded in August, was visited by the minister on Wednesday. "
                 "Residents greeted her at the station. " + FILLER),
    })
    ans = bot.answerer.answer("On which day did the minister visit the flooded town of Kelby?")
    _check(bot, ans)
    assert ans.text.split("\n\n")[0].lower().startswith("on wednesday"), ans.text


def test_a_yes_no_answer_is_corroborated_by_an_outlet_stating_the_asked_point() -> None:
    from bot.evidence import Evidence, Sentence

    def sent(source: str, text: str, own: float) -> Sentence:
        return Sentence(source, 0, len(text), text, 0.9, 0.4, None, own=own)

    ev = Evidence("Did Valdoria agree to the truce?", snapshot=None, hits=[])  # type: ignore[arg-type]
    ev.kind = at.expected(ev.question)
    # own: the share of the question's terms (valdoria, agree, truce) in the sentence
    claim = sent("a", "Valdoria agreed to the truce on Monday.", 1.0)
    aside = sent("b", "Critics said the truce, which Valdoria agreed to, favours the rebels.", 1.0)
    other = sent("c", "Valdoria's army moved north before the truce.", 2 / 3)
    ev.sentences = [claim, aside, other]
    assert ev.yes_no
    assert ev.supporting(claim) == [aside]
    ev.question = "Why did Valdoria agree to the truce?"
    ev.kind = at.expected(ev.question)
    assert not ev.yes_no and ev.supporting(claim) == []


def test_a_why_question_is_answered_by_the_sentence_giving_the_reason(tmp_path: Path) -> None:
    text = ("Valdorian soldiers crossed the river into Kelby at night under heavy rain. "
            "Valdorian commanders sent the army over the river into Kelby in a bid to draw "
            "enemy troops away from the capital. " + FILLER)
    bot = index_articles(tmp_path, {"a.md": ("War Desk", "River crossing", text)})
    ans = bot.answerer.answer("Why did the Valdorian army cross the river into Kelby?")
    _check(bot, ans)
    assert ans.text.startswith("Valdorian commanders sent the army"), ans.text


def test_with_no_leading_value_the_best_sentences_of_any_article_are_quoted(tmp_path: Path) -> None:
    bot = index_articles(tmp_path, {
        "a.md": ("Food Desk", "Why turkey makes you sleepy",
                 "Many families blame the turkey for the sleepy hours after the holiday dinner. "
                 "The sleepy feeling after the holiday dinner is blamed on the turkey every year. "
                 + FILLER),
        "b.md": ("Health Desk", "The holiday dinner myth",
                 "For decades the compound in turkey blamed for the sleepy feeling has been "
                 "tryptophan, an amino acid. "
                 + FILLER),
    })
    ans = bot.answerer.answer("Which compound in turkey is blamed for the sleepy feeling after the holiday dinner?")
    _check(bot, ans)
    assert "tryptophan" in ans.text, ans.text
    assert {c.source for c in ans.citations} >= {"a.md", "b.md"}, ans.text


def test_the_question_names_the_kind_of_thing_asked_for() -> None:
    assert at.type_noun("Which Olympic gymnast won the gold medal in the floor final?") == "Olympic gymnast"
    assert at.type_noun("California is burning. What is the name of the blaze?") == "blaze"
    assert at.type_noun("The awards took place in which city?") == "city"
    assert at.type_noun("What hit the vehicles on the road?") is None  # "what" + a verb
    assert at.type_noun("Who won the prize?") is None


def test_a_value_of_the_asked_kind_scores_higher(crafted_bot: Newsbot) -> None:
    from bot.claims import Value, _type_fit
    from bot.evidence import Evidence

    for question, wrong, right in [
        ("Which social media platform banned political fundraising?", "Donald Trump", "Facebook"),
        ("Which country did the president flee to?", "Gotabaya Rajapaksa", "Maldives"),
    ]:
        ev = Evidence(question, snapshot=None, hits=[],  # type: ignore[arg-type]
                      embed=crafted_bot.searcher.vectors.embed)
        ev.kind = at.expected(question)
        vals = [Value(wrong.lower(), wrong, at.NAME), Value(right.lower(), right, at.NAME)]
        _type_fit(ev, vals)
        assert vals[1].score > vals[0].score, (question, [(v.text, v.score) for v in vals])


def test_names_joined_by_and_are_two_values_and_an_opener_is_no_part_of_a_name() -> None:
    texts = lambda t: [s.text for s in at.spans(t, at.PERSON)]  # noqa: E731
    assert texts("The San Antonio Spurs and Memphis Grizzlies named new coaches.") == [
        "San Antonio Spurs", "Memphis Grizzlies"]
    assert texts("The shares of Bed Bath & Beyond fell.") == ["Bed Bath & Beyond"]
    assert texts("The fire burned in Tehama and Butte counties.") == ["Tehama and Butte"]
    assert texts("Will Louisiana be the first state to do so?") == ["Louisiana"]
    assert texts("Officials said Will Louisiana was the name of the boat.") == ["Will Louisiana"]


def test_a_dateline_is_never_a_claim(tmp_path: Path) -> None:
    text = ("Port Alder, Valdoria Harbour Desk —\n\n"
            "The storm destroyed the old lighthouse at Port Alder on Monday night. "
            "Harbour workers cleared the debris from the Port Alder quay. " + FILLER)
    ev = one_article_values(tmp_path, "Storm at Port Alder", text,
                            "What did the storm destroy at Port Alder?")
    assert ev.sentences and not any("—" in s.text for s in ev.sentences), [s.text for s in ev.sentences]


def test_with_no_leading_value_a_quote_gives_the_best_value() -> None:
    from bot.claims import Value
    from bot.evidence import Evidence
    from bot.extractive import _with_best_value
    sent = _person_sentence

    ev = Evidence("Who won the prize?", snapshot=None, hits=[])  # type: ignore[arg-type]
    ev.kind = at.expected(ev.question)
    best = sent("d", "The prize went to Ada Lovelace.")
    second = sent("b", "Alan Turing was praised by the jury.")
    ev.pooled_values = [Value("ada lovelace", "Ada Lovelace", at.PERSON, sentences=[best]),
                        Value("alan turing", "Alan Turing", at.PERSON, sentences=[second])]
    groups = [[sent("a", "The prize jury met on Monday.")], [second],
              [sent("c", "The ceremony was held in a large hall.")]]
    out = _with_best_value(ev, groups, 3)
    assert [g[0].text for g in out] == [groups[0][0].text, second.text, best.text]
    assert _with_best_value(ev, out, 3) == out  # already given: unchanged


def test_a_fuller_name_takes_every_value_inside_it(tmp_path: Path) -> None:
    text = ("In New York, the Knicks fired their head coach on Tuesday. "
            "The New York Knicks had reached the conference finals this year. " + FILLER)
    ev = one_article_values(tmp_path, "Coach fired", text, "Which NBA team fired its head coach?")
    keys = [v.key for v in values(ev)]
    assert "new york knicks" in keys, keys
    assert "knicks" not in keys and "new york" not in keys, keys


def test_a_date_holds_the_coarser_date_inside_it(tmp_path: Path) -> None:
    text = ("Valdorian troops crossed the border on 6 August, in a surprise attack. "
            "The crossing in August embarrassed the government. " + FILLER)
    ev = one_article_values(tmp_path, "Border crossing", text, "When did Valdorian troops cross the border?")
    vals = values(ev)
    assert vals and vals[0].key == "6 august" and vals[0].mentions == 2, [(v.key, v.mentions) for v in vals]


def test_a_sentence_giving_a_merged_shorter_form_is_not_quoted_twice() -> None:
    from bot.claims import Value
    from bot.evidence import Evidence
    from bot.extractive import _with_best_value
    sent = _person_sentence

    ev = Evidence("Which team fired its coach?", snapshot=None, hits=[])  # type: ignore[arg-type]
    ev.kind = at.expected(ev.question)
    short = sent("a", "The Knicks fired their coach on Tuesday.")
    ev.pooled_values = [Value("new york knicks", "New York Knicks", at.PERSON, sentences=[short])]
    groups = [[short], [sent("b", "Fans were stunned.")]]
    assert _with_best_value(ev, groups, 3) == groups


def test_a_date_key_reads_past_its_commas() -> None:
    from bot.claims import value_key
    assert set(value_key("June 1", at.DATE).split()) < set(value_key("Monday, June 1, 2026", at.DATE).split())


def _person_sentence(source: str, text: str):  # type: ignore[no-untyped-def]
    """A crafted sentence whose values are the names it holds."""
    from bot.evidence import Sentence
    return Sentence(source, 0, len(text), text, 0.5, 0.5, None, values=at.spans(text, at.PERSON))


CONTINUED = {
    # What the accord required is said by "It", a paragraph after the sentence naming it.
    "h_accord.md": ("Border Times", "Accord signed in Tarvos",
                    "The accord was signed in Tarvos after two days of talks. Envoys from six "
                    "nations watched the ceremony from the old town hall.\n\n"
                    "It required both armies to pull back ten kilometres from the river. "
                    "Farmers near the river welcomed the news.\n\n" + FILLER),
    # ...and what the charter banned, by "It" in the very next sentence.
    "i_charter.md": ("Civic Review", "Council charter adopted in Morvale",
                     "The charter was adopted by the Morvale council on Monday. It bans "
                     "delivery lorries from the cathedral square before noon. "
                     "Shopkeepers said they would adapt. " + FILLER),
    "j_council.md": ("Morvale Star", "Morvale council's long charter debate",
                     "The Morvale council also adopted a budget for the harbour on Monday. "
                     "Members of the Morvale council praised the charter. " + FILLER),
}


@pytest.fixture(scope="module")
def continued_bot(tmp_path_factory: pytest.TempPathFactory) -> Newsbot:
    return index_articles(tmp_path_factory.mktemp("continued"), CONTINUED)


@pytest.mark.parametrize("question, words", [
    ("What did the accord signed in Tarvos require?", "ten kilometres"),
    ("What does the charter adopted by the Morvale council forbid?", "delivery lorries"),
])
def test_a_sentence_carrying_on_with_it_is_quoted_after_the_one_it_carries_on(
    continued_bot: Newsbot, question: str, words: str
) -> None:
    ans = continued_bot.answerer.answer(question)
    _check(continued_bot, ans)
    claims = ans.text.split("\n\nSources:")[0].split("\n\n")
    assert len(claims) >= 2 and words in claims[1], ans.text


def test_a_demonym_counts_as_a_mention_of_its_place() -> None:
    from bot.claims import Value, _demonyms_to_places
    s1 = _person_sentence("a", "Lume, the Valdorian singer, has died.")
    s2 = _person_sentence("b", "Valdoria's president declared a day of mourning.")
    s3 = _person_sentence("c", "An Indian fan flew in from Indonesia.")
    vals = [Value("valdorian", "Valdorian", at.PLACE, mentions=3, sentences=[s1]),
            Value("valdoria", "Valdoria", at.PLACE, mentions=1, sentences=[s2]),
            Value("indian", "Indian", at.PLACE, mentions=1, sentences=[s3]),
            Value("indonesia", "Indonesia", at.PLACE, mentions=1, sentences=[s3])]
    out = _demonyms_to_places(vals)
    assert [v.key for v in out] == ["valdoria", "indian", "indonesia"]  # "ind" is no country's stem
    assert out[0].mentions == 4 and out[0].sources == ["b", "a"]


def test_a_direct_answer_cites_only_sentences_that_write_it() -> None:
    from bot.claims import Value
    from bot.evidence import Evidence
    from bot.extractive import _stating
    ev = Evidence("When does the festival open?", snapshot=None, hits=[])  # type: ignore[arg-type]
    year = _person_sentence("a", "The 2026 festival will be the largest yet.")
    full = _person_sentence("b", "The festival opens on June 1, 2026, in the old port.")
    again = _person_sentence("c", "Organisers confirmed the June 1, 2026 opening.")
    year.score, full.score, again.score = 0.9, 0.5, 0.4
    ev.sentences = [year, full, again]
    v = Value("june 1 2026", "June 1, 2026", at.DATE, sentences=[year, full])  # "2026" merged in
    assert _stating(ev, v) == [full, again]


def test_a_name_takes_the_asked_noun_after_it(tmp_path: Path) -> None:
    text = ("Doctors in Kelby identified a new strain of the virus this winter. The Tarvo variant "
            "spreads faster than any strain before it, the health agency said. "
            "Tarvo is the village where the first case was found. " + FILLER)
    ev = one_article_values(tmp_path, "New strain in Kelby", text,
                            "What is the name of the new variant identified in Kelby?")
    assert "Tarvo variant" in [v.text for v in values(ev)[:2]], [v.text for v in values(ev)]
    assert "tarvo" not in [v.key for v in values(ev)]  # the bare name is the same value


def figures(text: str) -> list[str]:
    """The figures `at.spans` reads out of a sentence."""
    return [s.text for s in at.spans(text, at.NUMBER)]


def test_a_figure_is_not_read_out_of_a_word() -> None:
    assert figures("4moms recalled 2 million MamaRoo swings.") == ["2 million"]
    assert figures("The CPSC said 60,000 MamaRoo swings were sold.") == ["60,000"]
    assert figures("G7 leaders pledged $5 million to 3,000 people.") == ["$5 million", "3,000 people"]


def test_the_place_within_the_place_names_the_value(tmp_path: Path) -> None:
    from bot.evidence import gather
    bot = index_articles(tmp_path, {
        "a.md": ("Desk", "Border talks held in North Valdoria",
                 "The border talks were held in North Valdoria this week. The talks held in North "
                 "Valdoria lasted two days. Both delegations praised the talks held in North "
                 "Valdoria. " + FILLER),
        "b.md": ("Wire", "Accord signed",
                 "After the talks, the accord was signed in Kelby, North Valdoria, on Friday. " + FILLER),
    })
    ev = gather(bot.searcher, "In which city were the talks held?")
    texts_ = [v.text for v in values(ev)]
    assert "Kelby, North Valdoria" in texts_ and "North Valdoria" not in texts_, texts_


def test_a_name_starts_at_a_word_and_a_possessive_not_name_is_none() -> None:
    def names(text: str) -> list[str]:
        return [s.text for s in at.spans(text, at.NAME)]
    assert names("The iPhone and the Apple Vision Pro sold well.") == ["iPhone", "Apple Vision Pro"]
    assert names("It runs macOS only.") == []  # no "OS" out of the middle of a word
    assert names("Editor's Note: Kelby Post reporters contributed.") == ["Kelby Post"]
    # a month before a day is a date, not part of a name; "Jan" alone is still a first name
    assert names("Iowa Republicans will caucus on Jan. 15.") == ["Iowa Republicans"]
    assert names("Jan Koum founded WhatsApp.") == ["Jan Koum", "WhatsApp"]


def test_dates_years_times_and_vague_counts_are_no_figures() -> None:
    assert figures("In total, 104 matches will be played between June 11 and July 19.") \
        == ["104 matches"]
    assert figures("The final is in 2030 at 10:05 a.m., and 2,000 people voted.") == ["2,000 people"]
    assert figures("The 2021-22 season drew 2020 votes.") == ["2020 votes"]
    assert figures("Millions of swings were recalled; 2 million swings in all.") == ["2 million swings"]
    assert figures("A 30-day ceasefire.") == ["30-day"]  # the hyphen carries the unit
    assert figures("Of the 5 was left.") == ["5"]  # "was" is no unit


def test_bare_figures_that_count_different_things_do_not_differ() -> None:
    from bot.claims import Value, _comparable
    from bot.evidence import Sentence

    def bare(text: str, figure: str) -> Value:
        s = Sentence("a", 0, len(text), text, 0.5, 0.5, None, values=at.spans(text, at.NUMBER))
        return Value(figure, figure, at.NUMBER, sentences=[s])

    four = bare("Russia claims four Ukrainian territories.", "four")
    soldiers = bare("He said 942 Russian soldiers were captured.", "942")
    five = bare("Kyiv says five Ukrainian territories are claimed.", "five")
    assert not _comparable(four, soldiers)
    assert _comparable(four, five)


def test_quotation_marks_in_the_question_hide_no_noun() -> None:
    q = "Which “sleepy” town is the county's capital for beekeepers?"
    assert at.expected(q) == at.PLACE
    assert at.type_noun(q) == "sleepy town"


def test_a_person_is_of_the_other_kind_when_an_organisation_is_asked_for() -> None:
    from bot.claims import _kind_fit

    def fit(sentence: str, value: str, org: bool) -> float:
        i = sentence.index(value)
        return _kind_fit(sentence, at.Span(i, i + len(value), value, at.NAME), at.PERSON, org)

    assert at.asks_for_organisation("Which US tabloid backed the campaign?")
    assert not at.asks_for_organisation("Which Olympic gymnast won the final?")
    assert fit("Kelby Post editor Ann Roe said the paper backed him.", "Ann Roe", org=True) == -1.0
    assert fit("Kelby Post editor Ann Roe said the paper backed him.", "Ann Roe", org=False) == 1.0
    assert fit("The Kelby Post backed him.", "Kelby Post", org=True) == 0.0


def test_clock_times_labels_and_the_pronoun_one_are_no_figures() -> None:
    assert figures("At 2 a.m. Sunday, clocks go forward by one hour.") == ["one hour"]
    assert figures("In 2018 voters approved Proposition 7, a ballot measure.") == []
    assert figures("The team scored 7 goals in Game 7.") == ["7 goals"]
    assert figures("The estimate is most likely a conservative one, they say.") == []
    assert figures("Only one person was hurt.") == ["one"]


def test_a_day_is_no_speaker() -> None:
    from types import SimpleNamespace

    from bot.claims import speaker
    from bot.evidence import Sentence

    ev = SimpleNamespace(snapshot=SimpleNamespace(document=lambda source: None))
    text = "President Biden on Wednesday announced relief of up to $20,000."
    s = Sentence("a", 0, len(text), text, 0.5, 0.5, None)
    assert speaker(ev, s) != "Wednesday"  # type: ignore[arg-type]
    text = "Ann Roe on Monday announced the plan."
    assert speaker(ev, Sentence("a", 0, len(text), text, 0.5, 0.5, None)) != "Monday"  # type: ignore[arg-type]


def test_figures_within_a_tenth_of_each_other_do_not_differ() -> None:
    from bot.claims import Value, _close

    def fig(text: str) -> Value:
        return Value(text, text, at.NUMBER)

    assert _close(fig("more than $6 billion"), fig("approximately $6.1 billion"))
    assert _close(fig("about 1,000"), fig("1,050"))
    assert not _close(fig("942"), fig("over 400"))
    assert not _close(fig("$6 billion"), fig("$6.8 billion"))


def test_a_bare_figure_before_another_plural_noun_counts_something_else() -> None:
    from bot.claims import Value, _unit_match
    from bot.evidence import Evidence, Sentence

    def unit(question: str, text: str, figure: str) -> float:
        ev = Evidence(question, snapshot=None, hits=[])  # type: ignore[arg-type]
        s = Sentence("a", 0, len(text), text, 0.5, 0.5, None, values=at.spans(text, at.NUMBER))
        return _unit_match(ev, Value(figure, figure, at.NUMBER, sentences=[s]))

    q = "How many matches are in the tournament?"
    assert unit(q, "Pitches were laid for the 16 host stadiums.", "16") == -1.0
    assert unit(q, "There will be 104 matches.", "104 matches") == 1.0
    # ...unless its sentence names the asked thing: it may still count it
    assert unit("How many prisoners were taken?",
                "He said 942 Russian soldiers had been captured as prisoners of war.", "942") == 0.0
    assert unit(q, "Tickets sold out in 16 minutes.", "16 minutes") == -1.0


def test_a_date_of_the_thing_acted_on_is_not_the_date_of_the_act() -> None:
    from bot.claims import _dates_object

    def dated(sentence: str, date_text: str, question: str) -> int:
        i = sentence.index(date_text)
        return _dates_object(sentence, at.Span(i, i + len(date_text), date_text, at.DATE), question)

    s = "The US lifted its March 3 suspension of military aid on Tuesday."
    assert dated(s, "March 3", "When did the US lift its suspension of military aid?") == 1
    assert dated(s, "on Tuesday", "When did the US lift its suspension of military aid?") == 0
    # asked about the thing itself, its own date answers
    assert dated(s, "March 3", "When was the suspension of military aid announced?") == 0
