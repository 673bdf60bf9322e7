"""Elementwise binary arithmetic, comparisons, logic, select and convert.

Operands have one shape and one dtype, except that a rank-0 operand broadcasts (so ``mul c 2.0`` needs no
broadcast equation). The NumPy-level promotion and broadcasting happen before bind, in ir.builder.
"""

import numpy as np

from .. import dtypes
from ..builder import aval_of, convert, unbroadcast
from ..primitive import (NONLINEAR, Linear, Primitive, Zero, defbilinear, defbroadcasting, defjvp,
                         defzero_jvp, elementwise_shape_rule, is_zero)
from .unary import log, sign


def binary(name, impl, kinds="fiu", out_dtype=None):
    prim = Primitive(name, family="binary")
    base = elementwise_shape_rule(name)

    def shape_rule(x, y):
        out = base(x, y)
        if out.dtype.kind not in kinds:
            raise TypeError(f"{name} does not accept operands of dtype {out.dtype}")
        return out if out_dtype is None else out.update(dtype=out_dtype)
    prim.shape_rule = shape_rule
    prim.impl = impl
    prim.transpose = NONLINEAR
    defbroadcasting(prim)

    def fn(x, y):
        return prim.bind(x, y)
    fn.__name__ = name
    return prim, fn


def _linear_transpose(*signs):
    """Transpose of x + y or x - y: the cotangent, signed and summed back to each operand's shape."""
    def transpose(ct, x, y):
        if is_zero(ct):
            return [None, None]
        return [unbroadcast(ct if s > 0 else -ct, a.aval) if isinstance(a, Linear) else None
                for s, a in zip(signs, (x, y))]
    return transpose


add_p, add = binary("add", np.add)
defjvp(add_p, lambda g, x, y: g, lambda g, x, y: g)
add_p.transpose = _linear_transpose(+1, +1)

sub_p, sub = binary("sub", np.subtract)
defjvp(sub_p, lambda g, x, y: g, lambda g, x, y: -g)
sub_p.transpose = _linear_transpose(+1, -1)

mul_p, mul = binary("mul", np.multiply, kinds="fiub")
defbilinear(mul_p,
            lambda ct, x, y: unbroadcast(ct * y, x.aval),
            lambda ct, x, y: unbroadcast(x * ct, y.aval))


def _div_impl(x, y):
    if x.dtype.kind == "f":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.true_divide(x, y)
    # Integer division truncates toward zero (C semantics), exactly, in integers. As in the compiled
    # code, division by zero gives 0 and INT_MIN / -1 wraps to INT_MIN (x / -1 is -x): never a trap.
    minus_one = y == -1 if x.dtype.kind == "i" else np.zeros(y.shape, bool)
    safe = np.where((y == 0) | minus_one, np.ones((), x.dtype), y)
    exact = x - np.fmod(x, safe)  # the remainder has the sign of x, so this never overflows
    q = np.where(minus_one, np.negative(x), exact // safe)
    return np.where(y == 0, np.zeros((), x.dtype), q)


div_p, div = binary("div", _div_impl)
defjvp(div_p, lambda g, x, y: g / y, lambda g, x, y: -g * x / (y * y))


def _div_transpose(ct, x, y):
    if isinstance(y, Linear):
        raise ValueError("div is not linear in its divisor")
    if is_zero(ct):
        return [None, None]
    return [unbroadcast(ct / y, x.aval), None]


div_p.transpose = _div_transpose


def _pow_impl(x, y):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.power(x, y)


pow_p, pow_ = binary("pow", _pow_impl, kinds="f")


def _safe_log(x):
    # d/dy x**y = log(x) x**y, taken as 0 where x == 0 (the limit used by JAX and torch)
    return log(select(x == 0, np.ones((), aval_of(x).dtype), x))


defjvp(pow_p,
       lambda g, x, y: g * y * pow_(x, y - 1),
       lambda g, x, y: g * _safe_log(x) * pow_(x, y))

max_p, max_ = binary("max", np.maximum)
min_p, min_ = binary("min", np.minimum)


def _pick(first, x, y):
    """1 where x is chosen, 0 where y is, 1/2 on ties (the subgradient JAX uses)."""
    dt = aval_of(x).dtype
    return convert(first, dt) + convert(x == y, dt) * 0.5


defjvp(max_p, lambda g, x, y: g * _pick(x > y, x, y), lambda g, x, y: g * _pick(y > x, y, x))
defjvp(min_p, lambda g, x, y: g * _pick(x < y, x, y), lambda g, x, y: g * _pick(y < x, y, x))

atan2_p, atan2 = binary("atan2", np.arctan2, kinds="f")
defjvp(atan2_p,
       lambda g, x, y: g * y / (x * x + y * y),
       lambda g, x, y: -g * x / (x * x + y * y))


def _rem_impl(x, y):
    if x.dtype.kind == "f":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.fmod(x, y)
    return np.where(y == 0, 0, np.fmod(x, np.where(y == 0, 1, y))).astype(x.dtype)


rem_p, rem = binary("rem", _rem_impl)  # C's fmod: the sign of the dividend (NumPy's % is jnp.remainder)
defjvp(rem_p, lambda g, x, y: g, lambda g, x, y: -g * ((x - rem(x, y)) / y))

_COMPARISONS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                "gt": np.greater, "ge": np.greater_equal}
for _name, _impl in _COMPARISONS.items():
    _prim, globals()[_name] = binary(_name, _impl, kinds="fiub", out_dtype=dtypes.bool_)
    defzero_jvp(_prim)

