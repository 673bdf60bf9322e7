"""exp, exp2, expm1, log, log2, log10, log1p, tanh, sinh, cosh, asinh, acosh, atanh and cbrt as straight-line
polynomial kernels, so loops calling them vectorise; ``call`` and ``FUNCTIONS`` also cover the
trigonometric kernels of vmath_trig (sin, cos, tan, asin, acos, atan, atan2), built on this module's
primitives (Horner, exact two-sums and products).

A libm call in a loop body keeps the whole loop scalar (LLVM has no vector variant to call: its
vector-library option finds none in this process). These kernels are branch-free (selects, no calls),
emitted once per module as ``alwaysinline`` internal functions: after inlining, the loop vectoriser turns
them into SIMD code. float32 goes through the float64 kernel (one rounding at the end). The polynomials are
Taylor series whose coefficients are computed here, with the degree chosen so the truncation stays below
a hundredth of an ulp over the reduced interval; a minimax fit would save two or three terms.

Accuracy, measured against libm over dense sweeps including the edges (tests/test_codegen.py): exp, exp2,
log, log2, log1p and expm1 within 1 ulp, tanh within 3 ulp; sinh and log10 within 2 ulp, cosh within 1 ulp
below 25 and 2 ulp near overflow: there libm's own results are up to 1.8 ulp (sinh, cosh) and 1.6 ulp
(log10) off the exact values, and these kernels within 0.8 ulp. asinh, acosh and atanh are within 2 ulp of
libm, whose own results are up to 1.5, 2.1 and 1.6 ulp off the exact values; the kernels are within 0.75,
0.76 and 0.75 ulp of them. cbrt is within 3 ulp of libm, whose own results are up to 3.2 ulp off: the
kernel is correctly rounded on every sample checked, and exact on perfect cubes (``cbrt(27) = 3``,
``cbrt(2^-1074) = 2^-358``). In float32, sinh, cosh, asinh, acosh, atanh, cbrt, exp2, log2 and log10 equal
libm's results rounded to float32. ``log2(2^k) = k`` and ``exp2(k) = 2^k`` exactly, subnormals included.
NaN, ±inf, overflow to inf, underflow through the subnormals to 0, signed zeros (``sinh(-0.0) = -0.0``),
``log(0) = -inf`` and NaN for negative arguments behave as libm's.

- exp: ``x = n ln2 + r`` with ``|r| <= ln2 / 2`` (Cody-Waite, ln2 in two parts so ``n ln2_hi`` is exact),
  the Taylor polynomial of degree 13 for ``exp(r)`` (truncation below 0.05 ulp), then ``2^n`` applied in
  two halves so results near overflow and in the subnormal range are rounded once.
- exp2: ``x = n + r`` with ``|r| <= 1/2`` (exact), ``2^r = e^(r ln2)`` with ``r ln2`` a double-double
  (Dekker's product with ln2 rounded, plus ``r`` times the rest of ln2), expm1's polynomial on it, and
  ``1 + r ln2`` split exactly by a two-sum so the sum is rounded once; ``2^n`` applied in two halves as in
  exp. An integer ``x`` gives ``1 * 2^n``: exact.
- tanh: the odd Taylor series (degree 27) below ``|x| = 0.4``; ``1 - 2 / (exp(2|x|) + 1)`` above, with the
  sign put back; ``±1`` beyond ``|x| = 22``.
- sinh, cosh: below 1 (sinh) and 1/2 (cosh) their Taylor series, odd to degree 19 and even to degree 16
  (no cancellation; sinh keeps ±0 and the subnormals); above, ``e^|x|/2 ∓ e^-|x|/2`` with ``e^|x|/2`` a
  double-double: expm1's reduction and polynomial, ``1 + r`` split exactly, and the halving in the power
  of two, so it stays finite up to the overflow threshold 710.48 (past exp's 709.78) and the result is
  rounded about once.
- asinh: ``x`` itself below 2^-28; up to ``|x| = 2`` fdlibm's ``log1p(a + a^2 / (1 + sqrt(1 + a^2)))``
  with ``a = |x|``, every step of that argument a double-double (exact square and two-sums, the square
  root's and the quotient's rounding errors recovered), fed to log1p as a high and a low part; above,
  ``log(2a + 1 / (a + sqrt(a^2 + 1)))`` as ``log(a + t/2) + ln2`` with the ``+ ln2`` in log's exponent, so
  ``2a`` is never formed and ``1.7e308`` stays finite (the reciprocal is 0 once ``a^2`` overflows). The
  sign put back.
- acosh: up to 2, ``log1p(t + sqrt(2t + t^2))`` with ``t = x - 1`` exact and ``2t + t^2`` and its square
  root as double-doubles; above, ``log(2x - 1 / (x + sqrt(x^2 - 1)))`` as for asinh. ``acosh 1 = +0``,
  NaN below 1.
- atanh: ``0.5 log1p(2a / (1 - a))`` with ``1 - a`` an exact two-sum and the quotient a double-double
  (its exact remainder as the low part), which keeps the accuracy fdlibm gets from splitting the quotient
  as ``2a + 2a^2 / (1 - a)`` below 1/2; ``x`` itself below 2^-28, ±inf at ±1, NaN beyond.
- log: ``x = 2^k m`` with ``m`` in ``[sqrt(2)/2, sqrt(2))`` (subnormals scaled by 2^54 first),
  ``log m = log1p(f) = 2 atanh(f / (2 + f))`` as an odd series to degree 21, summed as fdlibm orders it
  (``k ln2_hi + (f - (f^2/2 - (s (f^2/2 + R) + k ln2_lo)))``) so the large terms are added last.
- log2, log10: log's decomposition, with ``log(1 + f) = hi + lo`` split as fdlibm's log2 and log10 do
  (``hi`` with 32 low bits cleared, so its products with the 32-bit high parts of 1/ln2 and 1/ln10 are
  exact); ``k + (hi + lo) / ln2`` and ``k log10(2) + (hi + lo) / ln10`` with the two largest terms added by
  a two-sum. A power of two has ``hi = lo = 0``: its log2 is exactly ``k``.
- log1p: ``u = 1 + x`` with its rounding error ``c`` (an exact two-sum); ``log u + c / u``; ``x`` itself
  below 2^-54. A low part of ``x`` adds to ``c``: asinh, acosh and atanh pass double-doubles.
- expm1: ``x = n ln2 + r`` with ``r`` a double-double; ``expm1(r)`` by Taylor to degree 14, then
  ``(2^n - 1) + 2^n expm1(r)``, both terms exact for ``|n| <= 53`` so the result is rounded once;
  ``x`` itself below 2^-54, -1 below -40.
- cbrt: ``|x| = y 2^(3q)`` with ``y = m 2^r`` in ``[1, 8)`` by integer arithmetic on the exponent bits
  (subnormals scaled by 2^54 first); the binomial series of ``(1 + u)^(1/3)`` about ``m = 1.5`` to ``u^4``
  times ``cbrt(2^r)`` as the first guess (within 1e-4), two Halley steps, then a Newton step whose residual
  ``g^3 - y`` is exact (Dekker's products), so the root is rounded about once; ``2^q`` and the sign put
  back exactly. ±0, ±inf and NaN are themselves.
"""

