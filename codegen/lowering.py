"""One row per primitive: how it becomes LLVM.

A row is one of five kinds, and the kind decides how the primitive fuses (see loops.py):

- ``Elementwise(fn)``: ``fn(b, eqn, args) -> value`` on scalars in registers. Chains of these over one
  iteration space become one loop body.
- ``View(fn)``: ``fn(v, eqn, idx) -> value``, the output element at index ``idx`` (a list of i64) read from
  the operands through ``v.load(i, idx)``. Never materialised unless it has to be: a consumer reads through
  it (broadcast, transpose, slice, gather, ...).
- ``Alias()``: the same bytes under another shape (reshape, squeeze, expand_dims).
- ``Reduce(init, combine, finish)``: a reduction over ``axes``; accumulators live in registers and the
  producer chain fuses into the reduction loop.
- ``Kernel(fn)``: ``fn(k, eqn)`` emits its own loop nest, reading operands through ``k.load`` and writing
  ``k.out``'s buffers (dot_general, cumsum, scatter, concatenate).

NumPy's semantics exactly: NaN propagates through max and min like np.maximum, no fast-math flags except
reassociation of reduction sums, integer division and remainder by zero give 0 and INT_MIN / -1 does not
trap, float -> int conversion of NaN or out-of-range values gives 0.
"""

import numpy as np
from llvmlite import ir

from jaxlike.ir import dtypes

from . import emit
from .emit import f64, i1, i64
from .kernels import concatenate, cumsum, random_bits, scatter, threefry2x32


class Elementwise:
    kind = "elementwise"

    def __init__(self, fn):
        self.fn = fn


class View:
    kind = "view"

    def __init__(self, fn):
        self.fn = fn


class Alias:
    kind = "alias"


class Reduce:
    kind = "reduce"

    def __init__(self, axes, init, combine, finish=None):
        self.axes = axes  # axes(eqn) -> the reduced axes
        self.init = init  # init(eqn) -> [LLVM constants], the accumulators
        self.combine = combine  # combine(b, eqn, accs, value, reduced_ivs) -> new accs
        self.finish = finish or (lambda b, eqn, accs: accs[0])


class Kernel:
    kind = "kernel"

    def __init__(self, fn, needs_buffers=None):
        self.fn = fn
        # needs_buffers(eqn) -> True when the kernel wants every operand in a buffer (a BLAS call)
        self.needs_buffers = needs_buffers or (lambda eqn: False)


def _dt(atom):
    return atom.aval.dtype


def _intrinsic(b, name, x, *more):
    """llvm.<name>.<type>(x, *more), overloaded on x's type."""
    t = x.type
    suffix = {emit.f32: "f32", emit.f64: "f64", emit.i32: "i32", emit.i64: "i64"}[t]
    fn = emit.declare(b.module, f"llvm.{name}.{suffix}", t, [t] + [m.type for m in more])
    return b.call(fn, [x, *more])


def _libm(b, name, *args):
    """A libm function, float or double flavour by the argument type."""
    t = args[0].type
    fn = emit.declare(b.module, name if t == f64 else name + "f", t, [t] * len(args))
    return b.call(fn, list(args))


def _fconst(x, value):
    return ir.Constant(x.type, value)


# --------------------------------------------------------------------------------------------------
# Elementwise: unary


def _neg(b, eqn, args):
    (x,) = args
    return b.fneg(x) if dtypes.is_float(_dt(eqn.inputs[0])) else b.sub(ir.Constant(x.type, 0), x)


def _intrinsic_row(name):
    return Elementwise(lambda b, eqn, args: _intrinsic(b, name, args[0]))


def _libm_row(name):
    return Elementwise(lambda b, eqn, args: _libm(b, name, *args))


def _vmath_row(name):
    """A function of vmath.FUNCTIONS as an inlined polynomial kernel: loops calling it vectorise."""
    def fn(b, eqn, args):
        from . import vmath
        return vmath.call(b, name, *args)
    return Elementwise(fn)


def _logistic(b, eqn, args):
    from . import vmath
    (x,) = args
    one = _fconst(x, 1.0)
    return b.fdiv(one, b.fadd(one, vmath.call(b, "exp", b.fneg(x))))


def _abs(b, eqn, args):
    (x,) = args
    if dtypes.is_float(_dt(eqn.inputs[0])):
        return _intrinsic(b, "fabs", x)
    return _intrinsic(b, "abs", x, ir.Constant(i1, 0))


