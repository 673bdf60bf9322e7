"""The graph IR: AVal, Var, Lit, Eqn, Graph.

A Graph is SSA: every Var is assigned once, by an input, a const or one equation's output. Params are
hashable and printable; a control-flow primitive carries its bodies as nested Graphs in its params.
Containers are ordered (lists, insertion-ordered dicts) so printing and codegen are deterministic.
"""

import itertools

import numpy as np

from . import dtypes


class AVal:
    """An abstract value: a shape and a dtype."""

    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = dtypes.canonical(dtype)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    def __eq__(self, other):
        return isinstance(other, AVal) and self.shape == other.shape and self.dtype == other.dtype

    def __hash__(self):
        return hash((self.shape, self.dtype))

    def str_short(self):
        return f"{dtypes.short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    __str__ = str_short

    def __repr__(self):
        return f"AVal({self.shape}, {self.dtype})"

    def update(self, shape=None, dtype=None):
        return AVal(self.shape if shape is None else shape, self.dtype if dtype is None else dtype)


_var_ids = itertools.count()


class Var:
    """An SSA value. Identity is the object: names are given only when printing."""

    __slots__ = ("aval", "id")

    def __init__(self, aval):
        self.aval = aval
        self.id = next(_var_ids)  # creation order; used only for stable sorting, never for meaning

    def __repr__(self):
        return f"Var<{self.id}:{self.aval}>"


class Lit:
    """A scalar constant in an equation's inputs or a graph's outputs."""

    __slots__ = ("value", "aval")

    def __init__(self, value, dtype=None):
        arr = np.asarray(value, dtype=dtype)
        if arr.shape != ():
            raise ValueError(f"a Lit is a scalar, got shape {arr.shape}")
        self.aval = AVal((), arr.dtype)
        self.value = arr[()]

    def __repr__(self):
        return f"Lit({self.value!r}:{self.aval})"

    def __eq__(self, other):
        return (isinstance(other, Lit) and self.aval == other.aval
                and (self.value == other.value or (self.value != self.value and other.value != other.value)))

    def __hash__(self):
        return hash((self.aval, float(self.value) if self.value == self.value else "nan"))


class Eqn:
    """outputs = prim[params](*inputs)."""

    __slots__ = ("prim", "inputs", "params", "outputs")

    def __init__(self, prim, inputs, params, outputs):
        self.prim = prim
        self.inputs = list(inputs)
        self.params = dict(params)
        self.outputs = list(outputs)

    def __repr__(self):
        return f"Eqn({self.prim.name}, {self.inputs}, {self.params}, {self.outputs})"


class Graph:
    """consts (an ordered dict Var -> ndarray), inputs, eqns, outputs (Vars or Lits)."""

    __slots__ = ("consts", "inputs", "eqns", "outputs")

    def __init__(self, consts, inputs, eqns, outputs):
        self.consts = dict(consts)
        self.inputs = list(inputs)
        self.eqns = list(eqns)
        self.outputs = list(outputs)

    @property
    def in_avals(self):
        return [v.aval for v in self.inputs]

    @property
    def out_avals(self):
        return [v.aval for v in self.outputs]

    def __str__(self):
        from .printing import graph_to_text
        return graph_to_text(self)

    def __repr__(self):
        return f"Graph(<{len(self.inputs)} inputs, {len(self.eqns)} eqns, {len(self.outputs)} outputs>)"

    # Graphs are params of control-flow primitives, so they are hashable. Structural equality would be
    # expensive; identity is enough because params are compared only through their printed form.
    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other


def subgraphs(params):
    """The nested Graphs among an equation's params, in param order (tuples searched at any depth)."""
    return [graph for key in sorted(params) for _, graph in nested_graphs(params[key])]


def nested_graphs(value, path=""):
    """(path, Graph) for the Graphs in one param value, tuples searched at any depth; a path is the
    indexing that reaches the Graph (``"[1][0]"``)."""
    if isinstance(value, Graph):
        return [(path, value)]
    if isinstance(value, tuple):
        return [found for i, item in enumerate(value) for found in nested_graphs(item, f"{path}[{i}]")]
    return []
