"""One table of primitive cases: every registered primitive, its arguments, params and NumPy reference.

A case is (readable id like ``sin-f32-(3,4)``, primitive, argument generators, params, NumPy reference).
Argument generators are seeded and draw values inside the primitive's domain (away from poles, kinks and
ties, so central differences are meaningful). The tests in test_prims.py run every check from this table:
impl against the reference, eager against traced, jvp, transpose and batching. ERROR_CASES lists shape-rule
errors with the words their messages must contain.
"""

import zlib
from dataclasses import dataclass, field

import numpy as np

from jaxlike.ir import PRIMITIVES, trace_graph
from jaxlike.ir.core import AVal, Graph
from jaxlike.ir.dtypes import short_name

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
I32, I64, U32 = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.uint32)
BOOL = np.dtype(np.bool_)
FLOATS = (F32, F64)


# --------------------------------------------------------------------------------------------------
# Argument generators: a shape, a dtype and a seeded draw


@dataclass(frozen=True)
class Gen:
    shape: tuple
    dtype: np.dtype
    draw: object  # rng, shape -> ndarray (any dtype; cast here)

    def __call__(self, rng):
        return np.asarray(self.draw(rng, self.shape), dtype=self.dtype)


def uniform(shape, dtype, lo=-2.0, hi=2.0):
    return Gen(shape, dtype, lambda rng, s: rng.uniform(lo, hi, s))


def away_from_zero(shape, dtype, lo=0.5, hi=2.0):
    """|x| in [lo, hi], either sign: for division, abs, sign, cbrt."""
    return Gen(shape, dtype, lambda rng, s: rng.choice([-1.0, 1.0], s) * rng.uniform(lo, hi, s))


def fractional(shape, dtype):
    """k + f with f in [0.1, 0.4]: away from the jumps of floor, ceil and round."""
    return Gen(shape, dtype, lambda rng, s: rng.integers(-3, 3, s) + rng.uniform(0.1, 0.4, s))


def integers(shape, dtype, lo=-3, hi=4):
    """Integers in [lo, hi), in any dtype: small values make ties for comparisons and extrema."""
    return Gen(shape, dtype, lambda rng, s: rng.integers(lo, hi, s))


def nonzero_integers(shape, dtype, lo=-5, hi=6):
    return Gen(shape, dtype, lambda rng, s: rng.choice([v for v in range(lo, hi) if v], s))


def bools(shape):
    return Gen(shape, BOOL, lambda rng, s: rng.random(s) < 0.5)


def with_zeros(shape, dtype, count):
    """Uniform values with `count` entries set to zero: products whose derivative needs the others."""
    def draw(rng, s):
        x = rng.uniform(0.5, 1.5, s) * rng.choice([-1.0, 1.0], s)
        x.reshape(-1)[rng.permutation(int(np.prod(s)))[:count]] = 0.0
        return x
    return Gen(shape, dtype, draw)


def specials(shape, dtype):
    """Finite values mixed with nan and +-inf."""
    return Gen(shape, dtype, lambda rng, s: rng.choice([0.5, -1.0, 2.0, np.nan, np.inf, -np.inf], s))


def with_nans(shape, dtype):
    def draw(rng, s):
        x = rng.uniform(-2, 2, s)
        x.reshape(-1)[::3] = np.nan
        return x
    return Gen(shape, dtype, draw)


def indices(batch, sizes, dtype=I32, margin=1):
    """Index vectors for axes of these sizes; `margin` entries beyond each end exercise clamping."""
    def draw(rng, s):
        cols = [rng.integers(-margin, size + margin, batch) for size in sizes]
        return np.stack(cols, axis=-1) if cols else np.zeros(tuple(batch) + (0,), np.int64)
    return Gen(tuple(batch) + (len(sizes),), dtype, draw)


def unique_indices(batch, sizes, dtype=I32):
    """Distinct in-range index vectors (scatter's transpose is checked with and without duplicates)."""
    def draw(rng, s):
        count = int(np.prod(batch, dtype=np.int64))
        flat = rng.permutation(int(np.prod(sizes, dtype=np.int64)))[:count]
        return np.stack(np.unravel_index(flat, sizes), axis=-1).reshape(tuple(batch) + (len(sizes),))
    return Gen(tuple(batch) + (len(sizes),), dtype, draw)


# --------------------------------------------------------------------------------------------------
# The case record


def shape_text(shape):
    return "(" + ",".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def param_text(params):
    def text(v):
        if isinstance(v, np.dtype):
            return short_name(v)
        if isinstance(v, tuple):
            return "(" + ",".join(text(i) for i in v) + ("," if len(v) == 1 else "") + ")"
        return str(v)
    shown = {k: v for k, v in params.items() if not _is_rule(v)}
    return "".join(f"-{k}={text(v)}" for k, v in sorted(shown.items()))


def _is_rule(value):
    """Graphs and rules in params (control flow bodies, custom rules): the case's tag names them instead."""
    if isinstance(value, tuple):
        return any(_is_rule(v) for v in value)
    return isinstance(value, Graph) or callable(value)


@dataclass
class Case:
    id: str
    prim: object  # a Primitive
    args: tuple  # Gens
    params: dict
    ref: object  # NumPy reference: ref(*arrays) -> ndarray (a list for several results)
    linear: tuple = ()  # groups of operand positions the primitive is jointly linear in
    derivative: str = "fd"  # "fd": central differences; "zero": the tangent must be a symbolic Zero
    known: dict = field(default_factory=dict)  # test name -> a known bug this case shows (strict xfail)
    skip: dict = field(default_factory=dict)  # test name -> why that check does not apply (by design)
    seed: int = field(init=False)

    def __post_init__(self):
        self.seed = zlib.crc32(self.id.encode())

    def make_args(self, rng=None):
        rng = np.random.default_rng(self.seed) if rng is None else rng
        return [g(rng) for g in self.args]

    @property
    def in_avals(self):
        return [AVal(g.shape, g.dtype) for g in self.args]

    def out_aval(self):
        """The shape rule's answer: an AVal, or a list of them for a primitive with several results."""
        return self.prim.shape_rule(*self.in_avals, **self.params)

    def out_avals(self):
        out = self.out_aval()
        return list(out) if self.prim.multiple_results else [out]

    @property
    def has_bodies(self):
        """Params hold traced Graphs or rules (control flow, custom rules): fixed dtypes inside."""
        return any(_is_rule(v) for v in self.params.values())

    def bind_flat(self, *xs):
        """The primitive bound on xs, its results as a list (one or several): what trace_graph takes."""
        out = self.prim.bind(*xs, **self.params)
        return list(out) if self.prim.multiple_results else [out]

    def __repr__(self):
        return self.id


