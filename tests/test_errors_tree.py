"""The exception tree drawn in errors.py's docstring is the one in the code: every exception
class under server/ appears in it, under the class it derives from, and nothing else does."""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

from paycore import errors

SERVER = Path(__file__).resolve().parents[1] / "server"
# A tree line: the drawing ("│   ├── "), a class name, then its note.
_TREE_LINE = re.compile(r"^    (?P<drawing>[│├└─\s]*)(?P<name>[A-Z]\w+)(?:\s|$)")
_BUILTIN_EXCEPTIONS = {
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}


def drawn_tree(docstring: str) -> dict[str, str]:
    """Each class drawn -> the class drawn above it one level up ("" for the root)."""
    parents: dict[str, str] = {}
    path: list[str] = []
    for line in docstring.splitlines():
        match = _TREE_LINE.match(line)
        if match is None:
            continue
        depth = len(match["drawing"]) // 4
        del path[depth:]
        parents[match["name"]] = path[-1] if path else ""
        path.append(match["name"])
    return parents


def coded_tree() -> dict[str, str]:
    """Each exception class defined under server/ -> the base it names first; builtin bases
    (Exception, ValueError, ...) by name, so the drawing shows where each tree hangs."""
    bases: dict[str, str] = {}
    for path in SERVER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and node.bases:
                first = node.bases[0]
                if isinstance(first, ast.Name):
                    bases[node.name] = first.id
    exceptions: dict[str, str] = {}
    grew = True
    while grew:
        grew = False
        for name, base in bases.items():
            if name not in exceptions and (base in _BUILTIN_EXCEPTIONS or base in exceptions):
                exceptions[name] = base
                grew = True
    return exceptions


def test_the_docstring_draws_every_exception_class_under_its_base() -> None:
    drawn = drawn_tree(errors.__doc__ or "")
    coded = coded_tree()
    # Builtins appear in the drawing only as the nodes the paycore classes hang from.
    drawn_paycore = {
        name: parent for name, parent in drawn.items() if name not in _BUILTIN_EXCEPTIONS
    }
    assert drawn_paycore == coded, "redraw the tree in paycore/errors.py's docstring"


def test_the_tree_reader_reads_nesting() -> None:
    tree = """
    Exception
    ├── Alpha          note
    │   ├── Beta       note
    │   └── Gamma
    │       └── Delta
    └── ValueError
        └── Epsilon
"""
    assert drawn_tree(tree) == {
        "Exception": "",
        "Alpha": "Exception",
        "Beta": "Alpha",
        "Gamma": "Alpha",
        "Delta": "Gamma",
        "ValueError": "Exception",
        "Epsilon": "ValueError",
    }
