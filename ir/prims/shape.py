"""Shape primitives: broadcast_in_dim, reshape, transpose, squeeze, expand_dims, slice, pad, concatenate,
rev. All linear; batching moves the batch axis to 0.
"""

import numpy as np

from .. import dtypes
from ..builder import aval_of, broadcast_to, moveaxis, reduce_sum, reshape, transpose
from ..primitive import Linear, Primitive, deflinear, not_mapped
from .binary import select


def _inverse(perm):
    return tuple(int(i) for i in np.argsort(perm))


# broadcast_in_dim[shape, broadcast_dimensions]: operand axis i becomes output axis broadcast_dimensions[i]

broadcast_in_dim_p = Primitive("broadcast_in_dim", family="shape")


def _broadcast_in_dim_shape_rule(x, *, shape, broadcast_dimensions):
    dims = broadcast_dimensions
    if len(dims) != x.ndim or sorted(set(dims)) != list(dims) or any(d >= len(shape) for d in dims):
        raise ValueError(f"broadcast_in_dim: broadcast_dimensions {dims} must be strictly increasing "
                         f"output axes, one per operand axis of {x.shape}, for output shape {shape}")
    for i, d in enumerate(dims):
        if x.shape[i] not in (1, shape[d]):
            raise ValueError(f"broadcast_in_dim: operand shape {x.shape} axis {i} (size {x.shape[i]}) "
                             f"cannot broadcast to output axis {d} of shape {shape}")
    return x.update(shape=shape)


def _broadcast_in_dim_impl(x, *, shape, broadcast_dimensions):
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(x.reshape(expanded), shape).copy()


def _broadcast_in_dim_transpose(ct, x, *, shape, broadcast_dimensions):
    # sum over the axes broadcasting created or stretched, then restore the operand's shape
    stretched = [d for i, d in enumerate(broadcast_dimensions) if x.aval.shape[i] != shape[d]]
    new = [d for d in range(len(shape)) if d not in broadcast_dimensions]
    return [reshape(reduce_sum(ct, tuple(new) + tuple(stretched)), x.aval.shape)]


def _broadcast_in_dim_batch(args, dims, *, shape, broadcast_dimensions):
    x = moveaxis(args[0], dims[0], 0)
    size = aval_of(x).shape[0]
    return broadcast_in_dim_p.bind(x, shape=(size,) + tuple(shape),
                                   broadcast_dimensions=(0,) + tuple(d + 1 for d in broadcast_dimensions)), 0


broadcast_in_dim_p.shape_rule = _broadcast_in_dim_shape_rule
broadcast_in_dim_p.impl = _broadcast_in_dim_impl
broadcast_in_dim_p.batch = _broadcast_in_dim_batch
deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)


def broadcast_in_dim(x, shape, broadcast_dimensions):
    return broadcast_in_dim_p.bind(x, shape=tuple(shape), broadcast_dimensions=tuple(broadcast_dimensions))


# reshape[shape]: row-major, as NumPy

reshape_p = Primitive("reshape", family="shape")


def _reshape_shape_rule(x, *, shape):
    if int(np.prod(shape, dtype=np.int64)) != x.size:
        raise ValueError(f"cannot reshape array of shape {x.shape} (size {x.size}) into shape {shape}")
    return x.update(shape=shape)


reshape_p.shape_rule = _reshape_shape_rule
reshape_p.impl = lambda x, *, shape: x.reshape(shape)
reshape_p.batch = lambda args, dims, *, shape: (
    reshape(moveaxis(args[0], dims[0], 0), (aval_of(args[0]).shape[dims[0]],) + tuple(shape)), 0)
deflinear(reshape_p, lambda ct, x, *, shape: [reshape(ct, x.aval.shape)])


# transpose[permutation]: output axis i is operand axis permutation[i]

transpose_p = Primitive("transpose", family="shape")


