"""One table of jaxlike.numpy cases, shared by the NumPy, autodiff, vmap and jit tests.

Each ``Case`` is ``(id, fn, args_fn, kwargs, ref, differentiable, argnums)``:

- ``fn(*args, **kwargs)`` calls jaxlike.numpy; ``ref(*args, **kwargs)`` is the NumPy reference.
- ``args_fn()`` returns a fresh tuple of arguments, the same every call (seeded from the id), with values in
  the function's domain (``log`` gets positive numbers, ``arcsin`` numbers in (-1, 1)). Arguments that are
  NumPy arrays are the ones a test traces; Python scalars among them stay static. Static options are kwargs.
- ``differentiable``: the function is smooth at the arguments in its float inputs ``argnums``.
- An output may be a tuple or list of arrays (split, broadcast_arrays).

Ids read ``sum-f32-(3,4)-axis=1``: function, dtypes, shapes, options.
"""

import dataclasses
import math
import zlib
from typing import Callable

import numpy as np

import jaxlike.numpy as jnp


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    fn: Callable
    args_fn: Callable[[], tuple]
    kwargs: dict
    ref: Callable
    differentiable: bool = True
    argnums: tuple = (0,)

    def args(self):
        return self.args_fn()

    def __repr__(self):
        return f"Case({self.id})"


# --------------------------------------------------------------------------------------------------
# Argument specs


_DTYPES = {"f32": np.float32, "f64": np.float64, "i32": np.int32, "i64": np.int64, "u32": np.uint32,
           "bool": np.bool_}


def _draw(rng, domain, shape, dtype):
    """Values of one domain; integer dtypes get small integers within the domain."""
    is_int = np.dtype(dtype).kind in "iu"
    if domain == "bool" or np.dtype(dtype) == np.bool_:
        return rng.random(shape) < 0.5
    if is_int:
        lo, hi = {"pos": (1, 6), "ge1": (1, 6), "unit": (0, 1), "nonzero": (1, 6), "small": (0, 4),
                  "index": (0, 3)}.get(domain, (-5, 6))
        if np.dtype(dtype).kind == "u":
            lo = max(lo, 0)
        out = rng.integers(lo, hi, shape)
        if domain == "nonzero":
            out = out * rng.choice([-1, 1], shape) if np.dtype(dtype).kind == "i" else out
        return out
    if domain == "real":
        return rng.uniform(-2, 2, shape)
    if domain == "pos":
        return rng.uniform(0.5, 3, shape)
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, shape)
    if domain == "ge1":
        return rng.uniform(1.1, 3, shape)
    if domain == "nonzero":
        return rng.uniform(0.5, 2, shape) * rng.choice([-1, 1], shape)
    if domain == "special":  # finite numbers, infinities and NaN
        return rng.choice(np.array([0.0, 1.5, -2.0, np.inf, -np.inf, np.nan]), shape)
    if domain == "small":
        return rng.uniform(0, 3, shape)
    if domain == "offgrid":  # away from the jumps of floor, round and friends
        return np.round(rng.uniform(-3, 3, shape)) + rng.choice([-0.3, 0.2, 0.4], shape)
    raise ValueError(domain)


@dataclasses.dataclass(frozen=True)
class A:
    """An array argument: shape, dtype tag, domain."""
    shape: tuple
    dtype: str = "f64"
    domain: str = "real"

    def draw(self, rng):
        return np.asarray(_draw(rng, self.domain, self.shape, _DTYPES[self.dtype])).astype(_DTYPES[self.dtype])

    @property
    def tag(self):
        return "(" + ",".join(map(str, self.shape)) + ("," if len(self.shape) == 1 else "") + ")"


def _args_fn(case_id, specs):
    seed = zlib.crc32(case_id.encode())

    def args_fn():
        rng = np.random.default_rng(seed)
        return tuple(s.draw(rng) if isinstance(s, A) else s for s in specs)
    return args_fn


def _fmt(v):
    if isinstance(v, float) and v in (math.inf, -math.inf):
        return "inf" if v > 0 else "-inf"
    return repr(v).replace(" ", "")


CASES = []


def case(name, fn, specs, ref=None, kwargs=None, differentiable=True, argnums=None, tag=None):
    kwargs = dict(kwargs or {})
    arrays = [s for s in specs if isinstance(s, A)]
    dts = "-".join(dict.fromkeys(s.dtype for s in arrays)) or "static"
    parts = [name, dts] + [s.tag if isinstance(s, A) else _fmt(s) for s in specs]
    parts += [f"{k}={_fmt(v)}" for k, v in kwargs.items()]
    if tag:
        parts.append(tag)
    case_id = "-".join(parts)
    if argnums is None:
        argnums = tuple(i for i, s in enumerate(specs) if isinstance(s, A) and s.dtype in ("f32", "f64"))
    differentiable = differentiable and bool(argnums)
    if ref is None:
        ref = getattr(np, name)
    CASES.append(Case(case_id, fn, _args_fn(case_id, specs), kwargs, ref, differentiable,
                      argnums if differentiable else ()))


