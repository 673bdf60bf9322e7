"""Layering: dependencies point one way (jaxlike -> jaxlike.codegen -> jaxlike.ir -> numpy).

The IR and codegen are installed as jaxlike.ir and jaxlike.codegen; top-level packages named ir and
codegen belong to other projects on the package index, so no file may import them by those names.
"""

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("jaxlike", "ir", "codegen", "tests", "bench", "examples")
# 'import ir', 'import ir.core', 'import codegen as cg', 'from ir import x', 'from codegen.emit import y',
# also indented (inside a function) and in a comma list ('import os, ir'); relative imports are fine.
BAD_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(?:ir|codegen)(?:[ \t.]|$)"
    r"|import[ \t]+(?:[\w.]+(?:[ \t]+as[ \t]+\w+)?[ \t]*,[ \t]*)*(?:ir|codegen)(?:[ \t.,]|$))",
    re.M)


def python_files():
    for folder in FOLDERS:
        yield from sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("line, bad", [
    ("import ir", True), ("import ir.core", True), ("from ir import core", True),
    ("from ir.prims import unary", True), ("    import codegen", True), ("from codegen.emit import x", True),
    ("import codegen as cg", True), ("import os, ir", True), ("import numpy as np, codegen.emit", True),
    ("from .ir import core", False), ("import irrelevant", False), ("from jaxlike.ir import core", False),
    ("import jaxlike.codegen", False), ("# import ir", False), ('text = "import ir"', False),
    ("from irx import y", False), ("import codegenerator", False),
])
def test_the_pattern(line, bad):
    assert bool(BAD_IMPORT.search(line)) == bad


def test_no_top_level_ir_or_codegen_imports():
    offenders = []
    files = list(python_files())
    assert any(p.name == "core.py" for p in files)  # the scan sees the tree
    for path in files:
        text = path.read_text(encoding="utf-8")
        for m in BAD_IMPORT.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {m.group().strip()}")
    assert not offenders, ("import jaxlike.ir / jaxlike.codegen (or relatively), never top-level ir or "
                           "codegen:\n" + "\n".join(offenders))


def test_ir_imports_without_llvmlite():
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        sys.modules["llvmlite"] = None  # any import of llvmlite now raises ImportError
        import jaxlike.ir
        import jaxlike.ir.prims
        names = [m.name for m in pkgutil.walk_packages(jaxlike.ir.__path__, "jaxlike.ir.")]
        for name in names:
            importlib.import_module(name)
        assert sys.modules["llvmlite"] is None
        loaded = sorted(m for m in sys.modules if m.startswith("jaxlike.codegen"))
        assert not loaded, loaded
        print(len(names))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT / "tests")
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) >= 5


def test_rule_matrix_without_llvmlite():
    code = textwrap.dedent("""
        import sys
        sys.modules["llvmlite"] = None
        from jaxlike.ir import table
        matrix = table.rule_matrix()
        assert matrix and all("lower" in row for row in matrix.values())
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT / "tests")
    assert result.returncode == 0, result.stderr


def test_import_jaxlike_gives_the_sparse_namespace():
    code = "import jaxlike; print(jaxlike.sparse.jacobian.__name__, 'sparse' in jaxlike.__all__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["jacobian", "True"]
