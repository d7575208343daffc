"""Every ```python block of README.md runs as written, in order, in one namespace (they
build on each other, as a reader types them), and the values its comments promise for
``print(...)`` lines and bare expressions are what they show.

The guides in docs/ are held to the same rule, one namespace per page. A block that
cannot run everywhere (it needs a GPU, a launcher, a file the reader has) is fenced as
```py instead: shown with the same highlighting, not run."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GUIDES = sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
# A comment that states a value (not prose): a tensor, dtype or device repr, a number,
# True/False; or a tuple or list literal written out in full (no "...").
PROMISE = re.compile(r"#\s*(tensor\(.*\)|dtype\(.*\)|device\(.*\)|-?\d[\d.e+-]*|True|False)\s*$")
LITERAL = re.compile(r"#\s*([(\[].*?)\s*$")


def _promised(source_line: str) -> str | None:
    match = PROMISE.search(source_line)
    if match:
        return match.group(1)
    match = LITERAL.search(source_line)
    if match is None or "..." in match.group(1):
        return None
    try:
        ast.literal_eval(match.group(1))
    except (ValueError, SyntaxError):
        return None  # prose in parentheses, such as "# (batch, seq, feature)"
    return match.group(1)


def _run_block(source: str, namespace: dict, label: str) -> None:
    lines = source.splitlines()
    for statement in ast.parse(source).body:
        code = compile(ast.Module([statement], []), label, "exec")
        promise = _promised(lines[statement.end_lineno - 1])
        if promise is None:
            exec(code, namespace)
            continue
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            if isinstance(statement, ast.Expr):
                value = eval(compile(ast.Expression(statement.value), label, "eval"), namespace)
                shown = printed.getvalue().strip() if value is None else repr(value)
            else:  # a with-block whose last line prints
                exec(code, namespace)
                shown = printed.getvalue().strip()
        assert shown == promise, f"{label}, line {statement.end_lineno}"


def _run_page(page: Path) -> None:
    """Run every python block of one page, in order, in one namespace."""
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    namespace: dict = {"__name__": page.stem}
    for index, source in enumerate(blocks):
        try:
            _run_block(source, namespace, f"{page.name} python block {index + 1}")
        except ModuleNotFoundError as err:  # an optional extra is not installed
            pytest.skip(f"{page.name} python block {index + 1} needs {err.name}")


def test_the_readme_shows_a_command_on_its_first_screen() -> None:
    """The front page reaches its first code block (the install) within 80 lines."""
    lines = README.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.startswith("```"))
    assert first <= 80, f"README.md's first code block starts on line {first}"


def test_every_python_block_of_the_readme_runs(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    assert BLOCK.findall(README.read_text(encoding="utf-8")), "README.md has no python blocks"
    monkeypatch.chdir(tmp_path)  # blocks that save write their files here
    _run_page(README)


@pytest.mark.parametrize("page", GUIDES, ids=[page.name for page in GUIDES])
def test_every_python_block_of_a_guide_runs(page: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _run_page(page)
