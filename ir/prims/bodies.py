"""Bodies of control-flow primitives: each pass applied to a nested Graph, giving a new closed Graph.

The rules of ``cond`` (cond.py) and of ``while`` and ``scan`` (loops.py) transform their bodies with the
pass they implement (``jvp_eval``, ``batch_eval``, ``partial_eval``, ``backward_pass``, ``dce``) inside a
trace of their own, so a loop stays one equation whatever the transform. The helpers they share are here.
"""

from ..batching import batch_eval, batched_aval, move_batch_axis
from ..builder import aval_of, moveaxis, trace_graph
from ..core import Graph, Lit
from ..dce import dce
from ..jvp import has_tangent, jvp_eval
from ..partial_eval import partial_eval
from ..primitive import Zero, instantiate, is_zero, not_mapped
from ..simplify import simplify


def split(seq, sizes):
    """seq cut into consecutive pieces of the given sizes."""
    out, start = [], 0
    for n in sizes:
        out.append(list(seq[start:start + n]))
        start += n
    assert start == len(seq), (sizes, len(seq))
    return out


def closed(fn, in_avals, name):
    graph, captured = trace_graph(fn, list(in_avals), name=name)
    assert not captured, f"a {name} body captured an outer value"
    return simplify(graph)


def jvp_body(graph, nonzero, instantiate_out, in_groups, out_groups):
    """The jvp of a body: (graph, which outputs carry a tangent).

    The inputs come in groups (consts, carry, xs); the new graph takes each group's primals followed by the
    tangents of its inputs flagged ``nonzero``, and gives each output group's primals followed by the
    tangents that are nonzero or asked for by ``instantiate_out`` (as zeros then). Only float values have
    tangents.
    """
    in_parts = split(list(zip(graph.in_avals, nonzero)), in_groups)
    avals = []
    for part in in_parts:
        avals += [a for a, _ in part] + [a for a, nz in part if nz]
    flags = []

    def fn(*args):
        it = iter(args)
        primals, tangents = [], []
        for part in in_parts:
            primals += [next(it) for _ in part]
            tangents += [next(it) if nz else Zero(a) for a, nz in part]
        outs, touts = jvp_eval(graph, primals, tangents)
        flags[:] = [has_tangent(aval_of(o)) and (not is_zero(t) or inst)
                    for o, t, inst in zip(outs, touts, instantiate_out, strict=True)]
        result = []
        for part in split(list(zip(outs, touts, flags)), out_groups):
            result += [o for o, _, _ in part] + [instantiate(t) for _, t, f in part if f]
        return result

    return closed(fn, avals, "jvp"), list(flags)


def known_outputs(graph, unknown_inputs):
    """Which outputs of graph partial evaluation can compute from its known inputs alone."""
    _, unknown, nres = partial_eval(graph, unknown_inputs, [True] * len(graph.outputs))
    residuals = set(unknown.inputs[:nres])
    return [isinstance(a, Lit) or a in residuals or a in unknown.consts for a in unknown.outputs]


def batch_body(graph, batched, size, force):
    """The body vectorised with the batch axis first: (graph, which outputs are batched).

    Inputs flagged ``batched`` carry a leading batch axis; an output is batched if it depends on the batch
    or ``force`` asks for it (broadcast then).
    """
    dims = [0 if b else not_mapped for b in batched]
    avals = [batched_aval(a, d, size) for a, d in zip(graph.in_avals, dims, strict=True)]
    flags = []

    def fn(*args):
        outs, out_dims = batch_eval(graph, args, dims)
        flags[:] = [d is not not_mapped or f for d, f in zip(out_dims, force, strict=True)]
        return [move_batch_axis(x, d, size, 0) if f else x for x, d, f in zip(outs, out_dims, flags)]

    return closed(fn, avals, "vmap"), list(flags)


def batch_size(args, dims):
    return next(aval_of(a).shape[d] for a, d in zip(args, dims) if d is not not_mapped)


def to_front(x, d, size, batched):
    """x with its batch axis first; broadcast along a new one when it must be batched and is not."""
    if d is not_mapped:
        return move_batch_axis(x, d, size, 0) if batched else x
    return moveaxis(x, d, 0)


def type_str(aval):
    return f"{aval.dtype.name}[{','.join(map(str, aval.shape))}]"


def check_avals(what, got, want):
    if list(got) != list(want):
        raise TypeError(f"{what}: expected {', '.join(map(type_str, want)) or 'nothing'}, got "
                        f"{', '.join(map(type_str, got)) or 'nothing'}")


def with_io(graph, inputs, outputs):
    """graph with its inputs and outputs replaced (reordered or pruned), simplified and with Vars of its own
    (partial evaluation shares Vars with the graph it splits; two bodies that share none print clearly)."""
    return simplify(dce(Graph(graph.consts, inputs, graph.eqns, outputs)))


