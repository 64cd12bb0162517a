"""Reading the sample articles' irregular tops and stripping page furniture."""

from __future__ import annotations


import pytest

from index.cleaning import clean_article, html_to_text
from index.reading import document_from_text, read_file

from conftest import SAMPLES

FURNITURE = ["cookies", "Read more", "Read More", "Related Posts", "Load More Posts",
             "Source link", "Related Content", "Picture: Getty"]


@pytest.fixture(scope="module")
def docs() -> dict[str, object]:
    return {p.name[:3]: read_file(p, p.name) for p in sorted(SAMPLES.glob("*.txt"))}


def test_titles_dates_and_bylines(docs: dict) -> None:
    assert docs["000"].meta.title == "Kremlin Declares US Ceasefire Proposal Offers ‘Nothing’ for Russia"
    assert docs["001"].meta.title is None  # it opens with the lead paragraph, not a headline
    # 002 opens with a run of category tags, which is neither title nor text.
    assert docs["002"].meta.title.startswith("Putin adviser says ceasefire gives nothing to Russia")
    assert "DefenseFeatured" not in docs["002"].text
    # 004 opens with an inline date before its title.
    assert docs["004"].meta.published == "2025-03-13"
    assert docs["004"].meta.title.startswith("Kremlin aide dismisses short-term ceasefire")
    assert not docs["004"].text.lstrip().startswith("date")
    assert docs["004"].meta.author == "Asher McShane"


@pytest.mark.parametrize("phrase", FURNITURE)
def test_furniture_is_gone(docs: dict, phrase: str) -> None:
    for d in docs.values():
        assert phrase not in d.text, (d.source, phrase)


def test_article_text_is_kept(docs: dict) -> None:
    assert "Valery Gerasimov told Mr. Putin" in docs["000"].text
    assert "U.S. special envoy Steven Witkoff will travel to Moscow" in docs["003"].text


def test_front_matter_supplies_what_the_text_lacks() -> None:
    raw = "---\ntitle: A headline\noutlet: The Paper\nurl: https://x.example/a\npublished: 2025-03-12\n---\nBody text here. More."
    d = document_from_text("a.md", raw)
    assert (d.meta.title, d.meta.outlet, d.meta.url, d.meta.published) == ("A headline", "The Paper", "https://x.example/a", "2025-03-12")
    assert d.text.startswith("Body text here.")


def test_html_drops_scripts_styles_and_navigation() -> None:
    html = """<html><head><title>T</title><meta property="og:site_name" content="Outlet">
    <meta property="article:published_time" content="2025-03-13T10:00:00Z"><style>p{color:red}</style>
    <script>alert('x')</script></head><body><nav>Home | World</nav><h1>Big news today</h1>
    <p>First paragraph &amp; more.</p><p>Second one.</p><footer>© 2025</footer></body></html>"""
    text, meta = html_to_text(html)
    assert "alert" not in text and "color:red" not in text and "Home | World" not in text
    assert "First paragraph & more." in text and "©" not in text
    d = document_from_text("x.html", html, html=True)
    assert d.meta.title == "Big news today" and d.meta.outlet == "Outlet" and d.meta.published == "2025-03-13"


def test_cleaning_is_stable_on_clean_text() -> None:
    text = "A title line here\n\nA sentence. Another one."
    assert clean_article(clean_article(text).text).text == clean_article(text).text
