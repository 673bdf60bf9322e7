"""jit: trace once per signature, simplify, compile with LLVM, call natively.

``jit(f)(*args)`` flattens the arguments (pytrees), looks up the signature (pytree structure, shapes, dtypes,
static argument values) in the function's cache, and on a miss traces ``f`` abstractly (shapes and dtypes
only), simplifies the Graph and compiles it. A repeated signature never traces again.

The common case, positional arrays in and an array or a flat tuple out, goes through a native entry
point: the argument checks run in machine code and the call costs about a Python function call. Anything
the native checks reject (a new shape, a list, a Tracer, ...) falls back to the dispatch here.

Inside another transform (any argument is a Tracer, or a trace is open) ``jit`` calls ``f`` directly, so
the outer transform traces through it.
"""

import functools
import inspect
import logging
import os
import sys
import threading
import time

import numpy as np

from . import tree
from .errors import InternalCompilerError
from .ir import dtypes
from .ir.builder import Tracer, current_trace, trace_graph
from .ir.core import AVal

__all__ = ["jit"]

# Progress and stage timings at level INFO: logging.basicConfig(level=logging.INFO) shows them.
log = logging.getLogger("jaxlike")


def _simplify(graph):
    try:
        from .ir.simplify import simplify
    except ImportError:
        try:
            from .ir.dce import dce as simplify
        except ImportError:
            return graph
    return simplify(graph)


def _dump_stages():
    return {s.strip() for s in os.environ.get("JAXLIKE_DUMP", "").split(",") if s.strip()}


def _dump(stage, name, text):
    print(f"---- jaxlike {stage}: {name} ----\n{text}\n", file=sys.stderr)


def _as_array(leaf, path):
    """A leaf made into an array of a supported dtype, or a TypeError naming it."""
    if isinstance(leaf, np.ndarray):
        arr = leaf
    elif isinstance(leaf, (bool, int, float, np.generic)):
        arr = np.asarray(leaf)
    elif hasattr(leaf, "__array__"):
        arr = np.asarray(leaf)
    else:
        raise TypeError(f"argument {path or '(top)'} of type {type(leaf).__name__} is not a valid jaxlike "
                        "type: pass arrays, Python scalars or pytrees (tuples, lists, dicts) of them, or "
                        "mark the argument static with static_argnums / static_argnames")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    try:
        dt = dtypes.canonical(arr.dtype)
    except TypeError as e:
        raise TypeError(f"argument {path or '(top)'}: {e}") from None
    if arr.dtype != dt:
        arr = arr.astype(dt)
    if not (arr.flags.c_contiguous and arr.flags.aligned):
        arr = np.array(arr, order="C", copy=True)
    return arr


class _Signature:
    """What a compiled entry is specialised on."""

    __slots__ = ("treedef", "avals", "statics", "_hash")

    def __init__(self, treedef, avals, statics):
        self.treedef = treedef
        self.avals = avals
        self.statics = statics
        try:
            self._hash = hash((treedef, avals, statics))
        except TypeError as e:
            bad = next(v for _, v in statics if not _hashable(v))
            raise TypeError(
                f"Non-hashable static arguments are not supported. An error occurred while trying to hash "
                f"an object of type {type(bad)}, {bad!r}. The error was: {e}. Pass a tuple instead of a "
                "list, or make the argument a traced array instead of a static one.") from None

    def __hash__(self):
        return self._hash

    def __eq__(self, other):
        return (self.treedef == other.treedef and self.avals == other.avals
                and self.statics == other.statics)


def _hashable(v):
    try:
        hash(v)
        return True
    except TypeError:
        return False