def _sign(b, eqn, args):
    (x,) = args
    if dtypes.is_float(_dt(eqn.inputs[0])):
        zero, one = _fconst(x, 0.0), _fconst(x, 1.0)
        neg = b.select(b.fcmp_ordered("<", x, zero), b.fneg(one), x)  # NaN and +-0 pass through
        return b.select(b.fcmp_ordered(">", x, zero), one, neg)
    zero = ir.Constant(x.type, 0)
    return b.sub(b.zext(b.icmp_signed(">", x, zero), x.type), b.zext(b.icmp_signed("<", x, zero), x.type))


def _integer_pow(b, eqn, args):
    (x,) = args
    y = eqn.params["y"]
    is_float = dtypes.is_float(_dt(eqn.inputs[0]))
    mul = b.fmul if is_float else b.mul
    one = _fconst(x, 1.0) if is_float else ir.Constant(x.type, 1)
    if y < 0 and not is_float:  # an integer result of 1 / x**|y|: only 1 and -1 survive truncation
        minus_one = ir.Constant(x.type, -1)
        odd = ir.Constant(x.type, 1 if -y % 2 else 0)
        is_one = b.icmp_signed("==", x, one)
        is_minus_one = b.icmp_signed("==", x, minus_one)
        from_minus_one = b.select(b.icmp_signed("==", odd, one), minus_one, one)
        return b.select(is_one, one, b.select(is_minus_one, from_minus_one, ir.Constant(x.type, 0)))
    n = abs(y)
    acc, base = None, x
    while n:  # binary exponentiation, fully unrolled: y is static
        if n & 1:
            acc = base if acc is None else mul(acc, base)
        n >>= 1
        if n:
            base = mul(base, base)
    acc = one if acc is None else acc
    return b.fdiv(one, acc) if y < 0 else acc


def _not(b, eqn, args):
    (x,) = args
    return b.xor(x, ir.Constant(x.type, -1 if x.type != i1 else 1))


def _is_finite(b, eqn, args):
    (x,) = args
    return b.fcmp_ordered("<", _intrinsic(b, "fabs", x), _fconst(x, float("inf")))


# --------------------------------------------------------------------------------------------------
# Elementwise: binary


def _arith(float_op, int_op, uint_op=None):
    def fn(b, eqn, args):
        dt = _dt(eqn.inputs[0])
        if dtypes.is_float(dt):
            return getattr(b, float_op)(*args)
        if dt.kind == "u" and uint_op:
            return getattr(b, uint_op)(*args)
        return getattr(b, int_op)(*args)
    return Elementwise(fn)


def _div(b, eqn, args):
    x, y = args
    dt = _dt(eqn.inputs[0])
    if dtypes.is_float(dt):
        return b.fdiv(x, y)
    zero, one = ir.Constant(x.type, 0), ir.Constant(x.type, 1)
    is_zero = b.icmp_unsigned("==", y, zero)
    safe = b.select(is_zero, one, y)
    if dt.kind == "u":
        return b.select(is_zero, zero, b.udiv(x, safe))
    minus_one = ir.Constant(x.type, -1)
    safe = b.select(b.icmp_signed("==", safe, minus_one), one, safe)  # INT_MIN / -1 would trap
    q = b.select(b.icmp_signed("==", y, minus_one), b.sub(zero, x), b.sdiv(x, safe))
    return b.select(is_zero, zero, q)


def _rem(b, eqn, args):
    x, y = args
    dt = _dt(eqn.inputs[0])
    if dtypes.is_float(dt):
        return b.frem(x, y)
    zero, one = ir.Constant(x.type, 0), ir.Constant(x.type, 1)
    is_zero = b.icmp_unsigned("==", y, zero)
    safe = b.select(is_zero, one, y)
    if dt.kind == "u":
        return b.select(is_zero, zero, b.urem(x, safe))
    minus_one = ir.Constant(x.type, -1)
    is_minus_one = b.icmp_signed("==", y, minus_one)
    safe = b.select(is_minus_one, one, safe)  # INT_MIN % -1 would trap; anything % -1 is 0
    return b.select(b.or_(is_zero, is_minus_one), zero, b.srem(x, safe))


def _minmax(which):
    """np.maximum / np.minimum: ``a if (a >= b or a is NaN) else b``, so NaN propagates from either side."""
    def fn(b, eqn, args):
        x, y = args
        dt = _dt(eqn.inputs[0])
        op = ">=" if which == "max" else "<="
        if dtypes.is_float(dt):
            keep = b.or_(b.fcmp_ordered(op, x, y), b.fcmp_unordered("uno", x, x))
        elif dt.kind == "u" or dtypes.is_bool(dt):
            keep = b.icmp_unsigned(op, x, y)
        else:
            keep = b.icmp_signed(op, x, y)
        return b.select(keep, x, y)
    return fn