# which operands each primitive is linear in (jointly within a group); checked by the transpose tests
LINEAR = {
    "neg": ((0,),), "add": ((0, 1),), "sub": ((0, 1),), "mul": ((0,), (1,)), "div": ((0,),),
    "select": ((1, 2),), "convert": ((0,),),
    "broadcast_in_dim": ((0,),), "reshape": ((0,),), "transpose": ((0,),), "squeeze": ((0,),),
    "expand_dims": ((0,),), "slice": ((0,),), "pad": ((0, 1), (0,), (1,)), "rev": ((0,),),
    "reduce_sum": ((0,),), "cumsum": ((0,),),
    "concatenate": lambda n: (tuple(range(n)),) + tuple((i,) for i in range(n)),
    "gather": ((0,),), "scatter_add": ((0, 2), (0,), (2,)), "scatter": ((0, 2), (0,), (2,)),
    "dot_general": ((0,), (1,)),
}

CASES = []


def case(name, args, params=None, ref=None, *, derivative=None, tag="", known=None, skip=None, linear=None):
    """Add a case for primitive `name`; the id is name-dtype-shapes[-params][-tag]."""
    prim = PRIMITIVES[name]
    params = dict(params or {})
    args = tuple(args)
    # the dtype shown: the first float operand's, else the first that is not a predicate's
    dtype = (next((g.dtype for g in args if g.dtype.kind == "f"), None)
             or next((g.dtype for g in args if g.dtype != BOOL), args[0].dtype) if args else params["dtype"])
    shapes = "x".join(shape_text(g.shape) for g in args) if args else shape_text(params["shape"])
    shown = {k: v for k, v in params.items() if k not in ("shape", "dtype") or args}
    id_ = f"{name}-{short_name(dtype)}-{shapes}{param_text(shown)}{'-' + tag if tag else ''}"
    floats = [i for i, g in enumerate(args) if g.dtype.kind == "f"]
    c = Case(id_, prim, args, params, ref or REFS[name], known=dict(known or {}), skip=dict(skip or {}))
    outs = c.out_avals()
    float_out = all(o.dtype.kind == "f" for o in outs)
    if derivative is None:
        derivative = "fd" if floats and any(o.dtype.kind == "f" and o.size for o in outs) else "zero"
    c.derivative = derivative
    if float_out:
        groups = LINEAR.get(name, ()) if linear is None else linear
        groups = groups(len(args)) if callable(groups) else groups
        c.linear = tuple(g for g in groups if all(i in floats for i in g))
    CASES.append(c)
    return c


# --------------------------------------------------------------------------------------------------
# NumPy references, written independently of the impls where the impl is more than one NumPy call


def _integer_pow_ref(x, *, y):
    out = np.ones_like(x, dtype=x.dtype if y >= 0 or x.dtype.kind == "f" else np.float64)
    for _ in range(abs(y)):
        out = out * x
    return out if y >= 0 else (1 / out).astype(out.dtype)


def _div_ref(x, y):
    if x.dtype.kind == "f":
        return x / y
    q = np.abs(x.astype(np.int64)) // np.where(y == 0, 1, np.abs(y.astype(np.int64)))
    return np.where(y == 0, 0, np.sign(x) * np.sign(y) * q).astype(x.dtype)


