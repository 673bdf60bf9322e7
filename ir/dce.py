"""dce(graph): dead code elimination. Equations none of whose outputs are used go, and so do unused consts.

One loop over the equations in reverse order with a live set, one table lookup. An equation stays when one
of its outputs is live or it has an effect: its primitive is marked ``effectful = True``, or one of its
nested graphs holds such an equation. Inputs stay (the signature does not change).

A primitive with nested graphs may trim them: its ``dce(used_outputs, eqn) -> Eqn | None`` rule (registered
with its other rules) returns an equation that still defines every used output (with the same Vars) and
may drop the unused ones and the inputs it no longer reads, or None when nothing of it is needed. Control
flow has such rules: an unused output of a cond goes from every branch; a loop carry or stacked output
that nothing needs (no used output, no needed carry, not the loop condition) is no longer computed.
Without a rule an equation is kept whole, its nested graphs as they are.
"""

from .core import Graph, Lit, Var, subgraphs


def dce(graph, trim_nested=True):
    """A new Graph without the dead equations and consts of ``graph`` (which is not changed).

    With ``trim_nested=False`` the rules are not used: an equation is kept or dropped whole and nested
    graphs stay as they are (make_ir shows loops as traced).
    """
    live = {atom for atom in graph.outputs if isinstance(atom, Var)}
    kept = []
    for eqn in reversed(graph.eqns):
        used = [var in live for var in eqn.outputs]
        rule = getattr(eqn.prim, "dce", None) if trim_nested else None
        if rule is not None:
            eqn = rule(used, eqn)
        elif not any(used) and not has_effects(eqn):
            eqn = None
        if eqn is not None:
            kept.append(eqn)
            live.update(atom for atom in eqn.inputs if isinstance(atom, Var))
    kept.reverse()
    consts = {var: value for var, value in graph.consts.items() if var in live}
    return Graph(consts, graph.inputs, kept, graph.outputs)


def has_effects(eqn):
    """Whether eqn must run even when its outputs are unused: an effectful primitive, or one in a nested
    graph (at any depth)."""
    if getattr(eqn.prim, "effectful", False):
        return True
    return any(has_effects(inner) for graph in subgraphs(eqn.params) for inner in graph.eqns)


def graph_has_effects(graph):
    return any(has_effects(eqn) for eqn in graph.eqns)


def dce_graph(graph, used_outputs, keep_inputs=None):
    """(graph computing only the outputs flagged ``used_outputs``, which inputs it reads).

    The new graph takes only the inputs it reads, and those flagged ``keep_inputs`` (a loop keeps every
    carry it passes on, read or not). When nothing is dropped the graph itself is returned, so an equation
    whose bodies are already trim keeps them.
    """
    keep_inputs = [False] * len(graph.inputs) if keep_inputs is None else keep_inputs
    outputs = [atom for atom, u in zip(graph.outputs, used_outputs, strict=True) if u]
    trimmed = dce(Graph(graph.consts, graph.inputs, graph.eqns, outputs))
    read = {atom for eqn in trimmed.eqns for atom in eqn.inputs if isinstance(atom, Var)}
    read.update(atom for atom in outputs if not isinstance(atom, Lit))
    used_inputs = [var in read for var in graph.inputs]
    inputs = [var for var, u, k in zip(graph.inputs, used_inputs, keep_inputs, strict=True) if u or k]
    if (len(inputs) == len(graph.inputs) and len(outputs) == len(graph.outputs)
            and len(trimmed.eqns) == len(graph.eqns) and len(trimmed.consts) == len(graph.consts)
            and all(a is b for a, b in zip(trimmed.eqns, graph.eqns))):
        return graph, used_inputs
    return Graph(trimmed.consts, inputs, trimmed.eqns, outputs), used_inputs