import functools
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
SQRT2 = 1.4142135623730951
LOG_TERMS = 10  # R(s^2) = 2/3 s^2 + 2/5 s^4 + ... + 2/21 s^20
# fdlibm's log2 and log10: high parts with 32 trailing zero bits, low parts for the rest
INV_LN2_HI = 1.44269504072144627571e+00
INV_LN2_LO = 1.67517131648865118353e-10
INV_LN10_HI = 4.34294481878168880939e-01
INV_LN10_LO = 2.50829467116452752298e-11
LOG10_2_HI = 3.01029995663611771306e-01  # 19 trailing zero bits: k * LOG10_2_HI exact for |k| < 2^11
LOG10_2_LO = 3.69423907715893078616e-13
LOG1P_TINY = 2.0 ** -54  # below: log1p x rounds to x
EXPM1_MIN = -40.0  # below: -1 (e^-40 is below half an ulp of 1)
EXPM1_TERMS = 15  # hi^2/2! ... hi^14/14!: truncation below 0.01 ulp at |hi| = ln2 / 2
EXPM1_TINY = 2.0 ** -54  # below: expm1 x rounds to x
LN2 = 0.6931471805599453
LN2_TAIL = 2.3190468138462996e-17  # ln2 - LN2
EXP2_MAX = 1030.0  # above 1024: inf either way, and 2^(n/2) stays normal
EXP2_MIN = -1080.0  # below -1075: 0 either way
HYPERBOLIC_CLAMP = 720.0  # above sinh's and cosh's overflow threshold (710.48): inf either way
SINH_SMALL = 1.0  # below: Taylor; x^21/21! is 2e-20 at 1
SINH_TERMS = 10  # x, x^3, ..., x^19
COSH_SMALL = 0.5  # below: Taylor; x^18/18! is 6e-22 at 1/2
COSH_TERMS = 9  # 1, x^2, ..., x^16
ASINH_SMALL = 2.0  # up to: the log1p form; above: the log form (fdlibm's split)
ASINH_TINY = 2.0 ** -28  # below: asinh x = x - x^3/6 rounds to x
ACOSH_SMALL = 2.0
ATANH_TINY = 2.0 ** -28  # below: atanh x = x + x^3/3 rounds to x
CBRT_TERMS = 5  # (1 + u)^(1/3) to u^4 for |u| <= 1/3: within 1e-4, two Halley steps make that 1e-37
CBRT_CENTRE = 1.5
CBRT_EXPONENT_BIAS = 3 * 1200  # added to the exponent so the division by 3 is of a non-negative integer


def _bernoulli(n):
    from fractions import Fraction  # here, not at import: fractions and decimal cost milliseconds to load

    b = [Fraction(1)]
    for m in range(1, n + 1):
        b.append(-sum(comb(m + 1, k) * b[k] for k in range(m)) / (m + 1))
    return b


@functools.cache  # on the first tanh emitted: exact rational arithmetic, a few milliseconds
def _tanh_coefficients(terms=TANH_TERMS):
    """c_k of tanh x = sum c_k x^(2k+1): 2^(2n) (2^(2n) - 1) B_(2n) / (2n)!, n = k + 1."""
    b = _bernoulli(2 * terms)
    return [float(2 ** (2 * n) * (2 ** (2 * n) - 1) * b[2 * n] / factorial(2 * n)) for n in range(1, terms + 1)]