def _transpose_shape_rule(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise ValueError(f"transpose permutation {permutation} is not a permutation of the axes of {x.shape}")
    return x.update(shape=tuple(x.shape[p] for p in permutation))


transpose_p.shape_rule = _transpose_shape_rule
transpose_p.impl = lambda x, *, permutation: np.transpose(x, permutation).copy()
transpose_p.batch = lambda args, dims, *, permutation: (
    transpose(moveaxis(args[0], dims[0], 0), (0,) + tuple(p + 1 for p in permutation)), 0)
deflinear(transpose_p, lambda ct, x, *, permutation: [transpose(ct, _inverse(permutation))])


def _batch_first(x, d):
    """x with its batch axis d moved to 0."""
    return moveaxis(x, d, 0)


def _shifted(axes):
    """Axes of an unbatched operand, renumbered for an operand whose batch axis is 0."""
    return tuple(a + 1 for a in axes)


def _axes_error(name, what, axes, shape, fix):
    return ValueError(f"{name}: {what} {axes} for an operand of shape {shape}; {fix}")


def _check_axes(name, axes, ndim, shape):
    if list(axes) != sorted(set(axes)) or any(not 0 <= a < ndim for a in axes):
        raise _axes_error(name, "dimensions", axes, shape,
                          f"pass sorted, distinct axes in [0, {ndim})")


def _normalize(axes, ndim):
    """Negative axes wrapped and sorted; out-of-range axes are left for the shape rule to report."""
    return tuple(sorted(a + ndim if -ndim <= a < 0 else a for a in axes))


# squeeze[dimensions]: remove size-1 axes

squeeze_p = Primitive("squeeze", family="shape")


def _squeeze_shape_rule(x, *, dimensions):
    _check_axes("squeeze", dimensions, x.ndim, x.shape)
    for d in dimensions:
        if x.shape[d] != 1:
            raise ValueError(f"squeeze: axis {d} of shape {x.shape} has size {x.shape[d]}, not 1; "
                             "only size-1 axes can be squeezed (use reshape or a reduction instead)")
    return x.update(shape=tuple(s for i, s in enumerate(x.shape) if i not in dimensions))


squeeze_p.shape_rule = _squeeze_shape_rule
squeeze_p.impl = lambda x, *, dimensions: np.squeeze(x, axis=dimensions)
squeeze_p.batch = lambda args, dims, *, dimensions: (
    squeeze(_batch_first(args[0], dims[0]), _shifted(dimensions)), 0)
deflinear(squeeze_p, lambda ct, x, *, dimensions: [expand_dims(ct, dimensions)])


def squeeze(x, dimensions):
    return squeeze_p.bind(x, dimensions=_normalize(dimensions, aval_of(x).ndim))


# expand_dims[dimensions]: insert size-1 axes at these positions of the output

expand_dims_p = Primitive("expand_dims", family="shape")


def _expand_dims_shape_rule(x, *, dimensions):
    ndim = x.ndim + len(dimensions)
    if list(dimensions) != sorted(set(dimensions)) or any(not 0 <= d < ndim for d in dimensions):
        raise _axes_error("expand_dims", "dimensions", dimensions, x.shape,
                          f"pass sorted, distinct positions in the output, in [0, {ndim})")
    sizes = iter(x.shape)
    return x.update(shape=tuple(1 if i in dimensions else next(sizes) for i in range(ndim)))


expand_dims_p.shape_rule = _expand_dims_shape_rule
expand_dims_p.impl = lambda x, *, dimensions: np.expand_dims(x, dimensions)
expand_dims_p.batch = lambda args, dims, *, dimensions: (
    expand_dims(_batch_first(args[0], dims[0]), _shifted(dimensions)), 0)
deflinear(expand_dims_p, lambda ct, x, *, dimensions: [squeeze(ct, dimensions)])


def expand_dims(x, dimensions):
    ndim = aval_of(x).ndim + len(dimensions)
    return expand_dims_p.bind(x, dimensions=_normalize(dimensions, ndim))


# slice[start_indices, limit_indices, strides]: x[start:limit:stride] along every axis (lax.slice)

slice_p = Primitive("slice", family="shape")


def _slice_shape_rule(x, *, start_indices, limit_indices, strides):
    if not len(start_indices) == len(limit_indices) == len(strides) == x.ndim:
        raise ValueError(f"slice: start_indices {start_indices}, limit_indices {limit_indices} and strides "
                         f"{strides} need one entry per axis of the operand of shape {x.shape}")
    for axis, (lo, hi, st, size) in enumerate(zip(start_indices, limit_indices, strides, x.shape)):
        if not 0 <= lo <= hi <= size or st < 1:
            raise ValueError(f"slice: axis {axis} of shape {x.shape} cannot take start {lo}, limit {hi}, "
                             f"stride {st}; need 0 <= start <= limit <= {size} and stride >= 1")
    return x.update(shape=tuple((hi - lo + st - 1) // st
                                for lo, hi, st in zip(start_indices, limit_indices, strides)))


def _slice_impl(x, *, start_indices, limit_indices, strides):
    return x[tuple(slice(lo, hi, st) for lo, hi, st in zip(start_indices, limit_indices, strides))].copy()


def _slice_transpose(ct, x, *, start_indices, limit_indices, strides):
    # the slice's elements go back to their places, zeros in between (interior) and around (lo, hi)
    out_shape = aval_of(ct).shape
    config = []
    for lo, st, n, size in zip(start_indices, strides, out_shape, x.aval.shape):
        end = lo + (n - 1) * st + 1 if n else lo  # one past the last element taken
        config.append((lo, size - end, st - 1))
    return [pad(ct, np.zeros((), x.aval.dtype), config)]


slice_p.shape_rule = _slice_shape_rule
slice_p.impl = _slice_impl
slice_p.batch = lambda args, dims, *, start_indices, limit_indices, strides: (
    slice_(_batch_first(args[0], dims[0]), (0,) + tuple(start_indices),
           (aval_of(args[0]).shape[dims[0]],) + tuple(limit_indices), (1,) + tuple(strides)), 0)
deflinear(slice_p, _slice_transpose)


def slice_(x, start_indices, limit_indices, strides=None):
    strides = (1,) * len(start_indices) if strides is None else strides
    return slice_p.bind(x, start_indices=tuple(int(i) for i in start_indices),
                        limit_indices=tuple(int(i) for i in limit_indices),
                        strides=tuple(int(i) for i in strides))


# pad[padding_config]: (lo, hi, interior) per axis; negative lo / hi crop (lax.pad)

pad_p = Primitive("pad", family="shape")


def _padded_size(size, lo, hi, interior):
    return lo + hi + size + max(size - 1, 0) * interior


def _pad_shape_rule(x, padding_value, *, padding_config):
    if padding_value.ndim != 0:
        raise ValueError(f"pad: the padding value must be a scalar, got shape {padding_value.shape}; "
                         "index or reshape it to shape ()")
    if padding_value.dtype != x.dtype:
        raise TypeError(f"pad: operand of dtype {x.dtype} with a padding value of dtype "
                        f"{padding_value.dtype}; convert the padding value with .astype({x.dtype})")
    if len(padding_config) != x.ndim:
        raise ValueError(f"pad: padding_config {padding_config} needs one (lo, hi, interior) per axis of "
                         f"the operand of shape {x.shape}")
    shape = []
    for axis, (size, (lo, hi, interior)) in enumerate(zip(x.shape, padding_config)):
        out = _padded_size(size, lo, hi, interior)
        if interior < 0 or out < 0:
            raise ValueError(f"pad: axis {axis} of shape {x.shape} with (lo, hi, interior) = "
                             f"{(lo, hi, interior)} gives size {out}; interior must be >= 0 and negative "
                             "lo / hi may crop at most the whole padded axis")
        shape.append(out)
    return x.update(shape=tuple(shape))


def _pad_impl(x, padding_value, *, padding_config):
    # pad the non-negative parts into a fresh array, then crop the negative edges
    grown = [_padded_size(n, max(lo, 0), max(hi, 0), i) for n, (lo, hi, i) in zip(x.shape, padding_config)]
    out = np.full(grown, padding_value, x.dtype)
    out[tuple(slice(max(lo, 0), max(lo, 0) + _padded_size(n, 0, 0, i), i + 1)
              for n, (lo, hi, i) in zip(x.shape, padding_config))] = x
    return out[tuple(slice(-min(lo, 0), size + min(hi, 0))
                     for size, (lo, hi, _) in zip(grown, padding_config))].copy()


def _pad_transpose(ct, x, padding_value, *, padding_config):
    # undo lo / hi (a pad by their negatives), then take every (interior + 1)-th element
    lo, hi, interior = zip(*padding_config) if padding_config else ((), (), ())
    unpadded = pad(ct, np.zeros((), aval_of(ct).dtype), [(-a, -b, 0) for a, b in zip(lo, hi)])
    ct_x = slice_(unpadded, (0,) * len(lo), aval_of(unpadded).shape, [i + 1 for i in interior])
    ct_value = None
    if isinstance(padding_value, Linear):
        # the padding value lands everywhere the operand does not
        everything = reduce_sum(ct, tuple(range(aval_of(ct).ndim)))
        ct_value = everything - reduce_sum(ct_x, tuple(range(aval_of(ct_x).ndim)))
    return [ct_x if isinstance(x, Linear) else None, ct_value]


def _pad_batch(args, dims, *, padding_config):
    (x, value), (dx, dv) = args, dims
    size = aval_of(x).shape[dx] if dx is not not_mapped else aval_of(value).shape[dv]
    config = ((0, 0, 0),) + tuple(padding_config)
    x = _batch_first(x, dx) if dx is not not_mapped else broadcast_to(x, (size,) + aval_of(x).shape)
    if dv is not_mapped:
        return pad(x, value, config), 0
    # one padding value per batch element: pad with zeros, then select the padding positions
    dtype = aval_of(x).dtype
    padded = pad(x, np.zeros((), dtype), config)
    inside = pad(np.ones(aval_of(x).shape[1:], bool), np.zeros((), bool), padding_config)
    out_shape = aval_of(padded).shape
    values = broadcast_in_dim(_batch_first(value, dv), out_shape, (0,))
    return select(broadcast_to(inside, out_shape), padded, values), 0


pad_p.shape_rule = _pad_shape_rule
pad_p.impl = _pad_impl
pad_p.batch = _pad_batch
deflinear(pad_p, _pad_transpose)


def pad(x, padding_value, padding_config):
    if dtypes.weak_kind(padding_value) is not None:
        padding_value = np.asarray(padding_value, aval_of(x).dtype)
    return pad_p.bind(x, padding_value,
                      padding_config=tuple(tuple(int(i) for i in c) for c in padding_config))


# concatenate[dimension]: join n operands along one axis

concatenate_p = Primitive("concatenate", family="shape")


def _concatenate_shape_rule(*xs, dimension):
    if not xs:
        raise ValueError("concatenate needs at least one operand")
    shapes = ", ".join(str(x.shape) for x in xs)
    if len({x.dtype for x in xs}) > 1:
        raise TypeError(f"concatenate requires operands of one dtype, got "
                        f"{', '.join(str(x.dtype) for x in xs)}; convert them with .astype()")
    if len({x.ndim for x in xs}) > 1 or not 0 <= dimension < xs[0].ndim:
        raise ValueError(f"concatenate: dimension {dimension} for operands of shapes {shapes}; the "
                         "operands need one rank and dimension must be one of its axes")
    rest = {x.shape[:dimension] + x.shape[dimension + 1:] for x in xs}
    if len(rest) > 1:
        raise ValueError(f"concatenate along axis {dimension}: shapes {shapes} differ in another axis; "
                         "broadcast or reshape them first")
    shape = list(xs[0].shape)
    shape[dimension] = sum(x.shape[dimension] for x in xs)
    return xs[0].update(shape=tuple(shape))


def _concatenate_transpose(ct, *xs, dimension):
    cts = []
    start = 0
    shape = aval_of(ct).shape
    for x in xs:
        size = aval_of(x).shape[dimension]
        if isinstance(x, Linear):
            lo = [0] * len(shape)
            hi = list(shape)
            lo[dimension], hi[dimension] = start, start + size
            cts.append(slice_(ct, lo, hi))
        else:
            cts.append(None)
        start += size
    return cts


def _concatenate_batch(args, dims, *, dimension):
    size = next(aval_of(x).shape[d] for x, d in zip(args, dims) if d is not not_mapped)
    xs = [_batch_first(x, d) if d is not not_mapped else broadcast_to(x, (size,) + aval_of(x).shape)
          for x, d in zip(args, dims)]
    return concatenate(xs, dimension + 1), 0


concatenate_p.shape_rule = _concatenate_shape_rule
concatenate_p.impl = lambda *xs, dimension: np.concatenate(xs, axis=dimension)
concatenate_p.batch = _concatenate_batch
deflinear(concatenate_p, _concatenate_transpose)


def concatenate(xs, dimension):
    xs = list(xs)
    ndim = aval_of(xs[0]).ndim if xs else 0
    return concatenate_p.bind(*xs, dimension=dimension + ndim if -ndim <= dimension < 0 else dimension)


# rev[dimensions]: reverse the order of elements along axes

rev_p = Primitive("rev", family="shape")


def _rev_shape_rule(x, *, dimensions):
    _check_axes("rev", dimensions, x.ndim, x.shape)
    return x


rev_p.shape_rule = _rev_shape_rule
rev_p.impl = lambda x, *, dimensions: np.flip(x, dimensions).copy()
rev_p.batch = lambda args, dims, *, dimensions: (
    rev(_batch_first(args[0], dims[0]), _shifted(dimensions)), 0)
deflinear(rev_p, lambda ct, x, *, dimensions: [rev(ct, dimensions)])


def rev(x, dimensions):
    return rev_p.bind(x, dimensions=_normalize(dimensions, aval_of(x).ndim))
