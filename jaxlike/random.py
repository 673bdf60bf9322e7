"""Random numbers: explicit keys as in JAX, and implicit draws from a global seeded state as in torch.

Explicit keys. A key is a ``uint32`` array of shape ``(2,)``. ``key(seed)`` (alias ``PRNGKey``) makes one,
``split(key, num)`` and ``fold_in(key, data)`` derive new ones, and every draw takes the key first::

    k = jaxlike.random.key(0)
    k1, k2 = jaxlike.random.split(k)
    x = jaxlike.random.normal(k1, (3,))

The same key always gives the same numbers; never draw twice from one key (split it instead). Draws are
pure functions of their key (the ``threefry2x32`` and ``random_bits`` primitives), so they trace, batch,
differentiate (with zero derivative) and compile like any other computation. A batched key under ``vmap``
gives each element its own numbers.

Implicit state. ``seed(n)`` sets a global state, and the same functions called without a key draw from
it: ``normal((3,))``, ``uniform((2, 2))``, ``rand(2, 2)``, ``randn(3)``. How the two spellings coexist: a
first argument that is a ``uint32`` array of shape ``(2,)`` is a key; anything else is the shape of an
implicit draw. The state starts seeded with ``DEFAULT_SEED``, so a fresh process is reproducible, as in
torch. Each implicit draw takes ``next_key()``, the global key folded with a counter that then advances.

Under ``vmap(..., randomness=...)`` (and ``jacfwd``, which vmaps over its basis), implicit draws follow
torch: ``'error'`` raises, ``'same'`` gives every batch element the same numbers, ``'different'`` gives each
element its own numbers: the key is folded with the element's index, an extra batched input of the traced
function, so the batching pass makes one vectorised draw for the whole batch (also across chunks, which
therefore give the numbers an unchunked vmap gives). ``randomness`` concerns implicit draws only: an
explicit key is batched or not like any other argument.

Under ``jit``, ``key_input_scope()`` turns the key of each implicit draw into a graph input that the
compiled function reads at call time, so the state advances per call and is never a constant of the trace.
"""

import functools
import math
import operator
import threading
from contextlib import contextmanager

import numpy as np

from .ir import dtypes
from .ir.builder import Tracer, aval_of, convert, elementwise, reshape
from .ir.builder import state as _trace_state
from .ir.core import AVal
from .ir.prims.misc import iota
from .ir.prims.random import random_bits, threefry2x32
from .ir.prims.shape import concatenate, slice_
from .ir.prims.unary import cos, floor, log1p, sqrt

DEFAULT_SEED = 0
_U32 = dtypes.uint32
_MASK = 0xFFFFFFFF

ERROR_MESSAGE = ("vmap: called random operation while in randomness error mode. Please either use the "
                 "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
                 "of vmap")


# --------------------------------------------------------------------------------------------------
# Keys


def _is_key(x):
    if not isinstance(x, (np.ndarray, Tracer)):
        return False
    aval = aval_of(x)
    return aval.dtype == _U32 and aval.shape == (2,)


def _check_key(fname, key):
    if not _is_key(key):
        got = aval_of(key) if isinstance(key, (np.ndarray, Tracer)) else type(key).__name__
        raise TypeError(f"{fname}: a key is a uint32 array of shape (2,) made by jaxlike.random.key, "
                        f"split or fold_in; got {got}. Index one key out of split()'s result, or vmap over "
                        "a batch of keys")
    return key


def _word(key, i):
    return reshape(slice_(key, (i,), (i + 1,)), ())


def _stack_words(y0, y1):
    """Two uint32 arrays of one shape -> keys of shape (*shape, 2)."""
    shape = aval_of(y0).shape
    return concatenate([reshape(y0, shape + (1,)), reshape(y1, shape + (1,))], len(shape))


def _split_int(value):
    """A Python int or an integer array as its (high, low) 32-bit words, two's complement."""
    if isinstance(value, (int, np.integer)):
        value = int(value)
        return np.uint32((value >> 32) & _MASK), np.uint32(value & _MASK)
    aval = aval_of(value)
    if not dtypes.is_int(aval.dtype) and not dtypes.is_bool(aval.dtype):
        raise TypeError(f"a seed or fold_in data must be an integer, got dtype {aval.dtype}")
    if aval.shape != ():
        raise TypeError(f"a seed or fold_in data must be a scalar, got shape {aval.shape}")
    if aval.dtype == dtypes.int64:
        lo = elementwise("and", value, np.int64(_MASK))
        hi = elementwise("div", value - lo, np.int64(1 << 32))  # exact: value - lo is a multiple of 2**32
        return convert(hi, _U32), convert(lo, _U32)
    return np.uint32(0), convert(value, _U32)


