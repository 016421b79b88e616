"""The house rules a tool can check: SQL lives in core/store, the import contracts hold, types check.

Each rule is also in the README's test command (through this file), so a change that breaks one
fails CI instead of becoming a wish: see CONTRIBUTING.md for where things go.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import workstation

PACKAGE = Path(workstation.__file__).parent
ROOT = PACKAGE.parent
STORE = PACKAGE / "core" / "store"

# Calls that run SQL on a sqlite3 connection or cursor.
SQL_CALLS = {"execute", "executemany", "executescript"}
# A string that *is* a statement (fragments such as "c.id IN (...)" are built only in the store too,
# but cannot be told from prose; the calls above catch their use).
SQL_STATEMENT = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|REPLACE|WITH)\s", re.S
)


def _sql_outside_store(path: Path, root: Path = ROOT) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_CALLS
        ):
            found.append(f"{where}: .{node.func.attr}(")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and SQL_STATEMENT.match(node.value)
        ):
            found.append(f"{where}: SQL statement {node.value.strip()[:40]!r}")
    return found


def test_every_sql_statement_lives_in_core_store():
    offenders = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if STORE not in path.parents
        for hit in _sql_outside_store(path)
    ]
    assert offenders == [], "SQL outside workstation/core/store:\n" + "\n".join(offenders)


def test_the_sql_check_finds_what_it_looks_for(tmp_path):
    """The rule above must be able to fail: a call, a statement, and prose that is not SQL."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f(p):\n"
        "    p.db.execute('x')\n"
        "    q = '''\n    SELECT id FROM clips'''\n"
        "    note = 'Select the clips you want'\n"
    )
    hits = [h.split(": ", 1)[1] for h in _sql_outside_store(sample, tmp_path)]
    assert hits == [".execute(", "SQL statement 'SELECT id FROM clips'"]


def _tool(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert exe, f"{name} is not installed (it comes with the dev extra: pip install -e '.[dev]')"
    return exe


def test_import_contracts_hold():
    """pyproject.toml's [tool.importlinter]: core is Qt-free, ui|cli > train > core, store API."""
    done = subprocess.run(
        [_tool("lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_types_check():
    """pyproject.toml's [tool.mypy]: strict on workstation.core, default strictness elsewhere."""
    done = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
