"""Tracing: a trace records equations into a Graph; Tracers are its values, with NumPy-style operators.

There is one kind of trace. ``bind(prim, args, params)`` either runs the primitive's NumPy impl (no Tracer
among the args) or appends an equation to the innermost trace the args belong to. A trace may carry values:
then every Tracer also holds its concrete NumPy value, so Python control flow on it works (eager
transforms). A Tracer of an outer, still open trace that meets an inner trace is captured: it becomes an
extra input of the inner graph (closure conversion), constant for the inner transform.

Every pass is written as "evaluate the old graph with rules inside a new trace", so the rules are ordinary
code on Tracers and read like the math.
"""

import threading
from contextlib import contextmanager

import numpy as np

from . import dtypes
from .core import AVal, Eqn, Graph, Lit, Var
from .primitive import PRIMITIVES


class TracingError(Exception):
    """Base of the errors raised while tracing; jaxlike.errors re-exports the concrete classes."""


class UnexpectedTracerError(TracingError):
    pass


class ConcretizationTypeError(TracingError, TypeError):
    pass


class TracerBoolConversionError(ConcretizationTypeError):
    pass


class TracerIntegerConversionError(ConcretizationTypeError):
    pass


class TracerArrayConversionError(TracingError, TypeError):
    pass


class _State(threading.local):
    def __init__(self):
        self.stack = []  # open traces, outermost first
        self.no_grad = 0  # depth of no_grad() blocks
        self.vmap_randomness = []  # the randomness= of each vmap being traced, innermost last


state = _State()


class Trace:
    """An open graph under construction."""

    def __init__(self, name, with_values):
        self.name = name
        self.with_values = with_values
        self.level = len(state.stack)
        self.inputs = []
        self.eqns = []
        self.consts = {}  # Var -> ndarray
        self._const_ids = {}  # id(value) -> (value, Var): dedupes constants used more than once
        self.captured = {}  # id(outer Tracer) -> (outer Tracer, inner Var), in capture order
        self.alive = True

    def new_input(self, aval, value=None):
        var = Var(aval)
        self.inputs.append(var)
        return Tracer(self, var, value)

    def lift(self, x):
        """The Var or Lit standing for ``x`` inside this trace."""
        if isinstance(x, Tracer):
            if x._trace is self:
                return x._var
            check_alive(x)
            if x._trace.level > self.level:
                raise UnexpectedTracerError(
                    f"a value traced inside {x._trace.name} was used in the enclosing {self.name}: "
                    "a transformed function returned or stored one of its internal values")
            hit = self.captured.get(id(x))
            if hit is None:
                hit = (x, Var(x.aval))
                self.captured[id(x)] = hit
            return hit[1]
        arr = np.asarray(x)
        if arr.ndim == 0:
            return Lit(arr, dtypes.canonical(arr.dtype))
        hit = self._const_ids.get(id(x))
        if hit is None:
            arr = arr.astype(dtypes.canonical(arr.dtype), copy=False)
            var = Var(AVal(arr.shape, arr.dtype))
            self.consts[var] = arr
            # keyed by id, so the trace keeps x itself alive: a freed x's id could be reused by another array
            hit = self._const_ids[id(x)] = (x, var)
        return hit[1]

    def to_graph(self, outs):
        """Close the trace: the Graph and the outer Tracers it captured (extra trailing inputs)."""
        out_atoms = [self.lift(o) for o in outs]
        captured = list(self.captured.values())
        inputs = self.inputs + [var for _, var in captured]
        return Graph(self.consts, inputs, self.eqns, out_atoms), [t for t, _ in captured]


def check_alive(tracer):
    if not tracer._trace.alive:
        raise UnexpectedTracerError(
            f"Encountered an unexpected tracer: a value of type {tracer.aval} created while tracing "
            f"{tracer._trace.name}, used after that trace ended. A transformed function must not leak its "
            "internal values (through a global, a closure or a side effect); return them as outputs instead.")


@contextmanager
def new_trace(name, with_values=False):
    """Open a trace. A no_grad() block open outside it does not reach inside: a transform's result does not
    depend on a context manager around the call (torch.func's rule); no_grad() within the traced function
    still applies to what it encloses."""
    trace = Trace(name, with_values)
    state.stack.append(trace)
    outer_no_grad, state.no_grad = state.no_grad, 0
    try:
        yield trace
    finally:
        state.no_grad = outer_no_grad
        state.stack.pop()
        trace.alive = False


def current_trace():
    return state.stack[-1] if state.stack else None


def trace_graph(fun, in_avals, values=None, name="a function"):
    """Trace ``fun`` (flat arrays in, flat list out) to a Graph; returns (graph, captured outer Tracers)."""
    with new_trace(name, with_values=values is not None) as trace:
        if values is None:
            ins = [trace.new_input(a) for a in in_avals]
        else:
            ins = [trace.new_input(a, v) for a, v in zip(in_avals, values, strict=True)]
        outs = fun(*ins)
        return trace.to_graph(outs)


