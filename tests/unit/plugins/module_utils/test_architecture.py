"""docs/architecture.md cannot go stale silently: it names every file of the collection's code, and its list of
imports between module_utils files is the code's own, with no cycle."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]
DOC = (ROOT / "docs" / "architecture.md").read_text()
PACKAGE = "ansible_collections.coconut.entra.plugins.module_utils"
MODULE_UTILS = sorted((ROOT / "plugins" / "module_utils").glob("*.py"))


def imported_module_utils(path):
    """The module_utils files `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE + "."):
            found.add(node.module[len(PACKAGE) + 1:].split(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name[len(PACKAGE) + 1:].split(".")[0] for alias in node.names if alias.name.startswith(PACKAGE + "."))
    return found


def documented_imports():
    section = DOC.split("## Imports between module_utils files", 1)[1].split("\n## ", 1)[0]
    edges = {}
    for name, targets in re.findall(r"^    (\w+)\.py\s+-> (.+)$", section, re.MULTILINE):
        edges[name] = set() if targets.strip() == "-" else {target.strip() for target in targets.split(",")}
    return edges


def test_the_documented_imports_are_the_code_s():
    code = {path.stem: imported_module_utils(path) for path in MODULE_UTILS}
    documented = documented_imports()
    wrong = {name: {"code": sorted(code.get(name, ())), "doc": sorted(documented.get(name, ()))}
             for name in set(code) | set(documented) if code.get(name) != documented.get(name)}
    assert not wrong, ("docs/architecture.md 'Imports between module_utils files' differs from the code; write each line as "
                       "'    NAME.py -> a, b' (code first): %s" % wrong)


def test_module_utils_imports_have_no_cycle():
    graph = {path.stem: imported_module_utils(path) for path in MODULE_UTILS}
    state = {}

    def visit(name, trail):
        if state.get(name) == "done":
            return
        assert state.get(name) != "open", "import cycle: " + " -> ".join(trail + [name])
        state[name] = "open"
        for target in sorted(graph.get(name, ())):
            visit(target, trail + [name])
        state[name] = "done"

    for name in sorted(graph):
        visit(name, [])


CODE_FILES = sorted(
    [*ROOT.glob("plugins/*/*.py"), *ROOT.glob("extensions/**/*.py"), *ROOT.glob("extensions/**/*.yml"), *ROOT.glob("playbooks/*.yml")])


def layout_lines(folder):
    """The Layout lines of `folder/`: each top-level entry that starts with it, and the lines indented under that entry."""
    layout = DOC.split("## Layout", 1)[1].split("\n## ", 1)[0]
    lines, inside = [], False
    for line in layout.splitlines():
        if re.match(r"^    \S", line):
            inside = line[4:].startswith(folder + "/")
        if inside:
            lines.append(line)
    return "\n".join(lines)


@pytest.mark.parametrize("path", [path for path in CODE_FILES if path.name != "__init__.py"], ids=lambda path: str(path.relative_to(ROOT)))
def test_the_layout_names_every_file_under_its_folder(path):
    block = layout_lines(str(path.parent.relative_to(ROOT)))
    assert re.search(r"(?<![\w.])" + re.escape(path.name) + r"\b", block), f"docs/architecture.md's Layout does not name {path.relative_to(ROOT)}"
