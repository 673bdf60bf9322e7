"""Checks for derivatives, batching and compilation, as jax.test_util.check_grads.

    check_jvp(f, args)            jvp against central differences, in one seeded random direction
    check_vjp(f, args)            vjp by the dot-product identity <ct, J·t> = <Jᵀ·ct, t> (J·t by differences)
    check_grads(f, args, order)   both, recursively: the jvp and the vjp of f are checked as functions too
    check_vmap(f, args, in_dims)  vmap against a Python loop over the batch
    check_jit(f, args)            the compiled function against the interpreted one

``args`` is the tuple of positional arguments (pytrees allowed). Only floating leaves are perturbed; integer
arguments are held fixed. Tolerances and the difference step depend on the least precise floating dtype
among the arguments and outputs (``TOLERANCE`` and ``EPS``); ``atol``, ``rtol`` and ``eps`` override them.
A failure raises AssertionError naming the check, the maximum absolute and relative errors, and the output
and argument where they occur.
"""

import unittest

import numpy as np

from . import tree
from .ir import dtypes

EPS = {np.dtype(np.float64): 1e-6, np.dtype(np.float32): 1e-4}
TOLERANCE = {  # (atol, rtol) of derivative checks
    np.dtype(np.float64): (1e-6, 1e-6),
    np.dtype(np.float32): (2e-2, 2e-2),
}
VALUE_TOLERANCE = {  # (atol, rtol) of checks that compute the same values two ways (vmap, jit)
    np.dtype(np.float64): (1e-12, 1e-10),
    np.dtype(np.float32): (1e-5, 1e-5),
}
SEED = 0


# --------------------------------------------------------------------------------------------------
# Pytrees of arrays


def _leaves_with_paths(x, prefix):
    return [(path, np.asarray(leaf)) for path, leaf in tree.flatten_with_paths(x, prefix)]


def _is_float(x):
    return dtypes.is_float(np.asarray(x).dtype)


def _least_precise(arrays):
    floats = [np.asarray(a).dtype for a in arrays if _is_float(a)]
    return min(floats, key=lambda d: d.itemsize) if floats else np.dtype(np.float64)


def _tolerances(arrays, atol, rtol, table=TOLERANCE):
    dt = _least_precise(arrays)
    default_atol, default_rtol = table.get(dt, table[np.dtype(np.float32)])
    return (default_atol if atol is None else atol), (default_rtol if rtol is None else rtol)


def _random_like(leaves, rng):
    """Standard normal values for the floating leaves, zeros for the others."""
    return [rng.standard_normal(np.shape(x)).astype(np.asarray(x).dtype) if _is_float(x)
            else np.zeros_like(x) for x in leaves]


def _only(leaves, index):
    return [x if i == index else np.zeros_like(x) for i, x in enumerate(leaves)]


def _step(leaves, tangents, eps):
    return [(x + np.asarray(eps, x.dtype) * t).astype(x.dtype) if _is_float(x) else x
            for x, t in zip(leaves, tangents, strict=True)]


def _fname(f):
    return getattr(f, "__qualname__", getattr(f, "__name__", type(f).__name__))


# --------------------------------------------------------------------------------------------------
# The checks


def numerical_jvp(f, args, tangents, eps):
    """(f(x + eps·t) - f(x - eps·t)) / (2 eps), leaf by leaf of the output, in float64."""
    leaves, treedef = tree.flatten(tuple(args))
    t_leaves = tree.leaves(tuple(tangents))
    plus = f(*treedef.unflatten(_step([np.asarray(x) for x in leaves], t_leaves, eps)))
    minus = f(*treedef.unflatten(_step([np.asarray(x) for x in leaves], t_leaves, -eps)))
    return tree.tree_map(lambda a, b: (np.asarray(a, np.float64) - np.asarray(b, np.float64)) / (2 * eps),
                         plus, minus)


def _compare(what, got, want, atol, rtol, extra=None):
    """(max abs error, max rel error, ok, output path) over the floating leaves of two pytrees."""
    got_pairs = _leaves_with_paths(got, "output")
    want_pairs = _leaves_with_paths(want, "output")
    if len(got_pairs) != len(want_pairs):
        raise AssertionError(f"{what}: the result has {len(got_pairs)} leaves but {len(want_pairs)} were "
                             "expected")
    worst = (0.0, 0.0, True, None)
    for (path, g), (_, w) in zip(got_pairs, want_pairs):
        if g.shape != w.shape:
            raise AssertionError(f"{what}: {path} has shape {g.shape} but {w.shape} was expected")
        if not _is_float(w) and not _is_float(g):
            continue
        g64, w64 = np.asarray(g, np.float64), np.asarray(w, np.float64)
        err = np.abs(g64 - w64)
        slack = 0 if extra is None else extra
        bad = ~(err <= atol + rtol * np.abs(w64) + slack)  # nan anywhere (not in both) is an error
        both_nan = np.isnan(g64) & np.isnan(w64)
        bad &= ~both_nan
        abs_err = float(np.nanmax(np.where(both_nan, 0, err), initial=0.0))
        rel = np.where(np.abs(w64) > 0, err / np.where(np.abs(w64) > 0, np.abs(w64), 1), err)
        rel_err = float(np.nanmax(np.where(both_nan, 0, rel), initial=0.0))
        ok = not bool(np.any(bad))
        if not ok and worst[2] or (ok == worst[2] and abs_err > worst[0]):
            worst = (abs_err, rel_err, ok, path)
    return worst


