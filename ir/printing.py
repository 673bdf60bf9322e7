"""The printed form of a Graph, jaxpr-like; names are given at print time, in order of appearance.

    { lambda ; a:f64[3] b:f64[3]. let
        c:f64[3] = sin a
        d:f64[3] = mul c b
        e:f64[] = reduce_sum[axes=(0,)] d
      in (e,) }

Constants stand before the ``;``. Params are sorted by name; a nested Graph prints indented in place.
Literals print as Python literals, with a ``:dtype`` suffix unless the dtype is f64, i64 or bool.
"""

import numpy as np

from . import dtypes
from .core import Graph, Lit

DEFAULT_LIT_DTYPES = (dtypes.float64, dtypes.int64, dtypes.bool_)


def _name(n):
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(ord("a") + r) + s
    return s


RESERVED = {"in", "let", "nan", "inf"}  # names that would read as syntax or as literals


class _Namer:
    def __init__(self):
        self.names = {}
        self.count = 0

    def __call__(self, var):
        name = self.names.get(var)
        if name is None:
            name = _name(self.count)
            while name in RESERVED:
                self.count += 1
                name = _name(self.count)
            self.count += 1
            self.names[var] = name
        return name


def lit_to_text(lit):
    value = lit.value
    dt = lit.aval.dtype
    if dtypes.is_bool(dt):
        text = "True" if value else "False"
    elif dtypes.is_float(dt):
        text = str(value) if dt == dtypes.float32 else repr(float(value))  # the shortest exact form
    else:
        text = str(int(value))
    if dt not in DEFAULT_LIT_DTYPES:
        text += ":" + dtypes.short_name(dt)
    return text


def _has_graph(value):
    return isinstance(value, Graph) or (isinstance(value, tuple) and any(map(_has_graph, value)))


def param_to_text(value, namer, indent):
    """A param's text; a nested Graph starts on the param's line and its body is indented under it."""
    if isinstance(value, Graph):
        return _graph_lines(value, namer, indent).lstrip()
    if isinstance(value, np.dtype):
        return dtypes.short_name(value)
    if isinstance(value, tuple):
        if _has_graph(value):  # one element per line
            items = [" " * (indent + 2) + param_to_text(v, namer, indent + 2) + "," for v in value]
            return "(\n" + "\n".join(items) + "\n" + " " * indent + ")"
        inner = [param_to_text(v, namer, indent) for v in value]
        return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
    if isinstance(value, str):
        return value
    if callable(value):
        return getattr(value, "__qualname__", getattr(value, "__name__", type(value).__name__))
    return repr(value)


def _atom(atom, namer):
    return lit_to_text(atom) if isinstance(atom, Lit) else namer(atom)


def _binder(var, namer):
    return f"{namer(var)}:{var.aval.str_short()}"


def _eqn_line(eqn, namer, indent):
    lhs = " ".join(_binder(v, namer) for v in eqn.outputs)
    params = ""
    keys = sorted(eqn.params)
    if any(_has_graph(eqn.params[k]) for k in keys):  # one param per line, nested graphs indented
        inner = indent + 4
        items = [f"{' ' * inner}{k}={param_to_text(eqn.params[k], namer, inner)}" for k in keys]
        params = "[\n" + ",\n".join(items) + "\n" + " " * (indent + 2) + "]"
    elif keys:
        params = "[" + ", ".join(f"{k}={param_to_text(eqn.params[k], namer, indent)}" for k in keys) + "]"
    rhs = " ".join(_atom(a, namer) for a in eqn.inputs)
    return f"{' ' * indent}{lhs} = {eqn.prim.name}{params}{' ' if rhs else ''}{rhs}"


def _graph_lines(graph, namer, indent):
    pad = " " * indent
    consts = " ".join(_binder(v, namer) for v in graph.consts)
    inputs = " ".join(_binder(v, namer) for v in graph.inputs)
    lines = [f"{pad}{{ lambda {consts}{' ' if consts else ''}; {inputs}. let"]
    for eqn in graph.eqns:
        lines.append(_eqn_line(eqn, namer, indent + 4))
    outs = ", ".join(_atom(a, namer) for a in graph.outputs)
    lines.append(f"{pad}  in ({outs}{',' if len(graph.outputs) == 1 else ''}) }}")
    return "\n".join(lines)


def graph_to_text(graph):
    return _graph_lines(graph, _Namer(), 0)
