"""Indexing: gather, scatter (set) and scatter_add, with one index convention.

``indices`` is an integer array of shape ``batch_shape + (k,)``; ``indices[..., j]`` indexes axis ``axes[j]``
of the operand (``axes`` sorted and distinct). Every index vector selects a slice of the operand: the axes
not in ``axes``, in order. So ``gather(x, indices, axes)`` has shape ``batch_shape + remaining``, and the
``updates`` of a scatter have that shape too. Indices are clamped to ``[0, size - 1]`` (jnp wraps negative
indices before), which keeps every access in bounds and makes scatter_add exactly the transpose of gather.
"""

import numpy as np

from .. import dtypes
from ..builder import aval_of, broadcast_to, full, moveaxis, reshape
from ..primitive import Linear, Primitive, Zero, instantiate, is_zero, not_mapped
from .binary import select
from .misc import iota
from .shape import concatenate


def _indexing_shape_rule(name, with_updates):
    def rule(x, indices, *updates, axes):
        if not dtypes.is_int(indices.dtype):
            raise TypeError(f"{name}: indices must be integers, got {indices.dtype}; convert them with "
                            ".astype(np.int32)")
        if list(axes) != sorted(set(axes)) or any(not 0 <= a < x.ndim for a in axes):
            raise ValueError(f"{name}: axes {axes} must be sorted, distinct axes of the operand of shape "
                             f"{x.shape}")
        if indices.ndim == 0 or indices.shape[-1] != len(axes):
            raise ValueError(f"{name}: indices of shape {indices.shape} for axes {axes}; the last axis of "
                             f"indices must have size {len(axes)}, one index per axis in axes")
        batch = indices.shape[:-1]
        remaining = tuple(s for i, s in enumerate(x.shape) if i not in axes)
        empty = [a for a in axes if x.shape[a] == 0]
        if empty and int(np.prod(batch, dtype=np.int64)) > 0:
            raise ValueError(f"{name}: axis {empty[0]} of the operand of shape {x.shape} is empty, so the "
                             f"indices of shape {indices.shape} have nothing to point at")
        if not with_updates:
            return x.update(shape=batch + remaining)
        (u,) = updates
        if u.dtype != x.dtype:
            raise TypeError(f"{name}: operand of dtype {x.dtype} with updates of dtype {u.dtype}; convert "
                            f"the updates with .astype({x.dtype})")
        if u.shape != batch + remaining:
            raise ValueError(f"{name}: updates of shape {u.shape} for indices of shape {indices.shape} into "
                             f"an operand of shape {x.shape} along axes {axes}; updates must have shape "
                             f"{batch + remaining} (the batch of indices, then the axes not in {axes})")
        return x
    return rule


def _positions(x, indices, axes):
    """The operand viewed with the indexed axes first, and the clamped index arrays for those axes."""
    if not axes:  # no indexed axis: index a new leading axis of size 1 at 0
        x, indices, axes = x[None], np.zeros(indices.shape[:-1] + (1,), np.int64), (0,)
    view = np.moveaxis(x, axes, tuple(range(len(axes))))
    hi = np.array([max(x.shape[a] - 1, 0) for a in axes], np.int64)
    clamped = np.clip(indices.astype(np.int64), 0, hi)
    return view, tuple(clamped[..., j] for j in range(len(axes)))


# gather[axes]: out[b] = x[indices[b]] (the slice at those positions); linear in x

gather_p = Primitive("gather", family="indexing")
gather_p.shape_rule = _indexing_shape_rule("gather", with_updates=False)


def _gather_impl(x, indices, *, axes):
    view, index = _positions(x, indices, axes)
    return view[index].copy()


def _gather_jvp(primals, tangents, *, axes):
    (x, indices), (t, _) = primals, tangents
    out = gather(x, indices, axes)
    return out, Zero(aval_of(out)) if is_zero(t) else gather(t, indices, axes)


def _gather_transpose(ct, x, indices, *, axes):
    if isinstance(indices, Linear):
        raise ValueError("gather is not linear in its indices")
    if is_zero(ct) or not isinstance(x, Linear):
        return [None, None]
    return [scatter_add(full(x.aval.shape, 0, x.aval.dtype), indices, ct, axes), None]


def _gather_batch(args, dims, *, axes):
    (x, indices), (dx, di) = args, dims
    if di is not_mapped:  # the batch axis of x becomes its first remaining axis
        x = moveaxis(x, dx, 0)
        return gather(x, indices, tuple(a + 1 for a in axes)), aval_of(indices).ndim - 1
    indices = moveaxis(indices, di, 0)
    if dx is not_mapped:  # a batch of index arrays into one operand
        return gather(x, indices, axes), 0
    # both batched: the batch axis of x becomes one more gathered axis, indexed by the batch position
    x = moveaxis(x, dx, 0)
    return gather(x, _with_batch_column(indices), (0,) + tuple(a + 1 for a in axes)), 0


def _with_batch_column(indices):
    """Indices of shape (n,) + batch + (k,) with a first column holding the batch position."""
    aval = aval_of(indices)
    position = iota(aval.dtype, aval.shape[:-1] + (1,), 0)
    return concatenate([position, indices], aval.ndim - 1)


gather_p.impl = _gather_impl
gather_p.jvp = _gather_jvp
gather_p.transpose = _gather_transpose
gather_p.batch = _gather_batch