def _fail(what, f, abs_err, rel_err, atol, rtol, where, detail=""):
    raise AssertionError(f"{what} failed for {_fname(f)}: max abs error {abs_err:.3g}, max rel error "
                         f"{rel_err:.3g} (atol={atol:g}, rtol={rtol:g}){where}{detail}")


def check_jvp(f, args, atol=None, rtol=None, eps=None, *, err_msg="check_jvp", seed=SEED):
    """jaxlike.jvp(f) against central differences in one seeded random direction."""
    from .api import jvp
    args = tuple(args)
    leaves, treedef = tree.flatten(args)
    leaves = [np.asarray(x) for x in leaves]
    paths = [p for p, _ in tree.flatten_with_paths(args, "args")]
    tangents = _random_like(leaves, np.random.default_rng(seed))
    out = f(*args)
    atol, rtol = _tolerances(leaves + [np.asarray(o) for o in tree.leaves(out)], atol, rtol)
    eps = EPS[_least_precise(leaves)] if eps is None else eps
    rounding = _rounding(out, eps)

    def run(t):
        _, got = jvp(f, args, treedef.unflatten(t))
        want = numerical_jvp(f, args, t, eps)
        return _compare(err_msg, got, want, atol, rtol, rounding)

    abs_err, rel_err, ok, path = run(tangents)
    if ok:
        return
    culprits = [paths[i] for i, x in enumerate(leaves) if _is_float(x) and not run(_only(tangents, i))[2]]
    where = f" at {path}" + (f", from the tangent of {', '.join(culprits)}" if culprits else "")
    _fail(err_msg, f, abs_err, rel_err, atol, rtol, where, f" (central differences with eps={eps:g})")


def _rounding(out, eps):
    """The rounding error of a central difference of out (what its last bits contribute, over 2·eps)."""
    worst = 0.0
    for leaf in tree.leaves(out):
        arr = np.asarray(leaf)
        if _is_float(arr) and arr.size:
            finite = np.abs(arr[np.isfinite(arr)])
            if finite.size:
                worst = max(worst, float(finite.max()) * float(np.finfo(arr.dtype).eps))
    return 4 * worst / eps


def _inner(xs, ys):
    total, scale = 0.0, 0.0
    for x, y in zip(xs, ys, strict=True):
        x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
        total += float(np.sum(x64 * y64))
        scale += float(np.sum(np.abs(x64 * y64)))
    return total, scale


def check_vjp(f, args, atol=None, rtol=None, eps=None, *, err_msg="check_vjp", seed=SEED):
    """jaxlike.vjp(f) by the dot-product identity <ct, J·t> = <Jᵀ·ct, t>, J·t by central differences."""
    from .api import vjp
    args = tuple(args)
    leaves, treedef = tree.flatten(args)
    leaves = [np.asarray(x) for x in leaves]
    paths = [p for p, _ in tree.flatten_with_paths(args, "args")]
    rng = np.random.default_rng(seed)
    out, f_vjp = vjp(f, *args)
    out_leaves, out_tree = tree.flatten(out)
    out_leaves = [np.asarray(o) for o in out_leaves]
    ct = _random_like(out_leaves, rng)
    tangents = _random_like(leaves, rng)
    atol, rtol = _tolerances(leaves + out_leaves, atol, rtol)
    eps = EPS[_least_precise(leaves)] if eps is None else eps
    ct_in = tree.leaves(f_vjp(out_tree.unflatten(ct)))
    float_out = [_is_float(o) for o in out_leaves]
    rounding = _rounding(out, eps)

    def identity(t):
        jt = tree.leaves(numerical_jvp(f, args, t, eps))
        lhs, lhs_scale = _inner([c for c, fl in zip(ct, float_out) if fl],
                                [j for j, fl in zip(jt, float_out) if fl])
        rhs, rhs_scale = _inner([c for c, x in zip(ct_in, leaves) if _is_float(x)],
                                [s for s, x in zip(t, leaves) if _is_float(x)])
        ct_norm = sum(float(np.sum(np.abs(np.asarray(c, np.float64)))) for c in ct)
        err = abs(lhs - rhs)
        tol = atol * (1 + ct_norm) + rtol * max(lhs_scale, rhs_scale) + rounding * ct_norm
        return err, err / abs(lhs) if lhs else err, err <= tol, lhs, rhs

    abs_err, rel_err, ok, lhs, rhs = identity(tangents)
    if ok:
        return
    culprits = [paths[i] for i, x in enumerate(leaves) if _is_float(x) and not identity(_only(tangents, i))[2]]
    where = f": <ct, J·t> = {lhs:.6g} by central differences but <Jᵀ·ct, t> = {rhs:.6g} by vjp"
    if culprits:
        where += f"; the cotangent of {', '.join(culprits)} is wrong"
    _fail(err_msg, f, abs_err, rel_err, atol, rtol, where, f" (eps={eps:g})")