def _rem_ref(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.fmod(x, y)


def _broadcast_in_dim_ref(x, *, shape, broadcast_dimensions):
    out = np.empty(shape, x.dtype)
    for index in np.ndindex(*shape):
        out[index] = x[tuple(index[d] if x.shape[i] != 1 else 0 for i, d in enumerate(broadcast_dimensions))]
    return out


def _pad_ref(x, v, *, padding_config):
    shape = [lo + hi + n + max(n - 1, 0) * i for n, (lo, hi, i) in zip(x.shape, padding_config)]
    out = np.full(shape, v, x.dtype)
    for index in np.ndindex(*x.shape):
        pos = tuple(lo + k * (i + 1) for k, (lo, _, i) in zip(index, padding_config))
        if all(0 <= p < s for p, s in zip(pos, shape)):
            out[pos] = x[index]
    return out


def _reduce_ref(fn, identity):
    def ref(x, *, axes):
        if any(x.shape[a] == 0 for a in axes):
            return np.full([s for i, s in enumerate(x.shape) if i not in axes], identity(x.dtype), x.dtype)
        return np.asarray(fn(x, axis=axes), x.dtype) if axes else x.copy()
    return ref


def _lowest(dt):
    return -np.inf if dt.kind == "f" else np.iinfo(dt).min if dt.kind in "iu" else False


def _highest(dt):
    return np.inf if dt.kind == "f" else np.iinfo(dt).max if dt.kind in "iu" else True


def _cumsum_ref(x, *, axis, reverse):
    x = np.flip(x, axis) if reverse else x
    out = np.zeros_like(x)
    total = np.zeros_like(np.take(x, 0, axis=axis)) if x.shape[axis] else None
    for k in range(x.shape[axis]):
        total = total + np.take(x, k, axis=axis)
        index = [slice(None)] * x.ndim
        index[axis] = k
        out[tuple(index)] = total
    return np.flip(out, axis) if reverse else out


def _clamped(index, x, axes):
    """The full index into x for one clamped index vector (slices for the axes not indexed)."""
    full = [slice(None)] * x.ndim
    for a, i in zip(axes, index):
        full[a] = min(max(int(i), 0), x.shape[a] - 1)
    return tuple(full)


def _gather_ref(x, idx, *, axes):
    batch = idx.shape[:-1]
    remaining = tuple(s for a, s in enumerate(x.shape) if a not in axes)
    out = np.zeros(batch + remaining, x.dtype)
    for b in np.ndindex(*batch):
        out[b] = x[_clamped(idx[b], x, axes)]
    return out


def _scatter_ref(add):
    def ref(x, idx, updates, *, axes):
        out = x.copy()
        for b in np.ndindex(*idx.shape[:-1]):  # in batch order: the last update wins
            where = _clamped(idx[b], x, axes)
            out[where] = out[where] + updates[b] if add else updates[b]
        return out
    return ref


def _dot_general_ref(x, y, *, dimension_numbers):
    (xc, yc), (xb, yb) = dimension_numbers
    xf = [i for i in range(x.ndim) if i not in xc + xb]
    yf = [i for i in range(y.ndim) if i not in yc + yb]
    size = lambda s, axes: int(np.prod([s[i] for i in axes], dtype=np.int64))  # noqa: E731
    x3 = np.transpose(x, list(xb) + xf + list(xc)).reshape(
        size(x.shape, xb), size(x.shape, xf), size(x.shape, xc))
    y3 = np.transpose(y, list(yb) + list(yc) + yf).reshape(
        size(y.shape, yb), size(y.shape, yc), size(y.shape, yf))
    out = np.zeros((x3.shape[0], x3.shape[1], y3.shape[2]), x.dtype)
    for b in range(x3.shape[0]):
        out[b] = x3[b] @ y3[b] if x3.shape[2] else 0
    shape = [x.shape[i] for i in xb] + [x.shape[i] for i in xf] + [y.shape[i] for i in yf]
    return out.reshape(shape).astype(x.dtype)


def _iota_ref(*, dtype, shape, dimension):
    return np.indices(shape)[dimension].astype(dtype) if shape else np.zeros((), dtype)


def _convert_ref(x, *, dtype):
    return x.astype(dtype)


REFS = {
    "neg": np.negative, "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin,
    "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "exp": np.exp, "exp2": np.exp2,
    "expm1": np.expm1, "log": np.log, "log2": np.log2, "log10": np.log10, "log1p": np.log1p,
    "sqrt": np.sqrt, "cbrt": np.cbrt, "logistic": lambda x: (1 / (1 + np.exp(-x))).astype(x.dtype),
    "abs": np.abs, "sign": np.sign, "floor": np.floor, "ceil": np.ceil, "round": np.round,
    "integer_pow": _integer_pow_ref, "not": lambda x: ~x, "is_finite": np.isfinite,
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": _div_ref, "pow": np.power,
    "max": np.maximum, "min": np.minimum, "atan2": np.arctan2, "rem": _rem_ref,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
    "ge": np.greater_equal, "and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor,
    "select": np.where, "convert": _convert_ref,
    "broadcast_in_dim": _broadcast_in_dim_ref,
    "reshape": lambda x, *, shape: np.reshape(x, shape),
    "transpose": lambda x, *, permutation: np.transpose(x, permutation),
    "squeeze": lambda x, *, dimensions: x.reshape([s for i, s in enumerate(x.shape) if i not in dimensions]),
    "expand_dims": lambda x, *, dimensions: x.reshape(_expanded_shape(x.shape, dimensions)),
    "slice": lambda x, *, start_indices, limit_indices, strides: x[tuple(
        slice(a, b, c) for a, b, c in zip(start_indices, limit_indices, strides))],
    "pad": _pad_ref,
    "concatenate": lambda *xs, dimension: np.concatenate(xs, axis=dimension),
    "rev": lambda x, *, dimensions: x[tuple(slice(None, None, -1) if i in dimensions else slice(None)
                                            for i in range(x.ndim))],
    "reduce_sum": lambda x, *, axes: np.add.reduce(x, axis=axes, dtype=x.dtype) if axes else x.copy(),
    "reduce_max": _reduce_ref(np.max, _lowest),
    "reduce_min": _reduce_ref(np.min, _highest),
    "reduce_prod": lambda x, *, axes: np.multiply.reduce(x, axis=axes, dtype=x.dtype) if axes else x.copy(),
    "argmax": lambda x, *, axis, index_dtype: np.argmax(x, axis=axis).astype(index_dtype),
    "argmin": lambda x, *, axis, index_dtype: np.argmin(x, axis=axis).astype(index_dtype),
    "cumsum": _cumsum_ref,
    "iota": _iota_ref,
    "stop_gradient": lambda x: x.copy(),
    "gather": _gather_ref, "scatter": _scatter_ref(add=False), "scatter_add": _scatter_ref(add=True),
    "dot_general": _dot_general_ref,
}


def _expanded_shape(shape, dimensions):
    sizes = iter(shape)
    return [1 if i in dimensions else next(sizes) for i in range(len(shape) + len(dimensions))]


# --------------------------------------------------------------------------------------------------
# unary: domain per primitive, every float dtype, rank 0, 2 and a size-0 shape

UNARY_DOMAINS = {
    "sin": uniform, "cos": uniform, "tan": lambda s, d: uniform(s, d, -1.2, 1.2),
    "asin": lambda s, d: uniform(s, d, -0.9, 0.9), "acos": lambda s, d: uniform(s, d, -0.9, 0.9),
    "atan": uniform, "sinh": uniform, "cosh": uniform, "tanh": uniform, "asinh": uniform,
    "acosh": lambda s, d: uniform(s, d, 1.2, 3.0), "atanh": lambda s, d: uniform(s, d, -0.9, 0.9),
    "exp": uniform, "exp2": uniform, "expm1": uniform,
    "log": lambda s, d: uniform(s, d, 0.2, 3.0), "log2": lambda s, d: uniform(s, d, 0.2, 3.0),
    "log10": lambda s, d: uniform(s, d, 0.2, 3.0), "log1p": lambda s, d: uniform(s, d, -0.7, 3.0),
    "sqrt": lambda s, d: uniform(s, d, 0.2, 3.0), "cbrt": away_from_zero,
    "logistic": lambda s, d: uniform(s, d, -4.0, 4.0), "abs": away_from_zero, "sign": away_from_zero,
    "floor": fractional, "ceil": fractional, "round": fractional, "neg": uniform,
}

for _name, _domain in UNARY_DOMAINS.items():
    for _dt in FLOATS:
        for _shape in [(), (3, 4), (0,)]:
            case(_name, [_domain(_shape, _dt)])
for _name in ("neg", "abs", "sign"):
    case(_name, [integers((3, 4), I32)])
    case(_name, [integers((5,), I64)])
for _dt in FLOATS:
    for _y in (2, 3, 0, 1, -2):
        case("integer_pow", [away_from_zero((3, 4), _dt)], {"y": _y})
    case("integer_pow", [away_from_zero((), _dt)], {"y": 3})
    case("integer_pow", [uniform((0, 2), _dt)], {"y": 2})
    case("is_finite", [specials((3, 4), _dt)])
    case("is_finite", [specials((), _dt)])
case("integer_pow", [integers((3, 4), I32)], {"y": 3})
case("not", [bools((3, 4))])
case("not", [bools(())])
case("not", [integers((3, 4), I32)])
case("not", [integers((6,), U32, 0, 9)])


# --------------------------------------------------------------------------------------------------
# binary: equal shapes, rank-0 operands, size 0; integers where the primitive takes them

def _binary_shapes():
    return [((3, 4), (3, 4)), ((), ()), ((3, 4), ()), ((), (2, 3)), ((0,), (0,))]


BINARY_DOMAINS = {
    "add": (uniform, uniform), "sub": (uniform, uniform), "mul": (uniform, uniform),
    "div": (uniform, away_from_zero),
    "pow": (lambda s, d: uniform(s, d, 0.5, 2.0), uniform),
    "max": (uniform, uniform), "min": (uniform, uniform),
    "atan2": (away_from_zero, away_from_zero),
    "rem": (lambda s, d: uniform(s, d, 2.3, 2.7), lambda s, d: uniform(s, d, 1.0, 1.1)),
}

for _name, (_gx, _gy) in BINARY_DOMAINS.items():
    for _dt in FLOATS:
        for _sx, _sy in _binary_shapes():
            case(_name, [_gx(_sx, _dt), _gy(_sy, _dt)])
for _name in ("add", "sub", "mul", "max", "min"):
    case(_name, [integers((3, 4), I32), integers((3, 4), I32)])
    case(_name, [integers((5,), I64), integers((), I64)])
case("mul", [bools((3, 4)), bools((3, 4))])
case("div", [integers((3, 4), I32, -9, 10), nonzero_integers((3, 4), I32)])
case("div", [integers((6,), I64, -9, 10), integers((6,), I64, -2, 3)], tag="zero-divisor")
case("rem", [integers((3, 4), I32, -9, 10), nonzero_integers((3, 4), I32)])
case("rem", [integers((6,), I64, -9, 10), integers((6,), I64, -2, 3)], tag="zero-divisor")

for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    for _dt in (F32, F64, I32):
        case(_name, [integers((3, 4), _dt), integers((3, 4), _dt)])
    case(_name, [integers((), F64), integers((5,), F64)])
    case(_name, [bools((4,)), bools((4,))])
for _name in ("and", "or", "xor"):
    case(_name, [bools((3, 4)), bools((3, 4))])
    case(_name, [bools(()), bools((5,))])
    case(_name, [integers((3, 4), I32, 0, 16), integers((3, 4), I32, 0, 16)])
    case(_name, [integers((4,), U32, 0, 16), integers((), U32, 0, 16)])

for _dt in FLOATS:
    case("select", [bools((3, 4)), uniform((3, 4), _dt), uniform((3, 4), _dt)])
    case("select", [bools((3, 4)), uniform((), _dt), uniform((), _dt)])
    case("select", [bools(()), uniform((3, 4), _dt), uniform((3, 4), _dt)])
    case("select", [bools((3, 4)), uniform((3, 4), _dt), uniform((), _dt)])
    case("select", [bools((0,)), uniform((0,), _dt), uniform((0,), _dt)])
case("select", [bools((5,)), integers((5,), I32), integers((5,), I32)])

for _src, _dst in [(F32, F64), (F64, F32), (F64, F64)]:
    case("convert", [uniform((3, 4), _src)], {"dtype": _dst})
    case("convert", [uniform((), _src)], {"dtype": _dst})
case("convert", [uniform((3, 4), F64, -9, 9)], {"dtype": I32})
case("convert", [specials((6,), F32)], {"dtype": I64}, ref=lambda x, dtype: np.where(
    np.isfinite(x), np.trunc(np.where(np.isfinite(x), x, 0)), 0).astype(dtype))
case("convert", [integers((3, 4), I32)], {"dtype": F64})
case("convert", [bools((5,))], {"dtype": F32})
case("convert", [uniform((5,), F32)], {"dtype": BOOL})
case("convert", [uniform((0, 3), F32)], {"dtype": F64})


# --------------------------------------------------------------------------------------------------
# shape

for _dt in FLOATS:
    case("broadcast_in_dim", [uniform((3,), _dt)], {"shape": (2, 3), "broadcast_dimensions": (1,)})
    case("broadcast_in_dim", [uniform((1, 3), _dt)], {"shape": (4, 3), "broadcast_dimensions": (0, 1)})
    case("broadcast_in_dim", [uniform((), _dt)], {"shape": (2, 2), "broadcast_dimensions": ()})
    case("broadcast_in_dim", [uniform((3, 1), _dt)], {"shape": (2, 3, 5), "broadcast_dimensions": (1, 2)})
    case("broadcast_in_dim", [uniform((0,), _dt)], {"shape": (2, 0), "broadcast_dimensions": (1,)})
    case("reshape", [uniform((3, 4), _dt)], {"shape": (2, 6)})
    case("reshape", [uniform((), _dt)], {"shape": (1, 1)})
    case("reshape", [uniform((0, 3), _dt)], {"shape": (3, 0)})
    case("transpose", [uniform((2, 3, 4), _dt)], {"permutation": (2, 0, 1)})
    case("transpose", [uniform((), _dt)], {"permutation": ()})
    case("squeeze", [uniform((1, 3, 1), _dt)], {"dimensions": (0, 2)})
    case("squeeze", [uniform((1,), _dt)], {"dimensions": (0,)})
    case("squeeze", [uniform((0, 1), _dt)], {"dimensions": (1,)})
    case("expand_dims", [uniform((3, 4), _dt)], {"dimensions": (0, 3)})
    case("expand_dims", [uniform((), _dt)], {"dimensions": (0,)})
    case("expand_dims", [uniform((0,), _dt)], {"dimensions": (1,)})
    case("slice", [uniform((5, 6), _dt)], {"start_indices": (1, 0), "limit_indices": (4, 6),
                                          "strides": (1, 2)})
    case("slice", [uniform((7,), _dt)], {"start_indices": (1,), "limit_indices": (7,), "strides": (3,)})
    case("slice", [uniform((4,), _dt)], {"start_indices": (2,), "limit_indices": (2,), "strides": (1,)})
    case("slice", [uniform((), _dt)], {"start_indices": (), "limit_indices": (), "strides": ()})
    case("pad", [uniform((3, 4), _dt), uniform((), _dt)], {"padding_config": ((1, 2, 0), (0, -1, 1))})
    case("pad", [uniform((5,), _dt), uniform((), _dt)], {"padding_config": ((-1, -2, 2),)})
    case("pad", [uniform((0, 2), _dt), uniform((), _dt)], {"padding_config": ((1, 1, 1), (0, 0, 0))})
    case("pad", [uniform((3,), _dt), uniform((), _dt)], {"padding_config": ((-4, 1, 0),)})
    case("pad", [uniform((), _dt), uniform((), _dt)], {"padding_config": ()})
    case("concatenate", [uniform((2, 3), _dt), uniform((4, 3), _dt)], {"dimension": 0})
    case("concatenate", [uniform((2, 3), _dt), uniform((2, 0), _dt), uniform((2, 1), _dt)], {"dimension": 1})
    case("concatenate", [uniform((3,), _dt)], {"dimension": 0})
    case("rev", [uniform((3, 4), _dt)], {"dimensions": (0, 1)})
    case("rev", [uniform((2, 5), _dt)], {"dimensions": (1,)})
    case("rev", [uniform((), _dt)], {"dimensions": ()})
case("reshape", [integers((2, 3), I32)], {"shape": (6,)})
case("transpose", [bools((2, 3))], {"permutation": (1, 0)})
case("pad", [integers((2, 3), I32), integers((), I32)], {"padding_config": ((1, 0, 1), (0, 2, 0))})
case("pad", [bools((3,)), bools(())], {"padding_config": ((1, 1, 1),)})
case("concatenate", [integers((2,), I64), integers((3,), I64)], {"dimension": 0})
case("slice", [integers((6, 2), I32)], {"start_indices": (0, 1), "limit_indices": (6, 2), "strides": (4, 1)})
case("rev", [integers((4,), I32)], {"dimensions": (0,)})


# --------------------------------------------------------------------------------------------------
# reduce

for _dt in FLOATS:
    for _name in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod"):
        case(_name, [uniform((3, 4), _dt, 0.5, 1.5)], {"axes": (1,)})
        case(_name, [uniform((2, 3, 4), _dt, -1.5, 1.5)], {"axes": (0, 2)})
        case(_name, [uniform((3, 4), _dt, -1.5, 1.5)], {"axes": (0, 1)})
        case(_name, [uniform((), _dt)], {"axes": ()})
        case(_name, [uniform((0, 3), _dt)], {"axes": (1,)})
        # an empty reduction is a constant (the identity, -inf for max)
        case(_name, [uniform((0, 3), _dt)], {"axes": (0,)}, derivative="zero")
    case("reduce_prod", [with_zeros((5,), _dt, 1)], {"axes": (0,)}, tag="one-zero")
    case("reduce_prod", [with_zeros((2, 6), _dt, 2)], {"axes": (1,)}, tag="two-zeros")
    case("reduce_prod", [with_zeros((3, 4, 2), _dt, 1)], {"axes": (0, 2)}, tag="one-zero")
    case("reduce_max", [with_nans((2, 3), _dt)], {"axes": (1,)}, derivative="skip", tag="nan")
    case("reduce_min", [with_nans((2, 3), _dt)], {"axes": (1,)}, derivative="skip", tag="nan")
for _name in ("reduce_sum", "reduce_max", "reduce_min", "reduce_prod"):
    case(_name, [integers((3, 4), I32)], {"axes": (0,)})
    case(_name, [integers((2, 3), I64)], {"axes": (0, 1)})
    case(_name, [integers((0, 3), I32)], {"axes": (0,)})
case("reduce_max", [bools((3, 4))], {"axes": (1,)})
case("reduce_min", [bools((3, 4))], {"axes": (0,)})

for _name in ("argmax", "argmin"):
    for _dt in FLOATS:
        case(_name, [uniform((3, 4), _dt)], {"axis": 1, "index_dtype": I32})
        case(_name, [uniform((2, 3, 4), _dt)], {"axis": 0, "index_dtype": I64})
        case(_name, [integers((4, 5), _dt, 0, 2)], {"axis": 1, "index_dtype": I32}, tag="ties")
        case(_name, [with_nans((4, 5), _dt)], {"axis": 1, "index_dtype": I32}, tag="nan")
        case(_name, [uniform((0, 3), _dt)], {"axis": 1, "index_dtype": I32})
        case(_name, [uniform((4,), _dt)], {"axis": 0, "index_dtype": I64})
    case(_name, [integers((3, 4), I32)], {"axis": 0, "index_dtype": I32})
    case(_name, [bools((3, 4))], {"axis": 1, "index_dtype": I64})

for _dt in FLOATS:
    for _reverse in (False, True):
        case("cumsum", [uniform((3, 4), _dt)], {"axis": 1, "reverse": _reverse})
        case("cumsum", [uniform((5,), _dt)], {"axis": 0, "reverse": _reverse})
    case("cumsum", [uniform((2, 3, 2), _dt)], {"axis": 0, "reverse": False})
    case("cumsum", [uniform((0,), _dt)], {"axis": 0, "reverse": False})
    case("cumsum", [uniform((2, 0), _dt)], {"axis": 0, "reverse": True})
case("cumsum", [integers((3, 4), I32)], {"axis": 0, "reverse": True})
case("cumsum", [integers((5,), I64)], {"axis": 0, "reverse": False})


# --------------------------------------------------------------------------------------------------
# misc

case("iota", [], {"dtype": I32, "shape": (3, 4), "dimension": 1})
case("iota", [], {"dtype": I64, "shape": (5,), "dimension": 0})
case("iota", [], {"dtype": F32, "shape": (2, 3), "dimension": 0})
case("iota", [], {"dtype": F64, "shape": (2, 0, 3), "dimension": 2})
case("iota", [], {"dtype": U32, "shape": (4,), "dimension": 0})
for _dt in FLOATS:
    case("stop_gradient", [uniform((3, 4), _dt)], derivative="zero")
    case("stop_gradient", [uniform((), _dt)], derivative="zero")
case("stop_gradient", [integers((3,), I32)])


# --------------------------------------------------------------------------------------------------
# indexing: indices of shape batch + (k,); some out of range, to exercise clamping

for _dt in FLOATS:
    case("gather", [uniform((5, 4), _dt), indices((3,), (5,))], {"axes": (0,)})
    case("gather", [uniform((5, 4, 3), _dt), indices((2, 2), (5, 3), I64)], {"axes": (0, 2)})
    case("gather", [uniform((4, 6), _dt), indices((3,), (6,))], {"axes": (1,)})
    case("gather", [uniform((5,), _dt), indices((4, 2), (5,))], {"axes": (0,)})
    case("gather", [uniform((3, 4), _dt), indices((), (3, 4))], {"axes": (0, 1)})
    case("gather", [uniform((3, 4), _dt), indices((0,), (3,))], {"axes": (0,)})
    case("gather", [uniform((3, 2), _dt), indices((2,), ())], {"axes": ()})
    case("gather", [uniform((0, 2), _dt), indices((0,), (0,))], {"axes": (0,)})
    for _name in ("scatter_add", "scatter"):
        case(_name, [uniform((5, 4), _dt), indices((6,), (5,)), uniform((6, 4), _dt)], {"axes": (0,)},
             tag="duplicates")
        case(_name, [uniform((5, 4), _dt), unique_indices((3,), (5,)), uniform((3, 4), _dt)], {"axes": (0,)})
        case(_name, [uniform((4, 3, 2), _dt), indices((3,), (4, 2), I64), uniform((3, 3), _dt)],
             {"axes": (0, 2)})
        case(_name, [uniform((4, 3), _dt), unique_indices((2, 2), (4, 3)), uniform((2, 2), _dt)],
             {"axes": (0, 1)})
        case(_name, [uniform((3, 4), _dt), indices((0,), (4,)), uniform((0, 3), _dt)], {"axes": (1,)})
        case(_name, [uniform((3,), _dt), indices((2,), ()), uniform((2, 3), _dt)], {"axes": ()})
case("gather", [integers((5, 2), I32), indices((4,), (5,), U32, margin=0)], {"axes": (0,)})
case("scatter_add", [integers((5,), I64), indices((7,), (5,)), integers((7,), I64)], {"axes": (0,)})
case("scatter", [integers((5,), I32), indices((7,), (5,)), integers((7,), I32)], {"axes": (0,)})


# --------------------------------------------------------------------------------------------------
# linalg

_DOTS = [
    ((3, 4), (4, 5), (((1,), (0,)), ((), ()))),  # matrix product
    ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),  # batched matrix product
    ((3,), (4,), (((), ()), ((), ()))),  # outer product
    ((4,), (4,), (((0,), (0,)), ((), ()))),  # inner product
    ((4, 2, 3), (3, 5, 4, 2), (((0, 2), (2, 0)), ((1,), (3,)))),  # contracting axes in crossed order
    ((2, 3, 4), (4, 3, 2), (((1,), (1,)), ((2, 0), (0, 2)))),  # batch axes in crossed order
    ((3, 0), (0, 2), (((1,), (0,)), ((), ()))),  # empty contraction
    ((), (3,), (((), ()), ((), ()))),  # scalar times vector
]
for _dt in FLOATS:
    for _sx, _sy, _dn in _DOTS:
        case("dot_general", [uniform(_sx, _dt), uniform(_sy, _dt)], {"dimension_numbers": _dn})
