"""sin, cos, tan, asin, acos, atan and atan2 as straight-line polynomial kernels, so loops calling them
vectorise; the trigonometric half of vmath, whose primitives (Horner, exact two-sums and products) they
use, and through whose ``call`` they are emitted (``FUNCTIONS`` lists these as well).

Branch-free as vmath's, except past the reduction's bound: sin, cos and tan of ``|x| >= 2^20`` (and ±inf)
branch to libm through a function with masked vector variants of itself, so the loop still vectorises.

Accuracy, measured against libm over dense sweeps including the edges and the doubles closest to
multiples of pi/2 (tests/test_codegen.py): sin, cos, tan, asin, acos, atan and atan2 within 1 ulp (asin
and acos 0.64, atan 0.64, atan2 0.62 ulp of the exact values); in float32, tan, asin, acos, atan and atan2
equal libm's results rounded to float32. Signed zeros (``sin(-0.0) = -0.0``), NaN, ±inf and fdlibm's table
of atan2's special pairs behave as libm's.

- sin, cos: ``x = n pi/2 + r`` with ``|r| <~ pi/4`` (Cody-Waite with fdlibm's three 33-bit pieces of
  pi/2 and a fourth for the rest, exact two-sums in between: ``r`` as a double-double good to about
  2^-100, enough where ``r`` is as small as 6e-19); Taylor polynomials of degree 17 (sin) and 18 (cos)
  on ``r``, picked and signed by ``n mod 4``. The pieces' products with ``n`` are exact for ``|n| < 2^20``,
  hence the bound ``|x| < 2^20``; beyond it (and at ±inf), libm's own reduction in a branch. That branch
  calls a function that declares masked vector variants of itself, so the loop still vectorises and
  calls libm only for the lanes that need it (_huge).
- tan: the same reduction and both polynomials, each kept as a double-double (its last sum split by an
  exact two-sum); ``sin / cos`` for even ``n``, ``-cos / sin`` for odd ``n``, the quotient corrected by its
  exact remainder (Dekker's product), so it is rounded about once; libm beyond ``2^20`` as for sin and cos.
- asin, acos: fdlibm's reduction: up to ``|x| = 1/2`` the odd Taylor series of asin to degree 53 on
  ``|x|`` (truncation below 0.001 ulp); above, ``asin |x| = pi/2 - 2 asin w`` with ``w = sqrt((1 - |x|) / 2)``
  (``1 - |x|`` exact, the square root's rounding error recovered with an exact square and carried in the
  tail). acos is ``pi/2 - asin x``, ``2 asin w`` or ``pi - 2 asin w``; in each the two large terms are
  summed by a two-sum and the constants are double-doubles, so the result is rounded about once.
- atan: fdlibm's reduction of ``|x|``, ``atan |x| = atan c + atan((|x| - c) / (1 + c |x|))`` with
  ``c = 0, 1/2, 1, 3/2`` on its four intervals below 2.4375 and ``pi/2 + atan(-1/|x|)`` above (every
  numerator exact), so ``|t| <= 0.4375``; the odd Taylor series to degree 45 on ``t`` (truncation below
  0.003 ulp), ``atan c`` a double-double and ``atan c + t`` an exact two-sum, the sign put back. ±inf
  gives ±pi/2.
- atan2: ``atan |y/x|``, or ``pi`` minus it where x's sign bit is set, with y's sign. The quotient's
  rounding error goes in as a low part, ``(y - q x) / x`` with ``q x`` an exact product (y and x scaled by
  a common power of two first, so it neither overflows nor underflows), to first order
  ``/ (1 + q^2)``; ``pi - atan`` is summed as a double-double. Zeros, infinities and NaN as fdlibm's table
  (``atan2(±0, -0) = ±pi``, ``atan2(±inf, -inf) = ±3pi/4``, ...) by selects.
"""

from math import comb, factorial

from llvmlite import ir

from . import emit
from .emit import f64, i32, i64
from .vmath import _c, _fast_two_sum, _horner, _intrinsic, _pow2, _select_tiny, _two_prod, _two_sum

