"""Rows of the simplification table for broadcasts, unit axes and matrix products.

A Jacobian graph is full of broadcasts (a vector times each row of the basis) and of the unit axes of
matrix-vector products written as matrix products. The rows here compute on what varies:

- a broadcast is computed on its operand: ``f(bcast(x), bcast(y)) → bcast(f(x, y))``,
  ``sum(bcast(x)) → n * x``;
- a transpose or reshape that only moves axes of size one is a reshape, a transpose of a unit-axis reshape
  moves the operand's own axes, and a matrix product drops its unit axes and merges adjacent free axes, so
  what is left is a plain matrix product (the backend calls BLAS for it); ``(x · y)ᵀ`` is ``y · x``.

The identity basis and its masks are in ``simplify_masks.py``. Every row returns a replacement or None and
states its identity in a comment; rows build new equations with ``rebind``, so what a row builds is
simplified by the table in turn.
"""

import numpy as np

from .builder import Tracer, aval_of, full
from .primitive import PRIMITIVES
from .simplify import current_row_prim, fill_value, operand, producer, rebind, row

ELEMENTWISE_FAMILIES = ("unary", "binary")
MAX_DEPTH = 6  # how deep a view or a substitution descends into the generators of a value


# --------------------------------------------------------------------------------------------------
# What a value is made of


def _made(x, *names):
    """The equation that made x, if its primitive is one of names."""
    eqn = producer(x)
    return eqn if eqn is not None and eqn.prim.name in names else None


def _is_scalar(x):
    return not isinstance(x, Tracer) and np.ndim(x) == 0


def _fill(x):
    """The scalar x is filled with (a broadcast literal, or a constant folded from one), else None."""
    return None if _is_scalar(x) else fill_value(x)


def _elementwise(eqn):
    return eqn is not None and eqn.prim.family in ELEMENTWISE_FAMILIES and not eqn.prim.multiple_results


def _free(x, depth=0):
    """Whether x costs nothing to re-lay out: a scalar, a fill, an iota, a broadcast (of anything: its
    operand is smaller than it), or elementwise arithmetic of such values."""
    if _is_scalar(x) or _fill(x) is not None:
        return True
    eqn = producer(x)
    if eqn is None:
        return False
    if eqn.prim.name in ("iota", "broadcast_in_dim"):
        return True
    if _elementwise(eqn) and depth < MAX_DEPTH:
        return all(_free(operand(eqn, i), depth + 1) for i in range(len(eqn.inputs)))
    return False


def _same_var(x, y):
    return isinstance(x, Tracer) and isinstance(y, Tracer) and x._var is y._var


def _bcast_parts(x):
    """(operand, dims) when x is a broadcast, (scalar, ()) for a scalar or a fill, else None."""
    if _is_scalar(x):
        return x, ()
    fill = _fill(x)
    if fill is not None:
        return fill, ()
    eqn = _made(x, "broadcast_in_dim")
    if eqn is None:
        return None
    return operand(eqn, 0), eqn.params["broadcast_dimensions"]


# --------------------------------------------------------------------------------------------------
# Views: transpose, unit-axis reshapes and broadcasts, as maps from input axes to output axes


def unit_axis_map(in_shape, out_shape):
    """For a reshape that only inserts or removes axes of size one: the output axis of each input axis of
    size > 1 (None for the unit ones). None when the reshape moves data."""
    big_in = [i for i, n in enumerate(in_shape) if n != 1]
    big_out = [j for j, n in enumerate(out_shape) if n != 1]
    if [in_shape[i] for i in big_in] != [out_shape[j] for j in big_out]:
        return None
    phi = [None] * len(in_shape)
    for i, j in zip(big_in, big_out, strict=True):
        phi[i] = j
    return phi


