"""exp and tanh as straight-line polynomial kernels, so loops calling them vectorise.

A libm call in a loop body keeps the whole loop scalar (LLVM has no vector variant to call: its
vector-library option finds none in this process). These kernels are branch-free (selects, no calls),
emitted once per module as ``alwaysinline`` internal functions: after inlining, the loop vectoriser turns
them into SIMD code. float32 goes through the float64 kernel (one rounding at the end).

Accuracy, measured against libm over dense sweeps including the edges (tests/test_codegen.py): exp within
1 ulp, tanh within 3 ulp; NaN, ±inf, overflow to inf, underflow through the subnormals to 0 and signed
zeros behave as libm's.

- exp: ``x = n ln2 + r`` with ``|r| <= ln2 / 2`` (Cody-Waite, ln2 in two parts so ``n ln2_hi`` is exact),
  the Taylor polynomial of degree 13 for ``exp(r)`` (truncation below 0.05 ulp), then ``2^n`` applied in
  two halves so results near overflow and in the subnormal range are rounded once.
- tanh: the odd Taylor series (degree 27) below ``|x| = 0.4``; ``1 - 2 / (exp(2|x|) + 1)`` above, with the
  sign put back; ``±1`` beyond ``|x| = 22``.
"""

from fractions import Fraction
from math import comb, factorial

from llvmlite import ir

from . import emit
from .emit import f64, i32, i64

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # fdlibm: 32 trailing zero bits, so n * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10
EXP_MAX = 709.782712893384  # above: inf
EXP_MIN = -745.1332191019412  # below: 0
EXP_TERMS = 14  # 1/k! for k < 14
TANH_SMALL = 0.4
TANH_TERMS = 14  # x, x^3, ..., x^27


def _bernoulli(n):
    b = [Fraction(1)]
    for m in range(1, n + 1):
        b.append(-sum(comb(m + 1, k) * b[k] for k in range(m)) / (m + 1))
    return b


def _tanh_coefficients(terms):
    """c_k of tanh x = sum c_k x^(2k+1): 2^(2n) (2^(2n) - 1) B_(2n) / (2n)!, n = k + 1."""
    b = _bernoulli(2 * terms)
    return [float(2 ** (2 * n) * (2 ** (2 * n) - 1) * b[2 * n] / factorial(2 * n)) for n in range(1, terms + 1)]


_TANH_C = _tanh_coefficients(TANH_TERMS)


def _c(value):
    return ir.Constant(f64, value)


def _horner(b, x, coefficients):
    """c0 + x (c1 + x (c2 + ...)), highest degree first in the evaluation."""
    acc = _c(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        acc = b.fadd(b.fmul(acc, x), _c(c))
    return acc


def _pow2(b, k):
    """2.0 ** k for an i32 ``k`` in the normal range, built from its exponent bits."""
    bits = b.shl(b.add(b.sext(k, i64), ir.Constant(i64, 1023)), ir.Constant(i64, 52))
    return b.bitcast(bits, f64)


def _intrinsic(b, name, *args):
    fn = emit.declare(b.module, f"llvm.{name}.f64", f64, [f64] * len(args))
    return b.call(fn, list(args))


def _exp_body(b, x):
    clamped = b.select(b.fcmp_ordered(">", x, _c(EXP_MAX)), _c(EXP_MAX), x)
    clamped = b.select(b.fcmp_ordered("<", clamped, _c(EXP_MIN)), _c(EXP_MIN), clamped)
    clamped = b.select(b.fcmp_unordered("uno", x, x), _c(0.0), clamped)
    n = _intrinsic(b, "rint", b.fmul(clamped, _c(LOG2E)))
    r = b.fsub(b.fsub(clamped, b.fmul(n, _c(LN2_HI))), b.fmul(n, _c(LN2_LO)))
    p = _horner(b, r, [1.0 / factorial(k) for k in range(EXP_TERMS)])
    k = b.fptosi(n, i32)
    half = b.ashr(k, ir.Constant(i32, 1))
    y = b.fmul(b.fmul(p, _pow2(b, half)), _pow2(b, b.sub(k, half)))
    y = b.select(b.fcmp_ordered(">", x, _c(EXP_MAX)), _c(float("inf")), y)
    y = b.select(b.fcmp_ordered("<", x, _c(EXP_MIN)), _c(0.0), y)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


def _tanh_body(b, x, exp_fn):
    a = _intrinsic(b, "fabs", x)
    x2 = b.fmul(x, x)
    small = b.fmul(x, _horner(b, x2, _TANH_C))
    e = b.call(exp_fn, [b.fmul(_c(2.0), b.select(b.fcmp_ordered("<", a, _c(22.0)), a, _c(22.0)))])
    large = b.fsub(_c(1.0), b.fdiv(_c(2.0), b.fadd(e, _c(1.0))))
    large = _intrinsic(b, "copysign", large, x)
    y = b.select(b.fcmp_ordered("<", a, _c(TANH_SMALL)), small, large)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)  # NaN in, NaN out


def _function(module, name):
    """The module's ``jaxlike.<name>.f64``, emitted on first use."""
    full = f"jaxlike.{name}.f64"
    fn = module.globals.get(full)
    if fn is not None:
        return fn
    fn = ir.Function(module, ir.FunctionType(f64, [f64]), name=full)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    (x,) = fn.args
    if name == "exp":
        b.ret(_exp_body(b, x))
    else:
        b.ret(_tanh_body(b, x, _function(module, "exp")))
    return fn


def call(b, name, x):
    """``name(x)`` (``exp`` or ``tanh``) for a float32 or float64 ``x``, inlined and vectorisable."""
    fn = _function(b.module, name)
    if x.type == f64:
        return b.call(fn, [x])
    return b.fptrunc(b.call(fn, [b.fpext(x, f64)]), x.type)


FUNCTIONS = ("exp", "tanh")
