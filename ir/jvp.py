"""The jvp pass: forward-mode differentiation of a Graph, with symbolic zero tangents.

``jvp_eval`` evaluates a graph on (primal, tangent) pairs through each primitive's jvp rule. With Tracer
arguments it emits the derivative into the open trace; ``jvp_graph`` wraps it in a trace of its own and
returns the derivative as a new Graph.
"""

from . import dtypes
from .builder import aval_of, trace_graph
from .core import Lit
from .primitive import Zero, instantiate, is_zero


class NoJvpRuleError(NotImplementedError):
    pass


def has_tangent(aval):
    """Only floating values carry tangents; integer and bool values have zero derivative by declaration."""
    return dtypes.is_float(aval.dtype)


def jvp_eval(graph, primals, tangents):
    """Evaluate graph on primals, pushing tangents forward; returns (primal outputs, tangent outputs)."""
    env = {}

    def read(atom):
        if isinstance(atom, Lit):
            return atom.value, Zero(atom.aval)
        return env[atom]

    def write(var, primal, tangent):
        if not has_tangent(var.aval):
            tangent = Zero(var.aval)
        env[var] = (primal, tangent)

    for var, value in graph.consts.items():
        write(var, value, Zero(var.aval))
    for var, p, t in zip(graph.inputs, primals, tangents, strict=True):
        write(var, p, t)
    for eqn in graph.eqns:
        ps, ts = zip(*map(read, eqn.inputs)) if eqn.inputs else ((), ())
        if all(is_zero(t) for t in ts):
            outs = eqn.prim.bind(*ps, **eqn.params)
            outs = outs if eqn.prim.multiple_results else [outs]
            touts = [Zero(aval_of(o)) for o in outs]
        else:
            if eqn.prim.jvp is None:
                raise NoJvpRuleError(f"forward-mode differentiation rule for '{eqn.prim.name}' is not "
                                     "implemented")
            outs, touts = eqn.prim.jvp(list(ps), list(ts), **eqn.params)
            if not eqn.prim.multiple_results:
                outs, touts = [outs], [touts]
        for var, p, t in zip(eqn.outputs, outs, touts, strict=True):
            write(var, p, t)
    results = [read(atom) for atom in graph.outputs]
    return [p for p, _ in results], [t for _, t in results]


def jvp_graph(graph, nonzero):
    """The Graph (primals..., tangents of the inputs marked in nonzero) -> (outputs..., output tangents...).

    Output tangents are materialised (a zero tangent becomes a zero array) so the graph is ordinary.
    """
    in_avals = graph.in_avals
    tan_avals = [a for a, nz in zip(in_avals, nonzero, strict=True) if nz]

    def fn(*args):
        primals = args[:len(in_avals)]
        it = iter(args[len(in_avals):])
        tangents = [next(it) if nz else Zero(a) for a, nz in zip(in_avals, nonzero)]
        outs, touts = jvp_eval(graph, primals, tangents)
        return list(outs) + [instantiate(t) for t in touts]

    out, captured = trace_graph(fn, in_avals + tan_avals, name="jvp")
    assert not captured, "a closed graph captured an outer value"
    return out
