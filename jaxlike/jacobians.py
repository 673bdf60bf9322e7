"""Jacobians: jacfwd batches a jvp over the input basis, jacrev batches a vjp over the output basis.

The Jacobian of output leaf o with respect to input leaf j has shape ``out_o.shape + in_j.shape``. Results
nest as in JAX and torch.func: the output's structure, each leaf replaced by the structure of the
differentiated argument (a tuple of them when argnums is a tuple).

The basis (rows of the identity) is built inside the trace from ``iota`` and ``eq``: a small one folds to a
constant, a large one stays three equations instead of becoming an n-by-n constant.

``jacrev(chunk_size=k)`` pulls back k rows of the identity at a time: the vjp graph is batched for k (and
once more for the remainder) and one ``scan`` runs the chunks one after another, so the memory of the
batched vjp is bounded by k and the graph does not grow with the number of chunks. ``chunk_size=1`` is the
plain row-by-row loop: it uses no batching rule at all.
"""

import functools

import numpy as np

from .api import _aux_values, _diff_mask, _normalize_argnums, _select_args, linearize_graphs, trace_fn
from .ir import dtypes
from .ir.batching import batch_eval, move_batch_axis
from .ir.builder import convert, current_trace, elementwise, full, reshape, trace_graph
from .ir.core import AVal, Graph, Var
from .ir.dce import dce
from .ir.interpret import eval_graph
from .ir.jvp import jvp_graph
from .ir.prims.binary import select
from .ir.prims.control import scan
from .ir.prims.shape import concatenate
from .ir.simplify import simplify
from .ir.sparse_rewrite import compressed_dense_graph
from .ir.transpose import transpose_graph
from .random import batch_frame
from .vmap import check_chunk_size, check_randomness, iota as _iota


def basis(aval, start=0, rows=None):
    """Rows ``start .. start + rows`` of the identity on aval's elements, shaped ``(rows, *aval.shape)``.

    ``start`` may be traced. Built from iota: inside a trace it is a few equations, not a constant.
    """
    n = aval.size
    rows = n if rows is None else rows
    index = dtypes.int32 if n + rows < 2 ** 31 else dtypes.int64
    r = _iota(index, (rows, n), 0)
    c = _iota(index, (rows, n), 1)
    if not (isinstance(start, (int, np.integer)) and start == 0):
        r = r + convert(start, index)
    # select, not convert: the simplifier reads select(i == j, 1, 0) as the identity, its zeros structural
    one = select(elementwise("eq", r, c), np.ones((), aval.dtype), np.zeros((), aval.dtype))
    return reshape(one, (rows,) + aval.shape)


def _float_outputs(fname, g, out_tree):
    for i, a in enumerate(g.out_avals):
        if not dtypes.is_float(a.dtype):
            raise TypeError(f"{fname} requires float outputs, but output {i} of {out_tree} has dtype "
                            f"{a.dtype}; return integer values through has_aux instead")


def _assemble(args, nums, single, out_tree, blocks):
    """blocks[o][j] (o over output leaves, j over differentiated input leaves) into the nested result."""
    per_out = []
    for row in blocks:
        per_arg = _select_args(args, nums, row)
        per_out.append(per_arg[0] if single else tuple(per_arg))
    return out_tree.unflatten(per_out)


