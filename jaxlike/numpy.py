"""jaxlike.numpy: NumPy's array API written as compositions of primitives.

    import jaxlike.numpy as jnp

Every function binds primitives (``jaxlike.ir.prims``, ``jaxlike.ir.builder``). Inside a trace (a
transform, ``jit``, ``vmap``) it records equations; called on NumPy arrays and Python scalars outside any
trace it runs the primitives' NumPy implementations and returns NumPy arrays. There is no separate array
class: ``jnp.ndarray`` is an abstract class that NumPy arrays and traced values both belong to.

Semantics are NumPy 2's: promotion treats Python scalars as weak (a float32 array plus 1.0 is float32),
true division of integers gives float64, transcendental functions of integers give float64, ``sum`` of bool
or int32 gives int64, ``mean`` of integers gives float64. The dtypes are bool, int32, int64, uint32,
float32 and float64; float16 input becomes float32, other dtypes raise a TypeError. Two deliberate
differences: sums and cumulative sums of uint32 give int64 (NumPy's uint64 is not supported), and the
square of a bool array is a bool array (NumPy's int8 is not supported).

Functional updates. Arrays are immutable, as in JAX: instead of ``x[idx] = v`` write
``x = x.at[idx].set(v)`` (also ``add``, ``multiply``, ``divide``, ``power``, ``min``, ``max``, ``get``;
repeated indices combine like ``np.add.at`` and friends, and ``set`` keeps the last write). Traced values have the ``.at``
property. Outside a trace jnp functions return plain NumPy arrays, and NumPy's class cannot be given an
``.at`` attribute, so the same update is also spelled ``jnp.at(x)[idx].set(v)``; it accepts NumPy arrays and
traced values alike, and is the spelling for code that must run both inside and outside transforms.

Indexing follows NumPy, including advanced indexing. A boolean mask selects a data-dependent number of
elements, so it needs a concrete value: it works on NumPy arrays and in eager transforms (the derivative
flows through the selected elements) and raises ``NonConcreteBooleanIndexError`` under ``jit`` and ``vmap``.
Traced integer indices are clamped into range after negative ones wrap, for reads and updates alike (JAX
drops out-of-range updates instead); static out-of-range integers raise IndexError as in NumPy.
"""

import abc
import builtins
import math
import operator
import sys
import types

import numpy as np

from .ir import dtypes
from .ir.builder import ConcretizationTypeError as _ConcretizationTypeError
from .ir.builder import Tracer as _Tracer
from .ir.builder import aval_of as _aval_of
from .ir.builder import broadcast_shapes
from .ir.builder import convert as _convert
from .ir.builder import dtype_item as _dtype_item
from .ir.builder import full as _full
from .ir.builder import promote as _promote
from .ir.builder import reduce_sum as _reduce_sum
from .ir.builder import true_divide as _true_divide
from .ir.builder import broadcast_to as _broadcast_to
from .ir.builder import moveaxis as _moveaxis
from .ir.builder import reshape as _reshape
from .ir.builder import transpose as _transpose
from .ir.prims import binary as _b
from .ir.prims import misc as _misc
from .ir.prims import reduce as _r
from .ir.prims import shape as _s
from .ir.prims import unary as _u

# --------------------------------------------------------------------------------------------------
# Dtypes, constants and the array class

bool_ = np.bool_
int32 = np.int32
int64 = np.int64
uint32 = np.uint32
float32 = np.float32
float64 = np.float64
pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
newaxis = None


class ndarray(abc.ABC):  # noqa: N801  (NumPy's name)
    """What jnp functions accept and return: a NumPy array or a traced value. For isinstance checks."""


ndarray.register(np.ndarray)
ndarray.register(_Tracer)


def result_type(*args):
    return dtypes.result_type(*[_dtype_item(a) if not isinstance(a, (type, np.dtype, str))
                                else dtypes.canonical(a) for a in args])


def _static(x, what):
    """The concrete value of x: a Python value, a NumPy array, or a traced value that carries one."""
    if isinstance(x, _Tracer):
        if x.value is None:
            raise _ConcretizationTypeError(
                f"{what} needs a concrete value, but got a traced array {x.aval} while tracing "
                f"{x._trace.name}. Pass it as a static argument (static_argnums) or a Python number.")
        return x.value
    return x


