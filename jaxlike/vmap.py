"""vmap: trace one example abstractly, run the batching pass, simplify, run (torch.func / JAX semantics)."""

import functools

import numpy as np

from . import tree
from .api import _fun_name, flatten_args, trace_fn
from .ir.batching import batch_graph
from .ir.builder import aval_of, state
from .ir.interpret import eval_graph
from .ir.simplify import simplify

RANDOMNESS = ("error", "same", "different")


def _check_options(randomness, chunk_size):
    if randomness not in RANDOMNESS:
        raise ValueError(f"vmap: randomness must be one of 'error', 'same' or 'different', got {randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer)) or isinstance(chunk_size, bool)
                                   or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size must be a positive int or None, got {chunk_size!r}")


def _flat_in_dims(in_dims, args):
    if isinstance(in_dims, list):
        in_dims = tuple(in_dims)
    if in_dims is None or isinstance(in_dims, (int, np.integer)):
        return [in_dims] * len(flatten_args(args)[0])
    if not isinstance(in_dims, tuple):
        raise ValueError(f"vmap: in_dims must be an int, None, or a tuple with one entry per positional "
                         f"argument; got {type(in_dims).__name__}")
    if len(in_dims) != len(args):
        raise ValueError(f"vmap: in_dims is not compatible with the structure of the inputs: in_dims has "
                         f"{len(in_dims)} entries but the function was called with {len(args)} positional "
                         f"argument{'s' if len(args) != 1 else ''}")
    return tree.broadcast_prefix(in_dims, tuple(args), name="in_dims")


def _batch_size(leaves, avals, flat_dims, paths):
    sizes = []
    normalized = []
    for leaf, aval, d, path in zip(leaves, avals, flat_dims, paths):
        if d is None:
            normalized.append(None)
            continue
        if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise ValueError(f"vmap: in_dims for {path} must be an int or None, got {d!r}")
        if not -aval.ndim <= d < aval.ndim:
            raise ValueError(f"vmap: in_dims={d} is out of range for {path} of shape {aval.shape} (rank "
                             f"{aval.ndim}); expected a value in [{-aval.ndim}, {aval.ndim})"
                             + (" — a 0-d value cannot be batched: give it in_dims None" if not aval.ndim
                                else ""))
        d = int(d) % aval.ndim
        normalized.append(d)
        sizes.append((path, d, aval.shape[d]))
    if not sizes:
        raise ValueError("vmap: at least one input must be batched over, but in_dims is None for every "
                         "input; give the batched argument an int in_dims")
    if len({s for _, _, s in sizes}) > 1:
        detail = ", ".join(f"{p} has size {s} along axis {d}" for p, d, s in sizes)
        raise ValueError(f"vmap: the batched inputs have different sizes along their batch dimensions: "
                         f"{detail}; every batched input must have the same size")
    return sizes[0][2], normalized


def _example_aval(aval, d):
    if d is None:
        return aval
    return aval.update(shape=aval.shape[:d] + aval.shape[d + 1:])


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None, in_axes=None, out_axes=None):
    """Vectorise func over an axis of its inputs (torch.func.vmap; in_axes/out_axes are JAX's spellings).

    Keyword arguments of the call are passed through unbatched. chunk_size=k evaluates k examples at a time.
    """
    in_dims = in_axes if in_axes is not None else in_dims
    out_dims = out_axes if out_axes is not None else out_dims
    _check_options(randomness, chunk_size)

    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        if not args:
            raise ValueError(f"vmap({_fun_name(func)}): got no positional inputs; vmap batches over "
                             "positional arguments (keyword arguments are not batched)")
        leaves, avals, _ = flatten_args(args)
        paths = [p for p, _ in tree.flatten_with_paths(tuple(args), "args")]
        flat_dims = _flat_in_dims(in_dims, args)
        size, flat_dims = _batch_size(leaves, avals, flat_dims, paths)
        example = [_example_aval(a, d) for a, d in zip(avals, flat_dims)]
        state.vmap_randomness.append(randomness)
        try:
            traced = trace_fn(func, args, kwargs, name="vmap", abstract=True, in_avals=example)
        finally:
            state.vmap_randomness.pop()
        g = traced.graph
        n_out = len(g.outputs)
        outs_structure = traced.out_tree.unflatten(list(range(n_out)))
        try:
            flat_out = tree.broadcast_prefix(out_dims, outs_structure, name="out_dims")
        except ValueError as e:
            raise ValueError(f"vmap: out_dims does not match the outputs of {_fun_name(func)}: {e}") from None
        flat_out = [_normalize_out_dim(d, a) for d, a in zip(flat_out, g.out_avals)]
        in_dims_all = flat_dims + [None] * len(traced.captured)
        if chunk_size is None or chunk_size >= size:
            outs = _run_batched(g, in_dims_all, size, flat_out, [*leaves, *traced.captured])
        else:
            outs = _run_chunked(g, in_dims_all, size, flat_out, leaves, traced.captured, chunk_size)
        return traced.out_tree.unflatten(outs)

    return wrapped


def _normalize_out_dim(d, example_aval):
    if d is None:
        return None
    if not isinstance(d, (int, np.integer)) or isinstance(d, bool):
        raise ValueError(f"vmap: out_dims entries must be ints or None, got {d!r}")
    rank = example_aval.ndim + 1
    if not -rank <= d < rank:
        raise ValueError(f"vmap: out_dims={d} is out of range for an output of rank {rank}")
    return int(d) % rank


def _run_batched(g, in_dims, size, out_dims, args):
    try:
        bg = batch_graph(g, in_dims, size, out_dims)
    except ValueError as e:
        if "out_dims None" in str(e):
            raise ValueError("vmap: out_dims is None for an output that depends on the batched inputs; "
                             "give that output an int out_dims") from None
        raise
    return eval_graph(simplify(bg), *args)


def _run_chunked(g, in_dims, size, out_dims, leaves, captured, k):
    """k examples at a time; the batched graph is built once per distinct chunk size (at most two)."""
    from .ir.prims.shape import concatenate, slice_
    pieces = []
    for start in range(0, size, k):
        stop = min(start + k, size)
        chunk = []
        for x, d in zip(leaves, in_dims):
            if d is None:
                chunk.append(x)
                continue
            shape = aval_of(x).shape
            starts = [0] * len(shape)
            limits = list(shape)
            starts[d], limits[d] = start, stop
            chunk.append(slice_(x, tuple(starts), tuple(limits)))
        pieces.append(_run_batched(g, in_dims, stop - start, out_dims, [*chunk, *captured]))
    outs = []
    for i, d in enumerate(out_dims):
        outs.append(pieces[0][i] if d is None else concatenate([p[i] for p in pieces], d))
    return outs