# sin, cos: fdlibm's pi/2 in pieces of at most 33 significant bits (the last one a full double)
TWO_OVER_PI = 6.36619772367581382433e-01
PIO2_1 = 1.57079632673412561417e+00
PIO2_2 = 6.07710050630396597660e-11
PIO2_3 = 2.02226624871116645580e-21
PIO2_3T = 8.47842766036889956997e-32  # pi/2 - (PIO2_1 + PIO2_2 + PIO2_3), to 7e-49
SIN_MAX = 2.0 ** 20  # |n| < 2^20 below: every n * PIO2_k exact; libm above
SIN_TINY = 2.0 ** -26  # below: sin x rounds to x
TAN_TINY = 2.0 ** -27  # below: tan x = x + x^3/3 rounds to x
SIN_TERMS = 9  # x, x^3, ..., x^17: the first term left out is below 0.002 ulp at pi/4
COS_TERMS = 10  # 1, x^2, ..., x^18
# atan: fdlibm's intervals and atan of their centres (rounded, and the rest)
ATAN_BOUNDS = (0.4375, 0.6875, 1.1875, 2.4375)
ATAN_HALF = (0.4636476090008061, 2.2698777452961687e-17)
ATAN_ONE = (0.7853981633974483, 3.061616997868383e-17)
ATAN_THREE_HALVES = (0.982793723247329, 1.3903311031230998e-17)
PIO2 = (1.5707963267948966, 6.123233995736766e-17)
ATAN_TERMS = 23  # t, t^3, ..., t^45: t^47/47 is below 0.003 ulp at |t| = 0.4375
ATAN_TINY = 2.0 ** -27  # below: atan x = x - x^3/3 rounds to x
PI = (3.141592653589793, 1.2246467991473532e-16)
ASIN_TERMS = 27  # w, w^3, ..., w^53: the first term left out is below 0.001 ulp at w = 1/2

_SIN_C = [(-1) ** k / factorial(2 * k + 1) for k in range(SIN_TERMS)]
_COS_C = [(-1) ** k / factorial(2 * k) for k in range(COS_TERMS)]
_ATAN_C = [(-1) ** k / (2 * k + 1) for k in range(ATAN_TERMS)]
_ASIN_C = [comb(2 * k, k) / (4 ** k * (2 * k + 1)) for k in range(ASIN_TERMS)]


# --------------------------------------------------------------------------------------------------
# sin, cos and tan


def _reduce_pio2(b, x):
    """``x = n pi/2 + (hi + lo)`` with ``|hi + lo| <~ pi/4``, for ``|x| < SIN_MAX``: ``(n & 3, hi, lo)``.

    ``n pi/2`` is subtracted in four pieces. The first three have at most 33 significant bits and
    ``|n| < 2^20``, so each product ``n PIO2_k`` is exact; ``x - n PIO2_1`` is exact (Sterbenz) and the next
    two subtractions are exact two-sums, so the only roundings are the last piece and the final sum: the
    reduced argument is good to about ``2^-100`` absolutely, well inside the ``~2^-60`` to which a double
    below ``2^20`` can approach a multiple of ``pi/2``.
    """
    inside = b.fcmp_ordered("<", _intrinsic(b, "fabs", x), _c(SIN_MAX))
    n = _intrinsic(b, "rint", b.fmul(b.select(inside, x, _c(0.0)), _c(TWO_OVER_PI)))  # NaN, inf: n = 0
    a = b.fsub(x, b.fmul(n, _c(PIO2_1)))
    s, e = _two_sum(b, a, b.fneg(b.fmul(n, _c(PIO2_2))))
    s, e2 = _two_sum(b, s, b.fneg(b.fmul(n, _c(PIO2_3))))
    lo = b.fsub(b.fadd(e, e2), b.fmul(n, _c(PIO2_3T)))
    hi = b.fadd(s, lo)
    lo = b.fsub(lo, b.fsub(hi, s))  # |s| >= |lo|: the rounding error of s + lo, exactly
    q = b.and_(b.fptosi(n, i32), ir.Constant(i32, 3))
    return q, hi, lo

def _sin_parts(b, hi, lo):
    """sin(hi + lo) ~ hi + (hi^3 S(hi^2) + lo (1 - hi^2 / 2)) for ``|hi| <~ pi/4``, ``|lo| <= ulp(hi) / 2``:
    the two terms, the second much smaller than the first."""
    z = b.fmul(hi, hi)
    tail = b.fmul(b.fmul(hi, z), _horner(b, z, _SIN_C[1:]))
    return hi, b.fadd(tail, b.fmul(lo, b.fsub(_c(1.0), b.fmul(_c(0.5), z))))