case("dot_general", [integers((3, 4), I32), integers((4, 2), I32)],
     {"dimension_numbers": (((1,), (0,)), ((), ()))})
case("dot_general", [integers((2, 3), I64), integers((3,), I64)],
     {"dimension_numbers": (((1,), (0,)), ((), ()))})


# --------------------------------------------------------------------------------------------------
# random: Threefry-2x32, checked against a scalar implementation that reproduces the Random123 known-answer
# vectors (test_prims checks those too)

_M32 = 0xFFFFFFFF


def threefry2x32_scalar(k0, k1, x0, x1):
    """Threefry-2x32, 20 rounds, on Python ints (Salmon et al., SC 2011)."""
    ks = [k0, k1, 0x1BD11BDA ^ k0 ^ k1]
    rotations = [13, 15, 26, 6, 17, 29, 16, 24]
    x0, x1 = (x0 + ks[0]) & _M32, (x1 + ks[1]) & _M32
    for r in range(20):
        x0 = (x0 + x1) & _M32
        x1 = ((x1 << rotations[r % 8]) | (x1 >> (32 - rotations[r % 8]))) & _M32
        x1 ^= x0
        if r % 4 == 3:  # key injection every four rounds
            s = r // 4 + 1
            x0 = (x0 + ks[s % 3]) & _M32
            x1 = (x1 + ks[(s + 1) % 3] + s) & _M32
    return x0, x1


