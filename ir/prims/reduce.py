"""Reductions over static axes."""

import numpy as np

from ..builder import aval_of, moveaxis
from ..primitive import Primitive, deflinear
from .shape import broadcast_in_dim


def _reduce_shape_rule(name):
    def rule(x, *, axes):
        if any(not 0 <= a < x.ndim for a in axes) or list(axes) != sorted(set(axes)):
            raise ValueError(f"{name}: axes {axes} must be sorted, distinct axes of an array of shape {x.shape}")
        return x.update(shape=tuple(s for i, s in enumerate(x.shape) if i not in axes))
    return rule


def _reduce_batch(prim):
    def batch(args, dims, *, axes, **params):
        x = moveaxis(args[0], dims[0], 0)
        return prim.bind(x, axes=tuple(a + 1 for a in axes), **params), 0
    return batch


def _kept(ndim, axes):
    return tuple(i for i in range(ndim) if i not in axes)


reduce_sum_p = Primitive("reduce_sum", family="reduce")
reduce_sum_p.shape_rule = _reduce_shape_rule("reduce_sum")
reduce_sum_p.impl = lambda x, *, axes: np.sum(x, axis=axes, dtype=x.dtype)
reduce_sum_p.batch = _reduce_batch(reduce_sum_p)
deflinear(reduce_sum_p, lambda ct, x, *, axes: [
    broadcast_in_dim(ct, x.aval.shape, _kept(x.aval.ndim, axes))])


def reduce_sum(x, axes):
    return reduce_sum_p.bind(x, axes=tuple(axes))


__all__ = ["reduce_sum", "aval_of"]
