"""Reductions over static axes (sum, max, min, prod), argmax / argmin, and cumsum."""

import numpy as np

from .. import dtypes
from ..builder import aval_of, convert, moveaxis, reshape, transpose
from ..primitive import NONLINEAR, Primitive, Zero, deflinear, defzero_jvp, is_zero
from .shape import broadcast_in_dim, pad, rev


def _reduce_shape_rule(name, kinds="fiub"):
    def rule(x, *, axes):
        if x.dtype.kind not in kinds:
            raise TypeError(f"{name} does not accept an operand of dtype {x.dtype}; "
                            "convert it with .astype()")
        if any(not 0 <= a < x.ndim for a in axes) or list(axes) != sorted(set(axes)):
            raise ValueError(f"{name}: axes {axes} must be sorted, distinct axes of an array of shape "
                             f"{x.shape}")
        return x.update(shape=tuple(s for i, s in enumerate(x.shape) if i not in axes))
    return rule


def _reduce_batch(prim):
    def batch(args, dims, *, axes, **params):
        x = moveaxis(args[0], dims[0], 0)
        return prim.bind(x, axes=tuple(a + 1 for a in axes), **params), 0
    return batch


def _kept(ndim, axes):
    return tuple(i for i in range(ndim) if i not in axes)


def _normalize(axes, ndim):
    """Negative axes wrapped and sorted; out-of-range axes are left for the shape rule to report."""
    return tuple(sorted(a + ndim if -ndim <= a < 0 else a for a in axes))


reduce_sum_p = Primitive("reduce_sum", family="reduce")
reduce_sum_p.shape_rule = _reduce_shape_rule("reduce_sum", kinds="fiu")  # a bool sum would be an "or"
reduce_sum_p.impl = lambda x, *, axes: np.sum(x, axis=axes, dtype=x.dtype)
reduce_sum_p.batch = _reduce_batch(reduce_sum_p)
deflinear(reduce_sum_p, lambda ct, x, *, axes: [
    broadcast_in_dim(ct, x.aval.shape, _kept(x.aval.ndim, axes))])


def reduce_sum(x, axes):
    return reduce_sum_p.bind(x, axes=tuple(axes))


# reduce_max[axes], reduce_min[axes]: NaN propagates; an empty reduction gives the identity (-inf, +inf)

def _lowest(dtype):
    return -np.inf if dtypes.is_float(dtype) else np.iinfo(dtype).min if dtypes.is_int(dtype) else False


def _highest(dtype):
    return np.inf if dtypes.is_float(dtype) else np.iinfo(dtype).max if dtypes.is_int(dtype) else True


def _chooser_jvp(prim):
    """The tangent at the position of the extremum; the mean of the tangents where it is tied."""
    def jvp(primals, tangents, *, axes):
        (x,), (t,) = primals, tangents
        aval = aval_of(x)
        out = prim.bind(x, axes=axes)
        if is_zero(t) or not dtypes.is_float(aval.dtype) or 0 in (aval.shape[a] for a in axes):
            return out, Zero(aval_of(out))
        at_extremum = convert(x == broadcast_in_dim(out, aval.shape, _kept(aval.ndim, axes)), aval.dtype)
        return out, reduce_sum(t * at_extremum, axes) / reduce_sum(at_extremum, axes)
    return jvp


reduce_max_p = Primitive("reduce_max", family="reduce")
reduce_max_p.shape_rule = _reduce_shape_rule("reduce_max")
reduce_max_p.impl = lambda x, *, axes: np.max(x, axis=axes, initial=_lowest(x.dtype))
reduce_max_p.jvp = _chooser_jvp(reduce_max_p)
reduce_max_p.transpose = NONLINEAR
reduce_max_p.batch = _reduce_batch(reduce_max_p)

reduce_min_p = Primitive("reduce_min", family="reduce")
reduce_min_p.shape_rule = _reduce_shape_rule("reduce_min")
reduce_min_p.impl = lambda x, *, axes: np.min(x, axis=axes, initial=_highest(x.dtype))
reduce_min_p.jvp = _chooser_jvp(reduce_min_p)
reduce_min_p.transpose = NONLINEAR
reduce_min_p.batch = _reduce_batch(reduce_min_p)


def reduce_max(x, axes):
    return reduce_max_p.bind(x, axes=_normalize(axes, aval_of(x).ndim))


def reduce_min(x, axes):
    return reduce_min_p.bind(x, axes=_normalize(axes, aval_of(x).ndim))


# reduce_prod[axes]: d(prod x) = sum_i t_i * prod_{j != i} x_j, exact when entries are zero

reduce_prod_p = Primitive("reduce_prod", family="reduce")
reduce_prod_p.shape_rule = _reduce_shape_rule("reduce_prod", kinds="fiu")
reduce_prod_p.impl = lambda x, *, axes: np.prod(x, axis=axes, dtype=x.dtype)
reduce_prod_p.transpose = NONLINEAR
reduce_prod_p.batch = _reduce_batch(reduce_prod_p)


def _shift(x, k, fill):
    """x moved k places along axis 0, fill entering at the front: out[i] = x[i - k]."""
    rest = ((0, 0, 0),) * (aval_of(x).ndim - 1)
    return pad(x, fill, ((k, -k, 0),) + rest)