_SINH_C = [1 / factorial(2 * k + 1) for k in range(SINH_TERMS)]
_COSH_C = [1 / factorial(2 * k) for k in range(COSH_TERMS)]
_LOG_C = [2.0 / (2 * k + 3) for k in range(LOG_TERMS)]


def _binomial_third(terms):
    """c_k of (1 + u)^(1/3) = sum c_k u^k: the binomial coefficients of 1/3."""
    c = [1.0]
    for k in range(1, terms):
        c.append(c[-1] * (1.0 / 3.0 - (k - 1)) / k)
    return c


_CBRT_C = [CBRT_CENTRE ** (1.0 / 3.0) * c for c in _binomial_third(CBRT_TERMS)]
_CBRT_OF_TWO = (1.0, 2.0 ** (1.0 / 3.0), 4.0 ** (1.0 / 3.0))


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


def _scale(b, p, k):
    """``p 2^k`` for an i32 ``k`` up to twice the normal exponent range: ``2^k`` applied in two halves, so a
    result near overflow or among the subnormals is rounded once."""
    half = b.ashr(k, ir.Constant(i32, 1))
    return b.fmul(b.fmul(p, _pow2(b, half)), _pow2(b, b.sub(k, half)))


def _exp_body(b, x):
    clamped = b.select(b.fcmp_ordered(">", x, _c(EXP_MAX)), _c(EXP_MAX), x)
    clamped = b.select(b.fcmp_ordered("<", clamped, _c(EXP_MIN)), _c(EXP_MIN), clamped)
    clamped = b.select(b.fcmp_unordered("uno", x, x), _c(0.0), clamped)
    n = _intrinsic(b, "rint", b.fmul(clamped, _c(LOG2E)))
    r = b.fsub(b.fsub(clamped, b.fmul(n, _c(LN2_HI))), b.fmul(n, _c(LN2_LO)))
    p = _horner(b, r, [1.0 / factorial(k) for k in range(EXP_TERMS)])
    y = _scale(b, p, b.fptosi(n, i32))
    y = b.select(b.fcmp_ordered(">", x, _c(EXP_MAX)), _c(float("inf")), y)
    y = b.select(b.fcmp_ordered("<", x, _c(EXP_MIN)), _c(0.0), y)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


def _tanh_body(b, x, exp_fn):
    a = _intrinsic(b, "fabs", x)
    x2 = b.fmul(x, x)
    small = b.fmul(x, _horner(b, x2, _tanh_coefficients()))
    e = b.call(exp_fn, [b.fmul(_c(2.0), b.select(b.fcmp_ordered("<", a, _c(22.0)), a, _c(22.0)))])
    large = b.fsub(_c(1.0), b.fdiv(_c(2.0), b.fadd(e, _c(1.0))))
    large = _intrinsic(b, "copysign", large, x)
    y = b.select(b.fcmp_ordered("<", a, _c(TANH_SMALL)), small, large)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)  # NaN in, NaN out


def _two_sum(b, a, c):
    """``(s, e)`` with ``s = fl(a + c)`` and ``a + c = s + e`` exactly (Knuth: no condition on magnitudes)."""
    s = b.fadd(a, c)
    v = b.fsub(s, a)
    e = b.fadd(b.fsub(a, b.fsub(s, v)), b.fsub(c, v))
    return s, e


def _select_tiny(b, x, y, bound):
    """``x`` where ``|x| < bound`` (there ``f(x)`` rounds to ``x``: keeps ±0 and the subnormals), else ``y``."""
    return b.select(b.fcmp_ordered("<", _intrinsic(b, "fabs", x), _c(bound)), x, y)


# --------------------------------------------------------------------------------------------------
# Exact sums and products (vmath_trig's kernels use them too)


def _fast_two_sum(b, a, c):
    """``(s, e)`` with ``s = fl(a + c)`` and ``a + c = s + e`` exactly, for ``|a| >= |c|``."""
    s = b.fadd(a, c)
    return s, b.fsub(c, b.fsub(s, a))


def _two_prod(b, a, c):
    """``(p, e)`` with ``p = fl(a c)`` and ``a c = p + e`` exactly (Dekker: Veltkamp splits, no fma), for
    products far from overflow and underflow."""
    def split(v):
        t = b.fmul(v, _c(134217729.0))  # 2^27 + 1
        v_hi = b.fsub(t, b.fsub(t, v))
        return v_hi, b.fsub(v, v_hi)
    p = b.fmul(a, c)
    a_hi, a_lo = split(a)
    c_hi, c_lo = split(c)
    e = b.fsub(b.fmul(a_hi, c_hi), p)
    e = b.fadd(e, b.fmul(a_hi, c_lo))
    e = b.fadd(e, b.fmul(a_lo, c_hi))
    return p, b.fadd(e, b.fmul(a_lo, c_lo))


# --------------------------------------------------------------------------------------------------
# log and log1p


