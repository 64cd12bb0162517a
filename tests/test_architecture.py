"""The layering rules a newcomer relies on, checked on the source itself.

- `index/` never imports `bot/`; no import cycle anywhere in `bot/` and `index/` (imports
  inside functions count: a lazy import is still a dependency);
- `bot/` never reads a private attribute (`obj._name`) of another object, nor imports a
  private name: whatever it needs from `index/` is public API;
- an error meant for a person is one line on stderr, never a traceback.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES

PACKAGES = ("bot", "index")


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _runtime_imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Modules imported anywhere in the file except under `if TYPE_CHECKING:`."""
    found: set[str] = set()
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                prefix = ".".join(base[: len(base) - node.level + 1])
                name = f"{prefix}.{node.module}" if node.module else prefix
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{a.name}" for a in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps = _runtime_imports(tree, name, path.name == "__init__.py")
        graph[name] = {d for d in deps if d in mods and d != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_no_import_cycle() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_detector_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_index_never_imports_bot() -> None:
    for name, deps in _graph().items():
        if name.startswith("index"):
            assert not any(d.startswith("bot") for d in deps), (name, deps)


def _private_reads(path: Path) -> list[str]:
    """`obj._name` where obj is not self/cls (or a class of the same file), and private imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    own_classes = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            value = node.value
            if isinstance(value, ast.Name) and value.id in {"self", "cls", *own_classes}:
                continue
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {alias.name}")
    return found


def test_bot_reads_no_private_attribute() -> None:
    found = [hit for path in sorted((ROOT / "bot").rglob("*.py")) for hit in _private_reads(path)]
    assert not found, "\n".join(found)


def test_the_private_read_detector_can_fail(tmp_path: Path) -> None:
    probe = ROOT / "bot" / "_probe_private_read.py"
    try:
        probe.write_text("def f(snap):\n    return snap._bm25\nfrom index.locking import _x\n")
        assert len(_private_reads(probe)) == 2
    finally:
        probe.unlink()


# ---- user errors are one line ---------------------------------------------------------------

def _cli(data: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "bot.cli", "--data-dir", str(data), *args],
                          capture_output=True, text=True, cwd=ROOT, env=full, timeout=120)


def _one_line_error(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert out.returncode != 0, out
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("newsbot: "), out.stderr
    for w in words:
        assert w in lines[0], lines[0]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("arch") / "data"
    out = _cli(data, "index", "-q", str(SAMPLES / "002_c73d6df7dc4c2e06.txt"))
    assert out.returncode == 0, out.stderr
    return data


def test_eval_of_a_missing_file_is_one_line(indexed: Path, tmp_path: Path) -> None:
    _one_line_error(_cli(indexed, "eval", str(tmp_path / "nope.jsonl")), "nope.jsonl")


def test_eval_file_with_a_line_that_is_not_json_is_one_line(indexed: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "Who?", "gold_sources": []}\nthis is not json\n')
    _one_line_error(_cli(indexed, "eval", str(bad)), "bad.jsonl:2")


def test_ask_with_an_unknown_prompt_variable_is_one_line(indexed: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    for f in (ROOT / "prompts").glob("*.txt"):
        (prompts / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (prompts / "answer.txt").write_text("{passages}\n{question}\nReply in {language}.\n")
    env = {"NEWSBOT_LLM_BASE_URL": "http://127.0.0.1:9/v1", "NEWSBOT_LLM_MODEL": "m",
           "NEWSBOT_PROMPTS_DIR": str(prompts)}
    _one_line_error(_cli(indexed, "ask", "Who is Ushakov?", env=env), "answer.txt", "{language}")