# --------------------------------------------------------------------------------------------------
# jacfwd


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian by forward mode: one jvp per input element, batched (torch.func.jacfwd).

    ``randomness`` is vmap's, for implicit random draws in func: the basis is a batch.
    """
    check_randomness(randomness)

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        single, nums = _normalize_argnums(argnums, len(args), "jacfwd")
        diff_leaves = _diff_mask(args, nums, "jacfwd")
        with batch_frame(randomness, index_value=0) as frame:
            traced = trace_fn(frame.enter(func), args, kwargs, name="jacfwd", has_aux=has_aux)
        g = traced.graph
        _float_outputs("jacfwd", g, traced.out_tree)
        index_pos = frame.position if frame.index is not None else None
        extra = [] if index_pos is None else [np.zeros((), dtypes.uint32)]
        diff = diff_leaves + [False] * (len(extra) + len(traced.captured))
        columns = [k for k, d in enumerate(diff) if d]
        n_in, n_out = len(g.inputs), len(g.outputs)

        basis_eqns = set()  # ids of the equations that build the bases

        def build(*xs):
            blocks = [[None] * len(columns) for _ in range(n_out)]
            offset = 0
            for j, k in enumerate(columns):
                aval = g.in_avals[k]
                out_shapes = [g.out_avals[o].shape + aval.shape for o in range(n_out)]
                if aval.size == 0:
                    for o in range(n_out):
                        blocks[o][j] = full(out_shapes[o], 0, g.out_avals[o].dtype)
                    continue
                jg = jvp_graph(g, [i == k for i in range(n_in)])
                trace = current_trace()
                first = len(trace.eqns)
                ins, dims = list(xs) + [basis(aval)], [None] * n_in + [0]
                basis_eqns.update(id(e) for e in trace.eqns[first:])
                if index_pos is not None:  # 'different': one batch index per basis column, over all inputs
                    ins[index_pos] = _iota(dtypes.uint32, (aval.size,), 0) + np.uint32(offset)
                    dims[index_pos] = 0
                outs, out_dims = batch_eval(jg, ins, dims)
                for o in range(n_out):
                    t = move_batch_axis(outs[n_out + o], out_dims[n_out + o], aval.size, -1)
                    blocks[o][j] = reshape(t, out_shapes[o])
                offset += aval.size
            return [b for row in blocks for b in row]

        # a sparse Jacobian: one jvp per colour of its columns ('different' draws need one per column)
        graph = compressed_dense_graph(g, diff, "fwd") if index_pos is None else None
        if graph is not None:
            flat = eval_graph(graph, *traced.leaves, *traced.captured)
        else:
            graph, captured = trace_graph(build, g.in_avals, name="transform")
            graph = simplify(_basis_last(graph, basis_eqns))
            flat = eval_graph(graph, *traced.leaves, *extra, *traced.captured, *captured)
        blocks = [flat[o * len(columns):(o + 1) * len(columns)] for o in range(n_out)]
        result = _assemble(args, nums, single, traced.out_tree, blocks)
        return (result, _aux_values(traced.aux)) if has_aux else result

    return wrapped


def _basis_last(graph, basis_eqns):
    """graph with the equations that do not read the bases first (the primal, and the tangent work that
    does not depend on the seed), in order, then the bases and what reads them: what the batched jvp reads
    of the primal is computed before the basis, as jacrev computes its residuals before its basis, so a
    compiled loop over the Jacobian finds them ready (and the simplifier leaves them there)."""
    late = set()
    early_eqns, late_eqns = [], []
    for eqn in graph.eqns:
        if id(eqn) in basis_eqns or any(isinstance(a, Var) and a in late for a in eqn.inputs):
            late.update(eqn.outputs)
            late_eqns.append(eqn)
        else:
            early_eqns.append(eqn)
    return Graph(graph.consts, graph.inputs, early_eqns + late_eqns, graph.outputs)


# --------------------------------------------------------------------------------------------------
# jacrev


def _rows_graph(t_o, res_avals, out_aval, n, start=None):
    """Graph (residuals..., start: i64[]) -> rows start..start+n of the Jacobian of one output, one array
    ``(n, *in_j.shape)`` per differentiated input j; with a static start, Graph (residuals...): the basis
    is then known to the simplifier, which reads the identity through the vjp. n = 1 runs the vjp once,
    unbatched."""
    nres = len(res_avals)

    def fn(*args):
        res = args[:nres]
        ct = basis(out_aval, args[nres] if start is None else start, n)
        if n == 1:
            cts = eval_graph(t_o, *res, reshape(ct, out_aval.shape))
            return [reshape(c, (1,) + a.shape) for c, a in zip(cts, t_o.out_avals, strict=True)]
        cts, dims = batch_eval(t_o, [*res, ct], [None] * nres + [0])
        return [move_batch_axis(c, d, n, 0) for c, d in zip(cts, dims, strict=True)]

    start_aval = [AVal((), dtypes.int64)] if start is None else []
    graph, captured = trace_graph(fn, list(res_avals) + start_aval, name="jacrev rows")
    assert not captured
    return simplify(graph)


def jacobian_rows(t_o, residuals, out_aval, in_avals, chunk_size):
    """The Jacobian of one output (shape ``out.shape + in_j.shape`` for each j), chunk_size rows at a time.

    The full chunks are one scan over their start rows, the remainder one more call: the graph does not
    grow with the number of chunks, and one chunk's intermediates are alive at a time.
    """
    m = out_aval.size
    if m == 0 or not in_avals:
        return [full(out_aval.shape + a.shape, 0, a.dtype) for a in in_avals]
    res_avals = t_o.in_avals[:len(residuals)]
    k = m if chunk_size is None else min(chunk_size, m)
    q, r = divmod(m, k)
    pieces = [[] for _ in in_avals]
    if q == 1:
        for j, rows in enumerate(eval_graph(_rows_graph(t_o, res_avals, out_aval, k, 0), *residuals)):
            pieces[j].append(rows)
    else:
        starts = _iota(dtypes.int64, (q,), 0) * k
        ys = scan(*residuals, starts, body=_rows_graph(t_o, res_avals, out_aval, k), length=q,
                  num_consts=len(residuals))
        for j, (y, a) in enumerate(zip(ys, in_avals, strict=True)):
            pieces[j].append(reshape(y, (q * k,) + a.shape))
    if r:
        rest = eval_graph(_rows_graph(t_o, res_avals, out_aval, r, q * k), *residuals)
        for j, rows in enumerate(rest):
            pieces[j].append(rows)
    return [reshape(_concat(p), out_aval.shape + a.shape) for p, a in zip(pieces, in_avals, strict=True)]


def _concat(parts):
    return parts[0] if len(parts) == 1 else concatenate(parts, 0)


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian by reverse mode: one vjp per output element, batched (torch.func.jacrev).

    chunk_size=k pulls back k rows of the identity at a time, bounding the memory of the batched vjp;
    chunk_size=1 is a plain loop over rows (no batching rules needed); None does all rows at once.
    ``_preallocate_and_copy`` is torch's switch between concatenating the chunks and copying them into a
    preallocated result; it is accepted and changes nothing, because the scan that runs the chunks already
    writes each one into its preallocated output.
    """
    check_chunk_size(chunk_size, "jacrev")
    if not isinstance(_preallocate_and_copy, bool):
        raise TypeError(f"jacrev: _preallocate_and_copy must be a bool, got {_preallocate_and_copy!r}")

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        single, nums = _normalize_argnums(argnums, len(args), "jacrev")
        diff_leaves = _diff_mask(args, nums, "jacrev")
        traced = trace_fn(func, args, kwargs, name="jacrev", has_aux=has_aux)
        g = traced.graph
        _float_outputs("jacrev", g, traced.out_tree)
        diff = diff_leaves + [False] * len(traced.captured)
        n_out = len(g.outputs)
        diff_avals = [a for a, d in zip(g.in_avals, diff) if d]
        # a sparse Jacobian: one vjp per colour of its rows (chunk_size asks for the chunks of the basis)
        dense = compressed_dense_graph(g, diff, "rev") if chunk_size is None else None
        if dense is not None:
            flat = eval_graph(dense, *traced.leaves, *traced.captured)
            blocks = [flat[o * len(diff_avals):(o + 1) * len(diff_avals)] for o in range(n_out)]
        else:
            blocks = _rows_by_basis(g, diff, diff_avals, traced, chunk_size)
        result = _assemble(args, nums, single, traced.out_tree, blocks)
        return (result, _aux_values(traced.aux)) if has_aux else result

    return wrapped


def _rows_by_basis(g, diff, diff_avals, traced, chunk_size):
    """The blocks of jacrev, output by output, by pulling back the rows of the identity."""
    known, linear, nres = linearize_graphs(g, diff)
    n_out = len(g.outputs)
    residuals = eval_graph(known, *traced.leaves, *traced.captured)[n_out:]
    blocks = []
    for o in range(n_out):
        # the linear map to output o alone: its transpose never sees the other outputs
        lin_o = dce(Graph(linear.consts, linear.inputs, linear.eqns, [linear.outputs[o]]))
        t_o = simplify(transpose_graph(lin_o, [False] * nres + [True] * len(diff_avals)))
        blocks.append(jacobian_rows(t_o, residuals, g.out_avals[o], diff_avals, chunk_size))
    return blocks


def hessian(func, argnums=0, has_aux=False):
    """The Hessian, as jacfwd(jacrev(func)) (forward-over-reverse), as torch.func.hessian."""
    return jacfwd(jacrev(func, argnums, has_aux=has_aux), argnums, has_aux=has_aux)


__all__ = ["jacfwd", "jacrev", "hessian", "basis", "jacobian_rows"]