def _log_parts(b, u):
    """``u = 2^k m`` with ``m`` in ``[sqrt(2)/2, sqrt(2))`` for a positive finite ``u``: ``(k, m)``, float ``k``."""
    subnormal = b.fcmp_ordered("<", u, _c(2.0 ** -1022))
    u = b.select(subnormal, b.fmul(u, _c(2.0 ** 54)), u)
    bits = b.bitcast(u, i64)
    k = b.sub(b.lshr(bits, ir.Constant(i64, 52)), ir.Constant(i64, 1023))
    k = b.select(subnormal, b.sub(k, ir.Constant(i64, 54)), k)
    mantissa = b.or_(b.and_(bits, ir.Constant(i64, (1 << 52) - 1)), ir.Constant(i64, 1023 << 52))
    m = b.bitcast(mantissa, f64)  # in [1, 2)
    high = b.fcmp_ordered(">", m, _c(SQRT2))
    m = b.select(high, b.fmul(m, _c(0.5)), m)
    k = b.add(k, b.zext(high, i64))
    return b.sitofp(k, f64), m


def _log1p_of_reduced(b, f):
    """log(1 + f) - f + f^2/2 = s (f^2/2 + R(s^2)) with s = f / (2 + f): returns ``(f^2/2, s (f^2/2 + R))``.

    From log(1 + f) = 2 atanh(s) = 2s + 2s^3/3 + 2s^5/5 + ... and 2s = f - s f. |s| <= 0.1716, so the
    series to s^21 (R to degree 20 in s) truncates below 2^-60 relatively.
    """
    s = b.fdiv(f, b.fadd(_c(2.0), f))
    s2 = b.fmul(s, s)
    r = b.fmul(s2, _horner(b, s2, _LOG_C))
    hfsq = b.fmul(_c(0.5), b.fmul(f, f))
    return hfsq, b.fmul(s, b.fadd(hfsq, r))


def _log_special(b, x, y):
    """libm's values at the edges: log(±0) = -inf, log(x < 0) = NaN, log(inf) = inf, NaN stays NaN."""
    y = b.select(b.fcmp_ordered("==", x, _c(float("inf"))), x, y)
    y = b.select(b.fcmp_ordered("==", x, _c(0.0)), _c(float("-inf")), y)
    y = b.select(b.fcmp_ordered("<", x, _c(0.0)), _c(float("nan")), y)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


def _log_body(b, x):
    # log x = k ln2 + log(1 + f), f = m - 1 exact; k LN2_HI exact, the small terms summed first
    safe = b.select(b.fcmp_ordered(">", x, _c(0.0)), x, _c(1.0))
    safe = b.select(b.fcmp_ordered("==", x, _c(float("inf"))), _c(1.0), safe)
    k, m = _log_parts(b, safe)
    f = b.fsub(m, _c(1.0))
    hfsq, tail = _log1p_of_reduced(b, f)
    small = b.fsub(hfsq, b.fadd(tail, b.fmul(k, _c(LN2_LO))))
    y = b.fadd(b.fmul(k, _c(LN2_HI)), b.fsub(f, small))
    return _log_special(b, x, y)


def _log_hi_lo(b, x):
    """``log x = k ln2 + (hi + lo)`` as fdlibm's log2 and log10 split it: ``(k, hi, lo)``, ``hi`` with its 32
    low bits cleared so its products with the 32-bit high parts of 1/ln2 and 1/ln10 are exact; for
    ``x = 2^k``, ``hi = lo = 0``."""
    safe = b.select(b.fcmp_ordered(">", x, _c(0.0)), x, _c(1.0))
    safe = b.select(b.fcmp_ordered("==", x, _c(float("inf"))), _c(1.0), safe)
    k, m = _log_parts(b, safe)
    f = b.fsub(m, _c(1.0))
    hfsq, tail = _log1p_of_reduced(b, f)
    hi = _clear_low_bits(b, b.fsub(f, hfsq))
    lo = b.fadd(b.fsub(b.fsub(f, hi), hfsq), tail)
    return k, hi, lo


def _clear_low_bits(b, v):
    return b.bitcast(b.and_(b.bitcast(v, i64), ir.Constant(i64, -(1 << 32))), f64)


def _log2_body(b, x):
    # k + (hi + lo) / ln2: k is exact and added last by a two-sum, so log2 of a power of two is exact
    k, hi, lo = _log_hi_lo(b, x)
    val_hi = b.fmul(hi, _c(INV_LN2_HI))
    val_lo = b.fadd(b.fmul(b.fadd(lo, hi), _c(INV_LN2_LO)), b.fmul(lo, _c(INV_LN2_HI)))
    w = b.fadd(k, val_hi)
    val_lo = b.fadd(val_lo, b.fadd(b.fsub(k, w), val_hi))
    return _log_special(b, x, b.fadd(val_lo, w))


def _log10_body(b, x):
    # k log10(2) + (hi + lo) / ln10, the large products exact (32-bit high parts), the two largest terms
    # added by a two-sum
    k, hi, lo = _log_hi_lo(b, x)
    val_hi = b.fmul(hi, _c(INV_LN10_HI))
    k_hi = b.fmul(k, _c(LOG10_2_HI))
    val_lo = b.fadd(b.fadd(b.fmul(k, _c(LOG10_2_LO)), b.fmul(b.fadd(lo, hi), _c(INV_LN10_LO))),
                    b.fmul(lo, _c(INV_LN10_HI)))
    w = b.fadd(k_hi, val_hi)
    val_lo = b.fadd(val_lo, b.fadd(b.fsub(k_hi, w), val_hi))
    return _log_special(b, x, b.fadd(val_lo, w))


