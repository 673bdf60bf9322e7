"""Rows of the simplification table for the identity basis: masks of iotas, and what reads them.

A Jacobian is a batched jvp over the rows of the identity (jacfwd) or a batched vjp over them (jacrev). The
basis is built from iotas, ``select(eq(iota0, iota1), 1, 0)``, and the rows here keep that structure
visible as it flows through the graph instead of letting it become dense arithmetic. A *masked* value
``M(P, X) = select(P, X, 0)``, where P compares two iotas (``i_a - i_b == k``: the diagonal, or a shifted
one for a chunk of rows), keeps its mask through elementwise arithmetic (``M(P, X) * Y → M(P, X * Y)``),
transposes, unit-axis reshapes and broadcasts, and its sums and contractions read X along the diagonal
(``dot(M(P, X), Y)`` is an elementwise product, no matrix product; ``Σ_j M(i == j, X)`` is X at j = i).

The zeros off a mask are structural: they stand for "nothing flows from input j to output i", like the
symbolic zeros of the jvp and transpose passes, so ``0 * y`` there is 0 even when y is inf or NaN (a
Jacobian's off-diagonal entries are exact zeros). Masks are recognised only on iota comparisons, which
user code does not write (``jnp.eye`` is a constant): a user's ``where(c, x, 0.0) * inf`` keeps NumPy's NaN.
"""

import numpy as np

from . import dtypes
from .builder import Tracer, aval_of, full
from .primitive import PRIMITIVES
from .simplify import _emit_once, current_row_prim, operand, producer, rebind, row, scalar_value
from .simplify_structure import (MAX_DEPTH, View, _bcast_parts, _broadcast_through, _broadcast_to_axes,
                                 _dot_axes, _elementwise, _fill, _free, _is_scalar, _made, _same_var,
                                 _take_range)


# --------------------------------------------------------------------------------------------------
# Masks


def _affine_iota(x):
    """(dimension, offset) when x is ``iota + c`` along one axis (c a static integer), else None."""
    eqn = producer(x)
    if eqn is None:
        return None
    if eqn.prim.name == "iota":
        return eqn.params["dimension"], 0
    if eqn.prim.name in ("add", "sub"):
        a, b = operand(eqn, 0), operand(eqn, 1)
        for it, c, sign in ((a, b, 1), (b, a, 1)) if eqn.prim.name == "add" else ((a, b, -1),):
            inner = _made(it, "iota")
            value = scalar_value(c) if not isinstance(c, Tracer) or _fill(c) is not None else None
            if inner is not None and value is not None and np.asarray(value).dtype.kind in "iu":
                return inner.params["dimension"], sign * int(value)
    return None


def mask_of(p):
    """(a, b, k) with a < b when p is the mask ``i_a - i_b == k`` (a comparison of two iotas), else None."""
    eqn = _made(p, "eq")
    if eqn is None:
        return None
    left, right = _affine_iota(operand(eqn, 0)), _affine_iota(operand(eqn, 1))
    if left is None or right is None or left[0] == right[0]:
        return None
    (da, ca), (db, cb) = left, right  # i_da + ca == i_db + cb  ⇔  i_da - i_db == cb - ca
    return (da, db, cb - ca) if da < db else (db, da, ca - cb)


def make_mask(shape, a, b, k):
    """The bool mask ``i_a - i_b == k`` of the given shape (a < b), in the form the bases are built in."""
    index = dtypes.int32 if max(shape) < 2 ** 31 - abs(k) else dtypes.int64
    ia = rebind("iota", dtype=index, shape=tuple(shape), dimension=a)
    ib = rebind("iota", dtype=index, shape=tuple(shape), dimension=b)
    if k > 0:
        ib = rebind("add", ib, np.asarray(k, index))
    elif k < 0:
        ia = rebind("add", ia, np.asarray(-k, index))
    return rebind("eq", ia, ib)


def _is_zero_value(x):
    v = fill_value(x) if not _is_scalar(x) else np.asarray(x)
    return v is not None and v == 0


def masked(x):
    """(P, (a, b, k), X) when x is ``select(P, X, 0)`` with P an iota mask: X where i_a - i_b == k, a
    structural zero elsewhere; else None."""
    eqn = _made(x, "select")
    if eqn is None:
        return None
    return masked_parts(operand(eqn, 0), operand(eqn, 1), operand(eqn, 2))


def masked_parts(p, x, zero):
    """masked() of the operands of a select."""
    mask = mask_of(p)
    if mask is None or not _is_zero_value(zero):
        return None
    return p, mask, x


