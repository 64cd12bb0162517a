"""Retrieved passages as the model sees them: numbered, delimited, with outlet and date.

Article text is data, not instructions: it can neither close a <passage> element nor forge a
[n] marker.
"""

from __future__ import annotations

import re

from index.types import Passage

_ANGLE = str.maketrans({"<": "‹", ">": "›"})
_BRACKET_NUMBER = re.compile(r"\[(\s*\d+(?:\s*[,;–-]\s*\d+)*\s*)\]")


def neutralise(text: str) -> str:
    """Article text can neither close a <passage> element nor forge a [n] marker."""
    return _BRACKET_NUMBER.sub(r"(\1)", text.translate(_ANGLE))


def _attr(value: object) -> str:
    return " ".join(neutralise(str(value)).replace('"', "'").split())


def _who(p: Passage) -> str:
    return p.meta.outlet or p.meta.title or p.source


def format_passage(n: int, p: Passage) -> str:
    attrs = {"id": n, "source": p.source, "outlet": p.meta.outlet or "unknown"}
    if p.meta.title:
        attrs["title"] = p.meta.title
    attrs["date"] = p.meta.published or "unknown"
    if p.also:
        attrs["also_reported_by"] = "; ".join(
            f"{_who(a)} ({a.source}, {a.meta.published or 'date unknown'})" for a in p.also
        )
    head = " ".join(f'{k}="{_attr(v)}"' for k, v in attrs.items())
    return f"<passage {head}>\n{neutralise(p.text.strip())}\n</passage>"


def format_passages(passages: list[Passage]) -> str:
    return "\n\n".join(format_passage(i, p) for i, p in enumerate(passages, 1))