def aval_of(x):
    if isinstance(x, Tracer):
        return x._var.aval
    if isinstance(x, (AVal,)):
        return x
    if hasattr(x, "aval") and isinstance(x.aval, AVal):  # Zero, Linear
        return x.aval
    weak = dtypes.weak_kind(x)
    if weak is not None:
        return AVal((), dtypes.result_type(weak))
    arr = np.asarray(x)
    return AVal(arr.shape, arr.dtype)


def value_of(x):
    """The concrete value of x, or None if it is an abstract Tracer."""
    if isinstance(x, Tracer):
        return x.value
    return x


def bind(prim, args, params):
    """Apply prim: run its impl on concrete args, or record an equation in the innermost trace of the args."""
    tracers = [a for a in args if isinstance(a, Tracer)]
    if not tracers:
        trace = current_trace()
        if trace is not None and _expands(prim, args, params):
            return emit(trace, prim, args, params)
        return _eager(prim, args, params)
    trace = tracers[0]._trace
    for t in tracers:
        check_alive(t)
        if t._trace.level > trace.level:
            trace = t._trace
    out = emit(trace, prim, args, params)
    if state.no_grad and prim.name != "stop_gradient":
        out = _cut_gradient(prim, out)
    return out


def _cut_gradient(prim, out):
    """Inside no_grad(), results carry no derivative: each float result passes through stop_gradient."""
    cut = _p("stop_gradient")
    outs = out if prim.multiple_results else [out]
    outs = [cut.bind(o) if dtypes.is_float(o.aval.dtype) else o for o in outs]
    return outs if prim.multiple_results else outs[0]


def emit(trace, prim, args, params):
    """Record prim(*args) as an equation of trace (computing its value too if the trace carries values)."""
    in_avals = [aval_of(a) for a in args]
    out_avals = prim.shape_rule(*in_avals, **params)
    atoms = [trace.lift(a) for a in args]
    params = {k: _plain(v) for k, v in params.items()}
    outs_avals = out_avals if prim.multiple_results else [out_avals]
    out_vars = [Var(a) for a in outs_avals]
    trace.eqns.append(Eqn(prim, atoms, params, out_vars))
    values = [None] * len(out_vars)
    if trace.with_values:
        arg_values = [value_of(a) for a in args]
        if all(v is not None for v in arg_values):
            result = _run_impl(prim, [np.asarray(v) for v in arg_values], params, out_avals)
            values = result if prim.multiple_results else [result]
    outs = [Tracer(trace, v, val) for v, val in zip(out_vars, values)]
    return outs if prim.multiple_results else outs[0]


def _plain(value):
    """Params are plain Python values (NumPy scalars become int/float/bool), so they print and hash alike."""
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    return value


EXPAND_LIMIT = 1024  # a constant result larger than this and than its operands stays an equation in a trace


def _expands(prim, args, params):
    """Would prim on these constants make a large array out of small ones (a broadcast, an iota)? Inside a
    trace such a result stays an equation: folded, it would be a large constant that every call reads from
    memory (and the compile cache hashes), where the equation fuses into its consumers for free."""
    if getattr(prim, "effectful", False):
        return False
    out = prim.shape_rule(*[aval_of(a) for a in args], **params)
    size = sum(a.size for a in out) if prim.multiple_results else out.size
    return size > EXPAND_LIMIT and size > sum(int(np.size(a)) for a in args)


def _eager(prim, args, params):
    arrays = [np.asarray(a) for a in args]
    out_avals = prim.shape_rule(*[AVal(a.shape, a.dtype) for a in arrays], **params)
    return _run_impl(prim, arrays, params, out_avals)


class PrimitiveImplError(AssertionError):
    """Internal error: a primitive's impl disagrees with its own shape rule."""


def _run_impl(prim, arrays, params, out_avals):
    """prim.impl on NumPy arrays, each result checked against the shape rule (NumPy scalars become 0-d
    arrays); a result of another dtype or shape is a bug of the primitive, never silently cast."""
    result = prim.impl(*arrays, **params)
    if not prim.multiple_results:
        return _checked(prim, np.asarray(result), out_avals)
    if len(result) != len(out_avals):
        raise PrimitiveImplError(f"internal error: the impl of {prim.name} returned {len(result)} results, "
                                 f"its shape rule says {len(out_avals)}")
    return [_checked(prim, np.asarray(r), a) for r, a in zip(result, out_avals, strict=True)]