class Lowered:
    """A traced and simplified function for one signature: ``as_text()``, ``compile()``."""

    def __init__(self, state, graph, out_tree, signature, paths, name):
        self._state = state
        self.graph = graph
        self.out_tree = out_tree
        self.signature = signature
        self.paths = paths
        self.name = name
        self.key_position = None  # index of the implicit random key input, if the function draws

    def as_text(self):
        return str(self.graph)

    def compile(self):
        from .codegen import compile_graph
        text = str(self.graph)
        log.info("jit(%s): compiling %d equations (lower to LLVM IR, LLVM optimise, machine code)",
                 self.name, len(self.graph.eqns))
        start = time.perf_counter()
        compiled = compile_graph(self.graph, text)
        log.info("jit(%s): compiled in %.1f ms", self.name, 1e3 * (time.perf_counter() - start))
        stages = _dump_stages()
        if "llvm" in stages:
            _dump("llvm", self.name, compiled.llvm_ir)
        if "asm" in stages:
            _dump("asm", self.name, compiled.asm())
        return Compiled(self, compiled)


class Compiled:
    """A compiled function for one signature. Other shapes or dtypes raise; see jit for retracing."""

    def __init__(self, lowered, compiled):
        self.lowered = lowered
        self.compiled = compiled
        self.out_tree = lowered.out_tree
        self._native = compiled.native(self._fallback, lowered.name)
        functools.update_wrapper(self, lowered._state.fun, updated=())

    def as_text(self):
        return self.lowered.as_text()

    def llvm_ir(self):
        return self.compiled.llvm_ir

    def asm(self):
        return self.compiled.asm()

    def _fallback(self, *leaves, out=None):
        from .codegen import check_and_convert, check_out
        arrays = check_and_convert(leaves, self.compiled.in_avals, self.lowered.paths)
        if out is not None:
            self.compiled.run(arrays, check_out(out, self.compiled.out_avals))
            return out
        outs = self.compiled.run(arrays)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def __call__(self, *args, **kwargs):
        state = self.lowered._state
        out, kwargs = state.pop_out(kwargs)
        dyn_args, dyn_kwargs, _ = state.split_static(args, kwargs)
        leaves, treedef = tree.flatten((dyn_args, dyn_kwargs))
        if treedef != self.lowered.signature.treedef:
            raise TypeError(
                f"the compiled function was compiled for arguments of structure "
                f"{self.lowered.signature.treedef} but got {treedef}; pass arguments of the same pytree "
                "structure, or call the jitted function, which compiles for each new structure")
        leaves = _with_key(leaves, self.lowered.key_position)
        if out is not None:
            from .codegen import check_out
            flat = check_out(out, self.compiled.out_avals, self.out_tree)
            self._native(*leaves, out=flat[0] if len(flat) == 1 else tuple(flat))
            return out
        outs = self._native(*leaves)
        outs = [outs] if len(self.compiled.out_avals) == 1 else list(outs)
        return self.out_tree.unflatten(outs)


def _with_key(arrays, position):
    """The call's arguments with a fresh key from the global random state where the graph reads one."""
    if position is None:
        return arrays
    from .random import next_key
    return [*arrays[:position], np.asarray(next_key()), *arrays[position:]]


class _Entry:
    __slots__ = ("compiled", "out_tree", "fast", "key_position")

    def __init__(self, compiled, out_tree, fast, key_position=None):
        self.compiled = compiled
        self.out_tree = out_tree
        self.fast = fast
        self.key_position = key_position