def _cos_parts(b, hi, lo):
    """cos(hi + lo) ~ (1 - hi^2/2) + (hi^4 C(hi^2) - hi lo), the rounding error of ``1 - hi^2/2`` kept in
    the second term."""
    z = b.fmul(hi, hi)
    w = b.fmul(_c(0.5), z)
    u = b.fsub(_c(1.0), w)
    u_err = b.fsub(b.fsub(_c(1.0), u), w)  # exact: 1 >= w
    tail = b.fsub(b.fmul(b.fmul(z, z), _horner(b, z, _COS_C[2:])), b.fmul(hi, lo))
    return u, b.fadd(u_err, tail)

def _sin_poly(b, hi, lo):
    return b.fadd(*_sin_parts(b, hi, lo))

def _cos_poly(b, hi, lo):
    return b.fadd(*_cos_parts(b, hi, lo))

def _sincos_body(b, x, name):
    q, hi, lo = _reduce_pio2(b, x)
    s, c = _sin_poly(b, hi, lo), _cos_poly(b, hi, lo)
    if name == "cos":  # cos(x) = sin(x + pi/2): one quadrant on
        q = b.add(q, ir.Constant(i32, 1))
    odd = b.trunc(q, ir.IntType(1))
    y = b.select(odd, c, s)
    negate = b.icmp_unsigned("!=", b.and_(q, ir.Constant(i32, 2)), ir.Constant(i32, 0))
    y = b.select(negate, b.fneg(y), y)
    if name == "sin":
        y = _select_tiny(b, x, y, SIN_TINY)
    return y

def _div_dd(b, n_hi, n_lo, d_hi, d_lo):
    """``(n_hi + n_lo) / (d_hi + d_lo)`` rounded once more: ``q0 = n_hi / d_hi`` corrected by the exact
    remainder ``n_hi - q0 d_hi`` and the low parts."""
    q0 = b.fdiv(n_hi, d_hi)
    p, p_err = _two_prod(b, q0, d_hi)
    rem = b.fsub(b.fsub(n_hi, p), p_err)  # n_hi - p is exact: p is within an ulp of n_hi
    rem = b.fsub(b.fadd(rem, n_lo), b.fmul(q0, d_lo))
    return b.fadd(q0, b.fdiv(rem, d_hi))

def _tan_body(b, x):
    # one reduction, both polynomials as double-doubles: tan = sin / cos for even n, -cos / sin for odd n
    q, hi, lo = _reduce_pio2(b, x)
    s_hi, s_lo = _fast_two_sum(b, *_sin_parts(b, hi, lo))
    c_hi, c_lo = _fast_two_sum(b, *_cos_parts(b, hi, lo))
    odd = b.trunc(q, ir.IntType(1))
    n_hi, n_lo = b.select(odd, c_hi, s_hi), b.select(odd, c_lo, s_lo)
    d_hi, d_lo = b.select(odd, s_hi, c_hi), b.select(odd, s_lo, c_lo)
    y = _div_dd(b, n_hi, n_lo, d_hi, d_lo)
    y = b.select(odd, b.fneg(y), y)
    return _select_tiny(b, x, y, TAN_TINY)

def _huge_fallback(b, fn, x, y, name):
    """Beyond SIN_MAX (and at ±inf) libm's own reduction, in a branch the common path never takes.

    The branch calls ``jaxlike.<name>.huge``, which tells the loop vectoriser of its own masked vector
    variants (_huge): the vectorised loop calls libm for the huge lanes only. A plain libm call here,
    even in a branch, would keep the whole loop scalar.
    """
    fast = b.block
    slow = fn.append_basic_block("huge")
    done = fn.append_basic_block("done")
    big = b.fcmp_unordered(">=", _intrinsic(b, "fabs", x), _c(SIN_MAX))
    big = b.and_(big, b.fcmp_ordered("ord", x, x))
    b.cbranch(big, slow, done)
    b.position_at_end(slow)
    libm = b.call(_huge(b.module, name), [x])
    b.branch(done)
    b.position_at_end(done)
    phi = b.phi(f64)
    phi.add_incoming(y, fast)
    phi.add_incoming(libm, slow)
    return phi


