"""verify(graph): the invariants every pass must keep, checked; an IRError names the broken equation.

- single assignment: every Var is assigned once, by a const, an input or one equation's output;
- defined before use, within the graph: a nested graph is closed, it sees only its own inputs and consts;
- every equation's recorded output avals are what its primitive's shape rule gives for its input avals,
  with as many inputs and outputs as the rule takes and gives;
- Lits are scalars; consts hold arrays of their Var's aval; params are hashable.

One loop over the equations of each graph; nested graphs wait in a work list, so nothing recurses.
"""

import inspect
from collections import deque

import numpy as np

from . import printing
from .core import Graph, Lit, Var, nested_graphs
from .primitive import Primitive


class IRError(Exception):
    """A Graph breaks an invariant of the IR."""


def verify(graph):
    """Check ``graph`` and every graph nested in its params; returns ``graph`` for chaining."""
    names = _Names(graph)
    work = deque([(graph, "")])
    while work:
        g, where = work.popleft()
        _verify_graph(g, where, names, work)
    return graph


class _Names:
    """Var names as ``print(root)`` shows them, computed only when a message needs them."""

    def __init__(self, root):
        self.root = root
        self.namer = None

    def _namer(self):
        if self.namer is None:
            self.namer = printing._Namer()
            try:
                printing._graph_lines(self.root, self.namer, 0)  # names in print order
            except Exception:  # noqa: BLE001  (a malformed graph may not print: fall back below)
                pass
        return self.namer

    def var(self, var):
        if not isinstance(var, Var):
            return repr(var)
        return f"{self._namer()(var)}:{var.aval}"

    def eqn(self, eqn):
        try:
            return eqn_summary(eqn, self._namer())
        except Exception:  # noqa: BLE001
            return repr(eqn)


def _short_param(value):
    if isinstance(value, Graph):
        return "{...}"
    if isinstance(value, tuple):
        inner = [_short_param(v) for v in value]
        return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
    return printing.param_to_text(value, None, 0)


def eqn_summary(eqn, namer):
    """An equation on one line as the printer writes it, with nested graphs shown as ``{...}``."""
    params = ""
    if eqn.params:
        params = "[" + ", ".join(f"{k}={_short_param(eqn.params[k])}" for k in sorted(eqn.params)) + "]"
    outs = " ".join(f"{namer(v)}:{v.aval}" for v in eqn.outputs)
    ins = " ".join(printing.lit_to_text(a) if isinstance(a, Lit) else namer(a) for a in eqn.inputs)
    return f"{outs} = {eqn.prim.name}{params}{' ' if ins else ''}{ins}"