def _checked(prim, value, aval):
    if value.dtype != aval.dtype or value.shape != aval.shape:
        raise PrimitiveImplError(
            f"internal error: the impl of {prim.name} returned dtype {value.dtype}, shape {value.shape} "
            f"where its shape rule says dtype {aval.dtype}, shape {aval.shape}")
    return value


class Tracer:
    """A value in an open trace: its Var, and its concrete value when the trace carries values."""

    __slots__ = ("_trace", "_var", "value")  # underscored: arrays have .var() and .trace() methods
    __array_priority__ = 1000
    __array_ufunc__ = None  # NumPy defers to our reflected operators instead of looping over us
    __hash__ = None  # like arrays: == is elementwise, so a Tracer is not hashable

    def __init__(self, trace, var, value=None):
        self._trace = trace
        self._var = var
        self.value = value

    @property
    def aval(self):
        return self._var.aval

    shape = property(lambda self: self._var.aval.shape)
    dtype = property(lambda self: self._var.aval.dtype)
    ndim = property(lambda self: self._var.aval.ndim)
    size = property(lambda self: self._var.aval.size)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object (a 0-d traced array)")
        return self.shape[0]

    def __repr__(self):
        if self.value is not None:
            return f"Tracer<{self.aval}>(value={self.value!r})"
        return f"Tracer<{self.aval}>"

    # Concrete conversions work only when a value is attached (eager transforms).
    def __bool__(self):
        if self.value is None:
            raise TracerBoolConversionError(
                f"Attempted boolean conversion of traced array with shape {self.aval} while tracing "
                f"{self._trace.name}. The value is not known here, so Python control flow (if, while, and, "
                "or, not) cannot depend on it. Use jaxlike.lax.cond or jnp.where for a traced condition, "
                "or mark the argument static with static_argnums.")
        return bool(self.value)

    def _concrete(self, kind, error):
        if self.value is None:
            raise error(
                f"The {kind}() of a traced array with shape {self.aval} was requested while tracing "
                f"{self._trace.name}; the value is not known until the compiled function runs. Pass the "
                "argument as static (static_argnums) or keep the computation in jnp functions.")
        return self.value

    def __int__(self):
        return int(self._concrete("int", TracerIntegerConversionError))

    def __index__(self):
        value = self._concrete("index", TracerIntegerConversionError)
        if not dtypes.is_int(np.asarray(value).dtype):
            raise TypeError(f"only integer arrays can be used as an index, got {self.aval}")
        return int(value)

    def __float__(self):
        return float(self._concrete("float", ConcretizationTypeError))

    def __complex__(self):
        return complex(self._concrete("complex", ConcretizationTypeError))

    def __array__(self, *args, **kwargs):
        raise TracerArrayConversionError(
            f"The numpy.ndarray conversion method __array__() was called on a traced array with shape "
            f"{self.aval} while tracing {self._trace.name}. NumPy functions cannot see inside a trace: use "
            "the jaxlike.numpy function of the same name (import jaxlike.numpy as jnp).")

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d traced array")
        return (self[i] for i in range(self.shape[0]))

    # Arithmetic with NumPy semantics; the rest of the array API is attached by jaxlike.numpy.
    def __add__(self, other): return add(self, other)
    def __radd__(self, other): return add(other, self)
    def __sub__(self, other): return sub(self, other)
    def __rsub__(self, other): return sub(other, self)
    def __mul__(self, other): return mul(self, other)
    def __rmul__(self, other): return mul(other, self)
    def __truediv__(self, other): return true_divide(self, other)
    def __rtruediv__(self, other): return true_divide(other, self)
    def __neg__(self): return neg(self)
    def __pos__(self): return self
    def __lt__(self, other): return elementwise("lt", self, other)
    def __le__(self, other): return elementwise("le", self, other)
    def __gt__(self, other): return elementwise("gt", self, other)
    def __ge__(self, other): return elementwise("ge", self, other)
    def __eq__(self, other): return elementwise("eq", self, other)
    def __ne__(self, other): return elementwise("ne", self, other)
    def __and__(self, other): return elementwise("and", self, other)
    def __rand__(self, other): return elementwise("and", other, self)
    def __or__(self, other): return elementwise("or", self, other)
    def __ror__(self, other): return elementwise("or", other, self)
    def __xor__(self, other): return elementwise("xor", self, other)
    def __rxor__(self, other): return elementwise("xor", other, self)
    def __invert__(self): return PRIMITIVES["not"].bind(self)


# --------------------------------------------------------------------------------------------------
# NumPy-style helpers on handles (Tracers or arrays), used by rules and by jaxlike.numpy.


def _p(name):
    return PRIMITIVES[name]


def dtype_item(x):
    """What promotion sees of x: a weak kind for a Python scalar, else its dtype."""
    weak = dtypes.weak_kind(x)
    return weak if weak is not None else aval_of(x).dtype


