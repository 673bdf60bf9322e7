"""Elementwise unary math. Each primitive: definition, then its derivative, on one line or two."""

import math

import numpy as np

from .. import dtypes
from ..primitive import Primitive, defjvp, defjvp_ans, deflinear, defvectorized, defzero_jvp


def _shape_rule(name, kinds):
    def rule(x, **params):
        if x.dtype.kind not in kinds:
            want = {"f": "floating", "fi": "numeric (float or int)", "fiu": "numeric", "b": "bool",
                    "biu": "integer or bool"}.get(kinds, kinds)
            raise TypeError(f"{name} requires a {want} operand, got {x.dtype}; convert it with .astype()")
        return x
    return rule


def unary(name, impl, kinds="f"):
    """A one-input elementwise primitive: shape rule, impl and batching; returns (prim, function)."""
    prim = Primitive(name, family="unary")
    prim.shape_rule = _shape_rule(name, kinds)
    prim.impl = impl
    defvectorized(prim)
    prim.transpose = "nonlinear"

    def fn(x, **params):
        return prim.bind(x, **params)
    fn.__name__ = name
    return prim, fn


neg_p, neg = unary("neg", np.negative, kinds="fiu")
deflinear(neg_p, lambda ct, x: [neg(ct)])

sin_p, sin = unary("sin", np.sin)
cos_p, cos = unary("cos", np.cos)
tan_p, tan = unary("tan", np.tan)
defjvp(sin_p, lambda g, x: g * cos(x))
defjvp(cos_p, lambda g, x: -g * sin(x))
defjvp_ans(tan_p, lambda g, ans, x: g * (1 + ans * ans))

asin_p, asin = unary("asin", np.arcsin)
acos_p, acos = unary("acos", np.arccos)
atan_p, atan = unary("atan", np.arctan)
defjvp(asin_p, lambda g, x: g / sqrt(1 - x * x))
defjvp(acos_p, lambda g, x: -g / sqrt(1 - x * x))
defjvp(atan_p, lambda g, x: g / (1 + x * x))

sinh_p, sinh = unary("sinh", np.sinh)
cosh_p, cosh = unary("cosh", np.cosh)
tanh_p, tanh = unary("tanh", np.tanh)
defjvp(sinh_p, lambda g, x: g * cosh(x))
defjvp(cosh_p, lambda g, x: g * sinh(x))
defjvp_ans(tanh_p, lambda g, ans, x: g * (1 - ans * ans))

asinh_p, asinh = unary("asinh", np.arcsinh)
acosh_p, acosh = unary("acosh", np.arccosh)
atanh_p, atanh = unary("atanh", np.arctanh)
defjvp(asinh_p, lambda g, x: g / sqrt(x * x + 1))
defjvp(acosh_p, lambda g, x: g / (sqrt(x - 1) * sqrt(x + 1)))
defjvp(atanh_p, lambda g, x: g / (1 - x * x))

exp_p, exp = unary("exp", np.exp)
exp2_p, exp2 = unary("exp2", np.exp2)
expm1_p, expm1 = unary("expm1", np.expm1)
defjvp_ans(exp_p, lambda g, ans, x: g * ans)
defjvp_ans(exp2_p, lambda g, ans, x: g * ans * math.log(2))
defjvp_ans(expm1_p, lambda g, ans, x: g * (ans + 1))

log_p, log = unary("log", np.log)
log2_p, log2 = unary("log2", np.log2)
log10_p, log10 = unary("log10", np.log10)
log1p_p, log1p = unary("log1p", np.log1p)
defjvp(log_p, lambda g, x: g / x)
defjvp(log2_p, lambda g, x: g / (x * math.log(2)))
defjvp(log10_p, lambda g, x: g / (x * math.log(10)))
defjvp(log1p_p, lambda g, x: g / (1 + x))

sqrt_p, sqrt = unary("sqrt", np.sqrt)
cbrt_p, cbrt = unary("cbrt", np.cbrt)
defjvp_ans(sqrt_p, lambda g, ans, x: g / (2 * ans))
defjvp_ans(cbrt_p, lambda g, ans, x: g / (3 * ans * ans))


def _logistic(x):
    # 1 / (1 + exp(-x)) without overflow warnings for large negative x
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


logistic_p, logistic = unary("logistic", _logistic)
defjvp_ans(logistic_p, lambda g, ans, x: g * ans * (1 - ans))

abs_p, abs_ = unary("abs", np.abs, kinds="fi")
sign_p, sign = unary("sign", np.sign, kinds="fi")
defjvp(abs_p, lambda g, x: g * sign(x))
defzero_jvp(sign_p)

floor_p, floor = unary("floor", np.floor)
ceil_p, ceil = unary("ceil", np.ceil)
round_p, round_ = unary("round", np.round)  # half to even, as NumPy
for _p in (floor_p, ceil_p, round_p):
    defzero_jvp(_p)


def _integer_pow_shape_rule(x, *, y):
    out = _shape_rule("integer_pow", "fi")(x)
    if y < 0 and x.dtype.kind != "f":
        # 1/x is not an integer: NumPy refuses rather than truncate (jnp.power raises its ValueError first)
        raise TypeError(f"integer_pow: Integers to negative integer powers are not allowed "
                        f"(got {x.dtype} to the power {y}); convert the operand to a float dtype first")
    return out


def _integer_pow_impl(x, *, y):
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.power(x, y)


integer_pow_p = Primitive("integer_pow", family="unary")
integer_pow_p.shape_rule = _integer_pow_shape_rule
integer_pow_p.impl = _integer_pow_impl
integer_pow_p.transpose = "nonlinear"
defvectorized(integer_pow_p)


def integer_pow(x, y):
    """x ** y for a static Python int y: one multiply chain, and an exact derivative at x = 0."""
    return integer_pow_p.bind(x, y=int(y))


def _integer_pow_jvp(g, x, *, y):
    if y == 0:
        return g * 0
    return g * (y * (x if y == 2 else integer_pow(x, y - 1)))


defjvp(integer_pow_p, _integer_pow_jvp)

not_p, not_ = unary("not", np.invert, kinds="biu")  # logical not on bool, bitwise not on integers
defzero_jvp(not_p)

is_finite_p, is_finite = unary("is_finite", np.isfinite)
is_finite_p.shape_rule = lambda x: (_shape_rule("is_finite", "f")(x), x.update(dtype=dtypes.bool_))[1]
defzero_jvp(is_finite_p)