_FCMP = {"eq": ("oeq", True), "ne": ("une", False), "lt": ("olt", True), "le": ("ole", True),
         "gt": ("ogt", True), "ge": ("oge", True)}
_ICMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _compare(name):
    def fn(b, eqn, args):
        x, y = args
        dt = _dt(eqn.inputs[0])
        if dtypes.is_float(dt):
            code, ordered = _FCMP[name]
            return (b.fcmp_ordered if ordered else b.fcmp_unordered)(_ICMP[name], x, y)
        if dt.kind == "i":
            return b.icmp_signed(_ICMP[name], x, y)
        return b.icmp_unsigned(_ICMP[name], x, y)
    return Elementwise(fn)


def _select(b, eqn, args):
    pred, on_true, on_false = args
    return b.select(pred, on_true, on_false)


def _convert(b, eqn, args):
    (x,) = args
    src, dst = _dt(eqn.inputs[0]), np.dtype(eqn.params["dtype"])
    t = emit.value_type(dst)
    if src == dst:
        return x
    if dtypes.is_bool(dst):
        if dtypes.is_float(src):
            return b.fcmp_unordered("!=", x, _fconst(x, 0.0))  # NaN is truthy, as in NumPy
        return b.icmp_unsigned("!=", x, ir.Constant(x.type, 0))
    if dtypes.is_float(src) and dtypes.is_float(dst):
        return b.fpext(x, t) if dst.itemsize > src.itemsize else b.fptrunc(x, t)
    if dtypes.is_float(src):  # float -> int: truncate; NaN and out-of-range give 0 (as _convert_impl)
        info = np.iinfo(dst)
        lo = float(np.asarray(info.min - 1.0, src))
        hi = float(np.asarray(info.max + 1.0, src))
        ok = b.and_(b.fcmp_ordered(">", x, _fconst(x, lo)), b.fcmp_ordered("<", x, _fconst(x, hi)))
        safe = b.select(ok, x, _fconst(x, 0.0))
        wide = b.fptosi(safe, i64)
        value = wide if t == i64 else b.trunc(wide, t)
        return b.select(ok, value, ir.Constant(t, 0))
    if dtypes.is_float(dst):
        if dtypes.is_bool(src) or src.kind == "u":
            return b.uitofp(x, t)
        return b.sitofp(x, t)
    # integer or bool -> integer: NumPy's astype wraps
    if x.type.width == t.width:
        return x
    if x.type.width > t.width:
        return b.trunc(x, t)
    return b.zext(x, t) if (dtypes.is_bool(src) or src.kind == "u") else b.sext(x, t)


# --------------------------------------------------------------------------------------------------
# Views: the output element at an index, read from the operands


def _broadcast_in_dim(v, eqn, idx):
    x = eqn.inputs[0]
    dims = eqn.params["broadcast_dimensions"]
    return v.load(0, [idx[d] if x.aval.shape[i] != 1 else emit.index(0) for i, d in enumerate(dims)])


def _transpose(v, eqn, idx):
    perm = eqn.params["permutation"]
    src = [None] * len(perm)
    for i, p in enumerate(perm):
        src[p] = idx[i]
    return v.load(0, src)


def _reshape(v, eqn, idx):
    flat = emit.linear_index(v.b, idx, eqn.outputs[0].aval.shape)
    return v.load(0, emit.unravel(v.b, flat, eqn.inputs[0].aval.shape))


def _slice(v, eqn, idx):
    p = eqn.params
    b = v.b
    src = []
    for iv, lo, st in zip(idx, p["start_indices"], p["strides"], strict=True):
        pos = iv if st == 1 else b.mul(iv, emit.index(st))
        src.append(pos if lo == 0 else b.add(pos, emit.index(lo)))
    return v.load(0, src)


def _rev(v, eqn, idx):
    shape = eqn.inputs[0].aval.shape
    dims = eqn.params["dimensions"]
    return v.load(0, [v.b.sub(emit.index(shape[d] - 1), iv) if d in dims else iv
                      for d, iv in enumerate(idx)])