# --------------------------------------------------------------------------------------------------
# Elementwise functions

UNARY_SHAPES = [A((3, 4), "f32"), A((2, 3), "f64"), A((), "f64"), A((0,), "f32")]

FLOAT_UNARY = {"sin": "real", "cos": "real", "tan": "unit", "arcsin": "unit", "arccos": "unit",
               "arctan": "real", "sinh": "real", "cosh": "real", "tanh": "real", "arcsinh": "real",
               "arccosh": "ge1", "arctanh": "unit", "exp": "real", "exp2": "real", "expm1": "real",
               "log": "pos", "log2": "pos", "log10": "pos", "log1p": "pos", "sqrt": "pos", "cbrt": "nonzero",
               "square": "real", "reciprocal": "nonzero", "abs": "nonzero", "absolute": "nonzero",
               "negative": "real", "positive": "real"}

for _name, _domain in FLOAT_UNARY.items():
    for _spec in UNARY_SHAPES:
        case(_name, getattr(jnp, _name), [A(_spec.shape, _spec.dtype, _domain)])
    if _domain in ("real", "pos", "ge1", "nonzero"):  # integers promote to float64 (or stay integers)
        case(_name, getattr(jnp, _name), [A((4,), "i32", _domain)])
case("sqrt", jnp.sqrt, [A((3,), "bool")], ref=lambda x: np.sqrt(x).astype(np.float32))
case("square", jnp.square, [A((3,), "i64")])
case("abs", jnp.abs, [A((3,), "u32")])
case("negative", jnp.negative, [A((3,), "i64")])

for _name in ("floor", "ceil", "trunc", "rint", "round", "around", "sign", "fix"):
    for _spec in UNARY_SHAPES[:3]:
        case(_name, getattr(jnp, _name), [A(_spec.shape, _spec.dtype, "offgrid")], differentiable=False)
    case(_name, getattr(jnp, _name), [A((4,), "i32")], differentiable=False)
case("round", jnp.round, [A((3, 4), "f64", "real")], kwargs={"decimals": 2}, differentiable=False)
case("round", jnp.round, [A((3, 4), "f32", "real")], kwargs={"decimals": 1}, differentiable=False)
case("round", jnp.round, [A((3,), "i64")], kwargs={"decimals": -1}, differentiable=False)

BINARY_SHAPES = [(A((3, 4), "f32"), A((3, 4), "f32")), (A((3, 4), "f64"), A((4,), "f64")),
                 (A((), "f64"), A((2, 3), "f64")), (A((2, 1), "f32"), A((1, 3), "f32")),
                 (A((0, 3), "f64"), A((3,), "f64")), (A((3,), "i32"), A((3,), "f32")),
                 (A((3,), "i32"), A((3,), "i32"))]


def _binary_cases(name, x_domain="real", y_domain="real", differentiable=True, ref=None, scalars=(2.0,),
                  shapes=BINARY_SHAPES):
    fn = getattr(jnp, name)
    for x, y in shapes:
        case(name, fn, [A(x.shape, x.dtype, x_domain), A(y.shape, y.dtype, y_domain)], ref=ref,
             differentiable=differentiable)
    for s in scalars:  # a Python scalar is weakly typed: float32 stays float32
        case(name, fn, [A((3,), "f32", x_domain), s], ref=ref, differentiable=differentiable)
        case(name, fn, [s, A((2, 2), "f64", y_domain)], ref=ref, differentiable=differentiable)


_binary_cases("add")
_binary_cases("subtract")
_binary_cases("multiply")
_binary_cases("divide", y_domain="nonzero")
_binary_cases("true_divide", y_domain="nonzero")
_binary_cases("maximum")
_binary_cases("minimum")
_binary_cases("fmax")
_binary_cases("fmin")
_binary_cases("arctan2", y_domain="nonzero")
_binary_cases("hypot", x_domain="nonzero")
_binary_cases("logaddexp")
_binary_cases("power", x_domain="pos", y_domain="small", scalars=(0.5,))
_binary_cases("float_power", x_domain="pos", scalars=(1.5,))
_binary_cases("floor_divide", "offgrid", "nonzero", differentiable=False)
_binary_cases("remainder", "offgrid", "nonzero", differentiable=False)
_binary_cases("mod", "offgrid", "nonzero", differentiable=False)
_binary_cases("fmod", "offgrid", "nonzero", differentiable=False)
for _name in ("equal", "not_equal", "less", "less_equal", "greater", "greater_equal"):
    _binary_cases(_name, "small", "small", differentiable=False, scalars=(1,),
                  shapes=BINARY_SHAPES[1:2] + BINARY_SHAPES[5:])
