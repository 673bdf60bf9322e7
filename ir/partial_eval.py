"""Partial evaluation: split a graph into the part computable from known inputs and the rest.

Applied to a jvp graph with the primals known and the tangents unknown, the known part computes the primal
outputs and the residuals (the primal values the tangent computation needs), and the unknown part is the
linear map from (residuals, tangents) to the output tangents: ``linearize`` runs the first once and the
second per call, and ``vjp`` transposes the second.
"""

from .core import Graph, Lit, Var


def partial_eval(graph, unknown_inputs, unknown_outputs):
    """Returns (known, unknown, num_residuals).

    known:   Graph(known inputs) -> (outputs not in unknown_outputs..., residuals...)
    unknown: Graph(residuals..., unknown inputs) -> (outputs in unknown_outputs...)
    An equation goes to the unknown part when any input is unknown; known values it reads are residuals.
    A primitive with a ``partial_eval(eqn, unknown_flags) -> (known eqns, unknown eqns)`` rule splits an
    equation whose inputs are partly known (control flow: the primal loop stays known); every output of the
    equation is defined by exactly one of the returned equations.
    """
    unknown = set()
    residuals = {}  # known Var -> its Var inside the unknown graph, in first-use order
    known_eqns, unknown_eqns = [], []

    def is_unknown(atom):
        return not isinstance(atom, Lit) and atom in unknown

    def as_residual(atom):
        if isinstance(atom, Lit) or atom in unknown or atom in graph.consts:
            return atom
        if atom not in residuals:
            residuals[atom] = Var(atom.aval)
        return residuals[atom]

    for var, unk in zip(graph.inputs, unknown_inputs, strict=True):
        if unk:
            unknown.add(var)
    for eqn in graph.eqns:  # one pass, in order
        flags = [is_unknown(a) for a in eqn.inputs]
        rule = getattr(eqn.prim, "partial_eval", None)
        if not any(flags):
            known_eqns.append(eqn)
        elif rule is None or all(flags):
            unknown.update(eqn.outputs)
            unknown_eqns.append(eqn)
        else:  # the primitive splits itself: a loop keeps its primal part known (known, unknown equations)
            known_part, unknown_part = rule(eqn, flags)
            known_eqns.extend(known_part)
            for part in unknown_part:
                unknown.update(part.outputs)
                unknown_eqns.append(part)

    # Rewrite the unknown equations to read residual vars instead of known ones.
    rewritten = []
    for eqn in unknown_eqns:
        inputs = [as_residual(a) for a in eqn.inputs]
        rewritten.append(type(eqn)(eqn.prim, inputs, eqn.params, eqn.outputs))
    unknown_outs = [as_residual(a) for a, u in zip(graph.outputs, unknown_outputs, strict=True) if u]
    known_outs = [a for a, u in zip(graph.outputs, unknown_outputs) if not u]
    if any(is_unknown(a) for a in known_outs):
        raise ValueError("an output marked known depends on an unknown input")

    res_known = list(residuals)
    consts_used = {a for e in rewritten for a in e.inputs if not isinstance(a, Lit) and a in graph.consts}
    consts_used |= {a for a in unknown_outs if not isinstance(a, Lit) and a in graph.consts}
    known = Graph(graph.consts, [v for v, u in zip(graph.inputs, unknown_inputs) if not u], known_eqns,
                  known_outs + res_known)
    unknown_graph = Graph({v: graph.consts[v] for v in graph.consts if v in consts_used},
                          [residuals[v] for v in res_known]
                          + [v for v, u in zip(graph.inputs, unknown_inputs) if u],
                          rewritten, unknown_outs)
    return known, unknown_graph, len(res_known)
