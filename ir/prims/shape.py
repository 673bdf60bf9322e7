"""Shape primitives: broadcast_in_dim, reshape, transpose. All linear; batching moves the batch axis to 0."""

import numpy as np

from ..builder import aval_of, moveaxis, reduce_sum, reshape, transpose
from ..primitive import Primitive, deflinear


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