class _JitState:
    """The cache and counters of one jitted function."""

    def __init__(self, fun, static_argnums, static_argnames):
        self.fun = fun
        self.name = getattr(fun, "__name__", type(fun).__name__)
        try:
            params = list(inspect.signature(fun).parameters.values())
        except (TypeError, ValueError):
            params = []
        positional = [p.name for p in params
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        if isinstance(static_argnames, str):
            static_argnames = (static_argnames,)
        nums = set(int(i) for i in static_argnums)
        names = set(static_argnames)
        for i in list(nums):  # a static position is static by name too, and the other way round
            j = i + len(positional) if i < 0 else i
            if 0 <= j < len(positional):
                names.add(positional[j])
        for n in list(names):
            if n in positional:
                nums.add(positional.index(n))
        # out= names the output buffers, unless the function has a parameter of that name
        self.takes_out = not any(p.name == "out" for p in params)
        self.static_argnums = frozenset(nums)
        self.static_argnames = frozenset(names)
        self.lock = threading.Lock()
        self.cache = {}
        self.fast = None
        self.traces = 0
        self.compiles = 0

    def pop_out(self, kwargs):
        """(out, the other keyword arguments): ``out=`` is jit's unless the function takes ``out``."""
        if not self.takes_out or "out" not in kwargs:
            return None, kwargs
        kwargs = dict(kwargs)
        return kwargs.pop("out"), kwargs

    def split_static(self, args, kwargs):
        n = len(args)
        statics = []
        dyn_args = []
        for i, a in enumerate(args):
            if i in self.static_argnums or (i - n) in self.static_argnums:
                statics.append((i, a))
            else:
                dyn_args.append(a)
        dyn_kwargs = {}
        for k in sorted(kwargs):
            if k in self.static_argnames:
                statics.append((k, kwargs[k]))
            else:
                dyn_kwargs[k] = kwargs[k]
        return tuple(dyn_args), dyn_kwargs, tuple(statics)

    def merge(self, dyn_args, dyn_kwargs, statics, nargs):
        positional = dict((k, v) for k, v in statics if isinstance(k, int))
        it = iter(dyn_args)
        args = [positional[i] if i in positional else next(it) for i in range(nargs)]
        kwargs = dict(dyn_kwargs)
        kwargs.update((k, v) for k, v in statics if isinstance(k, str))
        return args, kwargs

    # ---- the slow path: flatten, look up, trace and compile on a miss

    def signature(self, args, kwargs):
        dyn_args, dyn_kwargs, statics = self.split_static(args, kwargs)
        leaves, treedef = tree.flatten((dyn_args, dyn_kwargs))
        return dyn_args, dyn_kwargs, statics, leaves, treedef

    def dispatch(self, args, kwargs):
        out, kwargs = self.pop_out(kwargs)
        dyn_args, dyn_kwargs, statics, leaves, treedef = self.signature(args, kwargs)
        if current_trace() is not None or any(isinstance(x, Tracer) for x in leaves):
            if out is not None:
                raise TypeError("out= cannot be used inside a transform (grad, vmap, ...): outputs are "
                                "traced values there; call the jitted function without out=")
            return self.fun(*args, **kwargs)  # inside another transform: trace through
        paths = [p for p, _ in tree.flatten_with_paths((dyn_args, dyn_kwargs))]
        paths = [_pretty_path(p) for p in paths]
        arrays = [_as_array(x, p) for x, p in zip(leaves, paths, strict=True)]
        sig = _Signature(treedef, tuple(AVal(a.shape, a.dtype) for a in arrays), statics)
        entry = self.cache.get(sig)
        if entry is None:
            entry = self.compile(sig, len(args), paths)
        if entry.fast is not None:
            self.fast = entry.fast
        arrays = _with_key(arrays, entry.key_position)
        if out is not None:
            from .codegen import check_out
            entry.compiled.run(arrays, check_out(out, entry.compiled.out_avals, entry.out_tree))
            return out
        outs = entry.compiled.run(arrays)
        return entry.out_tree.unflatten(outs)

    def lower(self, sig, nargs, paths):
        out_tree_box = []

        def flat_fun(*leaf_tracers):
            dyn_args, dyn_kwargs = sig.treedef.unflatten(leaf_tracers)
            args, kwargs = self.merge(dyn_args, dyn_kwargs, sig.statics, nargs)
            out = self.fun(*args, **kwargs)
            out_leaves, out_tree = tree.flatten(out)
            out_tree_box.append(out_tree)
            return out_leaves

        self.traces += 1
        log.info("jit(%s): tracing for %s", self.name, ", ".join(map(str, sig.avals)) or "no arrays")
        start = time.perf_counter()
        from .random import key_input_scope
        with key_input_scope() as keys:  # implicit random draws read a key input, fresh on every call
            graph, captured = trace_graph(flat_fun, list(sig.avals), name=f"jit({self.name})")
        if keys.used:
            paths = paths[:keys.position] + ["(the implicit random key)"] + paths[keys.position:]
        log.info("jit(%s): traced %d equations in %.1f ms", self.name, len(graph.eqns),
                 1e3 * (time.perf_counter() - start))
        if captured:
            raise InternalCompilerError("a jit trace captured values of an enclosing trace")
        stages = _dump_stages()
        if "ir" in stages:
            _dump("ir", self.name, graph)
        start = time.perf_counter()
        graph = _simplify(graph)
        log.info("jit(%s): simplified to %d equations in %.1f ms", self.name, len(graph.eqns),
                 1e3 * (time.perf_counter() - start))
        if "opt" in stages:
            _dump("opt", self.name, graph)
        lowered = Lowered(self, graph, out_tree_box[0], sig, paths, self.name)
        lowered.key_position = keys.position if keys.used else None
        return lowered

    def compile(self, sig, nargs, paths):
        with self.lock:
            entry = self.cache.get(sig)
            if entry is not None:
                return entry
            lowered = self.lower(sig, nargs, paths)
            compiled = lowered.compile()
            self.compiles += 1
            fast = None
            n_out = len(compiled.compiled.out_avals)
            out_tree = compiled.out_tree
            flat_out = out_tree.is_leaf or (out_tree.kind is tuple and n_out > 1 and all(
                c.is_leaf for c in out_tree.children))
            flat_in = (not sig.statics and sig.treedef == tree.structure((tuple([0] * nargs), {})))
            if flat_out and flat_in and lowered.key_position is None:
                fast = compiled.compiled.native(self._fast_fallback, self.name)
            entry = _Entry(compiled.compiled, out_tree, fast, lowered.key_position)
            self.cache[sig] = entry
            return entry

    def _fast_fallback(self, *args, **kwargs):
        return self.dispatch(args, kwargs)


def _pretty_path(path):
    """``[0][1]['w']`` of the (args, kwargs) pair as ``x[1]['w']``-style text: args[1]['w']."""
    if path.startswith("[0]"):
        rest = path[3:]
        if rest.startswith("["):
            end = rest.index("]")
            return f"args[{rest[1:end]}]" + rest[end + 1:]
        return "args" + rest
    if path.startswith("[1]"):
        rest = path[3:]
        if rest.startswith("['"):
            end = rest.index("']")
            return f"{rest[2:end]}" + rest[end + 2:]
        return "kwargs" + rest
    return path


def jit(fun=None, *, static_argnums=(), static_argnames=()):
    """Compile ``fun`` with LLVM, once per signature (pytree structure, shapes, dtypes, static values).

    Usable as ``jit(f)``, ``jit(f, static_argnums=1)`` or ``@jit`` / ``@functools.partial(jit, ...)``.
    The result has ``.lower(*args)`` (the staged API: ``.as_text()``, ``.compile()``), and
    ``._cache_size()`` / ``.trace_count()`` for inspection.
    """
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums, static_argnames=static_argnames)
    state = _JitState(fun, static_argnums, static_argnames)

    @functools.wraps(fun)
    def wrapper(*args, **kwargs):
        fast = state.fast
        if fast is not None and (not kwargs or (len(kwargs) == 1 and "out" in kwargs and state.takes_out)):
            return fast(*args, **kwargs)
        return state.dispatch(args, kwargs)

    def lower(*args, **kwargs):
        dyn_args, dyn_kwargs, statics, leaves, treedef = state.signature(args, kwargs)
        paths = [_pretty_path(p) for p, _ in tree.flatten_with_paths((dyn_args, dyn_kwargs))]
        arrays = [_as_array(x, p) if not isinstance(x, Tracer) else x for x, p in zip(leaves, paths)]
        sig = _Signature(treedef, tuple(AVal(np.shape(a), a.dtype) for a in arrays), statics)
        return state.lower(sig, len(args), paths)

    wrapper.lower = lower
    wrapper.trace_count = lambda: state.traces
    wrapper.compile_count = lambda: state.compiles
    wrapper._cache_size = lambda: len(state.cache)
    wrapper._jit_state = state
    return wrapper