def _huge_widths():
    """The vector widths (in doubles) of the masked variants: the host's widest, for long loops, and half
    of it, for short ones; LLVM compiles every variant whether a loop calls it or not (6 ms for a width)."""
    from .engine import HOST_FEATURES  # the disk cache's key holds the features, so the choice is in it

    features = HOST_FEATURES.split(",")
    widest = 8 if "+avx512f" in features else 4 if "+avx" in features else 2
    return (2,) if widest == 2 else (widest // 2, widest)


HUGE_WIDTHS = _huge_widths()


def _huge(module, name):
    """``jaxlike.<name>.huge(x)``: libm's ``name(x)``, with masked vector variants the vectoriser may use.

    LLVM's loop vectoriser vectorises a call when the callee names a vector variant of itself in its
    ``vector-function-abi-variant`` attribute (vector function ABI mangling: ``_ZGV_LLVM_M4v_<scalar>(<vector>)``
    is masked, 4 lanes, one vector argument). Each variant calls libm for its active lanes only.
    """
    full = f"jaxlike.{name}.huge"
    fn = module.globals.get(full)
    if fn is not None:
        return fn
    libm = emit.declare(module, name, f64, [f64])
    fn = ir.Function(module, ir.FunctionType(f64, [f64]), name=full)
    fn.linkage = "internal"
    fn.attributes.add("noinline")  # inlined, the libm call would be back in the loop body
    fn.attributes.add("nounwind")
    # libm writes errno, which nothing here reads: the vectoriser accepts no other memory effect in a call
    fn.attributes.add("readnone")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    b.ret(b.call(libm, [fn.args[0]]))
    variants = [_masked_variant(module, libm, f"{full}.v{width}", width) for width in HUGE_WIDTHS]
    mangled = ",".join(f"_ZGV_LLVM_M{v.type.pointee.return_type.count}v_{full}({v.name})" for v in variants)
    # llvmlite knows keyword attributes only: a string attribute goes in through the underlying set
    set.add(fn.attributes, f'"vector-function-abi-variant"="{mangled}"')
    _keep(module, variants)
    return fn

def _masked_variant(module, libm, full, width):
    """``<width x double> f(<width x double> x, <width x i1> mask)``: libm on the lanes where mask is set."""
    vec = ir.VectorType(f64, width)
    fn = ir.Function(module, ir.FunctionType(vec, [vec, ir.VectorType(ir.IntType(1), width)]), name=full)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    fn.attributes.add("readnone")
    x, mask = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    none = b.icmp_unsigned("==", b.bitcast(mask, ir.IntType(width)), ir.Constant(ir.IntType(width), 0))
    with b.if_then(none, likely=True):  # the common case: no huge lane
        b.ret(x)
    result = x
    for lane in range(width):
        i = ir.Constant(i32, lane)
        before = b.block
        with b.if_then(b.extract_element(mask, i)):
            computed = b.insert_element(result, b.call(libm, [b.extract_element(x, i)]), i)
            then = b.block
        phi = b.phi(vec)
        phi.add_incoming(computed, then)
        phi.add_incoming(result, before)
        result = phi
    b.ret(result)
    return fn

def _keep(module, functions):
    """List ``functions`` in ``llvm.compiler.used``, so no pass deletes them before the vectoriser calls them."""
    used = module.globals.get("llvm.compiler.used")
    if used is not None:
        functions = [*used.initializer.constant, *functions]
        del module.globals["llvm.compiler.used"]
        module.scope._useset.discard("llvm.compiler.used")
    array = ir.ArrayType(emit.ptr, len(functions))
    used = ir.GlobalVariable(module, array, "llvm.compiler.used")
    used.linkage = "appending"
    used.section = "llvm.metadata"
    used.initializer = ir.Constant(array, list(functions))


# --------------------------------------------------------------------------------------------------
# atan and atan2


def _atan_parts(b, a, a_lo):
    """``atan(a + a_lo) ~ hi + rest`` for ``a >= 0`` (or NaN) and ``|a_lo|`` below an ulp of ``a``.

    fdlibm's reduction: ``atan a = atan c + atan t`` with ``t = (a - c) / (1 + c a)`` for ``c = 0, 1/2, 1,
    3/2`` and ``pi/2 - atan(1/a)`` beyond 2.4375, so ``|t| <= 0.4375``; each numerator is exact (Sterbenz).
    ``a_lo`` enters to first order, ``a_lo / (1 + a^2)``; ``atan c + t`` is summed exactly.
    """
    num, den, c_hi, c_lo = a, _c(1.0), _c(0.0), _c(0.0)
    for bound, n, d, (hi, lo) in (
            (ATAN_BOUNDS[0], b.fsub(b.fmul(_c(2.0), a), _c(1.0)), b.fadd(_c(2.0), a), ATAN_HALF),
            (ATAN_BOUNDS[1], b.fsub(a, _c(1.0)), b.fadd(a, _c(1.0)), ATAN_ONE),
            (ATAN_BOUNDS[2], b.fsub(a, _c(1.5)), b.fadd(_c(1.0), b.fmul(_c(1.5), a)), ATAN_THREE_HALVES),
            (ATAN_BOUNDS[3], _c(-1.0), a, PIO2)):
        above = b.fcmp_unordered(">=", a, _c(bound))  # NaN: through t
        num, den = b.select(above, n, num), b.select(above, d, den)
        c_hi, c_lo = b.select(above, _c(hi), c_hi), b.select(above, _c(lo), c_lo)
    t = b.fdiv(num, den)  # a = inf: t = -0, atan = pi/2
    z = b.fmul(t, t)
    tail = b.fmul(b.fmul(t, z), _horner(b, z, _ATAN_C[1:]))
    tail = b.fadd(tail, b.fdiv(a_lo, b.fadd(_c(1.0), b.fmul(a, a))))
    hi, e = _two_sum(b, c_hi, t)
    return hi, b.fadd(e, b.fadd(c_lo, tail))

def _atan_body(b, x):
    y = b.fadd(*_atan_parts(b, _intrinsic(b, "fabs", x), _c(0.0)))
    y = _intrinsic(b, "copysign", y, x)
    return _select_tiny(b, x, y, ATAN_TINY)

def _atan2_body(b, y, x):
    # atan(|y / x|), or pi minus it for x < 0 (x = -0 included), with y's sign. The quotient is rounded, so
    # its remainder goes in as a low part: q + (y - q x) / x, with q x an exact product and y, x scaled by
    # a common power of two so that product neither overflows nor underflows
    q = b.fdiv(y, x)
    a = _intrinsic(b, "fabs", q)
    bigger = _intrinsic(b, "maxnum", _intrinsic(b, "fabs", x), _intrinsic(b, "fabs", y))
    e = b.trunc(b.lshr(b.bitcast(bigger, i64), ir.Constant(i64, 52)), i32)
    e = b.select(b.icmp_signed("<", e, ir.Constant(i32, 1)), ir.Constant(i32, 1), e)
    e = b.select(b.icmp_signed(">", e, ir.Constant(i32, 2045)), ir.Constant(i32, 2045), e)
    scale = _pow2(b, b.sub(ir.Constant(i32, 1023), e))  # ~1 / bigger, a normal power of two
    ys, xs = b.fmul(y, scale), b.fmul(x, scale)
    p, p_err = _two_prod(b, q, xs)
    q_lo = b.fdiv(b.fsub(b.fsub(ys, p), p_err), xs)
    # beyond 2^±500 the correction is far below the result's ulp (or the quotient is the result)
    moderate = b.and_(b.fcmp_ordered(">", a, _c(2.0 ** -500)), b.fcmp_ordered("<", a, _c(2.0 ** 500)))
    q_lo = b.select(b.fcmp_ordered("<", q, _c(0.0)), b.fneg(q_lo), q_lo)  # |q| + a_lo = |q + q_lo|
    a_lo = b.select(moderate, q_lo, _c(0.0))
    # y = ±0: a = 0 even for x = ±0; both infinite: a = 1 (pi/4 and 3pi/4)
    a = b.select(b.fcmp_ordered("==", y, _c(0.0)), _c(0.0), a)
    inf = _c(float("inf"))
    both_inf = b.and_(b.fcmp_ordered("==", _intrinsic(b, "fabs", x), inf),
                      b.fcmp_ordered("==", _intrinsic(b, "fabs", y), inf))
    a = b.select(both_inf, _c(1.0), a)
    hi, rest = _atan_parts(b, a, a_lo)
    left = b.icmp_signed("<", b.bitcast(x, i64), ir.Constant(i64, 0))  # x < 0 or x = -0
    c_hi = b.select(left, _c(PI[0]), _c(0.0))
    c_lo = b.select(left, _c(PI[1]), _c(0.0))
    m = b.select(left, _c(-1.0), _c(1.0))
    r = _asin_combine(b, c_hi, c_lo, m, hi, rest)
    r = _intrinsic(b, "copysign", r, y)
    tiny = b.and_(b.fcmp_ordered("<", a, _c(ATAN_TINY)), b.xor(left, ir.Constant(ir.IntType(1), 1)))
    # atan q rounds to q there (x > 0): the correctly rounded quotient, subnormal ones too; 0 for y = ±0
    r = b.select(tiny, _intrinsic(b, "copysign", a, y), r)
    return b.select(b.fcmp_unordered("uno", x, y), b.fadd(x, y), r)


# --------------------------------------------------------------------------------------------------
# asin and acos


def _asin_reduced(b, a):
    """For ``a = |x|``: ``(big, w, tail)`` with ``asin w ~ w + tail``, ``w = a`` up to 1/2, above it
    ``w = sqrt((1 - a) / 2)`` (then ``asin a = pi/2 - 2 asin w``, fdlibm's reduction), so ``w <= 1/2``.

    ``1 - a`` is exact (Sterbenz) and so is the halving; the square root's rounding error is put back into
    the tail: ``w_lo = (z - w^2) / (2w)`` with ``w^2`` as an exact product, times
    ``asin'(w) ~ 1 + z/2 + 3z^2/8``.
    """
    big = b.fcmp_ordered(">", a, _c(0.5))
    z = b.select(big, b.fmul(b.fsub(_c(1.0), a), _c(0.5)), b.fmul(a, a))
    root = _intrinsic(b, "sqrt", z)
    w = b.select(big, root, a)
    square, square_err = _two_prod(b, root, root)
    w_lo = b.fdiv(b.fsub(b.fsub(z, square), square_err), b.fmul(_c(2.0), root))
    w_lo = b.select(b.and_(big, b.fcmp_ordered(">", root, _c(0.0))), w_lo, _c(0.0))  # not 0 / 0 at a = 1
    tail = b.fmul(b.fmul(w, z), _horner(b, z, _ASIN_C[1:]))
    tail = b.fadd(tail, b.fmul(w_lo, _horner(b, z, [1.0, 0.5, 0.375])))
    return big, w, tail

def _asin_combine(b, c_hi, c_lo, m, w, tail):
    """``(c_hi + c_lo) + m (w + tail)`` for ``m`` in ±1, ±2, the large terms summed exactly."""
    h, e = _two_sum(b, c_hi, b.fmul(m, w))
    return b.fadd(h, b.fadd(e, b.fadd(c_lo, b.fmul(m, tail))))

def _asin_body(b, x):
    # up to 1/2: w + tail; above: pi/2 - 2 (w + tail)
    big, w, tail = _asin_reduced(b, _intrinsic(b, "fabs", x))
    y = _asin_combine(b, b.select(big, _c(PIO2[0]), _c(0.0)), b.select(big, _c(PIO2[1]), _c(0.0)),
                      b.select(big, _c(-2.0), _c(1.0)), w, tail)
    y = _intrinsic(b, "copysign", y, x)
    return _select_tiny(b, x, y, SIN_TINY)  # NaN and |x| > 1: NaN through the square root or the select

def _acos_body(b, x):
    # up to 1/2: pi/2 - sign(x) (w + tail); above: 2 (w + tail) for x > 0, pi - 2 (w + tail) for x < 0
    big, w, tail = _asin_reduced(b, _intrinsic(b, "fabs", x))
    negative = b.fcmp_ordered("<", x, _c(0.0))
    c_hi = b.select(big, b.select(negative, _c(PI[0]), _c(0.0)), _c(PIO2[0]))
    c_lo = b.select(big, b.select(negative, _c(PI[1]), _c(0.0)), _c(PIO2[1]))
    m = b.select(big, b.select(negative, _c(-2.0), _c(2.0)), b.select(negative, _c(1.0), _c(-1.0)))
    y = _asin_combine(b, c_hi, c_lo, m, w, tail)
    y = b.select(b.fcmp_ordered(">", _intrinsic(b, "fabs", x), _c(1.0)), _c(float("nan")), y)
    return b.select(b.fcmp_unordered("uno", x, x), x, y)


# --------------------------------------------------------------------------------------------------
# The kernels by name


def body(b, fn, name):
    """``name`` (one of FUNCTIONS) of ``fn``'s arguments, emitted into ``fn``'s entry block: sin, cos and tan
    with the branch to libm beyond the reduction's bound."""
    x = fn.args[0]
    if name in ("sin", "cos"):
        return _huge_fallback(b, fn, x, _sincos_body(b, x, name), name)
    if name == "tan":
        return _huge_fallback(b, fn, x, _tan_body(b, x), name)
    if name == "atan2":
        return _atan2_body(b, *fn.args)
    return {"asin": _asin_body, "acos": _acos_body, "atan": _atan_body}[name](b, x)


FUNCTIONS = ("sin", "cos", "tan", "asin", "acos", "atan", "atan2")
BINARY = ("atan2",)  # two arguments