def _exclusive_cumprod(x):
    """out[i] = x[0] * ... * x[i-1] along axis 0 (out[0] = 1), by doubling: log2(n) shifted products."""
    one = np.ones((), aval_of(x).dtype)
    n = aval_of(x).shape[0]
    out = _shift(x, 1, one)  # the product of a window of 1 element ending at i - 1
    window = 1
    while window < n - 1:
        out = out * _shift(out, window, one)  # windows of `window` elements, doubled
        window *= 2
    return out


def _reduce_prod_jvp(primals, tangents, *, axes):
    (x,), (t,) = primals, tangents
    aval = aval_of(x)
    out = reduce_prod(x, axes)
    if is_zero(t) or not dtypes.is_float(aval.dtype):
        return out, Zero(aval_of(out))
    # reduced axes first, flattened to one: xs[i] is the i-th factor of every product
    kept = _kept(aval.ndim, axes)
    n = int(np.prod([aval.shape[a] for a in axes], dtype=np.int64))
    flat = (n,) + tuple(aval.shape[k] for k in kept)
    xs = reshape(transpose(x, axes + kept), flat)
    ts = reshape(transpose(t, axes + kept), flat)
    others = _exclusive_cumprod(xs) * rev(_exclusive_cumprod(rev(xs, (0,))), (0,))
    return out, reduce_sum(ts * others, (0,))


reduce_prod_p.jvp = _reduce_prod_jvp


def reduce_prod(x, axes):
    return reduce_prod_p.bind(x, axes=_normalize(axes, aval_of(x).ndim))


# argmax[axis, index_dtype], argmin[axis, index_dtype]: NumPy's rule, the first occurrence wins and
# NaN counts as the extremum (so the first NaN is the answer of both)

def _arg_shape_rule(name):
    def rule(x, *, axis, index_dtype):
        if not dtypes.is_int(index_dtype):
            raise TypeError(f"{name}: index_dtype must be an integer dtype, got {index_dtype}; "
                            "use np.int32 or np.int64")
        if not 0 <= axis < x.ndim:
            raise ValueError(f"{name}: axis {axis} is not an axis of an array of shape {x.shape}")
        if x.shape[axis] == 0:
            raise ValueError(f"{name} of an empty axis: axis {axis} of shape {x.shape} has size 0; "
                             "there is no position to return (reduce a non-empty axis)")
        return x.update(shape=tuple(s for i, s in enumerate(x.shape) if i != axis), dtype=index_dtype)
    return rule


def _arg_batch(prim):
    def batch(args, dims, *, axis, index_dtype):
        x = moveaxis(args[0], dims[0], 0)
        return prim.bind(x, axis=axis + 1, index_dtype=index_dtype), 0
    return batch


argmax_p = Primitive("argmax", family="reduce")
argmax_p.shape_rule = _arg_shape_rule("argmax")
argmax_p.impl = lambda x, *, axis, index_dtype: np.argmax(x, axis=axis).astype(index_dtype)
argmax_p.batch = _arg_batch(argmax_p)
defzero_jvp(argmax_p)

argmin_p = Primitive("argmin", family="reduce")
argmin_p.shape_rule = _arg_shape_rule("argmin")
argmin_p.impl = lambda x, *, axis, index_dtype: np.argmin(x, axis=axis).astype(index_dtype)
argmin_p.batch = _arg_batch(argmin_p)
defzero_jvp(argmin_p)


def argmax(x, axis, index_dtype):
    ndim = aval_of(x).ndim
    return argmax_p.bind(x, axis=axis + ndim if -ndim <= axis < 0 else axis,
                         index_dtype=dtypes.canonical(index_dtype))


def argmin(x, axis, index_dtype):
    ndim = aval_of(x).ndim
    return argmin_p.bind(x, axis=axis + ndim if -ndim <= axis < 0 else axis,
                         index_dtype=dtypes.canonical(index_dtype))


# cumsum[axis, reverse]: inclusive running sums; linear, and its transpose runs the other way

cumsum_p = Primitive("cumsum", family="reduce")


def _cumsum_shape_rule(x, *, axis, reverse):
    if x.dtype.kind not in "fiu":
        raise TypeError(f"cumsum requires a numeric operand, got {x.dtype}; convert it with .astype()")
    if not 0 <= axis < x.ndim:
        raise ValueError(f"cumsum: axis {axis} is not an axis of an array of shape {x.shape}")
    return x


def _cumsum_impl(x, *, axis, reverse):
    if reverse:
        return np.flip(np.cumsum(np.flip(x, axis), axis=axis, dtype=x.dtype), axis).copy()
    return np.cumsum(x, axis=axis, dtype=x.dtype)


cumsum_p.shape_rule = _cumsum_shape_rule
cumsum_p.impl = _cumsum_impl
cumsum_p.batch = lambda args, dims, *, axis, reverse: (
    cumsum(moveaxis(args[0], dims[0], 0), axis + 1, reverse), 0)
deflinear(cumsum_p, lambda ct, x, *, axis, reverse: [cumsum(ct, axis, not reverse)])


def cumsum(x, axis, reverse=False):
    ndim = aval_of(x).ndim
    return cumsum_p.bind(x, axis=axis + ndim if -ndim <= axis < 0 else axis, reverse=bool(reverse))


__all__ = ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "argmax", "argmin", "cumsum"]