def _threefry_ref(k0, k1, x0, x1):
    k0, k1, x0, x1 = np.broadcast_arrays(k0, k1, x0, x1)
    y0, y1 = np.zeros(k0.shape, U32), np.zeros(k0.shape, U32)
    for i in np.ndindex(*k0.shape):
        y0[i], y1[i] = threefry2x32_scalar(int(k0[i]), int(k1[i]), int(x0[i]), int(x1[i]))
    return [y0, y1]


def _random_bits_ref(key, *, shape):
    """Element i (row-major) of each key's block: y0 ^ y1 of Threefry on the counter (hi(i), lo(i))."""
    count = int(np.prod(shape, dtype=np.int64))
    blocks = []
    for b in np.ndindex(*key.shape[:-1]):
        k0, k1 = int(key[b][0]), int(key[b][1])
        blocks.append([np.bitwise_xor(*threefry2x32_scalar(k0, k1, i >> 32, i & _M32)) for i in range(count)])
    return np.array(blocks, U32).reshape(key.shape[:-1] + tuple(shape))


REFS["threefry2x32"] = _threefry_ref
REFS["random_bits"] = _random_bits_ref


def words(shape):
    return integers(shape, U32, 0, 2**32)


if "threefry2x32" in PRIMITIVES:  # the random family may be absent from a build without it
    case("threefry2x32", [words((2, 3))] + [words(())] * 2 + [words((2, 3))])
    case("threefry2x32", [words((4,))] * 4)
    case("threefry2x32", [words(()), words(()), words((5,)), words((5,))])
    case("threefry2x32", [words(())] * 4)
    case("threefry2x32", [words((0,))] * 4)
    case("random_bits", [words((2,))], {"shape": (3, 4)})
    case("random_bits", [words((3, 2))], {"shape": (5,)})
    case("random_bits", [words((2,))], {"shape": ()})
    case("random_bits", [words((2,))], {"shape": (0, 2)})


