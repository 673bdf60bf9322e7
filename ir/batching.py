"""The batching pass: vectorise a Graph over a new axis.

Every value carries a batch dim: an axis index, or ``not_mapped`` when the value is the same for the whole
batch (unbatched values stay unbatched: no copy per element). Each primitive's batching rule maps batched
inputs to a batched output; moving an axis is an explicit transpose.
"""

from .builder import aval_of, broadcast_to, moveaxis, trace_graph
from .core import Lit
from .primitive import not_mapped


class NoBatchRuleError(NotImplementedError):
    pass


def batch_eval(graph, args, dims):
    """Evaluate graph on batched args; returns (outputs, their batch dims)."""
    env = {}

    def read(atom):
        if isinstance(atom, Lit):
            return atom.value, not_mapped
        return env[atom]

    def write(var, value, dim):
        env[var] = (value, dim)

    for var, value in graph.consts.items():
        write(var, value, not_mapped)
    for var, value, dim in zip(graph.inputs, args, dims, strict=True):
        write(var, value, dim)
    for eqn in graph.eqns:
        vals, ds = zip(*map(read, eqn.inputs)) if eqn.inputs else ((), ())
        if all(d is not_mapped for d in ds):
            outs = eqn.prim.bind(*vals, **eqn.params)
            outs = outs if eqn.prim.multiple_results else [outs]
            out_dims = [not_mapped] * len(outs)
        else:
            if eqn.prim.batch is None:
                raise NoBatchRuleError(f"batching rule for '{eqn.prim.name}' is not implemented")
            outs, out_dims = eqn.prim.batch(list(vals), list(ds), **eqn.params)
            if not eqn.prim.multiple_results:
                outs, out_dims = [outs], [out_dims]
        for var, value, dim in zip(eqn.outputs, outs, out_dims, strict=True):
            write(var, value, dim)
    results = [read(atom) for atom in graph.outputs]
    return [v for v, _ in results], [d for _, d in results]


def move_batch_axis(x, dim, size, dst):
    """Put the batch axis of x at dst; an unbatched x is broadcast along a new axis of length size."""
    if dim is not_mapped:
        shape = aval_of(x).shape
        x = broadcast_to(x, (size,) + tuple(shape))
        dim = 0
    return moveaxis(x, dim, dst)


def batched_aval(aval, dim, size):
    if dim is not_mapped:
        return aval
    shape = list(aval.shape)
    shape.insert(dim, size)
    return aval.update(shape=shape)


def batch_graph(graph, in_dims, size, out_dims=None):
    """Graph over batched inputs (batch axis at in_dims[i], or not mapped) -> outputs batched at out_dims.

    out_dims defaults to 0 for every output; an output may be given ``not_mapped`` only if it does not
    depend on the batch.
    """
    in_avals = [batched_aval(a, d, size) for a, d in zip(graph.in_avals, in_dims, strict=True)]
    out_dims = [0] * len(graph.outputs) if out_dims is None else list(out_dims)

    def fn(*args):
        outs, dims = batch_eval(graph, args, in_dims)
        result = []
        for x, d, dst in zip(outs, dims, out_dims, strict=True):
            if dst is not_mapped:
                if d is not not_mapped:
                    raise ValueError("an output asked to be unbatched (out_dims None) depends on the batch")
                result.append(x)
            else:
                result.append(move_batch_axis(x, d, size, dst))
        return result

    out, captured = trace_graph(fn, in_avals, name="vmap")
    assert not captured
    return out