def _select(p, x, dtype):
    return rebind("select", p, x, np.zeros((), dtype))


# --------------------------------------------------------------------------------------------------
# Iotas


@row("iota")
def iota_stays(ins, **params):  # iota of rank ≥ 2 stays an equation (never a folded constant): rows read
    # the index it stands for, and a compiled loop computes it for free
    if len(params["shape"]) < 2:
        return None
    return _emit_once(PRIMITIVES["iota"], [], params, fold=False)


@row("eq", "ne")
def compare_same_iota(ins):  # (i + c1 == i + c2) → (c1 == c2) everywhere, for one iota i
    a, b = _affine_iota(ins[0]), _affine_iota(ins[1])
    if a is None or b is None or a[0] != b[0] or not _same_var(*_iota_operands(ins)):
        return None
    equal = a[1] == b[1]
    value = equal if current_row_prim[0] == "eq" else not equal
    return [full(aval_of(ins[0]).shape, value, dtypes.bool_)]


def _iota_operands(ins):
    """The iota equations' outputs under two affine iotas (to check they are the same iota)."""
    out = []
    for x in ins:
        eqn = producer(x)
        if eqn.prim.name == "iota":
            out.append(x)
        else:
            a, b = operand(eqn, 0), operand(eqn, 1)
            out.append(a if _made(a, "iota") is not None else b)
    return out


# --------------------------------------------------------------------------------------------------
# Views of masks, and of what they are made of


def view_of(x, view, depth=0):
    """view(x) built from what x is made of, when x is free (see _free) or masked; else None. A broadcast
    goes into iotas, fills and masks only: a broadcast of arithmetic is the canonical form (see
    elementwise_of_broadcasts), a transpose or reshape goes into the arithmetic too."""
    fill = _fill(x)
    if _is_scalar(x):
        return x
    if fill is not None:
        return full(view.out_shape, fill, aval_of(x).dtype)
    eqn = producer(x)
    if eqn is None or depth > MAX_DEPTH:
        return None
    name = eqn.prim.name
    if name == "iota":
        d = view.phi[eqn.params["dimension"]]
        if d is None:
            return full(view.out_shape, 0, aval_of(x).dtype)
        return rebind("iota", dtype=eqn.params["dtype"], shape=view.out_shape, dimension=d)
    if name == "broadcast_in_dim":
        return _broadcast_through(operand(eqn, 0), eqn.params["broadcast_dimensions"], view)
    m = masked(x)
    if m is not None:
        p, (a, b, k), inner = m
        pa, pb = view.phi[a], view.phi[b]
        if pa is None or pb is None:
            return None
        mask = make_mask(view.out_shape, pa, pb, k) if pa < pb else make_mask(view.out_shape, pb, pa, -k)
        v = view_of(inner, view, depth + 1)
        return _select(mask, view.apply(inner) if v is None else v, aval_of(x).dtype)
    if _elementwise(eqn) and view.prim != "broadcast_in_dim":
        ins = [operand(eqn, i) for i in range(len(eqn.inputs))]
        if not all(_free(i, depth + 1) for i in ins):
            return None
        new = [view_of(i, view, depth + 1) for i in ins]
        if any(v is None for v in new):
            return None
        return rebind(name, *new, **eqn.params)
    return None


@row("transpose", "reshape", "broadcast_in_dim")
def view_of_structure(ins, **params):  # V(bcast(x)) → bcast(x'), V(iota) → iota, V(fill) → fill,
    # V(f(free...)) → f(V(free)...), V(M(P, X)) → M(V(P), V(X)) for a transpose or unit-axis reshape V
    (x,) = ins
    name = current_row_prim[0]
    if name == "broadcast_in_dim" and _is_scalar(x):
        return None  # a fill is already canonical
    if name == "broadcast_in_dim" and _made(x, "broadcast_in_dim") is not None:
        return None  # broadcast_of_broadcast composes them
    view = View.of(name, params, aval_of(x).shape)
    if view is None:
        return None
    out = view_of(x, view)
    return None if out is None else [out]


# --------------------------------------------------------------------------------------------------
# Arithmetic of masked values


@row("mul", "div")
def masked_times(ins):  # M(P, X) * Y → M(P, X * Y), Y * M(P, X) → M(P, Y * X), M(P, X) / Y → M(P, X / Y):
    # 0 * Y and 0 / Y are 0 where the 0 is structural
    name = current_row_prim[0]
    out = PRIMITIVES[name].shape_rule(*[aval_of(i) for i in ins])
    for pos in ((0, 1) if name == "mul" else (0,)):
        m = masked(ins[pos])
        if m is not None:
            p, _, x = m
            other = ins[1 - pos]
            inner = rebind(name, x, other) if pos == 0 else rebind(name, other, x)
            return [_select(p, inner, out.dtype)]
    return None