for _name in ("logical_and", "logical_or", "logical_xor"):
    case(_name, getattr(jnp, _name), [A((3, 4), "bool"), A((4,), "bool")])
    case(_name, getattr(jnp, _name), [A((3,), "f64", "small"), A((3,), "i32", "small")], differentiable=False)
case("logical_not", jnp.logical_not, [A((3, 4), "bool")])
case("logical_not", jnp.logical_not, [A((3,), "i32", "small")])
case("add", jnp.add, [A((3,), "bool"), A((3,), "bool")])
case("maximum", jnp.maximum, [A((3,), "bool"), A((3,), "bool")])
for _exponent in (2, 3, -2, 0):  # a Python int exponent is one integer_pow
    case("power", lambda x, _e=_exponent: jnp.power(x, _e), [A((3, 4), "f32", "nonzero")],
         ref=lambda x, _e=_exponent: np.power(x, _e), tag=f"y={_exponent}")
case("power", lambda x: jnp.power(x, 3), [A((4,), "i32", "small")], ref=lambda x: np.power(x, 3), tag="y=3")
case("power", jnp.power, [A((2, 3), "i64", "small"), A((3,), "i64", "small")])
case("power", jnp.power, [A((4,), "u32", "small"), A((4,), "u32", "small")])
case("float_power", lambda x: jnp.float_power(x, 2), [A((3,), "f32")], ref=lambda x: np.float_power(x, 2),
     tag="y=2")

for _name in ("isfinite", "isnan", "isinf"):
    case(_name, getattr(jnp, _name), [A((2, 3), "f64", "special")])
    case(_name, getattr(jnp, _name), [A((4,), "f32", "special")])
    case(_name, getattr(jnp, _name), [A((3,), "i32")])

case("where", jnp.where, [A((3, 4), "bool"), A((3, 4), "f32"), A((4,), "f64")], argnums=(1, 2))
case("where", jnp.where, [A((3, 1), "bool"), A((4,), "f32"), 0.0], argnums=(1,))
case("where", jnp.where, [A((), "bool"), A((2, 3), "f64"), A((2, 3), "f64")], argnums=(1, 2))
case("where", jnp.where, [A((3,), "f64", "small"), A((3,), "i32"), 7], differentiable=False)
case("clip", jnp.clip, [A((3, 4), "f64"), -0.5, 0.5])
case("clip", jnp.clip, [A((3, 4), "f32"), A((4,), "f32", "unit"), 1.0], argnums=(0,),
     ref=lambda x, lo, hi: np.clip(x, lo, hi))
case("clip", jnp.clip, [A((5,), "i32"), 0, None], ref=lambda x, lo, hi: np.clip(x, lo, hi))
case("clip", lambda x: jnp.clip(x, max=1.0), [A((5,), "f64")], ref=lambda x: np.clip(x, None, 1.0), tag="max")

# --------------------------------------------------------------------------------------------------
# Reductions


def _np_sum(x, **kw):
    out = np.asarray(np.sum(x, **kw))
    return out.astype(np.int64) if out.dtype == np.uint64 else out


REDUCTION_AXES = [{}, {"axis": 0}, {"axis": 1}, {"axis": -1, "keepdims": True}, {"axis": (0, 1)},
                  {"keepdims": True}]

for _name, _domain in (("sum", "real"), ("prod", "real"), ("max", "real"), ("min", "real"), ("amax", "real"),
                       ("amin", "real"), ("mean", "real"), ("var", "real"), ("std", "real")):
    _fn = getattr(jnp, _name)
    _ref = _np_sum if _name == "sum" else getattr(np, _name)
    for _kw in REDUCTION_AXES:
        case(_name, _fn, [A((3, 4), "f32", _domain)], ref=_ref, kwargs=_kw)
    case(_name, _fn, [A((2, 3, 4), "f64", _domain)], ref=_ref, kwargs={"axis": (0, 2)})
    case(_name, _fn, [A((), "f64", _domain)], ref=_ref, differentiable=_name != "std")  # sqrt(0)
    case(_name, _fn, [A((2, 3), "i32", "small")], ref=_ref, kwargs={"axis": 1}, differentiable=False)
    if _name not in ("max", "min", "amax", "amin"):
        case(_name, _fn, [A((0, 3), "f64")], ref=_ref, kwargs={"axis": 1})
    if _name in ("sum", "prod", "max", "min"):
        case(_name, _fn, [A((0, 3), "f32")], ref=_ref, kwargs={"axis": 1})
        case(_name, _fn, [A((3,), "bool")], ref=_ref, differentiable=False)
