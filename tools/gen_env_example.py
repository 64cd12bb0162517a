"""Regenerate .env.example from bot/settings.py (tests check the two agree)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from bot.settings import Settings

GROUPS = {
    "data_dir": "Knowledge base",
    "embedding": "Embeddings (default: offline MiniLM, no download)",
    "chroma_host": "Chroma server (optional: without it the index is embedded in NEWSBOT_DATA_DIR)",
    "top_k": "Answering",
    "llm_base_url": "LLM (optional: without it answers are extractive quotes)",
    "telegram_token": "Telegram",
    "feeds_every_minutes": "Feeds and web pages (`newsbot feeds`, `newsbot index URL`)",
    "log_level": "Logging",
}


def render() -> str:
    lines = [
        "# newsbot settings. Copy to .env and uncomment what you change; all are optional.",
        "# Shown values are the defaults. Only bot/settings.py reads these.",
    ]
    for name, f in Settings.model_fields.items():
        if name in GROUPS:
            lines += ["", f"# --- {GROUPS[name]} ---"]
        d: object = f.default
        if f.default_factory is not None:
            d = "./prompts" if name == "prompts_dir" else f.default_factory()  # type: ignore[call-arg]
        if isinstance(d, list):
            d = ",".join(map(str, d))
        if d is None or isinstance(d, SecretStr):
            d = ""
        if isinstance(d, bool):
            d = str(d).lower()
        lines.append(f"# {f.description}")
        lines.append(f"# NEWSBOT_{name.upper()}={d}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    Path(__file__).resolve().parent.parent.joinpath(".env.example").write_text(render())