def _log_sum(b, u, c, extra_k=0):
    """``log(u + c) + extra_k ln2`` for a positive finite ``u`` and ``|c|`` about an ulp of ``u`` or less:
    ``log u + c / u`` (the rest of ``log1p(c / u)`` is below 2^-100), summed as fdlibm's log, the small terms
    first. ``extra_k`` goes into the exponent, so ``log(2u)`` stays finite where ``2u`` would overflow."""
    k, m = _log_parts(b, u)
    if extra_k:
        k = b.fadd(k, _c(float(extra_k)))
    f = b.fsub(m, _c(1.0))
    hfsq, tail = _log1p_of_reduced(b, f)
    small = b.fsub(hfsq, b.fadd(tail, b.fadd(b.fmul(k, _c(LN2_LO)), b.fdiv(c, u))))
    return b.fadd(b.fmul(k, _c(LN2_HI)), b.fsub(f, small))


def _log1p_sum(b, x, x_lo):
    """``log1p(x + x_lo)`` for ``x > -1`` finite, ``|x_lo|`` within an ulp of ``x``: ``u = 1 + x`` with its
    rounding error (an exact two-sum) plus ``x_lo`` as the low part of a log's argument."""
    u, c = _two_sum(b, _c(1.0), x)
    return _log_sum(b, u, b.fadd(c, x_lo))


def _log1p_body(b, x):
    safe = b.select(b.fcmp_ordered(">", x, _c(-1.0)), x, _c(0.0))
    safe = b.select(b.fcmp_ordered("==", x, _c(float("inf"))), _c(0.0), safe)
    y = _log1p_sum(b, safe, _c(0.0))
    y = _log_special(b, b.fadd(x, _c(1.0)), y)  # the edges of log1p x are those of log(1 + x)
    y = b.select(b.fcmp_ordered("==", x, _c(float("inf"))), x, y)
    return _select_tiny(b, x, y, LOG1P_TINY)


# --------------------------------------------------------------------------------------------------
# asinh, acosh and atanh: fdlibm's forms on log and log1p, their arguments as double-doubles


def _div_parts(b, n_hi, n_lo, d_hi, d_lo):
    """``(n_hi + n_lo) / (d_hi + d_lo)`` as a double-double ``(q, q_lo)``: ``q = n_hi / d_hi`` rounded and
    ``q_lo`` from the exact remainder ``n_hi - q d_hi`` and the low parts."""
    q = b.fdiv(n_hi, d_hi)
    p, p_err = _two_prod(b, q, d_hi)
    rem = b.fsub(b.fsub(n_hi, p), p_err)
    rem = b.fsub(b.fadd(rem, n_lo), b.fmul(q, d_lo))
    return q, b.fdiv(rem, d_hi)


def _sqrt_parts(b, z, z_lo):
    """``sqrt(z + z_lo)`` as a double-double, for ``z > 0``: the square root's rounding error recovered from
    its exact square."""
    r = _intrinsic(b, "sqrt", z)
    square, square_err = _two_prod(b, r, r)
    return r, b.fdiv(b.fadd(b.fsub(b.fsub(z, square), square_err), z_lo), b.fmul(_c(2.0), r))


def _log_of_large(b, a, t):
    """``log(2a + t) = log(a + t/2) + ln2`` for ``a >= 2`` and ``|t| <= a/8``: ``a + t/2`` split by an exact
    two-sum, so ``t``'s own rounding error is all that is left, and 2a is never formed (no overflow)."""
    u, c = _two_sum(b, a, b.fmul(t, _c(0.5)))
    return _log_sum(b, u, c, extra_k=1)


def _asinh_body(b, x):
    # up to |x| = 2: log1p(a + a^2 / (1 + sqrt(1 + a^2))), that argument as a double-double; above:
    # log(2a + 1 / (a + sqrt(a^2 + 1))), where the reciprocal is 0 once a^2 overflows
    a = _intrinsic(b, "fabs", x)
    s = b.select(b.fcmp_ordered("<=", a, _c(ASINH_SMALL)), a, _c(1.0))  # keeps the products finite
    p, p_err = _two_prod(b, s, s)
    h, h_err = _two_sum(b, _c(1.0), p)
    r, r_lo = _sqrt_parts(b, h, b.fadd(h_err, p_err))
    d, d_lo = _two_sum(b, _c(1.0), r)
    q, q_lo = _div_parts(b, p, p_err, d, b.fadd(d_lo, r_lo))
    w, w_lo = _two_sum(b, s, q)
    small = _log1p_sum(b, w, b.fadd(w_lo, q_lo))
    big = b.select(b.fcmp_ordered(">", a, _c(ASINH_SMALL)), a, _c(4.0))
    big = b.select(b.fcmp_ordered("==", big, _c(float("inf"))), _c(4.0), big)
    t = b.fdiv(_c(1.0), b.fadd(big, _intrinsic(b, "sqrt", b.fadd(b.fmul(big, big), _c(1.0)))))
    large = _log_of_large(b, big, t)
    y = b.select(b.fcmp_ordered("<=", a, _c(ASINH_SMALL)), small, large)
    y = b.select(b.fcmp_ordered("==", a, _c(float("inf"))), a, y)
    y = _intrinsic(b, "copysign", y, x)
    y = _select_tiny(b, x, y, ASINH_TINY)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


