"""dce(graph): dead code elimination. Equations none of whose outputs are used go, and so do unused consts.

One loop over the equations in reverse order with a live set. A primitive marked ``effectful = True`` keeps
its equations even when their outputs are unused. Inputs stay (the signature does not change). Nested graphs
are left as they are: their outputs are used by definition.
"""

from .core import Graph, Var


def dce(graph):
    """A new Graph without the dead equations and consts of ``graph`` (which is not changed)."""
    live = {atom for atom in graph.outputs if isinstance(atom, Var)}
    kept = []
    for eqn in reversed(graph.eqns):
        if getattr(eqn.prim, "effectful", False) or any(var in live for var in eqn.outputs):
            kept.append(eqn)
            live.update(atom for atom in eqn.inputs if isinstance(atom, Var))
    kept.reverse()
    consts = {var: value for var, value in graph.consts.items() if var in live}
    return Graph(consts, graph.inputs, kept, graph.outputs)