def key(seed):
    """A key from an integer seed (a Python int or an integer scalar, traced or not)."""
    hi, lo = _split_int(seed)
    if isinstance(hi, Tracer) or isinstance(lo, Tracer):
        return _stack_words(hi, lo)
    return np.array([hi, lo], _U32)


PRNGKey = key


def fold_in(key, data):
    """A new key from a key and an integer (a Python int or an integer scalar, traced or not)."""
    _check_key("fold_in", key)
    hi, lo = _split_int(data)
    return _stack_words(*threefry2x32(_word(key, 0), _word(key, 1), hi, lo))


def split(key, num=2):
    """``num`` new keys, shape ``(num, 2)``; unpack them (``k1, k2 = split(k)``) or index them."""
    _check_key("split", key)
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"split: num must be >= 0, got {num}")
    counters = iota(_U32, (num,), 0)
    y0, y1 = threefry2x32(_word(key, 0), _word(key, 1), np.uint32(0), counters)
    return _stack_words(y0, y1)


# --------------------------------------------------------------------------------------------------
# Draws from a key. Each is a short composition of random_bits with ordinary primitives.


def _shape(fname, shape):
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{fname}: shape must be an int or a tuple of ints, got {shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"{fname}: shape {shape} has a negative size")
    return shape


def _float_dtype(fname, dtype):
    dt = dtypes.canonical(dtype)
    if not dtypes.is_float(dt):
        raise TypeError(f"{fname}: dtype must be a float dtype (float32 or float64), got {dt}")
    return dt


def _unit(key, shape, dtype):
    """Uniform in [0, 1), as float64 values with exactly the resolution of ``dtype``.

    float32: 24 random bits, ``k * 2**-24``. float64: 53 bits from two words, ``k * 2**-53``. Every step
    is exact in float64, so the largest value is below 1 and the smallest step is one unit of dtype.
    """
    if dtype == dtypes.float32:
        bits = convert(random_bits(key, shape), dtypes.float64)
        return floor(bits * 2.0 ** -8) * 2.0 ** -24
    words = random_bits(key, (2,) + shape)
    starts = (0,) * (len(shape) + 1)
    hi = reshape(slice_(words, starts, (1,) + shape), shape)
    lo = reshape(slice_(words, (1,) + starts[1:], (2,) + shape), shape)
    hi, lo = convert(hi, dtypes.float64), convert(lo, dtypes.float64)
    return (hi * 2.0 ** 21 + floor(lo * 2.0 ** -11)) * 2.0 ** -53


def _draw_uniform(key, shape, dtype, minval, maxval):
    u = _unit(key, shape, dtype)
    if not (isinstance(minval, (int, float)) and isinstance(maxval, (int, float))
            and minval == 0 and maxval == 1):
        u = u * (maxval - minval) + minval
        if aval_of(u).shape != shape:
            from .ir.builder import broadcast_to
            u = broadcast_to(u, shape)
    return convert(u, dtype)


def _draw_normal(key, shape, dtype):
    """Box-Muller: two uniforms per normal; 1 - u is in (0, 1], so the logarithm is finite."""
    u = _unit(key, (2,) + shape, dtype)
    starts = (0,) * (len(shape) + 1)
    u1 = reshape(slice_(u, starts, (1,) + shape), shape)
    u2 = reshape(slice_(u, (1,) + starts[1:], (2,) + shape), shape)
    z = sqrt(log1p(-u1) * -2.0) * cos(u2 * (2 * math.pi))
    return convert(z, dtype)


def _draw_bernoulli(key, p, shape):
    p_shape = aval_of(p).shape
    shape = p_shape if shape is None else _shape("bernoulli", shape)
    return elementwise("lt", _unit(key, shape, dtypes.float64), p)


def _draw_randint(key, shape, minval, maxval, dtype):
    dt = dtypes.canonical(dtype)
    if not dtypes.is_int(dt):
        raise TypeError(f"randint: dtype must be an integer dtype, got {dt}")
    lo = convert(minval, dtypes.float64) if not isinstance(minval, (int, float)) else float(minval)
    hi = convert(maxval, dtypes.float64) if not isinstance(maxval, (int, float)) else float(maxval)
    r = floor(_unit(key, shape, dtypes.float64) * (hi - lo)) + lo
    r = elementwise("max", elementwise("min", r, hi - 1.0), lo)  # guards float rounding at the top end
    if aval_of(r).shape != shape:
        from .ir.builder import broadcast_to
        r = broadcast_to(r, shape)
    return convert(r, dt)


# --------------------------------------------------------------------------------------------------
# The global state, next_key, and the contexts that change where implicit keys come from


class _GlobalState:
    def __init__(self, seed):
        self.lock = threading.Lock()
        self.set(seed)

    def set(self, seed):
        with self.lock:
            self.seed = int(seed)
            self.base = key(self.seed)
            self.counter = 0


_global = _GlobalState(DEFAULT_SEED)


