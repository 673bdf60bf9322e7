"""Primitives of their own kind: iota (no operands) and stop_gradient (the identity, cut from derivatives)."""

import numpy as np

from .. import dtypes
from ..core import AVal
from ..primitive import Primitive, defvectorized, defzero_jvp, not_mapped


# iota[dtype, shape, dimension]: 0, 1, 2, ... along one axis, constant along the others

iota_p = Primitive("iota", family="misc")


def _iota_shape_rule(*, dtype, shape, dimension):
    if dtype.kind not in "fiu":
        raise TypeError(f"iota: dtype must be numeric, got {dtype}; use np.int32, np.int64 or a float dtype")
    if any(s < 0 for s in shape) or not 0 <= dimension < len(shape):
        raise ValueError(f"iota: dimension {dimension} for shape {shape}; the shape needs sizes >= 0 and "
                         f"dimension must be one of its axes, in [0, {len(shape)})")
    return AVal(shape, dtype)


def _iota_impl(*, dtype, shape, dimension):
    along = np.arange(shape[dimension], dtype=dtype)
    return np.broadcast_to(along.reshape([-1 if i == dimension else 1 for i in range(len(shape))]),
                           shape).copy()


iota_p.shape_rule = _iota_shape_rule
iota_p.impl = _iota_impl
iota_p.batch = lambda args, dims, **params: (iota_p.bind(**params), not_mapped)  # no operand to batch
defzero_jvp(iota_p)


def iota(dtype, shape, dimension):
    return iota_p.bind(dtype=dtypes.canonical(dtype), shape=tuple(int(s) for s in shape),
                       dimension=int(dimension))


# stop_gradient: the value passes, the derivative does not

stop_gradient_p = Primitive("stop_gradient", family="misc")
stop_gradient_p.shape_rule = lambda x: x
stop_gradient_p.impl = lambda x: x
defvectorized(stop_gradient_p)
defzero_jvp(stop_gradient_p)


def stop_gradient(x):
    return stop_gradient_p.bind(x)
