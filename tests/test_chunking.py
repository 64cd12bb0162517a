"""Chunks and sentences keep offsets that point at exactly their text."""

from __future__ import annotations

from index.chunking import chunk_document, sentence_spans
from index.embedding import count_wordpieces
from index.reading import read_file

from conftest import SAMPLES


def test_chunks_and_sentences_are_verbatim_spans() -> None:
    for path in sorted(SAMPLES.glob("*.txt")):
        doc = read_file(path, path.name)
        chunks = chunk_document(doc, 160)
        assert len(chunks) >= 3
        prev_end = 0
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text
            assert c.start >= prev_end  # in order, no overlap
            prev_end = c.end
            assert len(count_wordpieces(c.text)) <= 160 + 40  # one long sentence may overflow
            for s, e in c.sentences:
                assert c.start <= s < e <= c.end
                assert doc.text[s:e] == doc.text[s:e].strip()


def test_sentences_keep_quotations_whole() -> None:
    text = "“It provides us with no advantages. It solely gives them time,” he said.\nMr. Putin spoke. Next."
    spans = [text[s:e] for s, e in sentence_spans(text)]
    assert spans[0] == "“It provides us with no advantages. It solely gives them time,” he said."
    assert spans[1] == "Mr. Putin spoke."  # "Mr." does not end a sentence


def test_chunks_are_filled_not_cut_at_every_sentence() -> None:
    """Sentence sizes must not be inflated by batch padding: chunks hold several sentences."""
    from index.types import Document

    text = "\n".join("Short sentence number %d is here." % i for i in range(40)) + "\n" + "word " * 120 + "."
    chunks = chunk_document(Document("x.txt", text), 160)
    assert len(chunks) <= 6
    assert all(len(c.sentences) >= 5 for c in chunks[:-2])