and_p, and_ = binary("and", np.bitwise_and, kinds="biu")  # logical on bool, bitwise on integers
or_p, or_ = binary("or", np.bitwise_or, kinds="biu")
xor_p, xor = binary("xor", np.bitwise_xor, kinds="biu")
for _prim in (and_p, or_p, xor_p):
    defzero_jvp(_prim)


# select(pred, on_true, on_false): NumPy's where, elementwise ------------------------------------------

select_p = Primitive("select", family="binary")


def _select_shape_rule(pred, on_true, on_false):
    if pred.dtype != dtypes.bool_:
        raise TypeError(f"select requires a bool predicate, got {pred.dtype}")
    out = elementwise_shape_rule("select")(on_true, on_false)
    if pred.ndim and out.ndim and pred.shape != out.shape:
        raise ValueError(f"select got a predicate of shape {pred.shape} for operands of shape {out.shape}")
    return out.update(shape=out.shape or pred.shape)


select_p.shape_rule = _select_shape_rule
select_p.impl = np.where
defbroadcasting(select_p)


def select(pred, on_true, on_false):
    return select_p.bind(pred, on_true, on_false)


def _select_jvp(primals, tangents):
    pred, on_true, on_false = primals
    _, t_true, t_false = tangents
    out = select(pred, on_true, on_false)
    if is_zero(t_true) and is_zero(t_false):
        return out, Zero(aval_of(out))
    zero = np.zeros((), aval_of(out).dtype)
    return out, select(pred, zero if is_zero(t_true) else t_true, zero if is_zero(t_false) else t_false)


def _select_transpose(ct, pred, on_true, on_false):
    if isinstance(pred, Linear):
        raise ValueError("select is not linear in its predicate")
    if is_zero(ct):
        return [None, None, None]
    zero = np.zeros((), aval_of(ct).dtype)
    ct_true = unbroadcast(select(pred, ct, zero), on_true.aval) if isinstance(on_true, Linear) else None
    ct_false = unbroadcast(select(pred, zero, ct), on_false.aval) if isinstance(on_false, Linear) else None
    return [None, ct_true, ct_false]


select_p.jvp = _select_jvp
select_p.transpose = _select_transpose


# convert[dtype]: a change of dtype; linear between float dtypes, zero derivative into int and bool ----

convert_p = Primitive("convert", family="binary")
convert_p.shape_rule = lambda x, *, dtype: x.update(dtype=dtype)


def _convert_impl(x, *, dtype):
    if x.dtype.kind == "f" and np.dtype(dtype).kind in "iu":
        # float -> int truncates; NaN and out-of-range values give 0 instead of undefined behaviour
        info = np.iinfo(dtype)
        ok = np.isfinite(x) & (x > info.min - 1.0) & (x < info.max + 1.0)
        return np.where(ok, np.trunc(np.where(ok, x, 0)), 0).astype(dtype)
    return x.astype(dtype)


convert_p.impl = _convert_impl


def _convert_jvp(primals, tangents, *, dtype):
    (x,), (t,) = primals, tangents
    out = convert_p.bind(x, dtype=dtype)
    if is_zero(t) or not dtypes.is_float(dtype):
        return out, Zero(aval_of(out))
    return out, convert_p.bind(t, dtype=dtype)


def _convert_transpose(ct, x, *, dtype):
    if is_zero(ct):
        return [None]
    return [convert(ct, x.aval.dtype)]


convert_p.jvp = _convert_jvp
convert_p.transpose = _convert_transpose
convert_p.batch = lambda args, dims, *, dtype: (convert_p.bind(args[0], dtype=dtype), dims[0])

__all__ = ["add", "sub", "mul", "div", "pow_", "max_", "min_", "atan2", "rem", "select", "and_", "or_",
           "xor", "sign"]
