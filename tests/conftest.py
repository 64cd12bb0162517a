"""Shared fixtures: real Chroma, the real MiniLM model, temporary folders."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.service import Newsbot
from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_articles"
SHARED = ROOT.parent / "shared"
SEED = SHARED / "eval" / "seed_dev.jsonl"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's NEWSBOT_* variables or proxies."""
    for key in list(os.environ):
        if key.startswith("NEWSBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


def make_settings(data_dir: Path, **kw: object) -> Settings:
    """Settings that ignore any .env file in the working directory."""
    return Settings(_env_file=None, data_dir=data_dir, **kw)  # type: ignore[call-arg]


@pytest.fixture
def samples(tmp_path: Path) -> Path:
    """A writable copy of the five sample articles."""
    dst = tmp_path / "articles"
    shutil.copytree(SAMPLES, dst)
    return dst


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample articles indexed once per session; tests must not write to it."""
    data = tmp_path_factory.mktemp("sample-index")
    bot = Newsbot(make_settings(data))
    report = bot.index([SAMPLES])
    assert len(report.added) == 5, report
    return data


@pytest.fixture
def sample_bot(sample_index: Path) -> Iterator[Newsbot]:
    """A Newsbot over the shared read-only sample index."""
    yield Newsbot(make_settings(sample_index))


@pytest.fixture
def fresh_bot(tmp_path: Path) -> Newsbot:
    """A Newsbot over an empty index of its own."""
    return Newsbot(make_settings(tmp_path / "data"))