def _verify_graph(graph, where, names, work):
    defined = set()

    def fail(problem, index=None, eqn=None):
        at = "" if eqn is None else f"equation {index} `{names.eqn(eqn)}`: "
        raise IRError(f"{at}{problem}{where}")

    def define(var, what, index=None, eqn=None):
        if not isinstance(var, Var):
            fail(f"{what} is {var!r}, not a Var", index, eqn)
        if var in defined:
            fail(f"var {names.var(var)} is assigned twice (again as {what})", index, eqn)
        defined.add(var)

    def use(atom, what, index=None, eqn=None):
        if isinstance(atom, Lit):
            _check_lit(atom, what, fail, index, eqn)
        elif isinstance(atom, Var):
            if atom not in defined:
                later = _defined_later(graph, atom, index)
                why = (f"is used before its definition (by equation {later})" if later is not None
                       else "is not defined in this graph" + (
                           " (a nested graph sees only its own inputs and consts)" if where else ""))
                fail(f"{what} ({names.var(atom)}) {why}", index, eqn)
        else:
            fail(f"{what} is {atom!r}, neither a Var nor a Lit", index, eqn)

    for var, value in graph.consts.items():
        define(var, "a const")
        arr = np.asarray(value)
        if arr.shape != var.aval.shape or arr.dtype != var.aval.dtype:
            fail(f"const {names.var(var)} holds an array of shape {arr.shape} and dtype {arr.dtype}")
    for var in graph.inputs:
        define(var, "an input")

    for index, eqn in enumerate(graph.eqns):
        prim = eqn.prim
        if not isinstance(prim, Primitive):
            fail(f"{prim!r} is not a Primitive", index, eqn)
        for i, atom in enumerate(eqn.inputs):
            use(atom, f"input {i}", index, eqn)
        for key, value in eqn.params.items():
            try:
                hash(value)
            except TypeError:
                fail(f"param {key!r} is a {type(value).__name__}, which is not hashable "
                     "(params are hashable: use a tuple)", index, eqn)
            for path, sub in nested_graphs(value):
                work.append((sub, f"\n  in the graph param {key!r}{path} of equation {index} "
                                  f"({prim.name}){where}"))
        for aval, (i, var) in _check_shape(prim, eqn, fail, index):
            if not isinstance(var, Var):
                fail(f"output {i} is {var!r}, not a Var", index, eqn)
            if var.aval != aval:
                fail(f"output {i} is recorded as {var.aval} but the shape rule of {prim.name} gives "
                     f"{aval}", index, eqn)
        for i, var in enumerate(eqn.outputs):
            define(var, f"output {i}", index, eqn)

    for i, atom in enumerate(graph.outputs):
        use(atom, f"graph output {i}")


def _check_lit(lit, what, fail, index, eqn):
    shape = np.shape(lit.value)
    if shape != () or lit.aval.shape != ():
        fail(f"{what} is a Lit of shape {shape or lit.aval.shape}: a Lit is a scalar "
             "(an array belongs in the graph's consts)", index, eqn)
    if np.asarray(lit.value).dtype != lit.aval.dtype:
        fail(f"{what} is a Lit whose value has dtype {np.asarray(lit.value).dtype} but whose aval "
             f"says {lit.aval}", index, eqn)


_arity_cache = {}


def _arity(rule):
    """(least, most) positional inputs a shape rule takes; most is None for ``*avals``."""
    hit = _arity_cache.get(rule)
    if hit is None:
        try:
            params = inspect.signature(rule).parameters.values()
        except (TypeError, ValueError):
            hit = (0, None)
        else:
            positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            least = sum(p.default is p.empty for p in positional)
            star = any(p.kind == p.VAR_POSITIONAL for p in params)
            hit = (least, None if star else len(positional))
        _arity_cache[rule] = hit
    return hit


def _check_shape(prim, eqn, fail, index):
    """The shape rule re-run: (aval, (position, recorded output Var)) pairs, counts checked."""
    rule = prim.shape_rule
    if rule is None:
        fail(f"{prim.name} has no shape rule", index, eqn)
    least, most = _arity(rule)
    n = len(eqn.inputs)
    if n < least or (most is not None and n > most):
        takes = str(least) if least == most else f"{least} to {most}" if most else f"at least {least}"
        fail(f"{prim.name} takes {takes} input(s), got {n}", index, eqn)
    try:
        result = rule(*[atom.aval for atom in eqn.inputs], **eqn.params)
    except Exception as err:  # noqa: BLE001  (any rejection by the rule is the message)
        fail(f"the shape rule of {prim.name} rejects the inputs: {type(err).__name__}: {err}", index, eqn)
    avals = list(result) if prim.multiple_results else [result]
    if len(avals) != len(eqn.outputs):
        fail(f"{len(eqn.outputs)} output(s) are recorded but the shape rule of {prim.name} gives "
             f"{len(avals)}", index, eqn)
    return zip(avals, enumerate(eqn.outputs))


def _defined_later(graph, var, index):
    start = 0 if index is None else index
    for j in range(start, len(graph.eqns)):
        if any(out is var for out in graph.eqns[j].outputs):
            return j
    return None
