"""custom_jvp and custom_vjp: functions with derivative rules of their own, as jax.custom_jvp/custom_vjp.

    @custom_jvp
    def log1pexp(x):
        return jnp.log1p(jnp.exp(x))

    @log1pexp.defjvp
    def log1pexp_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), t * jax.nn.sigmoid(x)

Called inside any transform, the function binds one primitive (``custom_jvp_call``, ``custom_vjp_call``)
that carries the function and its rules as nested Graphs; every pass (jvp, transpose, batching, and jit,
which inlines the primal graph) knows what to do with it. Called outside any transform it is just the
Python function.

Differences from JAX, both in the direction of "it works": the function and its rules may close over
traced values, and ``nondiff_argnums`` may hold arrays or traced values (JAX's custom_vjp rejects both).
The derivative with respect to such values is not covered by the rule: it is the derivative of the function
itself.
"""

import functools
import inspect

import numpy as np

from . import tree
from .api import _as_leaf, _leaf_aval, flatten_args
from .ir.builder import Tracer, state
from .ir.prims import custom as _custom


def _fun_name(f):
    return getattr(f, "__qualname__", getattr(f, "__name__", type(f).__name__))


def _check_nondiff_argnums(nondiff_argnums, kind):
    nums = (nondiff_argnums,) if isinstance(nondiff_argnums, int) else tuple(nondiff_argnums)
    for n in nums:
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"{kind}: nondiff_argnums must be a tuple of ints, got {nondiff_argnums!r}")
    return tuple(sorted(set(nums)))


def _resolve_kwargs(fun, args, kwargs):
    """Keyword arguments moved to their positions (custom rules take positional arguments only)."""
    if not kwargs:
        return tuple(args)
    try:
        bound = inspect.signature(fun).bind(*args, **kwargs)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{_fun_name(fun)}: {e}") from None
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"keyword arguments could not be resolved to positions: {sorted(bound.kwargs)} of "
                        f"{_fun_name(fun)} are keyword-only; a custom_jvp/custom_vjp function takes its "
                        "differentiable arguments by position")
    return bound.args


def _split_args(args, nondiff_argnums, name):
    """(the nondiff arguments by position, the differentiable ones in order)."""
    for n in nondiff_argnums:
        if not -len(args) <= n < len(args):
            raise ValueError(f"{name}: nondiff_argnums {nondiff_argnums} is out of range for a call with "
                             f"{len(args)} positional argument{'s' if len(args) != 1 else ''}")
    nondiff = {n % len(args): args[n] for n in nondiff_argnums}
    dyn = tuple(a for i, a in enumerate(args) if i not in nondiff)
    return nondiff, dyn


def _merge(nondiff, dyn):
    it = iter(dyn)
    return tuple(nondiff[i] if i in nondiff else next(it) for i in range(len(nondiff) + len(dyn)))


def _is_array(x):
    return isinstance(x, (Tracer, np.ndarray, np.generic))


def _nondiff_parts(nondiff):
    """The array leaves of the nondiff arguments (they become inputs of the call) and a function that
    rebuilds the nondiff arguments (position -> value) from new values of those leaves."""
    flat = {i: tree.flatten(nondiff[i]) for i in sorted(nondiff)}
    arrays = [leaf for leaves, _ in flat.values() for leaf in leaves if _is_array(leaf)]

    def rebuild(values):
        it = iter(values)
        return {i: treedef.unflatten([next(it) if _is_array(leaf) else leaf for leaf in leaves])
                for i, (leaves, treedef) in flat.items()}
    return [a if isinstance(a, Tracer) else _as_leaf(a) for a in arrays], rebuild


def _flat_outputs(out, what):
    """Leaves of a returned pytree as arrays or Tracers, and its structure; bad leaves named by path."""
    pairs = tree.flatten_with_paths(out)
    for path, leaf in pairs:
        _leaf_aval("output" + path, leaf, what=what)
    return [leaf if isinstance(leaf, Tracer) else _as_leaf(leaf) for _, leaf in pairs], tree.structure(out)


def _tracing():
    return bool(state.stack)


# --------------------------------------------------------------------------------------------------
# custom_jvp