def _pad(v, eqn, idx):
    b = v.b
    shape = eqn.inputs[0].aval.shape
    inside = ir.Constant(i1, 1)
    src = []
    for iv, n, (lo, hi, interior) in zip(idx, shape, eqn.params["padding_config"], strict=True):
        rel = b.sub(iv, emit.index(lo))
        step = interior + 1
        q = b.sdiv(rel, emit.index(step)) if step > 1 else rel
        ok = b.and_(b.icmp_signed(">=", rel, emit.index(0)), b.icmp_signed("<", q, emit.index(n)))
        if step > 1:
            ok = b.and_(ok, b.icmp_signed("==", b.srem(rel, emit.index(step)), emit.index(0)))
        inside = b.and_(inside, ok)
        src.append(emit.clamp(b, q, emit.index(0), emit.index(max(n - 1, 0))))
    value = v.load(1, [])
    if 0 in shape:
        return value
    return b.select(inside, v.load(0, src), value)


def _iota(v, eqn, idx):
    iv = idx[eqn.params["dimension"]]
    dt = np.dtype(eqn.params["dtype"])
    t = emit.value_type(dt)
    if dtypes.is_float(dt):
        return v.b.sitofp(iv, t)
    return iv if t == i64 else v.b.trunc(iv, t)


def _gather(v, eqn, idx):
    """out[batch, rest] = x[indices[batch] clamped along axes, rest on the other axes]."""
    b = v.b
    x, indices = eqn.inputs
    axes = eqn.params["axes"]
    nbatch = indices.aval.ndim - 1
    batch, rest = idx[:nbatch], iter(idx[nbatch:])
    index_dt = indices.aval.dtype
    src = []
    for axis, n in enumerate(x.aval.shape):
        if axis in axes:
            j = axes.index(axis)
            raw = v.load(1, batch + [emit.index(j)])
            if raw.type != i64:
                raw = b.zext(raw, i64) if index_dt.kind == "u" else b.sext(raw, i64)
            src.append(emit.clamp(b, raw, emit.index(0), emit.index(max(n - 1, 0))))
        else:
            src.append(next(rest))
    return v.load(0, src)


# --------------------------------------------------------------------------------------------------
# Reductions: accumulators in registers


def _reduce_axes(eqn):
    return tuple(eqn.params["axes"])


def _identity(kind, dt):
    dt = np.dtype(dt)
    if kind == "sum":
        return 0
    if kind == "prod":
        return 1
    if dtypes.is_bool(dt):
        return kind == "min"
    if dtypes.is_float(dt):
        return -np.inf if kind == "max" else np.inf
    info = np.iinfo(dt)
    return info.min if kind == "max" else info.max


def _reduction(kind):
    def init(eqn):
        return [emit.const(_dt(eqn.outputs[0]), _identity(kind, _dt(eqn.outputs[0])))]

    def combine(b, eqn, accs, x, ivs):
        (acc,) = accs
        dt = _dt(eqn.inputs[0])
        if dtypes.is_bool(dt):  # sum and max are "any", prod and min are "all"
            return [b.or_(acc, x) if kind in ("sum", "max") else b.and_(acc, x)]
        if kind in ("sum", "prod"):
            if dtypes.is_float(dt):
                op = b.fadd if kind == "sum" else b.fmul
                return [op(acc, x, flags=("reassoc",))]
            return [b.add(acc, x) if kind == "sum" else b.mul(acc, x)]
        return [_minmax(kind)(b, eqn, [acc, x])]
    return Reduce(_reduce_axes, init, combine)


def _arg_reduction(kind):
    """argmax / argmin: the first position of the extremum; the first NaN wins, as in NumPy."""
    def init(eqn):
        dt = _dt(eqn.inputs[0])
        return [emit.const(dt, _identity(kind, dt)), emit.index(0)]

    def combine(b, eqn, accs, x, ivs):
        best, at = accs
        dt = _dt(eqn.inputs[0])
        if dtypes.is_float(dt):
            op = ">" if kind == "max" else "<"
            better = b.or_(b.fcmp_ordered(op, x, best),
                           b.and_(b.fcmp_unordered("uno", x, x), b.fcmp_ordered("ord", best, best)))
        elif dt.kind == "i":
            better = b.icmp_signed(">" if kind == "max" else "<", x, best)
        else:
            better = b.icmp_unsigned(">" if kind == "max" else "<", x, best)
        # a first element always wins, so an all-(-inf) or all-INT_MIN row gives 0
        return [b.select(better, x, best), b.select(better, ivs[0], at)]

    def finish(b, eqn, accs):
        t = emit.value_type(_dt(eqn.outputs[0]))
        return accs[1] if t == i64 else b.trunc(accs[1], t)
    return Reduce(lambda eqn: (eqn.params["axis"],), init, combine, finish)