class View:
    """A view of an array of in_shape as out_shape: input axis i is output axis phi[i] (None: a unit
    axis that goes away); output axes nobody maps to are new (broadcast or unit)."""

    def __init__(self, prim, params, in_shape, out_shape, phi):
        self.prim, self.params = prim, params
        self.in_shape, self.out_shape, self.phi = tuple(in_shape), tuple(out_shape), phi

    @classmethod
    def of(cls, name, params, in_shape):
        if name == "transpose":
            perm = params["permutation"]
            phi = [perm.index(i) for i in range(len(perm))]
            return cls(name, params, in_shape, tuple(in_shape[p] for p in perm), phi)
        if name == "reshape":
            phi = unit_axis_map(in_shape, params["shape"])
            return None if phi is None else cls(name, params, in_shape, params["shape"], phi)
        if name == "broadcast_in_dim":
            shape, dims = params["shape"], params["broadcast_dimensions"]
            phi = [d if n == shape[d] else None for n, d in zip(in_shape, dims, strict=True)]
            return cls(name, params, in_shape, shape, phi)
        return None

    def apply(self, x):
        """The view of x (an array of in_shape, or a scalar), built through the table."""
        if _is_scalar(x):
            return x
        return rebind(self.prim, x, **self.params)


def _broadcast_through(y, dims, view):
    """view(bcast(y, dims)) as a broadcast of y (unit axes of y squeezed, y transposed if the view
    reorders its axes)."""
    ya = aval_of(y)
    keep, targets = [], []
    for i, d in enumerate(dims):
        t = view.phi[d]
        if t is None:
            if ya.shape[i] != 1:
                return None
        else:
            keep.append(i)
            targets.append(t)
    if len(keep) != ya.ndim:
        y = rebind("reshape", y, shape=tuple(ya.shape[i] for i in keep))
    order = sorted(range(len(targets)), key=lambda j: targets[j])
    if order != list(range(len(targets))):
        y = rebind("transpose", y, permutation=tuple(order))
    return rebind("broadcast_in_dim", y, shape=view.out_shape, broadcast_dimensions=tuple(sorted(targets)))


def _take_range(y, axis, start, size):
    """Elements start .. start + size of y along axis (y itself when that is all of it)."""
    shape = aval_of(y).shape
    if start == 0 and size == shape[axis]:
        return y
    lo = [0] * len(shape)
    hi = list(shape)
    lo[axis], hi[axis] = start, start + size
    return rebind("slice", y, start_indices=tuple(lo), limit_indices=tuple(hi), strides=(1,) * len(shape))


def _broadcast_to_axes(y, targets, shape):
    """y broadcast to shape, axis i of y becoming axis targets[i] (y transposed first if they are not
    in order)."""
    if _is_scalar(y):
        return full(shape, y, aval_of(y).dtype) if shape else y
    order = sorted(range(len(targets)), key=lambda j: targets[j])
    if order != list(range(len(targets))):
        y = rebind("transpose", y, permutation=tuple(order))
    return rebind("broadcast_in_dim", y, shape=tuple(shape), broadcast_dimensions=tuple(sorted(targets)))


@row("transpose")
def transpose_of_unit_axes(ins, permutation):  # T(x) → reshape(x) when T moves only axes of size one
    (x,) = ins
    shape = aval_of(x).shape
    big = [p for p in permutation if shape[p] != 1]
    if big != sorted(big):
        return None
    return [rebind("reshape", x, shape=tuple(shape[p] for p in permutation))]


