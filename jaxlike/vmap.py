"""vmap: trace one example abstractly, run the batching pass, simplify, run (torch.func.vmap semantics).

``vmap(func, in_dims=0, out_dims=0, randomness='error', *, chunk_size=None)``, with JAX's ``in_axes`` and
``out_axes`` accepted as other spellings of ``in_dims`` and ``out_dims``.

- ``in_dims`` is an int, None, or a tuple with one entry per positional argument; each entry is a prefix of
  that argument's structure (an int or None applies to the whole subtree; dicts, lists and tuples nest).
  Negative axes count from the end. Keyword arguments are passed through unbatched, and so are arguments
  that are not arrays (strings, functions, ...), which must have in_dim None.
- ``out_dims`` is a prefix of the output structure in the same way; None is allowed for an output that
  does not depend on the batch.
- The function is traced once on an example's shapes, without values: Python control flow on a batched
  value raises TracerBoolConversionError (use ``jnp.where`` or ``jaxlike.lax.cond``).
- ``randomness`` ('error', 'same' or 'different') says what implicit random draws do (jaxlike.random).
- ``chunk_size=k`` evaluates k examples at a time: the graph is batched for k and run by one ``scan``
  over the full chunks (plus one call for the remainder), so memory is bounded by k rather than by the
  batch size, and the graph does not grow with the number of chunks. ``chunk_size=1`` is a plain loop
  over the examples: no batching rule is needed.
"""

import functools

import numpy as np

from . import tree
from .api import _fun_name, flatten_args, trace_fn
from .ir import dtypes
from .ir.batching import batch_graph
from .ir.builder import Tracer, aval_of, current_trace, emit, moveaxis, reshape
from .ir.core import Graph
from .ir.interpret import eval_graph
from .ir.prims.control import scan
from .ir.prims.misc import iota_p
from .ir.prims.shape import concatenate, slice_
from .ir.simplify import simplify
from .random import batch_frame

RANDOMNESS = ("error", "same", "different")


def _is_int(d):
    return isinstance(d, (int, np.integer)) and not isinstance(d, bool)


def check_randomness(randomness):
    if not isinstance(randomness, str) or randomness not in RANDOMNESS:
        raise ValueError(f"Only allowed values for randomness are 'error', 'different', or 'same'. "
                         f"Got {randomness!r}")


def check_chunk_size(chunk_size, fname="vmap"):
    if chunk_size is None:
        return
    if not _is_int(chunk_size) or chunk_size <= 0:
        raise ValueError(f"{fname}: chunk_size should be None or greater than 0. (got {chunk_size!r})")


# --------------------------------------------------------------------------------------------------
# in_dims and out_dims


def _where(func, in_dims=None, out_dims=None):
    """The ``vmap(f, in_dims=..., ...)(<inputs>)`` prefix of error messages, as torch writes it."""
    opts = "" if in_dims is None else f", in_dims={in_dims!r}"
    opts += "" if out_dims is None else f", out_dims={out_dims!r}"
    return f"vmap({_fun_name(func)}{opts}, ...)(<inputs>)"


def flat_in_dims(func, in_dims, args):
    """One in_dim (int or None) per leaf of args, following prefix semantics."""
    if isinstance(in_dims, list):
        in_dims = tuple(in_dims)
    if in_dims is None or _is_int(in_dims):
        return [in_dims] * len(tree.leaves(tuple(args)))
    if not isinstance(in_dims, tuple):
        hint = (f" To give the structure of a single {type(in_dims).__name__} argument, wrap it in a tuple: "
                f"in_dims=({in_dims!r},)." if isinstance(in_dims, dict) else "")
        raise ValueError(f"{_where(func, in_dims)}: expected `in_dims` to be int or a (potentially nested) "
                         f"tuple matching the structure of inputs, got: {type(in_dims).__name__}.{hint}")
    if len(in_dims) != len(args):
        raise ValueError(f"{_where(func, in_dims)}: in_dims is not compatible with the structure of "
                         f"`inputs`. in_dims has {len(in_dims)} entr{'y' if len(in_dims) == 1 else 'ies'} but the "
                         f"function was called with "
                         f"{len(args)} positional argument{'s' if len(args) != 1 else ''}: in_dims "
                         f"has structure {tree.structure(in_dims)} but inputs has structure "
                         f"{tree.structure(tuple(args))}.")
    try:
        return tree.broadcast_prefix(in_dims, tuple(args), name="in_dims")
    except ValueError as e:
        raise ValueError(f"{_where(func, in_dims)}: in_dims is not compatible with the structure of "
                         f"`inputs`: {e}.") from None


