"""Bad sources get one clear message and never stop the good ones."""

from __future__ import annotations

import json
from pathlib import Path

from index.reading import iter_sources
from index.errors import SourceError
from index.types import Document


def _errors(items: list) -> dict[str, str]:
    return {i.source: i.reason for i in items if isinstance(i, SourceError)}


def test_bad_files_are_named_and_good_ones_read(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("A headline\n\nSome article text. More text here.")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.md").write_text("   \n\n  ")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (tmp_path / "latin.txt").write_bytes("Caf\xe9 cr\xe8me".encode("latin-1"))
    (tmp_path / "nul.txt").write_bytes(b"text\x00with nul")
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.4")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "deep.md").write_text("Deep article\n\nIt is nested. Really.")
    items = list(iter_sources([tmp_path]))
    docs = {i.source for i in items if isinstance(i, Document)}
    assert docs == {"good.txt", "sub/deep.md"}
    errors = _errors(items)
    assert "empty" in errors["empty.txt"] and "empty" in errors["blank.md"]
    assert "binary" in errors["image.txt"] and "binary" in errors["nul.txt"]
    assert "UTF-8" in errors["latin.txt"]
    assert "unsupported" in errors["doc.pdf"]


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    errors = _errors(list(iter_sources([tmp_path / "nope", tmp_path / "empty"])))
    assert "does not exist" in errors[str(tmp_path / "nope")]
    assert "empty folder" in errors[str(tmp_path / "empty")]


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("word " * 300_000)
    errors = _errors(list(iter_sources([tmp_path], max_bytes=1_000_000)))
    assert "over the 1 MB limit" in errors["big.txt"]


def test_jsonl_bad_lines_are_reported_by_number(tmp_path: Path) -> None:
    rows = [
        {"id": "a1", "title": "T1", "source": "cnn.com", "published_at": "2024-05-01", "text": "Alpha text. More."},
        "not json",
        {"id": "a2", "text": ""},
        {"title": "no id", "text": "x"},
        {"id": "a3", "title": "T3", "outlet": "The Week", "published": "2024-05-02", "author": "Jo", "url": "https://w/3", "text": "Gamma text. Yes."},
    ]
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows))
    items = list(iter_sources([path]))
    docs = {i.source: i for i in items if isinstance(i, Document)}
    assert set(docs) == {"a1", "a3"}
    assert docs["a1"].meta.outlet == "cnn.com" and docs["a1"].meta.published == "2024-05-01"
    assert docs["a3"].meta.author == "Jo" and docs["a3"].meta.url == "https://w/3"
    assert set(_errors(items)) == {"export.jsonl:2", "export.jsonl:3", "export.jsonl:4"}