class custom_jvp:
    """A function whose forward-mode derivative is given by a rule (as jax.custom_jvp).

    ``f.defjvp(rule)``: ``rule(*nondiff_args, primals, tangents) -> (primal_out, tangent_out)``, where
    primals and tangents are tuples of the differentiable arguments. Reverse mode transposes the linear part
    of the rule, so grad, vjp and jacrev use it too.
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = _check_nondiff_argnums(nondiff_argnums, "custom_jvp")
        self.jvp = None

    def defjvp(self, jvp, symbolic_zeros=False):
        """Set the rule; returns it, so ``@f.defjvp`` works as a decorator."""
        if symbolic_zeros:
            raise NotImplementedError("custom_jvp: symbolic_zeros=True is not supported; tangents given to "
                                      "the rule are always arrays (zeros where nothing flows)")
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        """One rule per differentiable argument, ``jvp_i(tangent_i, primal_out, *primals)`` (None: the
        output does not depend on it); the tangent out is their sum."""
        if self.nondiff_argnums:
            raise TypeError("custom_jvp.defjvps is not supported with nondiff_argnums; use defjvp")

        def jvp(primals, tangents):
            out = self(*primals)
            terms = [rule(t, out, *primals) for rule, t in zip(jvps, tangents, strict=True) if rule is not None]
            if not terms:
                return out, tree.tree_map(lambda o: o * 0, out)
            total = terms[0]
            for term in terms[1:]:
                total = tree.tree_map(lambda a, b: a + b, total, term)
            return out, total

        jvp.__qualname__ = f"{_fun_name(self.fun)}.defjvps"
        self.defjvp(jvp)

    def __call__(self, *args, **kwargs):
        name = _fun_name(self.fun)
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {name} using defjvp.")
        args = _resolve_kwargs(self.fun, args, kwargs)
        if not _tracing():
            return self.fun(*args)
        nondiff, dyn = _split_args(args, self.nondiff_argnums, name)
        nd_leaves, rebuild = _nondiff_parts(nondiff)
        leaves, _, in_tree = flatten_args(dyn)
        n = len(nd_leaves)
        box = {}

        def fun(*flat):
            out = self.fun(*_merge(rebuild(flat[:n]), in_tree.unflatten(flat[n:])))
            flat_out, box["out_tree"] = _flat_outputs(out, f"{name} returned an output")
            return flat_out

        def rule(nd_values, primals, tangents):
            nd = rebuild(nd_values)
            pair = self.jvp(*[nd[i] for i in sorted(nd)], in_tree.unflatten(primals),
                            in_tree.unflatten(tangents))
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError("Custom JVP rule must produce a pair (list or tuple of length two) "
                                f"representing primal and tangent outputs, got {pair!r}.")
            outs, out_tree = _flat_outputs(pair[0], f"the custom JVP rule of {name} returned a primal")
            touts, tout_tree = _flat_outputs(pair[1], f"the custom JVP rule of {name} returned a tangent")
            if out_tree != tout_tree:
                raise TypeError("Custom JVP rule must produce primal and tangent outputs with equal container "
                                f"(pytree) structures, but got {out_tree} and {tout_tree} respectively.")
            if out_tree != box["out_tree"]:
                raise TypeError(f"Custom JVP rule {_fun_name(self.jvp)} for function {name} must produce "
                                "primal outputs with the container (pytree) structure of the function's "
                                f"output, {box['out_tree']}, but got {out_tree}.")
            return outs, touts

        outs = _custom.custom_jvp_call(name, fun, rule, _fun_name(self.jvp), nd_leaves, leaves)
        return box["out_tree"].unflatten(outs)


# --------------------------------------------------------------------------------------------------
# custom_vjp


class custom_vjp:
    """A function whose reverse-mode derivative is given by a pair of rules (as jax.custom_vjp).

    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` takes the arguments of f;
    ``bwd(*nondiff_args, residuals, out_cotangent) -> tuple`` gives one cotangent per differentiable
    argument (None for a zero). Forward mode (jvp, jacfwd) is an error, as in JAX.
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = _check_nondiff_argnums(nondiff_argnums, "custom_vjp")
        self.fwd = None
        self.bwd = None

    def defvjp(self, fwd, bwd, symbolic_zeros=False, optimize_remat=False):
        if symbolic_zeros or optimize_remat:
            raise NotImplementedError("custom_vjp.defvjp: symbolic_zeros and optimize_remat are not supported")
        self.fwd = fwd
        self.bwd = bwd

    def __call__(self, *args, **kwargs):
        name = _fun_name(self.fun)
        if self.fwd is None or self.bwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {name} using defvjp.")
        args = _resolve_kwargs(self.fun, args, kwargs)
        if not _tracing():
            return self.fun(*args)
        nondiff, dyn = _split_args(args, self.nondiff_argnums, name)
        nd_leaves, rebuild = _nondiff_parts(nondiff)
        leaves, in_avals, in_tree = flatten_args(dyn)
        n = len(nd_leaves)
        box = {}

        def fun(*flat):
            out = self.fun(*_merge(rebuild(flat[:n]), in_tree.unflatten(flat[n:])))
            flat_out, box["out_tree"] = _flat_outputs(out, f"{name} returned an output")
            return flat_out

        def fwd(nd_values, args):
            pair = self.fwd(*_merge(rebuild(nd_values), in_tree.unflatten(args)))
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError("Custom VJP fwd function must produce a pair (list or tuple of length two) "
                                "representing primal outputs and residuals (values stored from the forward "
                                f"pass for use on the backward pass), got {pair!r}.")
            outs, out_tree = _flat_outputs(pair[0], f"the custom VJP fwd rule of {name} returned an output")
            if out_tree != box["out_tree"]:
                raise TypeError(f"Custom VJP fwd rule {_fun_name(self.fwd)} for function {name} must produce "
                                "primal outputs with the container (pytree) structure of the function's "
                                f"output, {box['out_tree']}, but got {out_tree}.")
            res, box["res_tree"] = _flat_outputs(pair[1], f"the custom VJP fwd rule of {name} returned a "
                                                          "residual")
            return outs, res

        def bwd(nd_values, res, cts):
            nd = rebuild(nd_values)
            cts_in = self.bwd(*[nd[i] for i in sorted(nd)], box["res_tree"].unflatten(res),
                              box["out_tree"].unflatten(cts))
            return _flat_cotangents(cts_in, dyn, in_avals)

        outs = _custom.custom_vjp_call(name, fun, fwd, _fun_name(self.fwd), bwd, _fun_name(self.bwd),
                                       nd_leaves, leaves)
        return box["out_tree"].unflatten(outs)


def _flat_cotangents(cts_in, dyn, in_avals):
    """The bwd output, one entry per leaf of the differentiable arguments (None for a zero). None may stand
    for a whole argument or any subtree of one."""
    in_tree = tree.structure(dyn)
    if not isinstance(cts_in, tuple) or len(cts_in) != len(dyn):
        got = tree.structure(cts_in)
        raise TypeError("Custom VJP bwd rule must produce an output with the same container (pytree) "
                        "structure as the args tuple of the primal function, and in particular must produce "
                        "a tuple of length equal to the number of arguments to the primal function, but got "
                        f"bwd output structure {got} for primal input structure {in_tree}.")
    flat = []
    for i, (ct, arg) in enumerate(zip(cts_in, dyn)):
        try:
            per_leaf = tree.broadcast_prefix(ct, arg, name="the bwd output")  # None covers a subtree
        except ValueError:
            per_leaf = None
        given = [leaf for leaf in tree.flatten(ct, is_leaf=lambda x: x is None)[0] if leaf is not None]
        if per_leaf is None or sum(1 for leaf in per_leaf if leaf is not None) != len(given):
            raise TypeError("Custom VJP bwd rule must produce an output with the same container (pytree) "
                            f"structure as the args tuple of the primal function, but at output[{i}] the bwd "
                            f"rule produced {tree.structure(ct)} for an argument of structure "
                            f"{tree.structure(arg)}.")
        flat.extend(per_leaf)
    paths = [p for i, arg in enumerate(dyn) for p, _ in tree.flatten_with_paths(arg, prefix=f"[{i}]")]
    for path, ct, aval in zip(paths, flat, in_avals, strict=True):
        if ct is None or isinstance(ct, (bool, int, float)):
            continue
        got = _leaf_aval("output" + path, ct)
        if got.shape != aval.shape or (got.dtype != aval.dtype and aval.dtype.kind == "f"):
            raise TypeError("Custom VJP bwd rule must produce an output with the same shape/dtypes as the "
                            f"args tuple of the primal function, but at output{path} the bwd rule produced "
                            f"an output of shape/dtype {got} corresponding to an input of shape/dtype "
                            f"{aval}.")
    return flat


__all__ = ["custom_jvp", "custom_vjp"]