def batch_size_of(func, in_dims, avals, flat_dims, paths):
    """(batch size, in_dims normalised to non-negative ints or None); the errors name each argument."""
    sizes, normalized = [], []
    for aval, d, path in zip(avals, flat_dims, paths, strict=True):
        if d is None:
            normalized.append(None)
            continue
        if not _is_int(d):
            raise ValueError(f"{_where(func, in_dims)}: Got in_dim={d!r} for input {path}, but in_dim must "
                             "be either an integer dimension or None.")
        if not -aval.ndim <= d < aval.ndim:
            extra = (" A 0-d input has no dimension to map over: give it in_dim None." if aval.ndim == 0
                     else "")
            raise ValueError(f"{_where(func, in_dims)}: Got in_dim={d} for input {path}, but that input has "
                             f"shape {aval.shape} (dimensionality {aval.ndim}) so expected in_dim to satisfy "
                             f"-{aval.ndim} <= in_dim < {aval.ndim}.{extra}")
        d = int(d) % aval.ndim
        normalized.append(d)
        sizes.append((path, d, aval.shape[d]))
    if not sizes:
        raise ValueError(f"{_where(func, in_dims)}: at least one input must be batched over, but in_dims is "
                         "None for every input. Give the batched argument an integer in_dim.")
    if len({s for _, _, s in sizes}) > 1:
        detail = "; ".join(f"{p} has size {s} in dimension {d}" for p, d, s in sizes)
        raise ValueError(f"vmap: Expected all tensors to have the same size in the mapped dimension, got "
                         f"sizes {[s for _, _, s in sizes]} for the mapped dimension: {detail}.")
    return sizes[0][2], normalized


def flat_out_dims(func, out_dims, out_tree, out_avals):
    """One out_dim (a non-negative int or None) per output leaf, following prefix semantics."""
    if isinstance(out_dims, list):
        out_dims = tuple(out_dims)
    structure = out_tree.unflatten(list(range(len(out_avals))))
    try:
        flat = tree.broadcast_prefix(out_dims, structure, name="out_dims")
    except ValueError:
        raise ValueError(f"{_where(func, out_dims=out_dims)}: out_dims is not compatible with the structure "
                         f"of `outputs`. out_dims has structure {tree.structure(out_dims)} but outputs has "
                         f"structure {out_tree}.") from None
    result = []
    for i, (d, aval) in enumerate(zip(flat, out_avals, strict=True)):
        if d is None:
            result.append(None)
            continue
        if not _is_int(d):
            raise ValueError(f"{_where(func, out_dims=out_dims)}: Got out_dim={d!r} for output {i}, but "
                             "out_dim must be either an integer dimension or None.")
        rank = aval.ndim + 1
        if not -rank <= d < rank:
            raise ValueError(f"{_where(func, out_dims=out_dims)}: Got out_dim={d} for output {i}, which has "
                             f"shape {aval.shape} per example (dimensionality {rank} when batched), so "
                             f"expected out_dim to satisfy -{rank} <= out_dim < {rank}.")
        result.append(int(d) % rank)
    return result