def _arr(x):
    """x as an array handle: Tracers stay, everything else becomes a NumPy array of a supported dtype."""
    return x if isinstance(x, _Tracer) else asarray(x)


def _contains_array(obj):
    if isinstance(obj, (_Tracer, np.ndarray)):
        return True
    return isinstance(obj, (list, tuple)) and builtins.any(_contains_array(o) for o in obj)


def asarray(a, dtype=None):
    if isinstance(a, _Tracer):
        return a if dtype is None else _convert(a, dtype)
    if isinstance(a, (list, tuple)) and _contains_array(a):
        return array(a, dtype)
    arr = np.asarray(a, dtype=None if dtype is None else dtypes.canonical(dtype))
    if arr.dtype == object:
        raise TypeError(f"cannot make an array of {type(a).__name__} objects: {a!r}")
    return arr.astype(dtypes.canonical(arr.dtype), copy=False)


def array(obj, dtype=None, copy=True, ndmin=0):
    if isinstance(obj, _Tracer):
        out = obj if dtype is None else _convert(obj, dtype)
    elif isinstance(obj, (list, tuple)) and _contains_array(obj):
        # a list holding arrays stacks them; Python scalars among them are weakly typed, as in JAX
        out = stack([array(o) if isinstance(o, (list, tuple)) else o for o in obj])
        out = out if dtype is None else _convert(out, dtype)
    else:
        out = asarray(np.array(obj, copy=copy), dtype)
    if ndim(out) < ndmin:
        out = _reshape(out, (1,) * (ndmin - ndim(out)) + shape(out))
    return out


def shape(a):
    return _aval_of(_arr(a)).shape


def ndim(a):
    return len(shape(a))


def size(a):
    return math.prod(shape(a))


def _dtype(x):
    return _aval_of(x).dtype


def _float_dtype(dt):
    """The float dtype a transcendental function of dt computes in (NumPy: ints → float64)."""
    if dtypes.is_float(dt):
        return dt
    return dtypes.float32 if dtypes.is_bool(dt) else dtypes.float64


def _to_float(x):
    return _convert(x, _float_dtype(_dtype(x)))


def _shape_arg(shape_):
    return (operator.index(shape_),) if np.ndim(shape_) == 0 else tuple(operator.index(s) for s in shape_)


# --------------------------------------------------------------------------------------------------
# Array creation. Outside a trace these are NumPy arrays; inside one, arrays of one value stay symbolic
# (a broadcast literal) and the others (eye, arange, linspace) become graph constants.


def _dtype_arg(dtype, default=float64):
    return dtypes.canonical(default if dtype is None else dtype)


def zeros(shape, dtype=None):
    return _full(_shape_arg(shape), 0, _dtype_arg(dtype))


def ones(shape, dtype=None):
    return _full(_shape_arg(shape), 1, _dtype_arg(dtype))


empty = zeros


def full(shape, fill_value, dtype=None):
    shape = _shape_arg(shape)
    if isinstance(fill_value, _Tracer):
        fill = fill_value if dtype is None else _convert(fill_value, dtype)
        return broadcast_to(fill, shape)
    dt = dtypes.canonical(dtype) if dtype is not None else result_type(fill_value)
    if np.ndim(fill_value) == 0:
        return _full(shape, fill_value, dt)
    return np.full(shape, fill_value, dt)


def zeros_like(a, dtype=None, shape=None):
    aval = _aval_of(_arr(a))
    return zeros(aval.shape if shape is None else shape, _dtype_arg(dtype, aval.dtype))


def ones_like(a, dtype=None, shape=None):
    aval = _aval_of(_arr(a))
    return ones(aval.shape if shape is None else shape, _dtype_arg(dtype, aval.dtype))


empty_like = zeros_like