# --------------------------------------------------------------------------------------------------
# control flow and custom rules: the bodies are small traced Graphs, the references plain NumPy loops

# primitives whose transpose rule is exercised through another primitive's vjp, not on its own
TRANSPOSED_ELSEWHERE = {
    "while": "its transpose rule only raises: reverse mode splits a bounded while into a scan (max_steps)",
    "custom_lin": "its forward impl raises by design, so it is transposed in the vjp of custom_vjp_call",
}


def graph_of(fun, *avals):
    graph, captured = trace_graph(lambda *xs: list(fun(*xs)), list(avals))
    assert not captured
    return graph


def _cond_ref(*fns):
    def ref(index, *operands, branches):
        return fns[int(np.clip(index, 0, len(fns) - 1))](*operands)
    return ref


def _while_ref(index_steps, max_steps):
    def ref(n, a, i, x, **params):
        steps = 0
        while i < n and (max_steps is None or steps < max_steps):
            i, x = index_steps(a, i, x)
            steps += 1
        return [np.asarray(i), x]
    return ref


def _scan_ref(step):
    def ref(a, c, xs, *, length, reverse, **params):
        ys = [None] * length
        for k in (reversed(range(length)) if reverse else range(length)):
            c, ys[k] = step(a, c, xs[k])
        return [c, np.stack(ys) if length else np.zeros((0,) + c.shape, c.dtype)]
    return ref


def _eqn_params(fun, avals, name):
    """The params of the `name` equation that fun traces to; its operands must be fun's inputs."""
    graph = graph_of(fun, *avals)
    eqn = next(e for e in graph.eqns if e.prim.name == name)
    assert eqn.inputs == graph.inputs, f"{name}: the operands are not the function's inputs"
    return eqn.params


_BY_DESIGN = "custom_lin's forward impl raises by design (forward mode of a custom_vjp function)"