def broadcast_shapes(*shapes):
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(ndim):
        sizes = {s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise ValueError(f"shapes {' and '.join(str(tuple(s)) for s in shapes)} cannot be broadcast "
                             "together")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def convert(x, dtype):
    dtype = dtypes.canonical(dtype)
    if dtypes.weak_kind(x) is not None:
        return np.asarray(x, dtype)
    if aval_of(x).dtype == dtype:
        return x
    return _p("convert").bind(x, dtype=dtype)


def broadcast_to(x, shape, leading_batch=False):
    """NumPy broadcasting of x to shape; with leading_batch, x's axis 0 maps to axis 0 of shape."""
    shape = tuple(shape)
    aval = aval_of(x)
    if aval.shape == shape:
        return x
    if leading_batch:
        dims = (0,) + tuple(range(len(shape) - aval.ndim + 1, len(shape)))
    else:
        dims = tuple(range(len(shape) - aval.ndim, len(shape)))
    for d, size in zip(dims, aval.shape):
        if size != 1 and size != shape[d]:
            raise ValueError(f"cannot broadcast shape {aval.shape} to {shape}")
    # size-1 axes that stretch are squeezed first, so broadcast_in_dim only adds axes
    keep = [i for i, (d, size) in enumerate(zip(dims, aval.shape)) if size == shape[d]]
    if len(keep) != aval.ndim:
        x = reshape(x, tuple(aval.shape[i] for i in keep))
        dims = tuple(dims[i] for i in keep)
    return _p("broadcast_in_dim").bind(x, shape=shape, broadcast_dimensions=dims)


def reshape(x, shape):
    shape = tuple(shape)
    if aval_of(x).shape == shape:
        return x
    return _p("reshape").bind(x, shape=shape)


def transpose(x, permutation):
    permutation = tuple(permutation)
    if permutation == tuple(range(len(permutation))):
        return x
    return _p("transpose").bind(x, permutation=permutation)


def moveaxis(x, src, dst):
    ndim = aval_of(x).ndim
    src, dst = src % ndim, dst % ndim
    if src == dst:
        return x
    perm = [i for i in range(ndim) if i != src]
    perm.insert(dst, src)
    return transpose(x, perm)


def full(shape, fill, dtype):
    """An array of one value. Inside a trace it stays symbolic (a broadcast of a literal), so a zero
    tangent of a large shape costs no constant and simplification can see that it is zero."""
    dtype = dtypes.canonical(dtype)
    shape = tuple(shape)
    scalar = np.asarray(fill, dtype)
    trace = current_trace()
    if trace is None or shape == ():
        return np.full(shape, scalar, dtype)
    return emit(trace, _p("broadcast_in_dim"), [scalar], dict(shape=shape, broadcast_dimensions=()))


def reduce_sum(x, axes):
    shape = aval_of(x).shape
    for a in axes:
        if not -len(shape) <= a < len(shape):
            raise ValueError(f"reduce_sum: axis {a} is out of bounds for an array of shape {shape} "
                             f"(axes are in [{-len(shape)}, {len(shape)}))")
    axes = tuple(sorted(a % len(shape) for a in axes))
    if not axes:
        return x
    return _p("reduce_sum").bind(x, axes=axes)


def unbroadcast(ct, aval):
    """Sum a cotangent of a broadcast result back to the operand's shape (the transpose of broadcasting)."""
    ct_aval = aval_of(ct)
    if ct_aval.shape == aval.shape:
        return convert(ct, aval.dtype)
    lead = ct_aval.ndim - aval.ndim
    axes = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(aval.shape) if size == 1 and ct_aval.shape[lead + i] != 1)
    out = reduce_sum(ct, axes)
    return convert(reshape(out, aval.shape), aval.dtype)


def promote(*xs):
    """Convert operands to their common dtype (NumPy 2 rules, Python scalars weak) and common shape."""
    dt = dtypes.result_type(*[dtype_item(x) for x in xs])
    xs = [convert(x, dt) for x in xs]
    shapes = [aval_of(x).shape for x in xs]
    shape = broadcast_shapes(*shapes)
    return [x if s == shape or s == () else broadcast_to(x, shape) for x, s in zip(xs, shapes)]


def elementwise(name, *xs):
    return _p(name).bind(*promote(*xs))


def add(x, y):
    return elementwise("add", x, y)


def sub(x, y):
    return elementwise("sub", x, y)


def mul(x, y):
    return elementwise("mul", x, y)


def neg(x):
    return _p("neg").bind(x)


def true_divide(x, y):
    dt = dtypes.result_type(dtype_item(x), dtype_item(y))
    if not dtypes.is_float(dt):
        x, y = convert(x, dtypes.float64), convert(y, dtypes.float64)
    return elementwise("div", x, y)