def full_like(a, fill_value, dtype=None, shape=None):
    aval = _aval_of(_arr(a))
    return full(aval.shape if shape is None else shape, fill_value, _dtype_arg(dtype, aval.dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803  (NumPy's names)
    return np.eye(operator.index(N), None if M is None else operator.index(M), operator.index(k),
                  _dtype_arg(dtype))


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def arange(start, stop=None, step=None, dtype=None):
    start, stop, step = (_static(v, "jnp.arange") for v in (start, stop, step))
    return asarray(np.arange(start, stop, step), dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    num = operator.index(_static(num, "the num of jnp.linspace"))
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    start, stop = _in(start), _in(stop)
    dt = result_type(start, stop, 1.0)
    start, stop = _convert(start, dt), _convert(stop, dt)
    div = (num - 1) if endpoint else num
    shape_ = broadcast_shapes(shape(start), shape(stop))
    steps = np.arange(num, dtype=dt).reshape((num,) + (1,) * len(shape_))
    delta = subtract(stop, start)
    if div > 0:
        step = divide(delta, float(div))
        out = add(multiply(steps, step), start)
    else:
        step = multiply(nan, delta)
        out = add(multiply(steps, delta), start)
    if endpoint and num > 1:  # the last sample is exactly stop, as in NumPy
        is_last = (np.arange(num) == num - 1).reshape(steps.shape)
        out = where(is_last, stop, out)
    out = moveaxis(_broadcast_to(out, (num,) + shape_), 0, axis)
    if dtype is not None:
        dt_out = dtypes.canonical(dtype)
        out = _convert(floor(out) if dtypes.is_int(dt_out) else out, dt_out)
    return (out, step) if retstep else out


# --------------------------------------------------------------------------------------------------
# Elementwise functions

def _float_unary(name, prim_fn):
    def fn(x):
        return prim_fn(_to_float(_arr(x)))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"NumPy's {name}; integer input computes in float64."
    return fn


sin = _float_unary("sin", _u.sin)
cos = _float_unary("cos", _u.cos)
tan = _float_unary("tan", _u.tan)
arcsin = _float_unary("arcsin", _u.asin)
arccos = _float_unary("arccos", _u.acos)
arctan = _float_unary("arctan", _u.atan)
sinh = _float_unary("sinh", _u.sinh)
cosh = _float_unary("cosh", _u.cosh)
tanh = _float_unary("tanh", _u.tanh)
arcsinh = _float_unary("arcsinh", _u.asinh)
arccosh = _float_unary("arccosh", _u.acosh)
arctanh = _float_unary("arctanh", _u.atanh)
exp = _float_unary("exp", _u.exp)
exp2 = _float_unary("exp2", _u.exp2)
expm1 = _float_unary("expm1", _u.expm1)
log = _float_unary("log", _u.log)
log2 = _float_unary("log2", _u.log2)
log10 = _float_unary("log10", _u.log10)
log1p = _float_unary("log1p", _u.log1p)
sqrt = _float_unary("sqrt", _u.sqrt)
cbrt = _float_unary("cbrt", _u.cbrt)
rint = _float_unary("rint", _u.round_)


def _kind(x):
    return _dtype(x).kind


def square(x):
    x = _arr(x)
    return _u.integer_pow(x, 2) if _kind(x) in "fi" else _b.mul(x, x)


def reciprocal(x):
    x = _arr(x)
    return _b.div(np.ones((), _dtype(x)), x)


def absolute(x):
    x = _arr(x)
    return _u.abs_(x) if _kind(x) in "fi" else x


abs = absolute  # noqa: A001  (NumPy's name)


def sign(x):
    x = _arr(x)
    return _u.sign(x) if _kind(x) in "fi" else _convert(_b.ne(x, np.zeros((), _dtype(x))), _dtype(x))


def _rounding(name, prim_fn):
    def fn(x):
        x = _arr(x)
        return prim_fn(x) if _kind(x) == "f" else x
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"NumPy's {name}; integers are returned unchanged."
    return fn


floor = _rounding("floor", _u.floor)
ceil = _rounding("ceil", _u.ceil)
trunc = _rounding("trunc", lambda x: where(x < 0, _u.ceil(x), _u.floor(x)))
fix = trunc


def round(a, decimals=0):  # noqa: A001  (NumPy's name)
    """Half to even, as NumPy; with decimals, ``rint(a * 10**decimals) / 10**decimals``."""
    a = _arr(a)
    decimals = operator.index(decimals)
    if _kind(a) != "f":
        if decimals >= 0:
            return a
        return _convert(round(_convert(a, float64), decimals), _dtype(a))
    if decimals == 0:
        return _u.round_(a)
    if decimals > 0:
        scale = 10.0 ** decimals
        return divide(_u.round_(multiply(a, scale)), scale)
    scale = 10.0 ** -decimals
    return multiply(_u.round_(divide(a, scale)), scale)


around = round


def negative(x):
    return _u.neg(_arr(x))


def positive(x):
    return _arr(x)


def _in(x):
    """An operand of a binary function: Python scalars stay weak, the rest becomes an array."""
    return x if dtypes.weak_kind(x) is not None else _arr(x)


def _promoted(*xs):
    return _promote(*[_in(x) for x in xs])


def add(x, y):
    x, y = _promoted(x, y)
    return _b.or_(x, y) if _kind(x) == "b" else _b.add(x, y)


def subtract(x, y):
    x, y = _promoted(x, y)
    if _kind(x) == "b":
        raise TypeError("numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, "
                        "the `^` operator, or the logical_xor function instead.")
    return _b.sub(x, y)


def multiply(x, y):
    return _b.mul(*_promoted(x, y))


def divide(x, y):
    return _true_divide(_in(x), _in(y))


true_divide = divide


def floor_divide(x, y):
    x, y = _promoted(x, y)
    if _kind(x) == "b":
        x, y = _convert(x, int64), _convert(y, int64)  # NumPy gives int8
    if _kind(x) in "iu":
        q, r = _b.div(x, y), _b.rem(x, y)
        return where(_needs_adjusting(r, y), subtract(q, 1), q)
    # NumPy's npy_divmod: exact where floor(x / y) is not (1.0 // 0.1 is 9.0)
    mod = _b.rem(x, y)
    div = divide(subtract(x, mod), y)
    div = where(_needs_adjusting(mod, y), subtract(div, 1), div)
    fl = _u.floor(div)
    fl = where(greater(subtract(div, fl), 0.5), add(fl, 1), fl)
    return where(equal(y, 0), divide(x, y), fl)


def _needs_adjusting(r, y):
    """Where C's remainder r of x / y has the wrong sign for floor division: r != 0, sign(r) != sign(y)."""
    zero = np.zeros((), _dtype(r))
    return _b.and_(_b.ne(r, zero), _b.ne(_b.lt(r, zero), _b.lt(y, zero)))


def remainder(x, y):
    """x mod y with the sign of y (Python's %), composed from rem (C's fmod, the sign of x)."""
    x, y = _promoted(x, y)
    if _kind(x) == "b":
        x, y = _convert(x, int64), _convert(y, int64)
    r = _b.rem(x, y)
    return where(_needs_adjusting(r, y), add(r, y), r)


mod = remainder


def fmod(x, y):
    return _b.rem(*_promoted(x, y))


def divmod(x, y):  # noqa: A001  (NumPy's name)
    return floor_divide(x, y), remainder(x, y)


def _int_power(x, y):
    """x ** y for integer arrays by repeated squaring, as NumPy does (wrapping on overflow)."""
    y_value = None if isinstance(y, _Tracer) else np.asarray(y)
    if y_value is not None and y_value.size and y_value.min() < 0:
        raise ValueError("Integers to negative integer powers are not allowed.")
    if y_value is not None:  # as many squarings as the largest exponent needs
        nbits = builtins.max(int(y_value.max()).bit_length() if y_value.size else 0, 1)
    else:
        nbits = 8 * _dtype(y).itemsize
    zero, two = np.zeros((), _dtype(x)), np.asarray(2, _dtype(x))
    acc, base, rest = ones(broadcast_shapes(shape(x), shape(y)), _dtype(x)), x, y
    for i in range(nbits):
        acc = where(_b.ne(_b.rem(rest, two), zero), multiply(acc, base), acc)
        if i + 1 < nbits:
            base, rest = multiply(base, base), _b.div(rest, two)
    return acc if y_value is not None else where(_b.lt(y, zero), zero, acc)  # x ** -n: 0, as JAX


def power(x, y):
    """x ** y. A Python int exponent gives one integer_pow (an exact derivative at x = 0)."""
    if dtypes.weak_kind(y) == "int":
        x = _arr(x)
        x = _convert(x, result_type(x, y))
        if y < 0 and _kind(x) != "f":
            raise ValueError("Integers to negative integer powers are not allowed.")
        if _kind(x) in "fi":
            return _u.integer_pow(x, y)
    x, y = _promoted(x, y)
    if _kind(x) == "f":
        return _b.pow_(x, y)
    if _kind(x) == "b":
        x, y = _convert(x, int64), _convert(y, int64)
    return _int_power(x, y)


def float_power(x, y):
    if dtypes.weak_kind(y) == "int":
        return power(_convert(_arr(x), float64), y)
    return _b.pow_(*_promote(_convert(_in(x), float64), _convert(_in(y), float64)))


def maximum(x, y):
    x, y = _promoted(x, y)
    return _b.or_(x, y) if _kind(x) == "b" else _b.max_(x, y)


def minimum(x, y):
    x, y = _promoted(x, y)
    return _b.and_(x, y) if _kind(x) == "b" else _b.min_(x, y)


def fmax(x, y):
    """maximum that ignores NaN (NaN only where both are NaN)."""
    x, y = _promoted(x, y)
    if _kind(x) != "f":
        return maximum(x, y)
    return where(isnan(y), x, where(isnan(x), y, _b.max_(x, y)))


def fmin(x, y):
    x, y = _promoted(x, y)
    if _kind(x) != "f":
        return minimum(x, y)
    return where(isnan(y), x, where(isnan(x), y, _b.min_(x, y)))


def _float_promoted(x, y):
    x, y = _promoted(x, y)
    return _to_float(x), _to_float(y)


def arctan2(x1, x2):
    return _b.atan2(*_float_promoted(x1, x2))


def hypot(x1, x2):
    """sqrt(x1² + x2²) without overflow: big · sqrt(1 + (small / big)²)."""
    x, y = _float_promoted(x1, x2)
    ax, ay = absolute(x), absolute(y)
    big, small = maximum(ax, ay), minimum(ax, ay)
    is_zero = equal(big, 0)
    ratio = divide(small, where(is_zero, 1, big))
    return where(is_zero, 0, multiply(big, sqrt(add(1, square(ratio)))))


def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)) without overflow; equal infinities give themselves."""
    x, y = _float_promoted(x1, x2)
    delta = subtract(x, y)
    return where(isnan(delta), add(x, y), add(maximum(x, y), log1p(exp(negative(absolute(delta))))))


def _comparison(name, prim_fn):
    def fn(x1, x2):
        return prim_fn(*_promoted(x1, x2))
    fn.__name__ = fn.__qualname__ = name
    return fn


equal = _comparison("equal", _b.eq)
not_equal = _comparison("not_equal", _b.ne)
less = _comparison("less", _b.lt)
less_equal = _comparison("less_equal", _b.le)
greater = _comparison("greater", _b.gt)
greater_equal = _comparison("greater_equal", _b.ge)


def _bool(x):
    return _convert(_arr(x), bool_)


def logical_and(x1, x2):
    return _b.and_(*_promote(_bool(x1), _bool(x2)))


def logical_or(x1, x2):
    return _b.or_(*_promote(_bool(x1), _bool(x2)))


def logical_xor(x1, x2):
    return _b.xor(*_promote(_bool(x1), _bool(x2)))


def logical_not(x):
    return _u.not_(_bool(x))


def isfinite(x):
    x = _arr(x)
    return _u.is_finite(x) if _kind(x) == "f" else full(shape(x), True, bool_)


def isnan(x):
    x = _arr(x)
    return _b.ne(x, x) if _kind(x) == "f" else full(shape(x), False, bool_)


def isinf(x):
    x = _arr(x)
    return _b.eq(_u.abs_(x), np.asarray(inf, _dtype(x))) if _kind(x) == "f" else full(shape(x), False, bool_)


def where(condition, x=None, y=None):
    """The 3-argument form (elementwise select with broadcasting); the 1-argument form is nonzero."""
    if x is None or y is None:
        raise TypeError("jnp.where takes 3 arguments (condition, x, y): the 1-argument form has a "
                        "data-dependent shape, use np.nonzero on a concrete array")
    c = _bool(condition)
    x, y = _promoted(x, y)
    out_shape = broadcast_shapes(shape(c), shape(x), shape(y))
    c, x, y = (_broadcast_to(v, out_shape) if shape(v) not in ((), out_shape) else v for v in (c, x, y))
    return _b.select(c, x, y)


def clip(a, a_min=None, a_max=None, *, min=None, max=None):  # noqa: A002  (NumPy's names)
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    out = _arr(a)
    if lo is not None:
        out = maximum(out, lo)
    if hi is not None:
        out = minimum(out, hi)
    return out


def stop_gradient(x):
    """The value of x, with no derivative flowing through it."""
    return _misc.stop_gradient(_arr(x))


# --------------------------------------------------------------------------------------------------
# Reductions


def _axes(axis, ndim_):
    """axis (None, an int or a tuple, negatives allowed) as sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim_))
    out = []
    for a in (axis if isinstance(axis, (tuple, list)) else (axis,)):
        a = operator.index(a)
        if not -ndim_ <= a < ndim_:
            raise np.exceptions.AxisError(a, ndim_)
        out.append(a % ndim_)
    if len(set(out)) != len(out):
        raise ValueError("duplicate value in 'axis'")
    return tuple(sorted(out))


