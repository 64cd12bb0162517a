"""The prompt templates an operator can edit (prompts/*.txt), checked before first use.

A typo in a template must stop start-up with a message naming the file and the variable, not
fail at the first question.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.errors import PromptError

@dataclass(frozen=True)
class TemplateSpec:
    file: str
    allowed: frozenset[str]
    required: frozenset[str]
    optional: bool = False  # a missing file means "not used" rather than an error


TEMPLATES: dict[str, TemplateSpec] = {
    "system": TemplateSpec("system.txt", frozenset({"today"}), frozenset()),
    "answer": TemplateSpec(
        "answer.txt", frozenset({"question", "passages", "today", "count"}),
        frozenset({"question", "passages"}),
    ),
    "condense": TemplateSpec(
        "condense.txt", frozenset({"question", "history", "today"}),
        frozenset({"question", "history"}),
    ),
    # One worked example shown to the model before the real question (a user turn rendered
    # with answer.txt, then the answer): small models copy its [n] markers and its shape.
    "example": TemplateSpec("example.txt", frozenset(), frozenset(), optional=True),
}
# example.txt is three sections, each opened by its heading line.
EXAMPLE_SECTIONS = ("passages", "question", "answer")
_SECTION = re.compile(r"^=== (\w+) ===[ \t]*$", re.M)


def _names(allowed: Iterable[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(allowed))


def template_fields(text: str, path: Path) -> set[str]:
    """The {placeholders} of a template; anything but a plain {name} is an error."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise PromptError(f"{path}: {exc} (write a literal brace as {{{{ or }}}})") from None
    found: set[str] = set()
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conv:
            shown = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            raise PromptError(f"{path}: unsupported placeholder {shown}; use a plain {{name}}")
        found.add(name)
    return found


def load_template(folder: Path, spec: TemplateSpec) -> str:
    """Read and validate one template, so a typo fails at start-up, not at the first question."""
    path = folder / spec.file
    if spec.optional and not path.exists():
        return ""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"{path}: cannot read prompt template ({exc.strerror or exc})") from None
    if not text.strip():
        raise PromptError(f"{path}: prompt template is empty")
    found = template_fields(text, path)
    unknown = found - spec.allowed
    if unknown:
        raise PromptError(
            f"{path}: unknown variable {_names(unknown)}; allowed: {_names(spec.allowed)}"
        )
    missing = spec.required - found
    if missing:
        raise PromptError(f"{path}: missing required variable {_names(missing)}")
    return text


@dataclass(frozen=True)
class Example:
    """The worked example: passages and a question (shown through answer.txt) and its answer."""

    passages: str
    question: str
    answer: str


def parse_example(text: str, path: Path) -> Example:
    """example.txt's three sections; a missing or empty one stops start-up."""
    heads = list(_SECTION.finditer(text))
    names = [m.group(1) for m in heads]
    if names != list(EXAMPLE_SECTIONS):
        want = ", ".join(f"=== {n} ===" for n in EXAMPLE_SECTIONS)
        raise PromptError(f"{path}: expected the section lines {want}, in that order")
    parts = {}
    for m, nxt in zip(heads, heads[1:] + [None]):
        body = text[m.end() : nxt.start() if nxt else len(text)].strip()
        if not body:
            raise PromptError(f"{path}: the === {m.group(1)} === section is empty")
        parts[m.group(1)] = body.replace("{{", "{").replace("}}", "}")
    return Example(**parts)


@dataclass(frozen=True)
class Prompts:
    """The three operator-editable templates, validated."""

    system: str
    answer: str
    condense: str
    example: str = ""  # empty: no worked example

    @classmethod
    def load(cls, folder: Path) -> Prompts:
        prompts = cls(**{key: load_template(folder, spec) for key, spec in TEMPLATES.items()})
        if prompts.example:
            parse_example(prompts.example, folder / TEMPLATES["example"].file)
        return prompts

    def worked_example(self) -> Example | None:
        if not self.example:
            return None
        return parse_example(self.example, Path(TEMPLATES["example"].file))

    def render(self, key: str, **values: object) -> str:
        return str(getattr(self, key)).format(**values)


