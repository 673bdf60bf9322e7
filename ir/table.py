"""The primitive x rule matrix: which primitive has which rule, and which holes are declared.

    python -m jaxlike.ir.table            print the matrix
    python -m jaxlike.ir.table --strict   also exit with status 1 if a rule is MISSING (not declared)

A cell is ``✓`` (the rule is there), ``nonlinear`` (the transpose of a primitive that is linear in no
input), ``hole: <why>`` (declared with ``prim.declare_hole(rule, why)``) or ``MISSING``. The lowering column
reads the ``LOWERINGS`` dict of ``jaxlike.codegen.lowering`` (keyed by primitive name); it shows ``?`` when
codegen cannot be imported (jaxlike.ir does not depend on it).
"""

import argparse
import importlib
import sys

from . import prims  # noqa: F401  (registers the primitives)
from .primitive import NONLINEAR, PRIMITIVES

COLUMNS = ("shape", "impl", "jvp", "transpose", "batch", "lower")
ATTRIBUTES = {"shape": "shape_rule", "impl": "impl", "jvp": "jvp", "transpose": "transpose",
              "batch": "batch"}
OK, MISSING, UNKNOWN = "✓", "MISSING", "?"


def lowerings():
    """(the LOWERINGS table of jaxlike.codegen.lowering or None, why it could not be read)."""
    try:
        lowering = importlib.import_module("jaxlike.codegen.lowering")  # optional: looked up, not required
    except Exception as err:  # noqa: BLE001  (codegen is optional here: a broken one shows as '?')
        return None, f"jaxlike.codegen.lowering cannot be imported ({type(err).__name__}: {err})"
    table = getattr(lowering, "LOWERINGS", None)
    if not isinstance(table, dict):
        return None, "jaxlike.codegen.lowering has no dict named LOWERINGS"
    return table, None


def _hole(prim, column):
    holes = getattr(prim, "holes", {}) or {}
    for key in (column, ATTRIBUTES.get(column), "lowering" if column == "lower" else None):
        if key is not None and key in holes:
            return f"hole: {holes[key]}"
    return None


def _cell(prim, column, lowering_table):
    if column == "lower":
        if lowering_table is None:
            return UNKNOWN
        present = prim.name in lowering_table
    else:
        rule = getattr(prim, ATTRIBUTES[column], None)
        if column == "transpose" and isinstance(rule, str) and rule == NONLINEAR:
            return NONLINEAR
        present = rule is not None
    if present:
        return OK
    return _hole(prim, column) or MISSING


def grouped_primitives():
    """The primitives grouped by family; families in order of first registration."""
    families = {}
    for prim in PRIMITIVES.values():
        families.setdefault(prim.family, []).append(prim)
    return [prim for group in families.values() for prim in group]


def rule_matrix():
    """{primitive name: {column: cell}}, primitives grouped by family, columns in COLUMNS order."""
    table, _ = lowerings()
    return {prim.name: {col: _cell(prim, col, table) for col in COLUMNS} for prim in grouped_primitives()}


def missing():
    """The (primitive name, column) pairs whose rule is MISSING and not declared as a hole."""
    return [(name, col) for name, row in rule_matrix().items() for col, cell in row.items() if cell == MISSING]


def format_matrix(matrix=None):
    matrix = rule_matrix() if matrix is None else matrix
    families = {prim.name: prim.family for prim in PRIMITIVES.values()}
    headers = ("family", "primitive") + COLUMNS
    rows = [(families.get(name, "?"), name) + tuple(row[c] for c in COLUMNS) for name, row in matrix.items()]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(headers), line(tuple("-" * w for w in widths))]
    previous = None
    for row in rows:
        shown = row if row[0] != previous else ("",) + row[1:]
        previous = row[0]
        out.append(line(shown))
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m jaxlike.ir.table", description=__doc__.splitlines()[0])
    parser.add_argument("--strict", action="store_true",
                        help="exit with status 1 if a rule is MISSING without a declared hole")
    args = parser.parse_args(argv)
    matrix = rule_matrix()
    print(format_matrix(matrix))
    _, why = lowerings()
    gaps = [(name, col) for name, row in matrix.items() for col, cell in row.items() if cell == MISSING]
    print()
    print(f"{len(matrix)} primitives; {len(gaps)} rule(s) MISSING"
          + (f"; lowering column unknown: {why}" if why else ""))
    if args.strict and gaps:
        print("MISSING (declare a hole with prim.declare_hole(rule, why) or write the rule): "
              + ", ".join(f"{name}.{col}" for name, col in gaps), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