def _keepdims(out, in_shape, axes, keepdims):
    if not keepdims:
        return out
    return _reshape(out, tuple(1 if i in axes else s for i, s in enumerate(in_shape)))


def _sum_dtype(dt):
    """NumPy accumulates bool and small integers in int64 (uint32 too: uint64 is not supported)."""
    return dtypes.int64 if dt.kind in "bu" or dt == dtypes.int32 else dt


def sum(a, axis=None, dtype=None, keepdims=False, initial=None):  # noqa: A001  (NumPy's name)
    a = _arr(a)
    axes = _axes(axis, ndim(a))
    dt = dtypes.canonical(dtype) if dtype is not None else _sum_dtype(_dtype(a))
    out = _reduce_sum(_convert(a, dt), axes)
    if initial is not None:
        out = add(out, initial)
    return _keepdims(out, shape(a), axes, keepdims)


def prod(a, axis=None, dtype=None, keepdims=False, initial=None):
    a = _arr(a)
    axes = _axes(axis, ndim(a))
    dt = dtypes.canonical(dtype) if dtype is not None else _sum_dtype(_dtype(a))
    a = _convert(a, dt)
    out = _r.reduce_prod(a, axes) if axes else a
    if initial is not None:
        out = multiply(out, initial)
    return _keepdims(out, shape(a), axes, keepdims)