def _acosh_body(b, x):
    # up to 2: log1p(t + sqrt(2t + t^2)) with t = x - 1 exact and the square root as a double-double;
    # above: log(2x - 1 / (x + sqrt(x^2 - 1))), the reciprocal 0 once x^2 overflows; NaN below 1
    near = b.select(b.fcmp_ordered("<=", x, _c(ACOSH_SMALL)), x, _c(2.0))
    near = b.select(b.fcmp_ordered(">=", near, _c(1.0)), near, _c(1.0))
    t = b.fsub(near, _c(1.0))  # exact: near in [1, 2]
    p, p_err = _two_prod(b, t, t)
    z, z_err = _two_sum(b, b.fmul(_c(2.0), t), p)
    r, r_lo = _sqrt_parts(b, b.select(b.fcmp_ordered(">", z, _c(0.0)), z, _c(1.0)), b.fadd(z_err, p_err))
    r_lo = b.select(b.fcmp_ordered(">", z, _c(0.0)), r_lo, _c(0.0))
    r = b.select(b.fcmp_ordered(">", z, _c(0.0)), r, _c(0.0))  # x = 1: acosh = +0
    w, w_lo = _two_sum(b, t, r)
    small = _log1p_sum(b, w, b.fadd(w_lo, r_lo))
    big = b.select(b.fcmp_ordered(">", x, _c(ACOSH_SMALL)), x, _c(4.0))
    big = b.select(b.fcmp_ordered("==", big, _c(float("inf"))), _c(4.0), big)
    t = b.fdiv(_c(1.0), b.fadd(big, _intrinsic(b, "sqrt", b.fsub(b.fmul(big, big), _c(1.0)))))
    large = _log_of_large(b, big, b.fneg(t))
    y = b.select(b.fcmp_ordered("<=", x, _c(ACOSH_SMALL)), small, large)
    y = b.select(b.fcmp_ordered("==", x, _c(float("inf"))), x, y)
    y = b.select(b.fcmp_ordered("<", x, _c(1.0)), _c(float("nan")), y)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


def _atanh_body(b, x):
    # 0.5 log1p(2a / (1 - a)) with 1 - a and the quotient as double-doubles (fdlibm splits the quotient as
    # 2a + 2a^2 / (1 - a) below 1/2 to the same end); ±inf at ±1, NaN beyond
    a = _intrinsic(b, "fabs", x)
    s = b.select(b.fcmp_ordered("<", a, _c(1.0)), a, _c(0.5))
    d, d_lo = _two_sum(b, _c(1.0), b.fneg(s))
    w, w_lo = _div_parts(b, b.fmul(_c(2.0), s), _c(0.0), d, d_lo)
    y = b.fmul(_c(0.5), _log1p_sum(b, w, w_lo))
    y = b.select(b.fcmp_ordered("==", a, _c(1.0)), _c(float("inf")), y)
    y = b.select(b.fcmp_ordered(">", a, _c(1.0)), _c(float("nan")), y)
    y = _intrinsic(b, "copysign", y, x)
    y = _select_tiny(b, x, y, ATANH_TINY)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


# --------------------------------------------------------------------------------------------------
# expm1


def _expm1_body(b, x):
    # x = n ln2 + (hi + lo), expm1 x = 2^n expm1(hi + lo) + (2^n - 1)
    t = b.select(b.fcmp_ordered(">", x, _c(EXP_MAX)), _c(EXP_MAX), x)
    t = b.select(b.fcmp_ordered("<", t, _c(EXPM1_MIN)), _c(EXPM1_MIN), t)
    t = b.select(b.fcmp_unordered("uno", x, x), _c(0.0), t)
    n = _intrinsic(b, "rint", b.fmul(t, _c(LOG2E)))
    hi, lo = _two_sum(b, b.fsub(t, b.fmul(n, _c(LN2_HI))), b.fneg(b.fmul(n, _c(LN2_LO))))
    # expm1(hi + lo) ~ expm1(hi) + lo e^hi ~ hi + (hi^2 P(hi) + lo (1 + hi))
    p = b.fmul(b.fmul(hi, hi), _horner(b, hi, [1.0 / factorial(k) for k in range(2, EXPM1_TERMS)]))
    p = b.fadd(hi, b.fadd(p, b.fmul(lo, b.fadd(_c(1.0), hi))))
    k = b.fptosi(n, i32)
    # |n| <= 53: 2^n - 1 and 2^n p are exact, the sum rounds once
    small_n = b.fadd(b.fsub(_pow2(b, k), _c(1.0)), b.fmul(_pow2(b, k), p))
    # n > 53: the -1 lies below half an ulp of 2^n; 2^n applied in two halves, as in exp, near overflow
    half = b.ashr(k, ir.Constant(i32, 1))
    scaled = b.fadd(b.fsub(p, _pow2(b, b.sub(ir.Constant(i32, 0), b.select(
        b.icmp_signed("<", k, ir.Constant(i32, 1000)), k, ir.Constant(i32, 1000))))), _c(1.0))
    large_n = b.fmul(b.fmul(scaled, _pow2(b, half)), _pow2(b, b.sub(k, half)))
    y = b.select(b.icmp_signed("<=", k, ir.Constant(i32, 53)), small_n, large_n)
    y = b.select(b.fcmp_ordered(">", x, _c(EXP_MAX)), _c(float("inf")), y)
    y = b.select(b.fcmp_unordered("uno", x, x), x, y)
    return _select_tiny(b, x, y, EXPM1_TINY)


