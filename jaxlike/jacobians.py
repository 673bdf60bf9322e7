"""Jacobians as vmap of jvp (jacfwd) or vmap of vjp (jacrev) over a basis, then hessian = jacfwd(jacrev).

The Jacobian of output leaf o w.r.t. input leaf j has shape ``out_o.shape + in_j.shape``. Results nest as
in JAX: the output's structure, each leaf replaced by the structure of the differentiated arguments (a
tuple of them when argnums is a tuple).
"""

import functools

import numpy as np

from .api import _aux_values, _diff_mask, _normalize_argnums, _select_args, linearize_graphs, run, trace_fn
from .ir import dtypes
from .ir.batching import batch_eval, move_batch_axis
from .ir.builder import reshape, state
from .ir.core import Graph
from .ir.dce import dce
from .ir.interpret import eval_graph
from .ir.jvp import jvp_graph
from .ir.simplify import simplify
from .ir.transpose import transpose_graph
from .vmap import _check_options


def basis(aval, start=0, stop=None):
    """Rows start..stop of the identity on aval's elements, shaped (rows, *aval.shape)."""
    n = aval.size
    stop = n if stop is None else stop
    eye = np.zeros((stop - start, n), aval.dtype)
    eye[np.arange(stop - start), np.arange(start, stop)] = 1
    return eye.reshape((stop - start,) + aval.shape)


def _float_outputs(fname, g, out_tree):
    for i, a in enumerate(g.out_avals):
        if not dtypes.is_float(a.dtype):
            raise TypeError(f"{fname} requires float outputs, but output {i} of {out_tree} has dtype "
                            f"{a.dtype}; return integer values through has_aux instead")


def _assemble(args, nums, single, out_tree, blocks, n_out):
    """blocks[o][j] (o over output leaves, j over differentiated input leaves) into the nested result."""
    per_out = []
    for o in range(n_out):
        per_arg = _select_args(args, nums, blocks[o])
        per_out.append(per_arg[0] if single else tuple(per_arg))
    return out_tree.unflatten(per_out)


def _chunks(n, chunk_size):
    step = n if not chunk_size else chunk_size
    return [(s, min(s + step, n)) for s in range(0, n, step)] or [(0, 0)]


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian by forward mode: one jvp per input element, batched (torch.func.jacfwd)."""
    _check_options(randomness, None)

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        single, nums = _normalize_argnums(argnums, len(args), "jacfwd")
        diff_leaves = _diff_mask(args, nums, "jacfwd")
        state.vmap_randomness.append(randomness)
        try:
            traced = trace_fn(func, args, kwargs, name="jacfwd", has_aux=has_aux)
        finally:
            state.vmap_randomness.pop()
        g = traced.graph
        _float_outputs("jacfwd", g, traced.out_tree)
        diff = diff_leaves + [False] * len(traced.captured)
        columns = [k for k, d in enumerate(diff) if d]
        n_in, n_out = len(g.inputs), len(g.outputs)

        def build(*xs):
            blocks = [[None] * len(columns) for _ in range(n_out)]
            for j, k in enumerate(columns):
                aval = g.in_avals[k]
                jg = jvp_graph(g, [i == k for i in range(n_in)])
                outs, dims = batch_eval(jg, [*xs, basis(aval)], [None] * n_in + [0])
                for o in range(n_out):
                    t = move_batch_axis(outs[n_out + o], dims[n_out + o], aval.size, -1)
                    blocks[o][j] = reshape(t, g.out_avals[o].shape + aval.shape)
            return [b for row in blocks for b in row]

        flat = run(build, g.in_avals, [*traced.leaves, *traced.captured])
        blocks = [flat[o * len(columns):(o + 1) * len(columns)] for o in range(n_out)]
        result = _assemble(args, nums, single, traced.out_tree, blocks, n_out)
        return (result, _aux_values(traced.aux)) if has_aux else result

    return wrapped


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None):
    """The Jacobian by reverse mode: one vjp per output element, batched (torch.func.jacrev).

    chunk_size=k pulls back k rows of the identity at a time, bounding the memory of the batched vjp.
    """
    _check_options("error", chunk_size)

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        single, nums = _normalize_argnums(argnums, len(args), "jacrev")
        diff_leaves = _diff_mask(args, nums, "jacrev")
        traced = trace_fn(func, args, kwargs, name="jacrev", has_aux=has_aux)
        g = traced.graph
        _float_outputs("jacrev", g, traced.out_tree)
        diff = diff_leaves + [False] * len(traced.captured)
        known, linear, nres = linearize_graphs(g, diff)
        n_out = len(g.outputs)
        diff_avals = [a for a, d in zip(g.in_avals, diff) if d]

        def build(*xs):
            res = eval_graph(known, *xs)[n_out:]
            blocks = []
            for o in range(n_out):
                out_aval = g.out_avals[o]
                # the linear map to output o alone: its transpose never sees the other outputs
                lin_o = dce(Graph(linear.consts, linear.inputs, linear.eqns, [linear.outputs[o]]))
                t_o = simplify(transpose_graph(lin_o, [False] * nres + [True] * len(diff_avals)))
                pieces = [[] for _ in diff_avals]
                for start, stop in _chunks(out_aval.size, chunk_size):
                    cts, dims = batch_eval(t_o, [*res, basis(out_aval, start, stop)], [None] * nres + [0])
                    for j, (ct, d) in enumerate(zip(cts, dims)):
                        pieces[j].append(move_batch_axis(ct, d, stop - start, 0))
                row = []
                for j, aval in enumerate(diff_avals):
                    rows = pieces[j][0] if len(pieces[j]) == 1 else _concat(pieces[j])
                    row.append(reshape(rows, out_aval.shape + aval.shape))
                blocks.append(row)
            return [b for row in blocks for b in row]

        flat = run(build, g.in_avals, [*traced.leaves, *traced.captured])
        k = len(diff_avals)
        blocks = [flat[o * k:(o + 1) * k] for o in range(n_out)]
        result = _assemble(args, nums, single, traced.out_tree, blocks, n_out)
        return (result, _aux_values(traced.aux)) if has_aux else result

    return wrapped


def _concat(parts):
    from .ir.prims.shape import concatenate
    return concatenate(parts, 0)


def hessian(func, argnums=0, has_aux=False):
    """The Hessian, as jacfwd(jacrev(func)) (forward-over-reverse)."""
    if has_aux:
        inner = jacrev(func, argnums, has_aux=True)
        return jacfwd(inner, argnums, has_aux=True)
    return jacfwd(jacrev(func, argnums), argnums)