@row("transpose")
def transpose_of_unit_reshape(ins, permutation):  # T(reshape(x)) → reshape(T'(x)) when the reshape only
    # inserts or removes axes of size one: the transpose moves x's own axes, the unit axes follow
    eqn = _made(ins[0], "reshape")
    if eqn is None:
        return None
    x = operand(eqn, 0)
    xa, mid = aval_of(x), aval_of(ins[0])
    phi = unit_axis_map(xa.shape, mid.shape)
    if phi is None:
        return None
    big = [i for i in range(xa.ndim) if phi[i] is not None]
    where = {phi[i]: i for i in big}  # axis of the reshaped value -> axis of x
    order = [where[p] for p in permutation if p in where]  # x's big axes in their transposed order
    if order == big:
        return None  # only unit axes move: transpose_of_unit_axes makes it a reshape
    perm = order + [i for i in range(xa.ndim) if phi[i] is None]
    moved = rebind("transpose", x, permutation=tuple(perm))
    out_shape = tuple(mid.shape[p] for p in permutation)
    return [rebind("reshape", moved, shape=out_shape)]


@row("broadcast_in_dim")
def broadcast_to_itself(ins, shape, broadcast_dimensions):  # bcast(x) to x's own shape → x
    (x,) = ins
    if aval_of(x).shape == tuple(shape) and broadcast_dimensions == tuple(range(len(shape))):
        return [x]
    return None


# --------------------------------------------------------------------------------------------------
# Arithmetic and sums of broadcasts


@row(family=ELEMENTWISE_FAMILIES)
def elementwise_of_broadcasts(ins, **params):  # f(bcast(x), bcast(y)) → bcast(f(x, y)): computed on the
    # axes the operands vary along, then broadcast
    parts = [_bcast_parts(x) for x in ins]
    if any(p is None for p in parts) or all(not dims for _, dims in parts):
        return None  # all scalars or fills: elementwise_of_fills
    out = PRIMITIVES[current_row_prim[0]].shape_rule(*[aval_of(i) for i in ins], **params)
    axes = sorted({d for _, dims in parts for d in dims})
    if len(axes) == len(out.shape):
        return None  # the operands vary along every axis between them: nothing to save
    sub_shape = tuple(out.shape[d] for d in axes)
    new = []
    for (y, dims), x in zip(parts, ins, strict=True):
        if not dims:
            new.append(y)
            continue
        ya = aval_of(y)
        if any(ya.shape[i] != out.shape[d] for i, d in enumerate(dims)):
            return None  # a size-1 axis stretching: leave it to the backend
        new.append(rebind("broadcast_in_dim", y, shape=sub_shape,
                          broadcast_dimensions=tuple(axes.index(d) for d in dims)))
    inner = rebind(current_row_prim[0], *new, **params)
    return [rebind("broadcast_in_dim", inner, shape=out.shape, broadcast_dimensions=tuple(axes))]


@row("reduce_sum")
def sum_of_broadcast(ins, axes):  # Σ over broadcast axes of bcast(x) → n · x; over x's axes → bcast(Σ x)
    parts = _bcast_parts(ins[0])
    if parts is None or _is_scalar(ins[0]):
        return None
    y, dims = parts
    xa = aval_of(ins[0])
    if _fill(ins[0]) is not None:
        y, dims = np.asarray(y, xa.dtype), ()
    ya = aval_of(y)
    stretched = {d for i, d in enumerate(dims) if ya.shape[i] != xa.shape[d]}  # size 1, repeated
    count = int(np.prod([xa.shape[d] for d in axes if d not in dims or d in stretched], dtype=np.int64))
    own = tuple(i for i, d in enumerate(dims) if d in axes)
    if own:
        y = rebind("reduce_sum", y, axes=own)
    if count != 1:
        y = rebind("mul", y, np.asarray(count, xa.dtype))
    kept = [d for d in range(xa.ndim) if d not in axes]
    shape = tuple(xa.shape[d] for d in kept)
    targets = [kept.index(d) for d in dims if d not in axes]
    if _is_scalar(y):
        return [full(shape, y, xa.dtype) if shape else y]
    return [rebind("broadcast_in_dim", y, shape=shape, broadcast_dimensions=tuple(targets))]