@row("add", "sub")
def masked_plus(ins):  # M(P, X) ± M(P, Y) → M(P, X ± Y)
    a, b = masked(ins[0]), masked(ins[1])
    if a is None or b is None or not _same_var(a[0], b[0]):
        return None
    out = PRIMITIVES[current_row_prim[0]].shape_rule(*[aval_of(i) for i in ins])
    return [_select(a[0], rebind(current_row_prim[0], a[2], b[2]), out.dtype)]


@row("neg", "convert")
def masked_unary(ins, **params):  # -M(P, X) → M(P, -X); convert(M(P, X)) → M(P, convert(X)) (to a float)
    m = masked(ins[0])
    if m is None:
        return None
    out = PRIMITIVES[current_row_prim[0]].shape_rule(aval_of(ins[0]), **params)
    if out.dtype.kind != "f":
        return None
    p, _, x = m
    return [_select(p, rebind(current_row_prim[0], x, **params), out.dtype)]


@row("select")
def select_of_select(ins):  # select(P, select(P, a, b), c) → select(P, a, c); likewise in the false branch
    p, a, b = ins
    if not isinstance(p, Tracer):
        return None
    inner = _made(a, "select")
    if inner is not None and _same_var(operand(inner, 0), p):
        return [rebind("select", p, operand(inner, 1), b)]
    inner = _made(b, "select")
    if inner is not None and _same_var(operand(inner, 0), p):
        return [rebind("select", p, a, operand(inner, 2))]
    return None


@row("select")
def masked_reads_inner_axis(ins):  # M(i_a == i_b, bcast(x) along a) → M(i_a == i_b, bcast(x) along b):
    # equal where the mask holds; b is the inner axis (a < b), so the loop reads x contiguously
    m = masked_parts(*ins)
    if m is None:
        return None
    p, (a, b, k), x = m
    parts = _bcast_parts(x) if not _is_scalar(x) else None
    shape = aval_of(p).shape
    if parts is None or k != 0 or shape[a] != shape[b]:
        return None
    y, dims = parts
    if a not in dims or b in dims or aval_of(y).shape[dims.index(a)] != shape[a]:
        return None
    targets = [b if d == a else d for d in dims]
    moved = _broadcast_to_axes(y, targets, aval_of(x).shape)
    return [rebind("select", p, moved, ins[2])]


# --------------------------------------------------------------------------------------------------
# Reading a value along a diagonal: the sums and contractions of masked values


def substitute(x, b, a, kappa, depth=0):
    """x with axis b removed, each element read at ``i_b = i_a - kappa`` (a, b axes of x); None when x
    is not made of broadcasts, iotas, fills and elementwise arithmetic of them, or reads b and a both."""
    xa = aval_of(x)
    shape = xa.shape[:b] + xa.shape[b + 1:]
    after = lambda d: d - (b < d)  # noqa: E731  (an axis of x as an axis of the result)
    if _is_scalar(x):
        return x
    fill = _fill(x)
    if fill is not None:
        return full(shape, fill, xa.dtype)
    eqn = producer(x)
    if eqn is None or depth > MAX_DEPTH:
        return None
    if eqn.prim.name == "iota":
        d = eqn.params["dimension"]
        it = rebind("iota", dtype=eqn.params["dtype"], shape=shape, dimension=after(a if d == b else d))
        return rebind("sub", it, np.asarray(kappa, eqn.params["dtype"])) if d == b and kappa else it
    if eqn.prim.name == "broadcast_in_dim":
        y, dims = operand(eqn, 0), eqn.params["broadcast_dimensions"]
        ya = aval_of(y)
        if b not in dims or ya.shape[dims.index(b)] == 1:
            if b in dims:  # a size-1 axis stretched along b: y does not vary along b
                jb = dims.index(b)
                y = rebind("reshape", y, shape=ya.shape[:jb] + ya.shape[jb + 1:])
                dims = dims[:jb] + dims[jb + 1:]
            return rebind("broadcast_in_dim", y, shape=shape, broadcast_dimensions=tuple(map(after, dims)))
        if a in dims and ya.shape[dims.index(a)] != 1:
            return None  # y varies along both: a diagonal of y
        jb = dims.index(b)
        y = _take_range(y, jb, -kappa, xa.shape[a])
        targets = [after(a) if d == b else after(d) for d in dims]
        if a in dims:  # a stretched size-1 axis of y along a: drop it, the read axis takes its place
            ja = dims.index(a)
            y = rebind("reshape", y, shape=aval_of(y).shape[:ja] + aval_of(y).shape[ja + 1:])
            del targets[ja]
        return _broadcast_to_axes(y, targets, shape)
    if _elementwise(eqn):
        new = [substitute(operand(eqn, i), b, a, kappa, depth + 1) for i in range(len(eqn.inputs))]
        if any(v is None for v in new):
            return None
        return rebind(eqn.prim.name, *new, **eqn.params)
    return None