# --------------------------------------------------------------------------------------------------
# exp2


def _exp2_body(b, x):
    # x = n + r with |r| <= 1/2 exact; 2^r = e^(r ln2), r ln2 a double-double (Dekker's product and the
    # rest of ln2), expm1's polynomial on it, 1 + expm1 split exactly, then 2^n applied in two halves
    t = b.select(b.fcmp_ordered(">", x, _c(EXP2_MAX)), _c(EXP2_MAX), x)
    t = b.select(b.fcmp_ordered("<", t, _c(EXP2_MIN)), _c(EXP2_MIN), t)
    t = b.select(b.fcmp_unordered("uno", x, x), _c(0.0), t)
    n = _intrinsic(b, "rint", t)
    hi, lo = _two_prod(b, b.fsub(t, n), _c(LN2))
    lo = b.fadd(lo, b.fmul(b.fsub(t, n), _c(LN2_TAIL)))
    p = b.fmul(b.fmul(hi, hi), _horner(b, hi, [1.0 / factorial(k) for k in range(2, EXPM1_TERMS)]))
    p = b.fadd(p, b.fmul(lo, b.fadd(_c(1.0), hi)))
    one, err = _fast_two_sum(b, _c(1.0), hi)  # |hi| <= ln2 / 2
    y = _scale(b, b.fadd(one, b.fadd(err, p)), b.fptosi(n, i32))  # x an integer: exactly 1 * 2^n
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


# --------------------------------------------------------------------------------------------------
# sinh and cosh


def _half_exp(b, a):
    """``e^a / 2`` as a double-double ``(hi, lo)`` for ``a >= 0``, finite up to sinh's and cosh's overflow
    threshold (710.48, past exp's), ``inf`` beyond.

    ``a = n ln2 + (r + r_lo)`` as in expm1; ``e^(r + r_lo) = (1 + r) + (r^2 P(r) + r_lo (1 + r))`` with
    ``1 + r`` split exactly by a two-sum, so only the small terms are rounded (exp's single double is off
    by up to an ulp, which sinh and cosh would inherit). The halving is in the power of two: exact.
    """
    t = b.select(b.fcmp_ordered("<", a, _c(HYPERBOLIC_CLAMP)), a, _c(HYPERBOLIC_CLAMP))
    n = _intrinsic(b, "rint", b.fmul(t, _c(LOG2E)))
    r, r_lo = _two_sum(b, b.fsub(t, b.fmul(n, _c(LN2_HI))), b.fneg(b.fmul(n, _c(LN2_LO))))
    p = b.fmul(b.fmul(r, r), _horner(b, r, [1.0 / factorial(k) for k in range(2, EXPM1_TERMS)]))
    p = b.fadd(p, b.fmul(r_lo, b.fadd(_c(1.0), r)))
    hi, lo = _fast_two_sum(b, _c(1.0), r)  # |r| <= ln2 / 2
    hi, lo = _fast_two_sum(b, hi, b.fadd(lo, p))  # normalised: hi is e^(r + r_lo) rounded
    k = b.sub(b.fptosi(n, i32), ir.Constant(i32, 1))
    return _scale(b, hi, k), _scale(b, lo, k)


def _sinh_body(b, x):
    # below 1 the odd Taylor series (no cancellation); above, e^|x|/2 - e^-|x|/2 with e^|x|/2 >= 1.35
    a = _intrinsic(b, "fabs", x)
    small = b.fadd(x, b.fmul(b.fmul(x, b.fmul(x, x)), _horner(b, b.fmul(x, x), _SINH_C[1:])))
    h, h_lo = _half_exp(b, a)
    large = _intrinsic(b, "copysign", b.fadd(h, b.fsub(h_lo, b.fdiv(_c(0.25), h))), x)
    y = b.select(b.fcmp_ordered("<", a, _c(SINH_SMALL)), small, large)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


def _cosh_body(b, x):
    # below 1/2 the even Taylor series as 1 + x^2 Q(x^2) (rounded once in the last sum); above,
    # e^|x|/2 + e^-|x|/2
    a = _intrinsic(b, "fabs", x)
    z = b.fmul(x, x)
    small = b.fadd(_c(1.0), b.fmul(z, _horner(b, z, _COSH_C[1:])))
    h, h_lo = _half_exp(b, a)
    large = b.fadd(h, b.fadd(h_lo, b.fdiv(_c(0.25), h)))
    y = b.select(b.fcmp_ordered("<", a, _c(COSH_SMALL)), small, large)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


# --------------------------------------------------------------------------------------------------
# cbrt