case("sum", jnp.sum, [A((0, 3), "f64")], ref=_np_sum, kwargs={"axis": 0})
case("prod", jnp.prod, [A((0,), "f64")])
case("sum", jnp.sum, [A((4,), "u32", "small")], ref=_np_sum)
case("sum", jnp.sum, [A((2, 3), "f32")], ref=_np_sum, kwargs={"dtype": np.float64})
case("max", jnp.max, [A((0, 3), "f64")], kwargs={"axis": 0, "initial": -1.0})
case("var", jnp.var, [A((3, 4), "f64")], kwargs={"axis": 1, "ddof": 1})
case("std", jnp.std, [A((3, 4), "f32")], kwargs={"ddof": 1})
case("mean", jnp.mean, [A((3,), "bool")], differentiable=False)
for _name in ("argmax", "argmin"):
    for _kw in ({}, {"axis": 0}, {"axis": -1}, {"axis": 1, "keepdims": True}, {"keepdims": True}):
        case(_name, getattr(jnp, _name), [A((3, 4), "f32")], kwargs=_kw, differentiable=False)
    case(_name, getattr(jnp, _name), [A((), "f64")], differentiable=False)
    case(_name, getattr(jnp, _name), [A((5,), "i32")], differentiable=False)
    case(_name, getattr(jnp, _name), [A((4,), "bool")], differentiable=False)
for _name in ("any", "all"):
    for _kw in ({}, {"axis": 0}, {"axis": 1, "keepdims": True}):
        case(_name, getattr(jnp, _name), [A((3, 4), "bool")], kwargs=_kw)
    case(_name, getattr(jnp, _name), [A((3,), "f64", "small")], differentiable=False)
    case(_name, getattr(jnp, _name), [A((0,), "bool")])
for _kw in ({}, {"axis": 0}, {"axis": 1}, {"axis": -1}):
    case("cumsum", jnp.cumsum, [A((3, 4), "f32")], kwargs=_kw)
case("cumsum", jnp.cumsum, [A((5,), "i32")], differentiable=False)
case("cumsum", jnp.cumsum, [A((0,), "f64")])
case("cumsum", jnp.cumsum, [A((), "f64")])


