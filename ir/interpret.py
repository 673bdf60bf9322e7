"""eval_graph: run a Graph equation by equation through bind.

With NumPy arrays as arguments this is the reference interpreter. With Tracers as arguments the same loop
inlines the graph into the open trace, which is how a transformed inner function joins an outer one. When
inlining, an equation that reads no traced value (an ``iota``, a broadcast literal) is still computed on the
spot if its result is small, but recorded as an equation if it is large: an n-by-n identity or zero array
must not become a constant of the outer graph (and of the code compiled from it).
"""

import numpy as np

from .builder import Tracer, current_trace, emit
from .core import Lit

INLINE_CONST_LIMIT = 1024  # elements: larger results of untraced equations stay equations when inlining


def eval_graph(graph, *args):
    if len(args) != len(graph.inputs):
        raise TypeError(f"the graph takes {len(graph.inputs)} inputs, got {len(args)}")
    env = {}

    def read(atom):
        if isinstance(atom, Lit):
            return np.asarray(atom.value, atom.aval.dtype)
        return env[atom]

    def write(var, value):
        env[var] = value

    for var, value in graph.consts.items():
        write(var, value)
    for var, value in zip(graph.inputs, args, strict=True):
        write(var, value)
    target = current_trace() if any(isinstance(a, Tracer) for a in args) else None
    for eqn in graph.eqns:
        ins = [read(a) for a in eqn.inputs]
        if target is not None and _large_constant(eqn, ins):
            outs = emit(target, eqn.prim, ins, eqn.params)
        else:
            outs = eqn.prim.bind(*ins, **eqn.params)
        for var, value in zip(eqn.outputs, outs if eqn.prim.multiple_results else [outs], strict=True):
            write(var, value)
    return [read(atom) for atom in graph.outputs]


def _large_constant(eqn, ins):
    return (not any(isinstance(x, Tracer) for x in ins)
            and any(v.aval.size > INLINE_CONST_LIMIT for v in eqn.outputs))
