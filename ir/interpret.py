"""eval_graph: run a Graph equation by equation through bind.

With NumPy arrays as arguments this is the reference interpreter. With Tracers as arguments the same loop
inlines the graph into the open trace, which is how a transformed inner function joins an outer one.
"""

import numpy as np

from .core import Lit


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
    for eqn in graph.eqns:
        outs = eqn.prim.bind(*map(read, eqn.inputs), **eqn.params)
        for var, value in zip(eqn.outputs, outs if eqn.prim.multiple_results else [outs], strict=True):
            write(var, value)
    return [read(atom) for atom in graph.outputs]