def iota(dtype, shape, dimension):
    """0, 1, 2, ... along one axis, recorded in the open trace if there is one (binding an operand-less
    primitive computes it at once, which would make a large index or basis a constant of the graph)."""
    trace = current_trace()
    params = dict(dtype=dtypes.canonical(dtype), shape=tuple(shape), dimension=dimension)
    if trace is None:
        return iota_p.bind(**params)
    return emit(trace, iota_p, [], params)


def _is_array(x):
    return isinstance(x, (np.ndarray, np.generic, Tracer, bool, int, float))


def _static_leaves(func, in_dims, leaves, dims, paths):
    """Which leaves are not arrays: passed through untouched when their in_dim is None, as in torch."""
    static = [not _is_array(x) for x in leaves]
    for x, d, s, path in zip(leaves, dims, static, paths):
        if s and d is not None:
            raise ValueError(f"{_where(func, in_dims)}: Got in_dim={d!r} for input {path}, but that input is "
                             f"of type {type(x).__name__}. We cannot vmap over non-array arguments, please "
                             "use None as the respective in_dim.")
    return static


def _example_aval(aval, d):
    if d is None:
        return aval
    return aval.update(shape=aval.shape[:d] + aval.shape[d + 1:])


# --------------------------------------------------------------------------------------------------
# vmap


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None, in_axes=None, out_axes=None):
    """Vectorise func over an axis of its inputs (torch.func.vmap; in_axes/out_axes are JAX's spellings)."""
    if in_axes is not None:
        if in_dims != 0:
            raise TypeError("vmap: give in_dims or in_axes (its JAX spelling), not both")
        in_dims = in_axes
    if out_axes is not None:
        if out_dims != 0:
            raise TypeError("vmap: give out_dims or out_axes (its JAX spelling), not both")
        out_dims = out_axes
    if not callable(func):
        raise TypeError(f"vmap: func must be callable, got {type(func).__name__}")
    check_randomness(randomness)
    check_chunk_size(chunk_size)

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        if not args:
            raise ValueError(f"vmap({_fun_name(func)})(<inputs>): got no inputs. Maybe you forgot to add "
                             "inputs, or you are trying to vmap over a function with no inputs. The latter "
                             "is unsupported (keyword arguments are not batched).")
        all_leaves, treedef = tree.flatten(tuple(args))
        paths = [p for p, _ in tree.flatten_with_paths(tuple(args), "args")]
        all_dims = flat_in_dims(func, in_dims, args)
        static = _static_leaves(func, in_dims, all_leaves, all_dims, paths)
        leaves, avals, _ = flatten_args([x for x, s in zip(all_leaves, static) if not s])
        flat_dims = [d for d, s in zip(all_dims, static) if not s]
        size, flat_dims = batch_size_of(func, in_dims, avals, flat_dims,
                                        [p for p, s in zip(paths, static) if not s])
        example = [_example_aval(a, d) for a, d in zip(avals, flat_dims)]

        @functools.wraps(func)
        def body(*arrays):  # the arguments rebuilt: non-array leaves (in_dim None) are passed as they are
            it = iter(arrays)
            return func(*treedef.unflatten([x if s else next(it) for x, s in zip(all_leaves, static)]),
                        **kwargs)

        with batch_frame(randomness) as frame:
            traced = trace_fn(frame.enter(body), leaves, name="vmap", abstract=True, in_avals=example)
        g = traced.graph
        outs_dims = flat_out_dims(func, out_dims, traced.out_tree, g.out_avals)
        batched_args, batched_dims = list(leaves), list(flat_dims)
        if frame.index is not None:  # 'different' randomness: each element's index, an extra input
            assert frame.position == len(leaves)
            batched_args.append(iota(dtypes.uint32, (size,), 0))
            batched_dims.append(0)
        outs = run_batched(func, g, batched_args, batched_dims, traced.captured, size, outs_dims, chunk_size)
        return traced.out_tree.unflatten(outs)

    return wrapped