def _extremum(name, prim_fn, pick):
    def fn(a, axis=None, keepdims=False, initial=None):
        a = _arr(a)
        axes = _axes(axis, ndim(a))
        if not axes:
            out = a
        elif builtins.any(shape(a)[i] == 0 for i in axes):
            if initial is None:
                raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
            out = full(tuple(s for i, s in enumerate(shape(a)) if i not in axes), initial, _dtype(a))
        else:
            out = prim_fn(a, axes)
        if initial is not None:
            out = pick(out, initial)
        return _keepdims(out, shape(a), axes, keepdims)
    fn.__name__ = fn.__qualname__ = {"maximum": "max", "minimum": "min"}[name]
    return fn


max = _extremum("maximum", _r.reduce_max, maximum)  # noqa: A001  (NumPy's name)
min = _extremum("minimum", _r.reduce_min, minimum)  # noqa: A001  (NumPy's name)
amax, amin = max, min


def _count(a, axes):
    return math.prod(shape(a)[i] for i in axes)


def _mean_dtype(dt, dtype):
    """mean and var compute in the float dtype of the input, float64 for integers and bool."""
    if dtype is not None:
        return dtypes.canonical(dtype)
    return dt if dtypes.is_float(dt) else dtypes.float64


def mean(a, axis=None, dtype=None, keepdims=False):
    a = _arr(a)
    axes = _axes(axis, ndim(a))
    dt = _mean_dtype(_dtype(a), dtype)
    total = sum(_convert(a, dt), axes, keepdims=keepdims)
    return _true_divide(total, float(_count(a, axes)))


