"""Hybrid retrieval over the real sample index."""

from __future__ import annotations

from datetime import date

from conftest import stored_texts
from bot.service import Newsbot


def test_retrieval_finds_the_passage(sample_bot: Newsbot) -> None:
    passages = sample_bot.searcher.search("Gerasimov 86% of the territory in Kursk", k=3)
    assert passages[0].source.startswith("000_")
    assert "86%" in passages[0].text


def test_every_passage_is_a_verbatim_span(sample_bot: Newsbot) -> None:
    docs = stored_texts(sample_bot)
    for p in sample_bot.searcher.search("Ushakov temporary respite Ukrainian military", k=8):
        assert docs[p.source][p.start : p.end] == p.text
        for also in p.also:
            assert docs[also.source][also.start : also.end] == also.text


def test_near_duplicates_from_other_outlets_are_collapsed(sample_bot: Newsbot) -> None:
    """Three outlets quote "nothing more than a temporary respite for the Ukrainian
    military"; the quote must come back as one passage with several sources, not three."""
    passages = sample_bot.searcher.search("a temporary respite for the Ukrainian military", k=5)
    phrase = "nothing more than a temporary respite for the Ukrainian military"
    groups = [[p, *p.also] for p in passages[:3]]
    quoting = max(groups, key=len)
    assert len({p.source for p in quoting}) >= 3, [[p.source for p in g] for g in groups]
    assert all(phrase in p.text for p in quoting)
    # ...and no other passage repeats an outlet of that group with the same quote.
    rest = [p for g in groups if g is not quoting for p in g if phrase in p.text]
    assert not {p.source for p in rest} & {p.source for p in quoting}


def test_articles_published_after_as_of_are_not_evidence(sample_bot: Newsbot) -> None:
    """004 is dated 2025-03-13; asked as of the day before, it cannot be retrieved."""
    before = sample_bot.searcher.search("Asher McShane temporary respite", k=10, as_of=date(2025, 3, 12))
    assert "004_2cb94cc94e0603c2.txt" not in {p.source for p in before}
    after = sample_bot.searcher.search("Asher McShane temporary respite", k=10, as_of=date(2025, 3, 14))
    assert "004_2cb94cc94e0603c2.txt" in {p.source for p in after}


def test_a_reload_rereads_only_the_changed_article(samples, sample_index, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    from conftest import make_settings

    data = tmp_path / "data"
    shutil.copytree(sample_index, data)
    bot = Newsbot(make_settings(data))
    before = bot.searcher.snapshot()
    target = samples / "002_c73d6df7dc4c2e06.txt"
    target.write_text(target.read_text() + "\n\nThe Zorbland envoy arrived late.")
    bot.index([samples])
    after = bot.searcher.snapshot()
    assert after is not before
    for source in stored_texts(bot):
        doc = after.document(source)
        if source == target.name:
            assert "Zorbland envoy" in after.text(source) and doc is not before.document(source)
        else:
            assert doc is before.document(source)  # reused, not read again
    assert bot.searcher.search("Zorbland envoy", k=1)[0].source == target.name