def run_batched(func, g, args, in_dims, captured, size, out_dims, chunk_size=None):
    """Run graph g batched over args (batch axes in_dims) and captured values (unbatched)."""
    in_dims = list(in_dims) + [None] * len(captured)
    if chunk_size is None or chunk_size >= size:
        return _run(func, g, in_dims, size, out_dims, [*args, *captured])
    return _run_chunked(func, g, in_dims, size, out_dims, [*args, *captured], chunk_size)


def _batched(func, g, in_dims, size, out_dims):
    try:
        return simplify(batch_graph(g, in_dims, size, out_dims))
    except ValueError as e:
        if "out_dims None" in str(e):
            raise ValueError(f"{_where(func)}: out_dims is None for an output that depends on the batched "
                             "inputs; give that output an integer out_dim.") from None
        raise


def _run(func, g, in_dims, size, out_dims, args):
    return eval_graph(_batched(func, g, in_dims, size, out_dims), *args)


def _rows(x, start, stop):
    """Rows start..stop of x along axis 0."""
    shape = aval_of(x).shape
    return slice_(x, (start,) + (0,) * (len(shape) - 1), (stop,) + shape[1:])


def _reorder(graph, order):
    """The same graph with its inputs in the given order (a permutation of their indices)."""
    return Graph(graph.consts, [graph.inputs[i] for i in order], graph.eqns, graph.outputs)


def _run_chunked(func, g, in_dims, size, out_dims, args, k):
    """k examples at a time, as one scan over the full chunks and one call for the remainder.

    The loop body is g batched for k (g itself when k = 1: a plain loop needing no batching rule), so the
    graph does not grow with the number of chunks, and only one chunk's intermediates are alive at a time.
    """
    fixed = [i for i, d in enumerate(in_dims) if d is None]
    mapped = [i for i, d in enumerate(in_dims) if d is not None]
    consts = [args[i] for i in fixed]
    xs = [moveaxis(args[i], in_dims[i], 0) for i in mapped]
    body_dims = [None] * len(fixed) + [0] * len(mapped)
    loop_out_dims = [None if d is None else 0 for d in out_dims]

    def body(n):
        """(consts..., xs...) -> outputs, batched over n examples at axis 0 (unbatched when n == 1)."""
        graph = _reorder(g, fixed + mapped)
        return graph if n == 1 else _batched(func, graph, body_dims, n, loop_out_dims)

    q, r = divmod(size, k)
    main = q * k
    chunk = [x if k == 1 else reshape(_rows(x, 0, main), (q, k) + aval_of(x).shape[1:]) for x in xs]
    ys = scan(*consts, *chunk, body=body(k), length=q, num_consts=len(consts))
    pieces = [[y if d is None or k == 1 else reshape(y, (main,) + aval_of(y).shape[2:])
               for y, d in zip(ys, out_dims)]]
    if r:
        rest = [_rows(x, main, size) for x in xs]
        if r == 1:
            rest = [reshape(x, aval_of(x).shape[1:]) for x in rest]
        outs = eval_graph(body(r), *consts, *rest)
        pieces.append([y if d is None or r > 1 else reshape(y, (1,) + aval_of(y).shape)
                       for y, d in zip(outs, out_dims)])
    results = []
    for i, d in enumerate(out_dims):
        if d is None:  # the same in every chunk: the first one's
            y = pieces[0][i]
            results.append(_rows_first(y) if q else y)
            continue
        y = pieces[0][i] if len(pieces) == 1 else concatenate([p[i] for p in pieces], 0)
        results.append(moveaxis(y, 0, d))
    return results


def _rows_first(y):
    """y[0] of a scan's stacked output."""
    return reshape(_rows(y, 0, 1), aval_of(y).shape[1:])


__all__ = ["vmap", "RANDOMNESS", "check_randomness", "check_chunk_size", "run_batched", "flat_in_dims",
           "flat_out_dims", "batch_size_of"]
