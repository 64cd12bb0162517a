"""`newsbot eval`: answer quality on the seed format, retrieval and answers on the bench format.

- `seed`: the seed set (`gold_sources`, `must_include`): answered well, declined, precision.
- `realtimeqa`: the RealTime QA bench (`gold_ids`, `answer`): article ranking as of each
  question's date.
- `stats`: percentiles.
The scripts in `bench/` run these end to end; the scoring lives here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError
from bot.evaluation.realtimeqa import eval_bench
from bot.evaluation.seed import eval_seed

if TYPE_CHECKING:
    from bot.service import Newsbot


def load_questions(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The question file's rows; a missing file or a line that is not a JSON object is a
    `ConfigError` naming the file and line."""
    rows: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"{path}:{lineno}: not JSON ({exc.msg})") from None
                if not isinstance(row, dict) or not isinstance(row.get("question"), str):
                    raise ConfigError(f"{path}:{lineno}: not a question (a JSON object with "
                                      "a \"question\" string)")
                rows.append(row)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the question file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return rows[:limit] if limit else rows


def run_eval(bot: Newsbot, path: Path, *, as_json: bool = False, limit: int | None = None) -> int:
    """`newsbot eval FILE`: the seed format, or the bench format when rows have `gold_ids`."""
    rows = load_questions(path, limit)
    if not rows:
        raise ConfigError(f"{path} holds no questions")
    if "gold_ids" in rows[0]:
        result = eval_bench(bot, rows)
    else:
        result = eval_seed(bot, rows)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    if result["format"] == "seed":
        for v in result["questions"]:
            mark = "ok  " if v["good"] else "FAIL"
            extra = "" if v["good"] else f"  missing={v['missing']} cited={v['cited']} refused={v['refused']}"
            print(f"{mark} {v['id']:<6} {v['question'][:70]}{extra}")
    print(json.dumps(result["summary"], indent=2))
    return 0