if "cond" in PRIMITIVES:  # the control family
    from jaxlike.ir.prims.binary import lt
    from jaxlike.ir.prims.unary import sin

    for _dt in FLOATS:
        _v = AVal((3,), _dt)
        _operands = [integers((), I32, -1, 3), uniform((3,), _dt), uniform((3,), _dt)]  # index clamped
        _branches = (graph_of(lambda x, y: [sin(x) * y, x], _v, _v),
                     graph_of(lambda x, y: [x + y * y, y], _v, _v))
        case("cond", _operands, {"branches": _branches}, tag="sin-or-poly",
             ref=_cond_ref(lambda x, y: [np.sin(x) * y, x], lambda x, y: [x + y * y, y]))
        _branches = (graph_of(lambda x, y: [2 * x - y], _v, _v), graph_of(lambda x, y: [x + 3 * y], _v, _v))
        case("cond", _operands, {"branches": _branches}, linear=((1, 2),), tag="linear",
             ref=_cond_ref(lambda x, y: [2 * x - y], lambda x, y: [x + 3 * y]))

        # while i < n: i, x = i + 1, x * a + sin(x)
        _s, _i = AVal((), I32), AVal((), I32)
        _while = {"cond_graph": graph_of(lambda n, i, x: [lt(i, n)], _s, _i, _v),
                  "body_graph": graph_of(lambda a, i, x: [i + 1, x * a + sin(x)], _v, _i, _v),
                  "cond_nconsts": 1, "body_nconsts": 1}
        _steps = lambda a, i, x: (i + 1, x * a + np.sin(x))  # noqa: E731
        _while_args = [integers((), I32, 0, 5), uniform((3,), _dt, 0.3, 0.9), integers((), I32, 0, 2),
                       uniform((3,), _dt, -1, 1)]
        case("while", _while_args, dict(_while, max_steps=None), ref=_while_ref(_steps, None), tag="sin",
             skip={t: "reverse mode of a while loop without max_steps raises by design"
                   for t in ("vjp", "second_order")})
        case("while", _while_args, dict(_while, max_steps=8), ref=_while_ref(_steps, 8), tag="sin")
        case("while", _while_args, dict(_while, max_steps=2), ref=_while_ref(_steps, 2), tag="sin-truncated")

        # scan: c, y = c * a + sin(x), c * x over the rows x of xs (and a linear body)
        _scan = {"body": graph_of(lambda a, c, x: [c * a + sin(x), c * x], _v, _v, _v),
                 "num_consts": 1, "num_carry": 1}
        for _length, _reverse in [(4, False), (4, True), (0, False)]:
            case("scan", [uniform((3,), _dt, 0.3, 0.9), uniform((3,), _dt), uniform((_length, 3), _dt)],
                 dict(_scan, length=_length, reverse=_reverse),
                 ref=_scan_ref(lambda a, c, x: (c * a + np.sin(x), c * x)), tag="sin")
        _scan = {"body": graph_of(lambda a, c, x: [c * a + x, 2 * c - x], _v, _v, _v), "num_consts": 1,
                 "num_carry": 1}
        case("scan", [uniform((3,), _dt, 0.3, 0.9), uniform((3,), _dt), uniform((4, 3), _dt)],
             dict(_scan, length=4, reverse=False), ref=_scan_ref(lambda a, c, x: (c * a + x, 2 * c - x)),
             linear=((1, 2),), tag="linear")

if "custom_jvp_call" in PRIMITIVES:  # the custom-rule family
    import jaxlike
    from jaxlike.ir.jvp import jvp_graph
    from jaxlike.ir.prims.unary import cos, exp, sin

    @jaxlike.custom_jvp
    def _sin_times(x, y):
        return sin(x) * y

    @_sin_times.defjvp
    def _sin_times_jvp(primals, tangents):
        (x, y), (tx, ty) = primals, tangents
        return sin(x) * y, cos(x) * y * tx + sin(x) * ty

    @jaxlike.custom_jvp
    def _triple(x):
        return 3 * x

    _triple.defjvp(lambda primals, tangents: (3 * primals[0], 3 * tangents[0]))

    @jaxlike.custom_vjp
    def _x_exp(x):
        return x * exp(x)

    def _x_exp_fwd(x):
        e = exp(x)
        return x * e, (x, e)

    def _x_exp_bwd(res, ct):
        x, e = res
        return (ct * e * (1 + x),)

    _x_exp.defvjp(_x_exp_fwd, _x_exp_bwd)

    @jaxlike.custom_vjp
    def _double(x):
        return 2 * x

    _double.defvjp(lambda x: (2 * x, ()), lambda res, ct: (2 * ct,))

    for _dt in FLOATS:
        _v = AVal((3,), _dt)
        _no_forward = "forward mode of a custom_vjp function raises by design"
        case("custom_jvp_call", [uniform((3,), _dt), uniform((3,), _dt)],
             _eqn_params(lambda x, y: [_sin_times(x, y)], [_v, _v], "custom_jvp_call"),
             ref=lambda x, y, **params: [np.sin(x) * y], linear=(), tag="sin_times")
        case("custom_jvp_call", [uniform((3,), _dt)],
             _eqn_params(lambda x: [_triple(x)], [_v], "custom_jvp_call"),
             ref=lambda x, **params: [3 * x], linear=((0,),), tag="triple")
        case("custom_vjp_call", [uniform((3,), _dt)],
             _eqn_params(lambda x: [_x_exp(x)], [_v], "custom_vjp_call"),
             ref=lambda x, **params: [x * np.exp(x)], linear=(), tag="x_exp",
             skip={"jvp": _no_forward, "second_order": _no_forward})
        case("custom_vjp_call", [uniform((3,), _dt)],
             _eqn_params(lambda x: [_double(x)], [_v], "custom_vjp_call"),
             ref=lambda x, **params: [2 * x], linear=((0,),), tag="double",
             skip={"jvp": _no_forward, "second_order": _no_forward})
        # custom_lin(residuals x and exp(x), tangent): what the jvp of _x_exp leaves for transpose
        _jvp = jvp_graph(graph_of(lambda x: [_x_exp(x)], _v), [True])
        _lin = next(e for e in _jvp.eqns if e.prim.name == "custom_lin")
        case("custom_lin", [uniform((3,), _dt)] * 3, _lin.params, ref=lambda *xs, **params: None,
             linear=(), tag="x_exp", skip={t: _BY_DESIGN for t in ("impl", "traced", "jvp", "batch", "vjp",
                                                                  "second_order", "graphs")})


# --------------------------------------------------------------------------------------------------
# Shape-rule errors: (id, primitive, operand avals, params, exception type, words the message contains)


def _a(shape, dtype=F32):
    return AVal(shape, dtype)