@row("mul")
def times_minus_one(ins):  # x * -1 → -x, -1 * x → -x (exactly the same value, NaN and inf included)
    out = PRIMITIVES["mul"].shape_rule(*[aval_of(i) for i in ins])
    if out.dtype.kind != "f":
        return None
    for a, b in ((ins[0], ins[1]), (ins[1], ins[0])):
        if _is_scalar(b) and np.asarray(b) == -1 and aval_of(a).shape == out.shape:
            return [rebind("neg", a)]
    return None


# --------------------------------------------------------------------------------------------------
# Scaled values: y * bcast(c), the factors gathered on the small shape


def _scaled(x, shape):
    """(y, c, dims) when x is ``y * bcast(c)`` (either order): y (a value or a constant) varies along every
    axis of shape, c along the axes dims only; else None."""
    eqn = _made(x, "mul")
    if eqn is None or aval_of(x).shape != tuple(shape):
        return None
    for n in (0, 1):
        y, factor = operand(eqn, n), _full_broadcast(operand(eqn, 1 - n), shape)
        if factor is not None and aval_of(y).shape == tuple(shape) and _bcast_parts(y) is None:
            return (y, *factor)
    return None


def _rescaled(y, c, dims, shape):
    return [rebind("mul", y, rebind("broadcast_in_dim", c, shape=tuple(shape), broadcast_dimensions=dims))]


def _same_factor_axes(c, dims, other, shape):
    """The operand of ``other`` when it is a broadcast along exactly dims (as c is), else None."""
    factor = _full_broadcast(other, shape)
    if factor is None or factor[1] != dims or aval_of(factor[0]).shape != aval_of(c).shape:
        return None
    return factor[0]


@row("mul", "div")
def scaled_times_broadcast(ins):  # (y · bcast(a)) · bcast(b) → y · bcast(a · b); / bcast(b) → y · bcast(a / b):
    # the factors meet on the shape of a and b, and the large shape is multiplied once (the Hessian of a
    # loss through a linear layer is a chain of these, 12 operations on every element before)
    name = current_row_prim[0]
    shape = PRIMITIVES[name].shape_rule(*[aval_of(x) for x in ins]).shape
    for n in (0, 1) if name == "mul" else (0,):
        scaled = _scaled(ins[n], shape)
        if scaled is None:
            continue
        y, a, dims = scaled
        b = _same_factor_axes(a, dims, ins[1 - n], shape)
        if b is not None:
            return _rescaled(y, rebind(name, a, b), dims, shape)
    return None


@row("neg")
def neg_of_scaled(ins):  # -(y · bcast(a)) → y · bcast(-a)
    scaled = _scaled(ins[0], aval_of(ins[0]).shape)
    if scaled is None:
        return None
    y, a, dims = scaled
    return _rescaled(y, rebind("neg", a), dims, aval_of(ins[0]).shape)


@row("add", "sub")
def sum_of_scaled(ins):  # y · bcast(a) ± y · bcast(b) → y · bcast(a ± b)
    if not all(isinstance(x, Tracer) for x in ins) or aval_of(ins[0]).shape != aval_of(ins[1]).shape:
        return None
    shape = aval_of(ins[0]).shape
    left, right = _scaled(ins[0], shape), _scaled(ins[1], shape)
    same = left is not None and right is not None and (left[0] is right[0] or _same_var(left[0], right[0]))
    if not same or left[2] != right[2] \
            or aval_of(left[1]).shape != aval_of(right[1]).shape:
        return None
    return _rescaled(left[0], rebind(current_row_prim[0], left[1], right[1]), left[2], shape)


# --------------------------------------------------------------------------------------------------
# Matrix products


def _dot_axes(dimension_numbers, lhs_ndim, rhs_ndim):
    (lc, rc), (lb, rb) = dimension_numbers
    lf = [i for i in range(lhs_ndim) if i not in lc and i not in lb]
    rf = [i for i in range(rhs_ndim) if i not in rc and i not in rb]
    return lc, rc, lb, rb, lf, rf