def seed(n):
    """Seed the global state (torch.manual_seed): the implicit draws that follow are reproducible."""
    _global.set(operator.index(n))


manual_seed = seed


def initial_seed():
    """The seed the global state was last seeded with."""
    return _global.seed


def get_state():
    """The global state as a NumPy array ``[key word 0, key word 1, counter high, counter low]``."""
    with _global.lock:
        c = _global.counter
        return np.array([*_global.base, (c >> 32) & _MASK, c & _MASK], _U32)


def set_state(saved):
    """Restore a state returned by get_state()."""
    saved = np.asarray(saved)
    if saved.shape != (4,):
        raise ValueError(f"set_state expects an array of shape (4,) from get_state(), got {saved.shape}")
    with _global.lock:
        _global.base = saved[:2].astype(_U32)
        _global.counter = (int(saved[2]) << 32) | int(saved[3])


def _counter_key(base, counter):
    y0, y1 = threefry2x32(_word(base, 0), _word(base, 1), *_split_int(counter))
    return _stack_words(y0, y1)


class _Tracing(threading.local):
    """Per thread, like the trace stack: the open key_input_scope()s and batch frames."""

    def __init__(self):
        self.scopes = []  # active key_input_scope()s, innermost last
        self.frames = []  # batching transforms being traced (vmap, jacfwd), outermost first


_tracing = _Tracing()


def next_key():
    """The key of the next implicit draw, advancing the global state.

    Outside any key_input_scope() this is a concrete key: the global key folded with the draw counter.
    Inside one (a compiled function being traced), it is derived from that scope's key input instead.
    """
    if _tracing.scopes:
        return _tracing.scopes[-1].next()
    with _global.lock:
        base, counter = _global.base, _global.counter
        _global.counter += 1
    return _counter_key(base, counter)


class KeyInputScope:
    """While a function is traced for compilation, implicit draws read their keys from one graph input.

    Enter it just before opening the trace of the compiled function. The first implicit draw adds one
    input of type ``u32[2]`` to that trace (``position`` is its index among the trace's inputs: after the
    inputs made so far, before captured values); draw ``i`` uses ``fold_in(input, i)``. ``used`` says whether
    the input exists; if it does, pass ``next_key()`` for it on every call of the compiled function.
    """

    def __init__(self):
        self.level = len(_trace_state.stack)  # the trace opened next is the compiled function's
        self.input = None
        self.position = None
        self.count = 0

    @property
    def used(self):
        return self.input is not None

    def next(self):
        if self.input is None:
            if len(_trace_state.stack) <= self.level:
                raise RuntimeError("key_input_scope: an implicit random draw happened outside the trace "
                                   "the scope was opened for")
            trace = _trace_state.stack[self.level]
            self.position = len(trace.inputs)
            self.input = trace.new_input(AVal((2,), _U32))
        k = _counter_key(self.input, self.count)
        self.count += 1
        return k


@contextmanager
def key_input_scope():
    """See KeyInputScope. Used by jit; yields the scope."""
    scope = KeyInputScope()
    _tracing.scopes.append(scope)
    try:
        yield scope
    finally:
        _tracing.scopes.remove(scope)


class BatchFrame:
    """A batching transform being traced: its randomness mode and, once an implicit draw needs it under
    'different', the element's batch index (an extra uint32 scalar input of the traced function)."""

    def __init__(self, randomness, index_value=None):
        self.randomness = randomness
        self.index_value = index_value  # the index's value in a trace that carries values
        self.trace = None
        self.index = None
        self.position = None

    def enter(self, fn):
        """fn, recording the trace it runs in (call the result inside the transform's trace)."""
        @functools.wraps(fn)
        def body(*args, **kwargs):
            from .ir.builder import current_trace
            self.trace = current_trace()
            return fn(*args, **kwargs)
        return body

    def batch_index(self):
        if self.index is None:
            self.position = len(self.trace.inputs)
            carries_values = self.trace.with_values and self.index_value is not None
            value = np.asarray(self.index_value, _U32) if carries_values else None
            self.index = self.trace.new_input(AVal((), _U32), value)
        return self.index


@contextmanager
def batch_frame(randomness, index_value=None):
    """Push a BatchFrame (and its mode on ``ir.builder.state.vmap_randomness``) while a transform traces."""
    frame = BatchFrame(randomness, index_value)
    _tracing.frames.append(frame)
    _trace_state.vmap_randomness.append(randomness)
    try:
        yield frame
    finally:
        _trace_state.vmap_randomness.pop()
        _tracing.frames.remove(frame)


def _implicit_key():
    if any(f.randomness == "error" for f in _tracing.frames):
        raise RuntimeError(ERROR_MESSAGE)
    k = next_key()
    for frame in _tracing.frames:  # outermost first; each 'different' level makes the key vary along its batch
        if frame.randomness == "different":
            k = fold_in(k, frame.batch_index())
    return k