def _np_logsumexp(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


for _kw in ({}, {"axis": 1}, {"axis": 0, "keepdims": True}, {"axis": (0, 1)}):
    case("logsumexp", jnp.logsumexp, [A((3, 4), "f32")], ref=_np_logsumexp, kwargs=_kw)
case("logsumexp", lambda a: jnp.logsumexp(a * 400.0), [A((2, 3), "f64")],
     ref=lambda a: _np_logsumexp(a * 400.0), tag="large")
case("logsumexp", jnp.logsumexp, [A((), "f64")], ref=_np_logsumexp)

# --------------------------------------------------------------------------------------------------
# Creation


def _creation(name, fn, ref, kwargs=None, specs=(), tag=None, differentiable=False):
    case(name, fn, list(specs), ref=ref, kwargs=kwargs, differentiable=differentiable, tag=tag)


_creation("zeros", lambda: jnp.zeros((2, 3)), lambda: np.zeros((2, 3)))
_creation("zeros", lambda: jnp.zeros(4, jnp.int32), lambda: np.zeros(4, np.int32), tag="i32")
_creation("ones", lambda: jnp.ones((2, 0), np.float32), lambda: np.ones((2, 0), np.float32))
_creation("empty", lambda: jnp.empty((3,)), lambda: np.zeros((3,)))
_creation("full", lambda: jnp.full((2, 2), 7), lambda: np.full((2, 2), 7))
_creation("full", lambda: jnp.full((2,), 1.5, np.float32), lambda: np.full((2,), 1.5, np.float32), tag="f32")
case("full", lambda v: jnp.full((2, 3), v), [A((), "f64")], ref=lambda v: np.full((2, 3), v))
case("full", lambda v: jnp.full((2, 3), v), [A((3,), "f32")], ref=lambda v: np.full((2, 3), v))
for _name in ("zeros_like", "ones_like"):
    case(_name, getattr(jnp, _name), [A((2, 3), "f32")], differentiable=False)
    case(_name, getattr(jnp, _name), [A((3,), "i32")], kwargs={"dtype": np.float64})
case("empty_like", jnp.empty_like, [A((2,), "f64")], ref=np.zeros_like, differentiable=False)
case("full_like", lambda x: jnp.full_like(x, 3), [A((2, 3), "f32")], ref=lambda x: np.full_like(x, 3),
     differentiable=False)
case("full_like", jnp.full_like, [A((2, 3), "f64"), A((), "f64")], argnums=(1,))
_creation("eye", lambda: jnp.eye(3), lambda: np.eye(3))
_creation("eye", lambda: jnp.eye(2, 4, k=1, dtype=np.int32), lambda: np.eye(2, 4, k=1, dtype=np.int32),
          tag="k=1")
_creation("identity", lambda: jnp.identity(2), lambda: np.identity(2))
_creation("arange", lambda: jnp.arange(5), lambda: np.arange(5))
_creation("arange", lambda: jnp.arange(1, 2, 0.25), lambda: np.arange(1, 2, 0.25), tag="float")
_creation("arange", lambda: jnp.arange(6, 0, -2, np.float32), lambda: np.arange(6, 0, -2, np.float32),
          tag="neg")
_creation("linspace", lambda: jnp.linspace(0, 1, 7), lambda: np.linspace(0, 1, 7))
_creation("linspace", lambda: jnp.linspace(2, 3, 4, endpoint=False), lambda: np.linspace(2, 3, 4, endpoint=False),
          tag="open")
_creation("linspace", lambda: jnp.linspace(0, 10, 4, dtype=np.int32), lambda: np.linspace(0, 10, 4, dtype=np.int32),
          tag="int")
_creation("linspace", lambda: jnp.linspace(0, 1, 1), lambda: np.linspace(0, 1, 1), tag="num=1")
case("linspace", jnp.linspace, [A((2,), "f64"), A((2,), "f64")], kwargs={"num": 5, "axis": 1})
case("linspace", jnp.linspace, [A((), "f32"), 4.0], kwargs={"num": 3})
case("array", jnp.array, [A((2, 3), "f64")])
case("array", lambda x, y: jnp.array([x, y]), [A((3,), "f64"), A((3,), "f64")],
     ref=lambda x, y: np.array([x, y]), argnums=(0, 1), tag="stack")
case("array", lambda x: jnp.array([[x, 1.0], [2.0, x]]), [A((), "f32")],
     ref=lambda x: np.array([[x, 1.0], [2.0, x]], np.float32), tag="nested")
case("asarray", jnp.asarray, [A((3,), "i32")], kwargs={"dtype": np.float32})
_creation("asarray", lambda: jnp.asarray(np.ones(2, np.float16)), lambda: np.ones(2, np.float32), tag="f16")
_creation("asarray", lambda: jnp.asarray([[1, 2], [3, 4]]), lambda: np.asarray([[1, 2], [3, 4]]), tag="list")

# --------------------------------------------------------------------------------------------------
# Shape functions

case("reshape", jnp.reshape, [A((3, 4), "f32"), (4, 3)])
case("reshape", jnp.reshape, [A((3, 4), "f64"), (-1, 2)])
case("reshape", jnp.reshape, [A((), "f64"), (1, 1)])
case("reshape", jnp.reshape, [A((0, 4), "f64"), (-1, 2)])
case("ravel", jnp.ravel, [A((2, 3), "f32")])
case("ravel", jnp.ravel, [A((), "f64")])
case("transpose", jnp.transpose, [A((2, 3, 4), "f32")])
case("transpose", jnp.transpose, [A((2, 3, 4), "f64"), (1, 0, 2)])
case("transpose", jnp.transpose, [A((2, 3), "f64"), (-1, 0)])
case("swapaxes", jnp.swapaxes, [A((2, 3, 4), "f32"), 0, -1])
case("moveaxis", jnp.moveaxis, [A((2, 3, 4), "f32"), 0, -1])
case("moveaxis", jnp.moveaxis, [A((2, 3, 4), "f64"), (0, 1), (2, 0)])
case("expand_dims", jnp.expand_dims, [A((2, 3), "f32"), 0])
case("expand_dims", jnp.expand_dims, [A((2, 3), "f64"), -1])
case("expand_dims", jnp.expand_dims, [A((2, 3), "f64"), (0, 2)])
case("expand_dims", jnp.expand_dims, [A((), "f64"), 0])
case("squeeze", jnp.squeeze, [A((1, 3, 1), "f32")])
case("squeeze", jnp.squeeze, [A((1, 3, 1), "f64")], kwargs={"axis": 2})
case("squeeze", jnp.squeeze, [A((1, 3, 1), "f64")], kwargs={"axis": (0, -1)})
case("broadcast_to", jnp.broadcast_to, [A((3,), "f32"), (2, 3)])
case("broadcast_to", jnp.broadcast_to, [A((2, 1), "f64"), (4, 2, 3)])
case("broadcast_to", jnp.broadcast_to, [A((), "f64"), (2,)])
case("broadcast_arrays", jnp.broadcast_arrays, [A((3, 1), "f32"), A((4,), "f32")], argnums=(0, 1))
case("broadcast_arrays", jnp.broadcast_arrays, [A((), "f64"), A((2, 2), "f64"), A((2,), "f64")],
     argnums=(0, 1, 2))
for _name in ("atleast_1d", "atleast_2d", "atleast_3d"):
    for _shape in ((), (3,), (2, 3)):
        case(_name, getattr(jnp, _name), [A(_shape, "f64")])


def _seq(fn_name, **kw):
    """fn(list_of_arrays, **kw) as a function of the arrays."""
    def fn(*xs, **kwargs):
        return getattr(jnp, fn_name)(list(xs), **kwargs)

    def ref(*xs, **kwargs):
        return getattr(np, fn_name)(list(xs), **kwargs)
    return fn, ref


for _name, _specs, _kw in (
        ("concatenate", [A((2, 3), "f32"), A((1, 3), "f32")], {}),
        ("concatenate", [A((2, 3), "f64"), A((2, 1), "f64"), A((2, 0), "f64")], {"axis": 1}),
        ("concatenate", [A((2, 3), "f64"), A((3,), "f32")], {"axis": None}),
        ("concatenate", [A((3,), "i32"), A((2,), "f64")], {}),
        ("stack", [A((2, 3), "f32"), A((2, 3), "f32")], {}),
        ("stack", [A((2, 3), "f64"), A((2, 3), "f64"), A((2, 3), "f64")], {"axis": -1}),
        ("stack", [A((), "f64"), A((), "f64")], {}),
        ("hstack", [A((2,), "f64"), A((3,), "f64")], {}),
        ("hstack", [A((2, 2), "f64"), A((2, 1), "f64")], {}),
        ("vstack", [A((3,), "f32"), A((3,), "f32")], {}),
        ("vstack", [A((1, 3), "f64"), A((2, 3), "f64")], {})):
    _fn, _ref = _seq(_name)
    case(_name, _fn, _specs, ref=_ref, kwargs=_kw, argnums=tuple(range(len(_specs))),
         differentiable=all(s.dtype in ("f32", "f64") for s in _specs))

case("split", jnp.split, [A((6, 2), "f32"), 3])
case("split", jnp.split, [A((2, 5), "f64"), [1, 3]], kwargs={"axis": 1})
case("array_split", jnp.array_split, [A((7,), "f64"), 3])
case("array_split", jnp.array_split, [A((4, 3), "f64"), [-1, 10]])
case("tile", jnp.tile, [A((2, 3), "f32"), (2, 1)])
case("tile", jnp.tile, [A((3,), "f64"), 2])
case("tile", jnp.tile, [A((2,), "f64"), (2, 1, 3)])
case("repeat", jnp.repeat, [A((2, 3), "f32"), 2])
case("repeat", jnp.repeat, [A((2, 3), "f64"), 3], kwargs={"axis": 1})
case("repeat", jnp.repeat, [A((3, 2), "f64"), [1, 0, 2]], kwargs={"axis": 0})
case("flip", jnp.flip, [A((2, 3), "f32")])
case("flip", jnp.flip, [A((2, 3), "f64")], kwargs={"axis": 1})
case("flip", jnp.flip, [A((2, 3, 2), "f64")], kwargs={"axis": (0, -1)})
case("roll", jnp.roll, [A((5,), "f32"), 2])
case("roll", jnp.roll, [A((2, 5), "f64"), -1], kwargs={"axis": 1})
case("roll", jnp.roll, [A((3, 4), "f64"), 6])
case("roll", jnp.roll, [A((3, 4), "f64"), (1, 2)], kwargs={"axis": (0, 1)})
case("take", jnp.take, [A((5,), "f64"), [0, 4, -1, 2]])
case("take", jnp.take, [A((3, 4), "f32"), [[0, 1], [1, 0]]], kwargs={"axis": 1})

# --------------------------------------------------------------------------------------------------
# Products and linear algebra

for _x, _y in (((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((2, 3, 4), (4, 2)), ((), (2, 3)),
               ((2, 2, 3), (2, 3, 4))):
    case("dot", jnp.dot, [A(_x, "f64"), A(_y, "f64")], argnums=(0, 1))
case("dot", jnp.dot, [A((2, 3), "f32"), A((3,), "f32")], argnums=(0, 1))
case("dot", jnp.dot, [A((2, 3), "i32"), A((3,), "f64")], argnums=(1,))
case("dot", jnp.dot, [A((0,), "f64"), A((0,), "f64")], argnums=(0, 1))
for _x, _y in (((2, 3), (3, 4)), ((2, 2, 3), (3, 4)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
               ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)), ((4,), (2, 4, 3)), ((2, 2, 3), (3,))):
    case("matmul", jnp.matmul, [A(_x, "f64"), A(_y, "f64")], argnums=(0, 1))
case("matmul", jnp.matmul, [A((2, 3), "f32"), A((3, 2), "f32")], argnums=(0, 1))
case("matmul", jnp.matmul, [A((2, 0), "f64"), A((0, 3), "f64")], argnums=(0, 1))
case("matmul", jnp.matmul, [A((2, 3), "i32", "small"), A((3, 2), "i32", "small")])
case("matmul", jnp.matmul, [A((2, 3), "bool"), A((3, 2), "bool")])
case("vdot", jnp.vdot, [A((2, 3), "f64"), A((6,), "f64")], argnums=(0, 1))
case("inner", jnp.inner, [A((2, 3), "f64"), A((4, 3), "f64")], argnums=(0, 1))
case("inner", jnp.inner, [A((3,), "f32"), A((3,), "f32")], argnums=(0, 1))
case("inner", jnp.inner, [A((), "f64"), A((2,), "f64")], argnums=(0, 1))
case("outer", jnp.outer, [A((3,), "f64"), A((2, 2), "f64")], argnums=(0, 1))
case("outer", jnp.outer, [A((2,), "f32"), A((3,), "f32")], argnums=(0, 1))
case("tensordot", jnp.tensordot, [A((2, 3, 4), "f64"), A((3, 4, 5), "f64")], argnums=(0, 1))
case("tensordot", jnp.tensordot, [A((2, 3), "f64"), A((3, 4), "f64")], kwargs={"axes": 1}, argnums=(0, 1))
case("tensordot", jnp.tensordot, [A((2, 3), "f64"), A((4,), "f64")], kwargs={"axes": 0}, argnums=(0, 1))
case("tensordot", jnp.tensordot, [A((2, 3, 4), "f32"), A((4, 3, 2), "f32")],
     kwargs={"axes": ([1, 2], [1, 0])}, argnums=(0, 1))

EINSUMS = [("ij,jk->ik", (2, 3), (3, 4)), ("ii->i", (3, 3)), ("ii", (3, 3)), ("ij->ji", (2, 3)),
           ("bij,bjk->bik", (2, 2, 3), (2, 3, 4)), ("i,i->", (4,), (4,)), ("ijk->", (2, 3, 4)),
           ("ij,ij->ij", (2, 3), (2, 3)), ("ij,jk", (2, 3), (3, 4)), ("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
           ("...ij,...jk->...ik", (5, 2, 3), (5, 3, 4)), ("i,j->ij", (2,), (3,)), ("iij->ij", (2, 2, 3)),
           ("ij,kl->ijkl", (2, 3), (2, 2)), ("ijj,jk->ik", (2, 3, 3), (3, 2)), ("ba,ab->", (3, 2), (2, 3)),
           ("i,i,i->i", (3,), (3,), (3,)), ("ij->", (0, 3))]
for _subscripts, *_shapes in EINSUMS:
    case("einsum", lambda *xs, _s=_subscripts: jnp.einsum(_s, *xs), [A(s, "f64") for s in _shapes],
         ref=lambda *xs, _s=_subscripts: np.einsum(_s, *xs), tag=_subscripts.replace("->", ">"),
         argnums=tuple(range(len(_shapes))))
case("einsum", lambda x, y: jnp.einsum("ij,jk->ik", x, y), [A((2, 3), "f32"), A((3, 2), "f32")],
     ref=lambda x, y: np.einsum("ij,jk->ik", x, y), tag="ij,jk>ik", argnums=(0, 1))

for _kw in ({}, {"offset": 1}, {"offset": -1}):
    case("trace", jnp.trace, [A((3, 4), "f64")], kwargs=_kw)
    case("diagonal", jnp.diagonal, [A((3, 4), "f32")], kwargs=_kw)
case("trace", jnp.trace, [A((2, 3, 3), "f64")], kwargs={"axis1": 1, "axis2": 2})
case("trace", jnp.trace, [A((3, 3), "i32")])
case("diagonal", jnp.diagonal, [A((2, 3, 4), "f64")], kwargs={"axis1": 2, "axis2": 0})
case("diagonal", jnp.diagonal, [A((2, 3), "f64")], kwargs={"offset": 5})
case("diagonal", jnp.diagonal, [A((1, 1), "f64")])
for _k in (0, 1, -2):
    case("diag", jnp.diag, [A((3,), "f64")], kwargs={"k": _k})
    case("diag", jnp.diag, [A((3, 4), "f32")], kwargs={"k": _k})
    case("triu", jnp.triu, [A((3, 4), "f64")], kwargs={"k": _k})
    case("tril", jnp.tril, [A((4, 3), "f32")], kwargs={"k": _k})
case("tril", jnp.tril, [A((2, 3, 3), "f64")])
case("triu", jnp.triu, [A((3,), "f64")])
case("triu", jnp.triu, [A((2, 2), "bool")])

for _kw in ({}, {"ord": 1}, {"ord": 2}, {"ord": math.inf}, {"ord": -math.inf}, {"ord": 3}, {"ord": 0.5},
            {"ord": 0}):
    case("norm", jnp.linalg.norm, [A((5,), "f64", "nonzero")], ref=np.linalg.norm, kwargs=_kw,
         differentiable=_kw.get("ord") != 0)
for _kw in ({}, {"ord": "fro"}, {"ord": 1}, {"ord": -1}, {"ord": math.inf}, {"ord": -math.inf},
            {"keepdims": True}, {"axis": 1}, {"axis": 0, "ord": 1, "keepdims": True},
            {"axis": (1, 0), "ord": 1}, {"axis": (0, 1), "ord": math.inf, "keepdims": True}):
    case("norm", jnp.linalg.norm, [A((3, 4), "f32", "nonzero")], ref=np.linalg.norm, kwargs=_kw)
case("norm", jnp.linalg.norm, [A((2, 3, 4), "f64", "nonzero")], ref=np.linalg.norm, kwargs={"axis": (0, 2)})
case("norm", jnp.linalg.norm, [A((2, 3, 4), "f64", "nonzero")], ref=np.linalg.norm, kwargs={"axis": -1})
case("norm", jnp.linalg.norm, [A((3,), "i32", "nonzero")], ref=np.linalg.norm)

# --------------------------------------------------------------------------------------------------
# Indexing and functional updates, through jnp helpers (the full set is in test_indexing.py)

case("stop_gradient", jnp.stop_gradient, [A((2, 3), "f64")], ref=lambda x: x, differentiable=False)
case("matrix_transpose", jnp.matrix_transpose, [A((2, 3, 4), "f64")], ref=lambda x: np.swapaxes(x, -1, -2))
case("divmod", jnp.divmod, [A((2, 3), "f64", "offgrid"), A((3,), "f64", "nonzero")], differentiable=False)
case("divmod", jnp.divmod, [A((4,), "i32"), A((4,), "i32", "nonzero")])
case("fliplr", jnp.fliplr, [A((2, 3), "f64")])
case("flipud", jnp.flipud, [A((2, 3), "f32")])
case("getitem", lambda x: jnp.at(x)[1:, ::-2].get(), [A((3, 5), "f64")], ref=lambda x: x[1:, ::-2],
     tag="[1:,::-2]")
case("getitem", lambda x: jnp.at(x)[[0, 2, 2], None, 1].get(), [A((3, 4), "f32")],
     ref=lambda x: x[[0, 2, 2], None, 1], tag="[[0,2,2],None,1]")
case("at_set", lambda x, v: jnp.at(x)[[0, 2], 1:].set(v), [A((3, 4), "f64"), A((3,), "f64")],
     ref=lambda x, v: _np_set(x, ([0, 2], slice(1, None)), v), argnums=(0, 1),
     tag="[[0,2],1:]")
case("at_add", lambda x, v: jnp.at(x)[[0, 0, 2]].add(v), [A((3, 2), "f64"), A((3, 2), "f64")],
     ref=lambda x, v: _np_add_at(x, [0, 0, 2], v), argnums=(0, 1), tag="[[0,0,2]]")
case("at_multiply", lambda x, v: jnp.at(x)[1].multiply(v), [A((3, 2), "f32"), A((2,), "f32")],
     ref=lambda x, v: _np_mul_at(x, 1, v), argnums=(0, 1), tag="[1]")


def _np_set(x, idx, v):
    out = x.copy()
    out[idx] = v
    return out


def _np_add_at(x, idx, v):
    out = x.copy()
    np.add.at(out, idx, v)
    return out


def _np_mul_at(x, idx, v):
    out = x.copy()
    np.multiply.at(out, idx, v)
    return out


CASES_BY_ID = {c.id: c for c in CASES}
assert len(CASES_BY_ID) == len(CASES), "case ids must be unique"