@row("dot_general")
def dot_without_unit_axes(ins, dimension_numbers):  # dot(x, y) with free axes of size 1 → reshape(dot of
    # x and y without them): the same sums, and a plain matrix product when that is what is left
    lhs, rhs = ins
    la, ra = aval_of(lhs), aval_of(rhs)
    lc, rc, lb, rb, lf, rf = _dot_axes(dimension_numbers, la.ndim, ra.ndim)
    l_unit = [i for i in lf if la.shape[i] == 1]
    r_unit = [i for i in rf if ra.shape[i] == 1]
    if not l_unit and not r_unit:
        return None
    out = PRIMITIVES["dot_general"].shape_rule(la, ra, dimension_numbers=dimension_numbers)

    def squeeze(x, shape, unit):
        keep = [i for i in range(len(shape)) if i not in unit]
        renumber = {i: n for n, i in enumerate(keep)}
        return rebind("reshape", x, shape=tuple(shape[i] for i in keep)), renumber

    lhs, lmap = squeeze(lhs, la.shape, l_unit)
    rhs, rmap = squeeze(rhs, ra.shape, r_unit)
    numbers = ((tuple(lmap[i] for i in lc), tuple(rmap[i] for i in rc)),
               (tuple(lmap[i] for i in lb), tuple(rmap[i] for i in rb)))
    inner = rebind("dot_general", lhs, rhs, dimension_numbers=numbers)
    return [rebind("reshape", inner, shape=out.shape)]


def _placed(x, positions, shape):
    """x broadcast into shape with its axis a at position positions[a] (in any order)."""
    order = sorted(range(len(positions)), key=positions.__getitem__)
    if order != list(range(len(positions))):
        x = rebind("transpose", x, permutation=tuple(order))
    return rebind("broadcast_in_dim", x, shape=tuple(shape),
                  broadcast_dimensions=tuple(positions[a] for a in order))


def _full_broadcast(x, shape):
    """(operand, dims) when x is a broadcast that only adds axes (none of size one stretched), else None."""
    parts = _bcast_parts(x)
    if parts is None or _is_scalar(parts[0]) or not isinstance(parts[1], tuple) or not parts[1]:
        return None
    src, dims = parts
    if any(aval_of(src).shape[a] != shape[d] for a, d in enumerate(dims)):
        return None
    return src, dims


@row("dot_general")
def dot_of_scaled_rows(ins, dimension_numbers):  # Σ_c (w[i,c] s[b,c]) y[c,k] → Σ_c s[b,c] (w[i,c] y[c,k]):
    # a product whose lhs is an outer product of a weight w (no batch axes) and a batch s (no axes of w)
    # multiplies the weight into y first, so the batch-sized lhs is never made. Same multiply-adds, but the
    # array in memory is w·y (i × c × k) instead of w·s (b × i × c): the Jacobians of a layer under vmap.
    lhs, rhs = ins
    la, ra = aval_of(lhs), aval_of(rhs)
    lc, rc, lb, rb, lf, rf = _dot_axes(dimension_numbers, la.ndim, ra.ndim)
    eqn = _made(lhs, "mul")
    if eqn is None or lb:
        return None
    factors = [_full_broadcast(operand(eqn, n), la.shape) for n in (0, 1)]
    if None in factors:
        return None
    for (w, w_dims), (b, b_dims) in (factors, factors[::-1]):
        batch = [d for d in lf if d in b_dims and d not in w_dims]
        rows = [d for d in lf if d in w_dims and d not in b_dims]
        if (sorted(batch + rows) != sorted(lf) or not all(c in w_dims and c in b_dims for c in lc)
                or not batch or not rows):
            continue
        size = lambda axes, shape: int(np.prod([shape[a] for a in axes]))  # noqa: E731
        if size(rf, ra.shape) >= size(batch, la.shape):
            continue  # w·y would be as large as w·s: nothing saved
        # wy has axes (contracted, rows, rhs free)
        position = {c: n for n, c in enumerate(lc)}
        position.update({r: len(lc) + n for n, r in enumerate(rows)})
        wy_shape = ([la.shape[c] for c in lc] + [la.shape[r] for r in rows] + [ra.shape[f] for f in rf])
        rhs_position = [lc.index(lc[rc.index(a)]) if a in rc else len(lc) + len(rows) + rf.index(a)
                        for a in range(ra.ndim)]
        wy = rebind("mul", _placed(w, [position[d] for d in w_dims], wy_shape),
                    _placed(rhs, rhs_position, wy_shape))
        b_contract = tuple(n for n, d in enumerate(b_dims) if d in lc)
        out = rebind("dot_general", b, wy, dimension_numbers=(
            (b_contract, tuple(position[b_dims[n]] for n in b_contract)), ((), ())))
        # out has axes (batch in b's order, rows, rhs free); the product's are (lhs free, rhs free)
        have = [d for d in b_dims if d in batch] + rows
        perm = tuple(have.index(d) for d in lf) + tuple(range(len(lf), len(lf) + len(rf)))
        if perm != tuple(range(len(perm))):
            out = rebind("transpose", out, permutation=perm)
        return [out]
    return None