def var(a, axis=None, dtype=None, ddof=0, keepdims=False):
    a = _arr(a)
    axes = _axes(axis, ndim(a))
    a = _convert(a, _mean_dtype(_dtype(a), dtype))
    centered = subtract(a, mean(a, axes, keepdims=True))
    total = sum(square(centered), axes, keepdims=keepdims)
    return _true_divide(total, float(builtins.max(_count(a, axes) - ddof, 0)))


def std(a, axis=None, dtype=None, ddof=0, keepdims=False):
    return sqrt(var(a, axis, dtype, ddof, keepdims))


def _arg_extremum(name, prim_fn):
    def fn(a, axis=None, keepdims=False):
        a = _arr(a)
        in_shape = shape(a)
        if axis is None:
            a = ravel(a)
            axis_ = 0
        else:
            axis_ = _axes(axis, ndim(a))[0]
        if shape(a)[axis_] == 0:
            raise ValueError(f"attempt to get {name} of an empty sequence")
        if _kind(a) == "b":
            a = _convert(a, int32)
        out = prim_fn(a, axis_, dtypes.int64)
        if keepdims:
            out = _reshape(out, tuple(1 if axis is None or i == axis_ else s for i, s in enumerate(in_shape)))
        return out
    fn.__name__ = fn.__qualname__ = name
    return fn