# --------------------------------------------------------------------------------------------------
# The public draws: a key first (explicit), or no key (implicit, from the global state)


def _parse(fname, args, kwargs, names, defaults):
    """(key or None, [values of names]) for ``f(key, *rest)`` or ``f(*rest)``."""
    args = list(args)
    if "key" in kwargs:
        k = _check_key(fname, kwargs.pop("key"))
    elif args and _is_key(args[0]):
        k = args.pop(0)
    else:
        k = None
        if args and isinstance(args[0], (np.ndarray, Tracer)) and aval_of(args[0]).dtype == _U32 \
                and aval_of(args[0]).ndim >= 1 and aval_of(args[0]).shape[-1] == 2 and names[0] == "shape":
            _check_key(fname, args[0])  # a batch of keys where one key was meant: explain
    if len(args) > len(names):
        raise TypeError(f"{fname} takes at most {len(names) + 1} positional arguments (key, "
                        f"{', '.join(names)}), got {len(args) + (k is not None)}")
    values = dict(zip(names, defaults))
    for name, value in zip(names, args):
        values[name] = value
    for name, value in kwargs.items():
        if name not in values:
            raise TypeError(f"{fname} got an unexpected keyword argument {name!r}")
        if names.index(name) < len(args):
            raise TypeError(f"{fname} got multiple values for argument {name!r}")
        values[name] = value
    return (k if k is not None else _implicit_key()), [values[n] for n in names]


def uniform(*args, **kwargs):
    """``uniform(key, shape=(), dtype=float64, minval=0., maxval=1.)``: uniform in [minval, maxval).

    Without a key, ``uniform(shape=(), dtype=float64, minval=0., maxval=1.)`` draws from the global state.
    """
    k, (shape, dtype, minval, maxval) = _parse("uniform", args, kwargs,
                                               ("shape", "dtype", "minval", "maxval"),
                                               ((), dtypes.float64, 0.0, 1.0))
    return _draw_uniform(k, _shape("uniform", shape), _float_dtype("uniform", dtype), minval, maxval)


def normal(*args, **kwargs):
    """``normal(key, shape=(), dtype=float64)``: standard normal samples.

    Without a key, ``normal(shape=(), dtype=float64)`` draws from the global state.
    """
    k, (shape, dtype) = _parse("normal", args, kwargs, ("shape", "dtype"), ((), dtypes.float64))
    return _draw_normal(k, _shape("normal", shape), _float_dtype("normal", dtype))


def bernoulli(*args, **kwargs):
    """``bernoulli(key, p=0.5, shape=None)``: booleans, True with probability p (shape: p's if None).

    Without a key, ``bernoulli(p=0.5, shape=None)`` draws from the global state (torch.bernoulli(p)).
    """
    k, (p, shape) = _parse("bernoulli", args, kwargs, ("p", "shape"), (0.5, None))
    return _draw_bernoulli(k, p, shape)


def randint(*args, **kwargs):
    """``randint(key, shape, minval, maxval, dtype=int64)``: integers in [minval, maxval).

    Without a key, ``randint(shape, minval, maxval, dtype=int64)`` draws from the global state.
    """
    k, (shape, minval, maxval, dtype) = _parse("randint", args, kwargs,
                                               ("shape", "minval", "maxval", "dtype"),
                                               (None, None, None, dtypes.int64))
    if minval is None or maxval is None:
        raise TypeError("randint requires shape, minval and maxval: randint(key, shape, minval, maxval)")
    return _draw_randint(k, _shape("randint", shape), minval, maxval, dtype)


def bits(*args, **kwargs):
    """``bits(key, shape=())``: raw uint32 random bits. Without a key, from the global state."""
    k, (shape,) = _parse("bits", args, kwargs, ("shape",), ((),))
    return random_bits(k, _shape("bits", shape))


def _torch_shape(fname, shape):
    return shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def rand(*shape, dtype=dtypes.float64):
    """torch.rand: uniform in [0, 1) from the global state; ``rand(2, 3)`` or ``rand((2, 3))``."""
    return uniform(_torch_shape("rand", shape), dtype)


def randn(*shape, dtype=dtypes.float64):
    """torch.randn: standard normal from the global state; ``randn(2, 3)`` or ``randn((2, 3))``."""
    return normal(_torch_shape("randn", shape), dtype)


__all__ = ["key", "PRNGKey", "split", "fold_in", "uniform", "normal", "bernoulli", "randint", "bits",
           "seed", "manual_seed", "initial_seed", "get_state", "set_state", "rand", "randn", "next_key",
           "key_input_scope", "KeyInputScope", "batch_frame", "BatchFrame", "DEFAULT_SEED",
           "ERROR_MESSAGE"]