@row("dot_general")
def dot_of_merged_axes(ins, dimension_numbers):  # dot(x, y) with adjacent free axes of x (or y) in order
    # → the same dot with them merged into one (a reshape, no data moved): a plain matrix product
    lhs, rhs = ins
    la, ra = aval_of(lhs), aval_of(rhs)
    lc, rc, lb, rb, lf, rf = _dot_axes(dimension_numbers, la.ndim, ra.ndim)
    lrun, rrun = _free_run(lf), _free_run(rf)
    if lrun is None and rrun is None:
        return None
    out = PRIMITIVES["dot_general"].shape_rule(la, ra, dimension_numbers=dimension_numbers)

    def merge(x, shape, run):
        if run is None:
            return x, {i: i for i in range(len(shape))}
        first, last = run
        new_shape = shape[:first] + (int(np.prod(shape[first:last + 1])),) + shape[last + 1:]
        renumber = {i: i if i <= first else i - (last - first) for i in range(len(shape))
                    if not first < i <= last}
        return rebind("reshape", x, shape=new_shape), renumber

    lhs, lmap = merge(lhs, la.shape, lrun)
    rhs, rmap = merge(rhs, ra.shape, rrun)
    numbers = ((tuple(lmap[i] for i in lc), tuple(rmap[i] for i in rc)),
               (tuple(lmap[i] for i in lb), tuple(rmap[i] for i in rb)))
    return [rebind("reshape", rebind("dot_general", lhs, rhs, dimension_numbers=numbers), shape=out.shape)]


def _free_run(free):
    """(first, last) of the first run of two or more adjacent free axes, else None."""
    for n in range(len(free) - 1):
        if free[n + 1] == free[n] + 1:
            last = n + 1
            while last + 1 < len(free) and free[last + 1] == free[last] + 1:
                last += 1
            return free[n], free[last]
    return None


@row("transpose")
def transpose_of_dot(ins, permutation):  # (x · y)ᵀ → y · x: the operands swapped, no transpose
    eqn = _made(ins[0], "dot_general")
    if eqn is None:
        return None
    x, y = operand(eqn, 0), operand(eqn, 1)
    xa, ya = aval_of(x), aval_of(y)
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    nb, nxf = len(lb), xa.ndim - len(lc) - len(lb)
    nyf = ya.ndim - len(rc) - len(rb)
    swapped = tuple(range(nb)) + tuple(range(nb + nxf, nb + nxf + nyf)) + tuple(range(nb, nb + nxf))
    if tuple(permutation) != swapped:
        return None
    return [rebind("dot_general", y, x, dimension_numbers=((rc, lc), (rb, lb)))]