# --------------------------------------------------------------------------------------------------
# Kernels: their own loop nests (kernels.py, linalg.py, control.py)


def _dot_general(k, eqn):
    from .linalg import emit_dot_general
    emit_dot_general(k, eqn)


def _dot_general_needs_buffers(eqn):
    from .linalg import needs_buffers
    return needs_buffers(eqn)


def _control(name):
    """A row emitting nested Graphs as regions (codegen/control.py); every operand in a buffer."""
    def fn(k, eqn):
        from . import control
        getattr(control, name)(k, eqn)
    return Kernel(fn, needs_buffers=lambda eqn: True)


# --------------------------------------------------------------------------------------------------
# The table

LOWERINGS = {
    # unary
    "neg": Elementwise(_neg),
    "sin": _vmath_row("sin"), "cos": _vmath_row("cos"), "tan": _vmath_row("tan"),
    "asin": _vmath_row("asin"), "acos": _vmath_row("acos"), "atan": _vmath_row("atan"),
    "sinh": _vmath_row("sinh"), "cosh": _vmath_row("cosh"), "tanh": _vmath_row("tanh"),
    "asinh": _vmath_row("asinh"), "acosh": _vmath_row("acosh"), "atanh": _vmath_row("atanh"),
    "exp": _vmath_row("exp"), "exp2": _vmath_row("exp2"), "expm1": _vmath_row("expm1"),
    "log": _vmath_row("log"), "log2": _vmath_row("log2"), "log10": _vmath_row("log10"),
    "log1p": _vmath_row("log1p"),
    "sqrt": _intrinsic_row("sqrt"), "cbrt": _vmath_row("cbrt"),
    "logistic": Elementwise(_logistic),
    "abs": Elementwise(_abs), "sign": Elementwise(_sign),
    "floor": _intrinsic_row("floor"), "ceil": _intrinsic_row("ceil"), "round": _intrinsic_row("roundeven"),
    "integer_pow": Elementwise(_integer_pow),
    "not": Elementwise(_not),
    "is_finite": Elementwise(_is_finite),
    # binary
    "add": _arith("fadd", "add"), "sub": _arith("fsub", "sub"), "mul": _arith("fmul", "mul"),
    "div": Elementwise(_div), "rem": Elementwise(_rem),
    "pow": Elementwise(lambda b, eqn, args: _intrinsic(b, "pow", *args)),
    "max": Elementwise(_minmax("max")), "min": Elementwise(_minmax("min")),
    "atan2": _vmath_row("atan2"),
    **{name: _compare(name) for name in _ICMP},
    "and": _arith(None, "and_"), "or": _arith(None, "or_"), "xor": _arith(None, "xor"),
    "select": Elementwise(_select),
    "convert": Elementwise(_convert),
    # shape
    "broadcast_in_dim": View(_broadcast_in_dim),
    "reshape": Alias(), "squeeze": Alias(), "expand_dims": Alias(),
    "transpose": View(_transpose),
    "slice": View(_slice),
    "rev": View(_rev),
    "pad": View(_pad),
    "concatenate": Kernel(concatenate),
    # reductions
    "reduce_sum": _reduction("sum"), "reduce_prod": _reduction("prod"),
    "reduce_max": _reduction("max"), "reduce_min": _reduction("min"),
    "argmax": _arg_reduction("max"), "argmin": _arg_reduction("min"),
    "cumsum": Kernel(cumsum),
    # indexing
    "gather": View(_gather),
    "scatter": Kernel(scatter(accumulate=False)),
    "scatter_add": Kernel(scatter(accumulate=True)),
    # linalg
    "dot_general": Kernel(_dot_general, _dot_general_needs_buffers),
    # random
    "threefry2x32": Elementwise(threefry2x32),  # two results
    "random_bits": View(random_bits),
    # control flow and calls: nested graphs as regions of the enclosing function
    "cond": _control("emit_cond"),
    "while": _control("emit_while"),
    "scan": _control("emit_scan"),
    "custom_jvp_call": _control("emit_call"),
    "custom_vjp_call": _control("emit_call"),
    "custom_lin": _control("emit_custom_lin"),  # transposed away before compilation; an error if not
    # misc
    "iota": View(_iota),
    "stop_gradient": Elementwise(lambda b, eqn, args: args[0]),
}

RESHAPE_VIEW = View(_reshape)  # an Alias whose operand is itself a view is read through this
