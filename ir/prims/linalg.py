"""dot_general: contractions over static axes, with batch axes (lax.dot_general).

``dimension_numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))``. The output's axes are the
batch axes, then the free axes of lhs, then the free axes of rhs, each in operand order.
"""

import numpy as np

from ..builder import aval_of, moveaxis, transpose
from ..primitive import Primitive, defbilinear, not_mapped

dot_general_p = Primitive("dot_general", family="linalg")


def _free(ndim, contract, batch):
    return tuple(i for i in range(ndim) if i not in contract and i not in batch)


def _dot_general_shape_rule(x, y, *, dimension_numbers):
    (xc, yc), (xb, yb) = dimension_numbers
    where = f"dot_general of shapes {x.shape} and {y.shape} with dimension_numbers {dimension_numbers}"
    if x.dtype != y.dtype:
        raise TypeError(f"dot_general requires operands of one dtype, got {x.dtype} and {y.dtype}; convert "
                        "one with .astype()")
    if x.dtype.kind not in "fiu":
        raise TypeError(f"dot_general requires numeric operands, got {x.dtype}; convert them with .astype()")
    for name, axes, ndim in (("lhs", xc + xb, x.ndim), ("rhs", yc + yb, y.ndim)):
        if len(set(axes)) != len(axes) or any(not 0 <= a < ndim for a in axes):
            raise ValueError(f"{where}: the {name} contracting and batch axes must be distinct axes of the "
                             f"operand, in [0, {ndim})")
    if len(xc) != len(yc) or len(xb) != len(yb):
        raise ValueError(f"{where}: lhs and rhs need as many contracting axes as each other, and as many "
                         "batch axes")
    for kind, xs, ys in (("contracting", xc, yc), ("batch", xb, yb)):
        for i, j in zip(xs, ys):
            if x.shape[i] != y.shape[j]:
                raise ValueError(f"{where}: {kind} axes {i} (size {x.shape[i]}) and {j} (size {y.shape[j]}) "
                                 "differ in size; transpose or reshape an operand so they match")
    shape = (tuple(x.shape[i] for i in xb) + tuple(x.shape[i] for i in _free(x.ndim, xc, xb))
             + tuple(y.shape[i] for i in _free(y.ndim, yc, yb)))
    return x.update(shape=shape)


def _dot_general_impl(x, y, *, dimension_numbers):
    (xc, yc), (xb, yb) = dimension_numbers
    # einsum labels: shared labels for contracting and batch pairs, fresh ones for the free axes
    x_labels = list(range(x.ndim))
    y_labels = list(range(x.ndim, x.ndim + y.ndim))
    for i, j in zip(xc + xb, yc + yb):
        y_labels[j] = x_labels[i]
    out = ([x_labels[i] for i in xb] + [x_labels[i] for i in _free(x.ndim, xc, xb)]
           + [y_labels[j] for j in _free(y.ndim, yc, yb)])
    return np.einsum(x, x_labels, y, y_labels, out, optimize=True).astype(x.dtype, copy=False)


def _ranges_like(*groups):
    """Consecutive runs of output axes, as long as each group: ((0, 1), (2,), (3, 4)) for lengths 2, 1, 2."""
    start = 0
    for g in groups:
        yield tuple(range(start, start + len(g)))
        start += len(g)


def _transpose_lhs(ct, x, y, *, dimension_numbers, swap_ans=False):
    """The cotangent of x: ct contracted with y over y's free axes, axes put back in x's order."""
    (xc, yc), (xb, yb) = dimension_numbers
    x_free = _free(aval_of(x).ndim, xc, xb)
    y_free = _free(aval_of(y).ndim, yc, yb)
    if swap_ans:  # x is the rhs of the original product: its free axes come last in ct
        ct_batch, ct_y, _ = _ranges_like(xb, y_free, x_free)
    else:
        ct_batch, _, ct_y = _ranges_like(xb, x_free, y_free)
    # the result's axes: batch, x's free axes, then x's contracting axes ordered like y's
    x_contract_in_y_order = tuple(xc[i] for i in np.argsort(yc))
    result_axes = tuple(xb) + x_free + x_contract_in_y_order
    out = dot_general(ct, y, ((ct_y, y_free), (ct_batch, tuple(yb))))
    return transpose(out, tuple(int(i) for i in np.argsort(result_axes)))


def _transpose_rhs(ct, x, y, *, dimension_numbers):
    (xc, yc), (xb, yb) = dimension_numbers
    return _transpose_lhs(ct, y, x, dimension_numbers=((yc, xc), (yb, xb)), swap_ans=True)


def _dot_general_batch(args, dims, *, dimension_numbers):
    (x, y), (dx, dy) = args, dims
    (xc, yc), (xb, yb) = dimension_numbers
    up = lambda axes: tuple(a + 1 for a in axes)  # noqa: E731  (axes of an operand batched at 0)
    if dx is not not_mapped and dy is not not_mapped:  # one more batch axis, first in the output
        x, y = moveaxis(x, dx, 0), moveaxis(y, dy, 0)
        return dot_general(x, y, ((up(xc), up(yc)), ((0,) + up(xb), (0,) + up(yb)))), 0
    if dy is not_mapped:  # the batch axis is lhs's first free axis: after the batch axes of the output
        x = moveaxis(x, dx, 0)
        return dot_general(x, y, ((up(xc), yc), (up(xb), yb))), len(xb)
    # the batch axis is rhs's first free axis: after the batch and lhs free axes of the output
    y = moveaxis(y, dy, 0)
    n_free_x = aval_of(x).ndim - len(xc) - len(xb)
    return dot_general(x, y, ((xc, up(yc)), (xb, up(yb)))), len(xb) + n_free_x


dot_general_p.shape_rule = _dot_general_shape_rule
dot_general_p.impl = _dot_general_impl
dot_general_p.batch = _dot_general_batch
defbilinear(dot_general_p, _transpose_lhs, _transpose_rhs)


def dot_general(x, y, dimension_numbers):
    (xc, yc), (xb, yb) = dimension_numbers
    dimension_numbers = ((tuple(int(i) for i in xc), tuple(int(i) for i in yc)),
                         (tuple(int(i) for i in xb), tuple(int(i) for i in yb)))
    return dot_general_p.bind(x, y, dimension_numbers=dimension_numbers)
