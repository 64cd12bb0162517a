"""One settings class; `.env.example` documents every field, and the values parse as users type them."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import Settings

from conftest import ROOT


def test_env_example_lists_every_setting_with_an_explanation() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    for name, field in Settings.model_fields.items():
        key = f"NEWSBOT_{name.upper()}="
        hits = [i for i, line in enumerate(lines) if line.lstrip("# ").startswith(key)]
        assert hits, f"{key} is missing from .env.example (run tools/gen_env_example.py)"
        assert field.description and lines[hits[0] - 1].startswith("# "), name


def test_environment_values_parse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEWSBOT_ADMIN_IDS", "12, 34")
    monkeypatch.setenv("NEWSBOT_ALLOWED_USER_IDS", "")
    monkeypatch.setenv("NEWSBOT_DENSE_CHUNKS", "")
    monkeypatch.setenv("NEWSBOT_DATA_DIR", str(tmp_path))
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.admin_ids == [12, 34] and s.allowed_user_ids == [] and s.dense_chunks == 0  # the default
    assert s.data_dir == tmp_path and not s.llm_enabled


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_TOP_K", "0")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_index_never_reads_the_environment_or_imports_bot() -> None:
    for path in (ROOT / "index").glob("*.py"):
        text = path.read_text()
        assert "import bot" not in text and "from bot" not in text, path.name
        assert "os.environ" not in text and "getenv" not in text, path.name