def _cbrt_split(b, a):
    """``a = y 2^(3q)`` with ``y`` in ``[1, 8)``, for a positive finite ``a``: ``(y, q, r)``, ``y = m 2^r`` with
    ``m`` in ``[1, 2)`` and ``r`` in 0, 1, 2, all by integer arithmetic on the bits (subnormals scaled by 2^54
    first, whose cube root is 2^18)."""
    subnormal = b.fcmp_ordered("<", a, _c(2.0 ** -1022))
    a = b.select(subnormal, b.fmul(a, _c(2.0 ** 54)), a)
    bits = b.bitcast(a, i64)
    e = b.trunc(b.lshr(bits, ir.Constant(i64, 52)), i32)
    e = b.sub(e, b.select(subnormal, ir.Constant(i32, 1023 + 54), ir.Constant(i32, 1023)))
    biased = b.add(e, ir.Constant(i32, CBRT_EXPONENT_BIAS))
    third = b.udiv(biased, ir.Constant(i32, 3))
    r = b.sub(biased, b.mul(third, ir.Constant(i32, 3)))
    q = b.sub(third, ir.Constant(i32, CBRT_EXPONENT_BIAS // 3))
    m = b.bitcast(b.or_(b.and_(bits, ir.Constant(i64, (1 << 52) - 1)), ir.Constant(i64, 1023 << 52)), f64)
    return m, b.fmul(m, _pow2(b, r)), q, r


def _cbrt_body(b, x):
    # |x| = y 2^(3q); a binomial series for cbrt m about 1.5 times cbrt(2^r), two Halley steps on y, then one
    # Newton step with the residual g^3 - y computed exactly (Dekker's products), so the result is rounded
    # about once: a perfect cube gets its exact root
    a = _intrinsic(b, "fabs", x)
    finite = b.and_(b.fcmp_ordered(">", a, _c(0.0)), b.fcmp_ordered("<", a, _c(float("inf"))))
    m, y, q, r = _cbrt_split(b, b.select(finite, a, _c(1.0)))
    g = _horner(b, b.fdiv(b.fsub(m, _c(CBRT_CENTRE)), _c(CBRT_CENTRE)), _CBRT_C)
    root_two = b.select(b.icmp_signed("==", r, ir.Constant(i32, 0)), _c(_CBRT_OF_TWO[0]),
                        b.select(b.icmp_signed("==", r, ir.Constant(i32, 1)), _c(_CBRT_OF_TWO[1]),
                                 _c(_CBRT_OF_TWO[2])))
    g = b.fmul(g, root_two)
    for _ in range(2):  # Halley: g (g^3 + 2y) / (2g^3 + y), the error cubed each time
        cube = b.fmul(b.fmul(g, g), g)
        g = b.fdiv(b.fmul(g, b.fadd(cube, b.fmul(_c(2.0), y))), b.fadd(b.fmul(_c(2.0), cube), y))
    square, square_err = _two_prod(b, g, g)
    cube, cube_err = _two_prod(b, g, square)
    residual = b.fadd(b.fsub(cube, y), b.fadd(cube_err, b.fmul(g, square_err)))  # cube - y exact: Sterbenz
    g = b.fsub(g, b.fdiv(residual, b.fmul(_c(3.0), square)))
    root = _intrinsic(b, "copysign", b.fmul(g, _pow2(b, q)), x)
    return b.select(finite, root, b.fadd(x, x))  # ±0, ±inf, NaN: themselves


# --------------------------------------------------------------------------------------------------
# One internal function per kernel and module


def _function(module, name):
    """The module's ``jaxlike.<name>.f64``, emitted on first use."""
    from . import vmath_trig  # here, not at import: vmath_trig is built on this module's primitives

    full = f"jaxlike.{name}.f64"
    fn = module.globals.get(full)
    if fn is not None:
        return fn
    arity = 2 if name in vmath_trig.BINARY else 1
    fn = ir.Function(module, ir.FunctionType(f64, [f64] * arity), name=full)
    fn.linkage = "internal"
    fn.attributes.add("alwaysinline")
    fn.attributes.add("nounwind")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    x = fn.args[0]
    if name in vmath_trig.FUNCTIONS:
        b.ret(vmath_trig.body(b, fn, name))
    elif name == "exp":
        b.ret(_exp_body(b, x))
    elif name == "tanh":
        b.ret(_tanh_body(b, x, _function(module, "exp")))
    else:
        b.ret(_BODIES[name](b, x))
    return fn


_BODIES = {"exp2": _exp2_body, "sinh": _sinh_body, "cosh": _cosh_body, "log": _log_body, "log2": _log2_body,
           "log10": _log10_body, "log1p": _log1p_body, "expm1": _expm1_body, "asinh": _asinh_body,
           "acosh": _acosh_body, "atanh": _atanh_body, "cbrt": _cbrt_body}


def call(b, name, *args):
    """``name(*args)`` (one of FUNCTIONS, the trigonometric ones from vmath_trig) for float32 or float64
    arguments, inlined and vectorisable."""
    fn = _function(b.module, name)
    t = args[0].type
    if t == f64:
        return b.call(fn, list(args))
    return b.fptrunc(b.call(fn, [b.fpext(v, f64) for v in args]), t)


FUNCTIONS = ("exp", "exp2", "tanh", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh",
             "asinh", "acosh", "atanh", "log", "log2", "log10", "log1p", "expm1", "cbrt")