def gather(x, indices, axes):
    return gather_p.bind(x, indices, axes=tuple(axes))


# scatter_add[axes]: out = x; out[indices[b]] += updates[b]. Linear in (x, updates)

scatter_add_p = Primitive("scatter_add", family="indexing")
scatter_add_p.shape_rule = _indexing_shape_rule("scatter_add", with_updates=True)


def _scatter_add_impl(x, indices, updates, *, axes):
    out = x.copy()
    view, index = _positions(out, indices, axes)
    np.add.at(view, index, updates)
    return out


def _scatter_add_jvp(primals, tangents, *, axes):
    (x, indices, updates), (tx, _, tu) = primals, tangents
    out = scatter_add(x, indices, updates, axes)
    if is_zero(tx) and is_zero(tu):
        return out, Zero(aval_of(out))
    return out, scatter_add(instantiate(tx), indices, instantiate(tu), axes)


def _scatter_add_transpose(ct, x, indices, updates, *, axes):
    if isinstance(indices, Linear):
        raise ValueError("scatter_add is not linear in its indices")
    if is_zero(ct):
        return [None, None, None]
    return [ct if isinstance(x, Linear) else None, None,
            gather(ct, indices, axes) if isinstance(updates, Linear) else None]


def _scatter_batch(prim):
    """Every operand batched along axis 0; the batch axis becomes one more indexed axis."""
    def batch(args, dims, *, axes):
        size = next(aval_of(a).shape[d] for a, d in zip(args, dims) if d is not not_mapped)
        x, indices, updates = [moveaxis(a, d, 0) if d is not not_mapped
                               else broadcast_to(a, (size,) + aval_of(a).shape)
                               for a, d in zip(args, dims)]
        return prim.bind(x, _with_batch_column(indices), updates, axes=(0,) + tuple(a + 1 for a in axes)), 0
    return batch


scatter_add_p.impl = _scatter_add_impl
scatter_add_p.jvp = _scatter_add_jvp
scatter_add_p.transpose = _scatter_add_transpose
scatter_add_p.batch = _scatter_batch(scatter_add_p)


def scatter_add(x, indices, updates, axes):
    return scatter_add_p.bind(x, indices, updates, axes=tuple(axes))


# scatter[axes]: out = x; out[indices[b]] = updates[b], in batch order: with duplicate indices the last
# update wins. Linear in (x, updates) together

scatter_p = Primitive("scatter", family="indexing")
scatter_p.shape_rule = _indexing_shape_rule("scatter", with_updates=True)


def _scatter_impl(x, indices, updates, *, axes):
    out = x.copy()
    view, index = _positions(out, indices, axes)
    if index[0].size == 0:
        return out
    sizes = view.shape[:len(index)]
    flat = np.ravel_multi_index(tuple(i.ravel() for i in index), sizes)
    # NumPy leaves the order of repeated assignments unspecified: keep only the last update per position
    _, first_from_end = np.unique(flat[::-1], return_index=True)
    last = flat.size - 1 - first_from_end
    batch_ndim = index[0].ndim
    flat_updates = updates.reshape((flat.size,) + updates.shape[batch_ndim:])
    view[np.unravel_index(flat[last], sizes)] = flat_updates[last]
    return out


def _scatter_jvp(primals, tangents, *, axes):
    (x, indices, updates), (tx, _, tu) = primals, tangents
    out = scatter(x, indices, updates, axes)
    if is_zero(tx) and is_zero(tu):
        return out, Zero(aval_of(out))
    return out, scatter(instantiate(tx), indices, instantiate(tu), axes)


def _winners(indices, updates_aval, x_aval, axes):
    """True for the updates that survive a scatter (the last one written at each position)."""
    batch = aval_of(indices).shape[:-1]
    count = int(np.prod(batch, dtype=np.int64))
    ids = reshape(iota(dtypes.int64, (count,), 0), batch)  # each update's position in batch order
    ids = broadcast_to(reshape(ids, batch + (1,) * (updates_aval.ndim - len(batch))), updates_aval.shape)
    written = scatter(full(x_aval.shape, -1, dtypes.int64), indices, ids, axes)
    return gather(written, indices, axes) == ids


def _scatter_transpose(ct, x, indices, updates, *, axes):
    if isinstance(indices, Linear):
        raise ValueError("scatter is not linear in its indices")
    if is_zero(ct):
        return [None, None, None]
    u_aval = aval_of(updates)
    ct_x = ct_u = None
    if isinstance(x, Linear):  # the positions written are overwritten: no cotangent flows back there
        ct_x = scatter(ct, indices, full(u_aval.shape, 0, u_aval.dtype), axes)
    if isinstance(updates, Linear):  # an update overwritten by a later duplicate gets none either
        zero = np.zeros((), u_aval.dtype)
        ct_u = select(_winners(indices, u_aval, aval_of(x), axes), gather(ct, indices, axes), zero)
    return [ct_x, None, ct_u]


scatter_p.impl = _scatter_impl
scatter_p.jvp = _scatter_jvp
scatter_p.transpose = _scatter_transpose
scatter_p.batch = _scatter_batch(scatter_p)


def scatter(x, indices, updates, axes):
    return scatter_p.bind(x, indices, updates, axes=tuple(axes))


__all__ = ["gather", "scatter", "scatter_add"]
