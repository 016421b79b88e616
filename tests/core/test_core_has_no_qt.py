"""workstation.core must never import Qt: the CLI and tests run it on machines without a display."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import workstation.core

CORE = Path(workstation.core.__file__).parent
FORBIDDEN = ("PySide6", "shiboken6", "superqt", "pyqtgraph", "workstation.ui", "mpv")


def test_no_qt_import_statements_in_core():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.name}: {n}"
                for n in names
                if n.split(".")[0] in FORBIDDEN or n.startswith("workstation.ui")
            ]
    assert offenders == []


def test_core_modules_import_with_qt_blocked():
    """Import every core module in a fresh interpreter where importing Qt fails."""
    modules = [m.name for m in pkgutil.walk_packages([str(CORE)], "workstation.core.")]
    code = (
        "import sys, importlib\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {FORBIDDEN!r}: raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "heavy = [m for m in ('torch', 'transformers', 'onnxruntime', 'diffusers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