def _in_range(n_out, n_in, kappa):
    """Whether i - kappa is an index of an axis of n_in for every i < n_out."""
    return kappa <= 0 and n_out - kappa <= n_in


@row("reduce_sum")
def sum_of_masked(ins, axes):  # Σ_b M(i_a - i_b == k, X) → X read at i_b = i_a - k: one term per row
    m = masked(ins[0])
    if m is None:
        return None
    _, (a, b, k), x = m
    shape = aval_of(ins[0]).shape
    if b in axes and _in_range(shape[a], shape[b], k):
        gone, kept, kappa = b, a, k
    elif a in axes and _in_range(shape[b], shape[a], -k):
        gone, kept, kappa = a, b, -k
    else:
        return None
    x = substitute(x, gone, kept, kappa) if not _is_scalar(x) else x
    if x is None:
        return None
    rest_shape = shape[:gone] + shape[gone + 1:]
    if _is_scalar(x):
        x = full(rest_shape, x, aval_of(ins[0]).dtype)
    rest = tuple(d - (gone < d) for d in axes if d != gone)
    return [rebind("reduce_sum", x, axes=rest) if rest else x]


@row("dot_general")
def dot_of_masked(ins, dimension_numbers):  # dot(M(i_a - i_b == k, X), Y) over b → X · Y read at
    # i_b = i_a - k: an elementwise product, no sum (and likewise with the mask on the right)
    lhs, rhs = ins
    if masked(lhs) is None and masked(rhs) is not None:
        (lc, rc), (lb, rb) = dimension_numbers
        swapped = _dot_of_masked(rhs, lhs, ((rc, lc), (rb, lb)))
        if swapped is None:
            return None
        nb, nrf = len(lb), aval_of(rhs).ndim - len(rc) - len(rb)
        nlf = aval_of(lhs).ndim - len(lc) - len(lb)
        perm = (tuple(range(nb)) + tuple(range(nb + nrf, nb + nrf + nlf)) + tuple(range(nb, nb + nrf)))
        return [rebind("transpose", swapped, permutation=perm)]
    out = _dot_of_masked(lhs, rhs, dimension_numbers)
    return None if out is None else [out]


def _dot_of_masked(lhs, rhs, dimension_numbers):
    m = masked(lhs)
    if m is None:
        return None
    _, (a, b, k), x = m
    la, ra = aval_of(lhs), aval_of(rhs)
    lc, rc, lb, rb, lf, rf = _dot_axes(dimension_numbers, la.ndim, ra.ndim)
    if len(lc) != 1:
        return None
    if lc[0] == b and a in lf:
        c_ax, f_ax, kappa = b, a, k
    elif lc[0] == a and b in lf:
        c_ax, f_ax, kappa = a, b, -k
    else:
        return None
    if not _in_range(la.shape[f_ax], la.shape[c_ax], kappa):
        return None
    x = substitute(x, c_ax, f_ax, kappa) if not _is_scalar(x) else x
    if x is None:
        return None
    out_shape = (tuple(la.shape[i] for i in lb) + tuple(la.shape[i] for i in lf)
                 + tuple(ra.shape[i] for i in rf))
    position = {i: n for n, i in enumerate(lb)}
    position.update({i: len(lb) + n for n, i in enumerate(lf)})
    if not _is_scalar(x):  # x has lhs's axes but c_ax, in order
        x = _broadcast_to_axes(x, [position[i] for i in range(la.ndim) if i != c_ax], out_shape)
    y = _take_range(rhs, rc[0], -kappa, la.shape[f_ax])
    targets = [None] * ra.ndim
    for n, i in enumerate(rb):
        targets[i] = n
    targets[rc[0]] = position[f_ax]
    for n, i in enumerate(rf):
        targets[i] = len(lb) + len(lf) + n
    y = _broadcast_to_axes(y, targets, out_shape)
    return rebind("mul", x, y)