ERROR_CASES = [
    ("sin-int", "sin", [_a((3,), I32)], {}, TypeError, ["sin", "int32", "astype"]),
    ("integer_pow-negative-int", "integer_pow", [_a((4,), I64)], {"y": -1}, TypeError,
     ["integer_pow", "int64", "-1", "negative integer powers"]),
    ("add-dtypes", "add", [_a((3,)), _a((3,), F64)], {}, TypeError, ["add", "float32", "float64"]),
    ("add-shapes", "add", [_a((3,)), _a((4,))], {}, ValueError, ["add", "(3,)", "(4,)"]),
    ("select-pred", "select", [_a((3,)), _a((3,)), _a((3,))], {}, TypeError, ["select", "bool"]),
    ("reshape-size", "reshape", [_a((3, 4))], {"shape": (5,)}, ValueError, ["reshape", "(3, 4)", "(5,)"]),
    ("transpose-perm", "transpose", [_a((3, 4))], {"permutation": (0, 0)}, ValueError,
     ["transpose", "(3, 4)"]),
    ("broadcast_in_dim-size", "broadcast_in_dim", [_a((3,))], {"shape": (4,), "broadcast_dimensions": (0,)},
     ValueError, ["broadcast_in_dim", "(3,)", "(4,)"]),
    ("squeeze-not-one", "squeeze", [_a((3, 4))], {"dimensions": (1,)}, ValueError,
     ["squeeze", "(3, 4)", "size 4"]),
    ("squeeze-axis", "squeeze", [_a((1, 4))], {"dimensions": (2,)}, ValueError, ["squeeze", "(1, 4)"]),
    ("expand_dims-axis", "expand_dims", [_a((3,))], {"dimensions": (2,)}, ValueError,
     ["expand_dims", "(3,)", "[0, 2)"]),
    ("slice-limit", "slice", [_a((5,))], {"start_indices": (2,), "limit_indices": (7,), "strides": (1,)},
     ValueError, ["slice", "(5,)", "limit 7"]),
    ("slice-rank", "slice", [_a((5, 2))], {"start_indices": (0,), "limit_indices": (5,), "strides": (1,)},
     ValueError, ["slice", "(5, 2)", "one entry per axis"]),
    ("slice-stride", "slice", [_a((5,))], {"start_indices": (0,), "limit_indices": (5,), "strides": (0,)},
     ValueError, ["slice", "stride"]),
    ("pad-dtype", "pad", [_a((3,)), _a((), F64)], {"padding_config": ((1, 1, 0),)}, TypeError,
     ["pad", "float32", "float64", "astype"]),
    ("pad-value-rank", "pad", [_a((3,)), _a((1,))], {"padding_config": ((1, 1, 0),)}, ValueError,
     ["pad", "scalar", "(1,)"]),
    ("pad-negative", "pad", [_a((3,)), _a(())], {"padding_config": ((-3, -1, 0),)}, ValueError,
     ["pad", "(3,)", "(-3, -1, 0)"]),
    ("pad-interior", "pad", [_a((3,)), _a(())], {"padding_config": ((0, 0, -1),)}, ValueError,
     ["pad", "interior"]),
    ("pad-config", "pad", [_a((3, 2)), _a(())], {"padding_config": ((0, 0, 0),)}, ValueError,
     ["pad", "(3, 2)"]),
    ("concatenate-shapes", "concatenate", [_a((2, 3)), _a((3, 3))], {"dimension": 1}, ValueError,
     ["concatenate", "(2, 3)", "(3, 3)"]),
    ("concatenate-dtypes", "concatenate", [_a((2,)), _a((2,), I32)], {"dimension": 0}, TypeError,
     ["concatenate", "float32", "int32"]),
    ("concatenate-none", "concatenate", [], {"dimension": 0}, ValueError, ["concatenate", "one operand"]),
    ("concatenate-axis", "concatenate", [_a((2,)), _a((2,))], {"dimension": 1}, ValueError,
     ["concatenate", "dimension 1", "(2,)"]),
    ("rev-axis", "rev", [_a((2, 3))], {"dimensions": (2,)}, ValueError, ["rev", "(2, 3)"]),
    ("reduce_sum-axes", "reduce_sum", [_a((2, 3))], {"axes": (2,)}, ValueError, ["reduce_sum", "(2, 3)"]),
    ("reduce_max-axes", "reduce_max", [_a((2, 3))], {"axes": (1, 0)}, ValueError, ["reduce_max", "(2, 3)"]),
    ("reduce_sum-bool", "reduce_sum", [_a((2,), BOOL)], {"axes": (0,)}, TypeError, ["reduce_sum", "bool"]),
    ("reduce_prod-bool", "reduce_prod", [_a((2,), BOOL)], {"axes": (0,)}, TypeError, ["reduce_prod", "bool"]),
    ("argmax-empty", "argmax", [_a((0, 3))], {"axis": 0, "index_dtype": I32}, ValueError,
     ["argmax", "(0, 3)", "empty"]),
    ("argmin-dtype", "argmin", [_a((3,))], {"axis": 0, "index_dtype": F32}, TypeError,
     ["argmin", "float32", "int32"]),
    ("argmax-axis", "argmax", [_a((3,))], {"axis": 1, "index_dtype": I32}, ValueError, ["argmax", "(3,)"]),
    ("cumsum-axis", "cumsum", [_a((3,))], {"axis": 1, "reverse": False}, ValueError, ["cumsum", "(3,)"]),
    ("cumsum-bool", "cumsum", [_a((3,), BOOL)], {"axis": 0, "reverse": False}, TypeError, ["cumsum", "bool"]),
    ("iota-dimension", "iota", [], {"dtype": I32, "shape": (3,), "dimension": 1}, ValueError,
     ["iota", "(3,)", "dimension 1"]),
    ("iota-bool", "iota", [], {"dtype": BOOL, "shape": (3,), "dimension": 0}, TypeError, ["iota", "bool"]),
    ("gather-index-dtype", "gather", [_a((5,)), _a((2, 1), F32)], {"axes": (0,)}, TypeError,
     ["gather", "float32", "astype"]),
    ("gather-k", "gather", [_a((5, 3)), _a((2, 1), I32)], {"axes": (0, 1)}, ValueError,
     ["gather", "(2, 1)", "(0, 1)", "size 2"]),
    ("gather-axes", "gather", [_a((5, 3)), _a((2, 2), I32)], {"axes": (1, 0)}, ValueError,
     ["gather", "(5, 3)", "sorted"]),
    ("gather-empty-axis", "gather", [_a((0, 3)), _a((2, 1), I32)], {"axes": (0,)}, ValueError,
     ["gather", "(0, 3)", "empty"]),
    ("scatter-updates", "scatter", [_a((5, 3)), _a((2, 1), I32), _a((2, 4))], {"axes": (0,)}, ValueError,
     ["scatter", "(2, 4)", "(5, 3)", "(2, 3)"]),
    ("scatter_add-dtype", "scatter_add", [_a((5,)), _a((2, 1), I32), _a((2,), F64)], {"axes": (0,)},
     TypeError, ["scatter_add", "float32", "float64"]),
    ("dot_general-dtypes", "dot_general", [_a((3, 4)), _a((4,), F64)],
     {"dimension_numbers": (((1,), (0,)), ((), ()))}, TypeError, ["dot_general", "float32", "float64"]),
    ("dot_general-sizes", "dot_general", [_a((3, 4)), _a((5,))],
     {"dimension_numbers": (((1,), (0,)), ((), ()))}, ValueError, ["dot_general", "(3, 4)", "(5,)", "size"]),
    ("dot_general-axes", "dot_general", [_a((3, 4)), _a((4,))],
     {"dimension_numbers": (((2,), (0,)), ((), ()))}, ValueError, ["dot_general", "(3, 4)", "lhs"]),
    ("dot_general-counts", "dot_general", [_a((3, 4)), _a((4,))],
     {"dimension_numbers": (((1,), ()), ((), ()))}, ValueError, ["dot_general", "as many"]),
]

assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"