argmax = _arg_extremum("argmax", _r.argmax)
argmin = _arg_extremum("argmin", _r.argmin)


def _logical_reduction(name, prim_fn):
    def fn(a, axis=None, keepdims=False):
        a = _bool(a)
        axes = _axes(axis, ndim(a))
        return _keepdims(prim_fn(a, axes) if axes else a, shape(a), axes, keepdims)
    fn.__name__ = fn.__qualname__ = name
    return fn


# the max and min of truth values; an empty any is False, an empty all is True (the reductions' identities)
any = _logical_reduction("any", _r.reduce_max)  # noqa: A001  (NumPy's name)
all = _logical_reduction("all", _r.reduce_min)  # noqa: A001  (NumPy's name)


def cumsum(a, axis=None, dtype=None):
    a = _arr(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _axes(axis, ndim(a))[0]
    dt = dtypes.canonical(dtype) if dtype is not None else _sum_dtype(_dtype(a))
    return _r.cumsum(_convert(a, dt), axis)


def logsumexp(a, axis=None, b=None, keepdims=False):
    """log(sum(b * exp(a))) computed around the maximum, so large inputs neither overflow nor underflow."""
    a = _to_float(_arr(a))
    axes = _axes(axis, ndim(a))
    if b is not None:
        a, b = _float_promoted(a, b)
        a = _broadcast_to(a, broadcast_shapes(shape(a), shape(b)))
    if size(a) == 0:
        return log(sum(exp(a), axes, keepdims=keepdims))
    amax = max(a, axes, keepdims=True)
    amax = stop_gradient(where(isfinite(amax), amax, 0))
    terms = exp(subtract(a, amax))
    if b is not None:
        terms = multiply(terms, b)
    out = add(log(sum(terms, axes, keepdims=True)), amax)
    return _keepdims(_reshape(out, tuple(s for i, s in enumerate(shape(out)) if i not in axes)),
                     shape(a), axes, keepdims)


# --------------------------------------------------------------------------------------------------
# The rest of the API: linear algebra, indexing, and the array methods of traced values.

from . import _linalg  # noqa: E402
from ._linalg import (diag, diagonal, dot, einsum, inner, matmul, outer, tensordot, trace,  # noqa: E402
                      tril, triu, vdot)
from ._indexing import (array_split, at, atleast_1d, atleast_2d, atleast_3d, broadcast_arrays,  # noqa: E402
                        broadcast_to, concatenate, expand_dims, flip, fliplr, flipud, hstack, matrix_transpose,
                        moveaxis, ravel, repeat, reshape, roll, split, squeeze, stack, swapaxes, take, tile,
                        transpose, vstack)
from . import tracing  # noqa: E402,F401  (attaches the array API to Tracer)

# jnp.linalg, importable too (import jaxlike.numpy.linalg)
linalg = types.ModuleType(__name__ + ".linalg", "NumPy's linalg functions that need no factorization.")
for _name in _linalg.LINALG_NAMES:
    setattr(linalg, _name, getattr(_linalg, _name))
sys.modules[linalg.__name__] = linalg
