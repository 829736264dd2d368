"""The README's layout section names every package folder of server/paycore/ and every top-level
folder of the repository, so the map cannot drift from the tree."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "server" / "paycore"


def layout_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)```", section, flags=re.DOTALL)
    (tree,) = [block for block in blocks if block.startswith("protos/")]
    return str(tree)


def test_every_server_package_is_in_the_layout() -> None:
    named = set(re.findall(r"\b([a-z_]+)/", layout_block()))
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert packages, "no package found under server/paycore"
    assert packages - named == set()


def test_every_top_level_folder_is_in_the_layout() -> None:
    tree = layout_block()
    named = {line.split("/", 1)[0] for line in tree.splitlines() if re.match(r"[a-z]", line)}
    folders = {
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and not path.name.startswith(".") and path.name != "node_modules"
    }
    assert folders - named == set()


def _settings_table(text: str) -> dict[str, str]:
    """`PAYCORE_*` -> its default, from the rows of a markdown table of settings."""
    rows = re.findall(r"^\| `(PAYCORE_[A-Z0-9_]+)` \| ([^|]*) \|", text, flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def test_the_readme_has_a_configuration_table_agreeing_with_the_docs() -> None:
    """Issue 2's README has a configuration table: the settings a first run may need, each
    with the default docs/configuration.md (every setting) gives it."""
    readme = (ROOT / "README.md").read_text()
    assert "\n## Configuration\n" in readme
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table = _settings_table(section)
    every = _settings_table((ROOT / "docs" / "configuration.md").read_text())
    assert {"PAYCORE_DATABASE_URLS", "PAYCORE_REDIS_URL", "PAYCORE_GRPC_ADDR"} <= set(table)
    assert {name: every.get(name) for name in table} == table


def headings(markdown: str) -> set[str]:
    return {line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")}


def readme_sections_named(text: str) -> set[str]:
    """The README sections a text sends its reader to: `README, "Security"`, `README "Figures"`."""
    return set(re.findall(r'README,? "([^"]+)"', text))


def test_every_readme_section_the_docs_name_exists() -> None:
    readme = headings((ROOT / "README.md").read_text())
    documents = [*ROOT.glob("docs/*.md"), *ROOT.glob("deploy/*.md"), *ROOT.glob("deploy/*.example")]
    missing = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in documents
        for name in readme_sections_named(path.read_text())
        if name not in readme
    }
    assert missing == set()
    assert readme_sections_named('refuses weak secrets (README, "Security")') == {"Security"}


# `python -c`/`-m` with a module only the project's environment has (not `.venv/bin/python`).
_SYSTEM_PYTHON_WITH_PROJECT_MODULE = re.compile(
    r"(?<![/.\w])python3? (?:-m |-c '[^']*\b)(?:paycore|google|grpc_tools|stripe)\b"
)


def test_commands_run_the_projects_python_for_its_modules() -> None:
    """README: `make run` installed paycore (and grpc_tools, googleapis' protos, stripe) in
    .venv, not in the system's Python: a command line the docs give must name .venv/bin/python,
    or a reader's `python -c 'import google.api...'` fails (an empty PAYCORE_GOOGLEAPIS_PROTOS)."""
    documents = [ROOT / "README.md", *ROOT.glob("deploy/*.md"), *ROOT.glob("docs/*.md")]
    found = {
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in documents
        for match in _SYSTEM_PYTHON_WITH_PROJECT_MODULE.finditer(path.read_text())
    }
    assert found == set()
    assert _SYSTEM_PYTHON_WITH_PROJECT_MODULE.search("$(python -c 'import google.api')")
    assert not _SYSTEM_PYTHON_WITH_PROJECT_MODULE.search("(.venv/bin/python -m paycore.x)")


# A shell variable a curl line of the docs sends (`$SK`, `${ADMIN}`), not `$(command)`.
_CURL_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def test_every_variable_a_docs_curl_line_sends_is_said_what_it_holds() -> None:
    """A reader copies a docs curl line into a shell beside `make run`: each `$NAME` it uses is
    one the same document says what to put in ("`$SK` is the secret key", "`$ADMIN` is the
    admin token"), or the environment's own `PAYCORE_*` setting. docs/webhooks.md's endpoint
    line sent `Bearer $KEY`, said nowhere: an empty key, 401."""
    documents = [ROOT / "README.md", *ROOT.glob("docs/*.md")]
    unexplained = set()
    for path in documents:
        text = path.read_text()
        curls = [line for line in re.sub(r"\\\n", " ", text).splitlines() if "curl " in line]
        for name in {name for line in curls for name in _CURL_VARIABLE.findall(line)}:
            if name.startswith("PAYCORE_"):
                continue
            if not re.search(rf"`\${name}` is\b", text):
                unexplained.add(f"{path.relative_to(ROOT)}: ${name}")
    assert unexplained == set()
    assert _CURL_VARIABLE.findall('-H "Bearer $SK" $(cat t) ${ADMIN}') == ["SK", "ADMIN"]