def check_grads(f, args, order=2, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Derivatives of f up to ``order`` against central differences, in forward and/or reverse mode.

    As jax.test_util.check_grads: order 2 also checks the jvp of f (as a function of primals and
    tangents) in every mode, and the function x -> vjp(f, x)(f(x)) likewise.
    """
    from .api import jvp, vjp
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"check_grads: modes must be 'fwd' and/or 'rev', got {mode!r}")

    def check(f, args, order, what):
        if "fwd" in modes:
            name = f"JVP of {what}" if what else "JVP"
            check_jvp(f, args, atol, rtol, eps, err_msg=f"check_grads ({name})")
            if order > 1:
                def f_jvp(primals, tangents):
                    return jvp(f, primals, tangents)
                f_jvp.__qualname__ = f"jvp({_fname(f)})"
                check(f_jvp, (tuple(args), tuple(args)), order - 1, name)
        if "rev" in modes:
            name = f"VJP of {what}" if what else "VJP"
            check_vjp(f, args, atol, rtol, eps, err_msg=f"check_grads ({name})")
            if order > 1:
                def f_vjp(*xs):
                    out, pullback = vjp(f, *xs)
                    return pullback(out)
                f_vjp.__qualname__ = f"vjp({_fname(f)})"
                check(f_vjp, tuple(args), order - 1, name)

    if order < 1:
        raise ValueError(f"check_grads: order must be at least 1, got {order}")
    check(f, tuple(args), order, "")


def check_vmap(f, args, in_dims=0, atol=None, rtol=None):
    """jaxlike.vmap(f, in_dims) against a Python loop over the batch, results stacked along axis 0."""
    from .vmap import vmap
    args = tuple(args)
    leaves, treedef = tree.flatten(args)
    leaves = [np.asarray(x) for x in leaves]
    if in_dims is None or isinstance(in_dims, int):
        dims = [in_dims] * len(leaves)
    else:
        dims = tree.broadcast_prefix(tuple(in_dims), args, name="in_dims")
    sizes = {x.shape[d] for x, d in zip(leaves, dims) if d is not None}
    if len(sizes) != 1:
        raise ValueError(f"check_vmap: the batched arguments need one common batch size, got {sorted(sizes)}")
    size = sizes.pop()
    got = vmap(f, in_dims)(*args)
    rows = []
    for i in range(size):
        row = [x if d is None else np.take(x, i, axis=d) for x, d in zip(leaves, dims)]
        rows.append(f(*treedef.unflatten(row)))
    want = tree.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *rows)
    atol, rtol = _tolerances(leaves, atol, rtol, VALUE_TOLERANCE)
    abs_err, rel_err, ok, path = _compare("check_vmap", got, want, atol, rtol)
    _check_exact_leaves("check_vmap", got, want)
    if not ok:
        _fail("check_vmap", f, abs_err, rel_err, atol, rtol, f" at {path}",
              f" (vmap with in_dims={in_dims!r} against a loop over {size} elements)")


def check_jit(f, args, atol=None, rtol=None, **jit_options):
    """jaxlike.jit(f) (compiled) against f called directly (interpreted). Skips if there is no jit."""
    try:
        from .jit import jit
    except ImportError as e:
        raise unittest.SkipTest(f"check_jit: jaxlike.jit is not available ({e})") from None
    args = tuple(args)
    want = f(*args)
    got = jit(f, **jit_options)(*args)
    leaves = [np.asarray(x) for x in tree.leaves(args)]
    atol, rtol = _tolerances(leaves, atol, rtol, VALUE_TOLERANCE)
    if tree.structure(got) != tree.structure(want):
        raise AssertionError(f"check_jit failed for {_fname(f)}: the compiled function returned "
                             f"{tree.structure(got)} but the interpreted one {tree.structure(want)}")
    abs_err, rel_err, ok, path = _compare("check_jit", got, want, atol, rtol)
    _check_exact_leaves("check_jit", got, want)
    if not ok:
        _fail("check_jit", f, abs_err, rel_err, atol, rtol, f" at {path}", " (compiled against interpreted)")


def _check_exact_leaves(what, got, want):
    """Integer and bool leaves must agree exactly, dtypes included."""
    for (path, g), (_, w) in zip(_leaves_with_paths(got, "output"), _leaves_with_paths(want, "output")):
        if g.dtype != w.dtype:
            raise AssertionError(f"{what}: {path} has dtype {g.dtype} but {w.dtype} was expected")
        if not _is_float(w) and not np.array_equal(g, w):
            bad = int(np.sum(g != w))
            raise AssertionError(f"{what}: {path} differs in {bad} of {w.size} elements (an integer or "
                                 "bool result must match exactly)")


__all__ = ["check_jvp", "check_vjp", "check_grads", "check_vmap", "check_jit", "numerical_jvp", "EPS",
           "TOLERANCE"]
