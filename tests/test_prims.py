"""Every rule of every primitive, checked through the one table in prim_cases.py.

impl against the NumPy reference; eager bind against a traced graph run by the interpreter; shape-rule
errors; jvp against central differences; transposes by the dot-product identity; batching against a
Python loop over the batch, for every placement of every operand's batch axis and a batch of size 0.
"""

import itertools

import numpy as np
import pytest

import jaxlike
from jaxlike.ir import PRIMITIVES, eval_graph, trace_graph
from jaxlike.ir.core import AVal
from jaxlike.ir.primitive import NONLINEAR, RULES, Linear, Zero, is_zero, not_mapped

from prim_cases import CASES, ERROR_CASES, F32, F64

LINEAR_CASES = [c for c in CASES if c.linear]


def cases_for(test, cases=CASES):
    """The cases as pytest params; a case that shows a known bug in this test is a strict xfail."""
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.known[test], strict=True)]
                         if test in c.known else []) for c in cases]


def assert_same(actual, expected, dtype=None, rtol=None, atol=None, what=""):
    """Equal shape and dtype, values equal up to a tolerance for the dtype; NaN equals NaN."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    if dtype is not None:
        assert actual.dtype == dtype, f"{what}dtype {actual.dtype}, expected {dtype}"
    assert actual.shape == expected.shape, f"{what}shape {actual.shape}, expected {expected.shape}"
    if actual.dtype.kind == "f" or expected.dtype.kind == "f":
        low = F32 in (actual.dtype, expected.dtype)
        rtol = rtol if rtol is not None else (2e-6 if low else 1e-12)
        atol = atol if atol is not None else (2e-6 if low else 1e-12)
        np.testing.assert_allclose(actual.astype(np.float64), expected.astype(np.float64), rtol=rtol,
                                   atol=atol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def run_traced(fun, args):
    """fun traced to a Graph on the avals of args, then run by the interpreter; returns its outputs."""
    graph, captured = trace_graph(fun, [AVal(np.shape(a), np.asarray(a).dtype) for a in args])
    assert not captured
    return eval_graph(graph, *args)


# --------------------------------------------------------------------------------------------------
# The table covers the registry, and every primitive has every rule


def test_every_primitive_has_cases():
    covered = {c.prim.name for c in CASES}
    missing = [name for name in PRIMITIVES if name not in covered]
    assert not missing, f"primitives without a case in prim_cases.py: {missing}"


def test_every_primitive_has_every_rule():
    holes = [(name, rule) for name, prim in PRIMITIVES.items() for rule in RULES
             if getattr(prim, rule) is None and rule not in prim.holes]
    assert not holes, f"rules neither written nor declared as holes: {holes}"


def test_every_linear_primitive_has_a_transpose_case():
    linear = {name for name, prim in PRIMITIVES.items() if prim.transpose is not NONLINEAR}
    tested = {c.prim.name for c in LINEAR_CASES}
    assert linear <= tested, f"linear primitives without a transpose case: {sorted(linear - tested)}"


def test_nonlinear_is_declared_with_the_constant():
    for name, prim in PRIMITIVES.items():
        assert prim.transpose is NONLINEAR or callable(prim.transpose), name


# --------------------------------------------------------------------------------------------------
# impl, eager and traced


@pytest.mark.parametrize("case", cases_for("impl"))
def test_impl_matches_reference(case):
    args = case.make_args()
    out_aval = case.out_aval()
    raw = np.asarray(case.prim.impl(*args, **case.params))
    expected = case.ref(*args, **case.params)
    assert_same(raw, expected, dtype=out_aval.dtype, what=f"{case.id} impl: ")
    assert raw.shape == out_aval.shape


@pytest.mark.parametrize("case", cases_for("traced"))
def test_traced_matches_eager(case):
    args = case.make_args()
    eager = case.prim.bind(*args, **case.params)
    (traced,) = run_traced(lambda *xs: [case.prim.bind(*xs, **case.params)], args)
    assert_same(traced, eager, dtype=eager.dtype, rtol=0, atol=0, what=f"{case.id} traced: ")
    # a trace with values attached carries the same value on the way
    graph, _ = trace_graph(lambda *xs: [case.prim.bind(*xs, **case.params)], case.in_avals, values=args)
    assert len(graph.eqns) == (1 if args else 0)


@pytest.mark.parametrize("error", ERROR_CASES, ids=lambda e: e[0])
def test_shape_rule_errors(error):
    _, name, avals, params, kind, words = error
    with pytest.raises(kind) as info:
        PRIMITIVES[name].shape_rule(*avals, **params)
    for word in words:
        assert word in str(info.value), f"{word!r} not in the message: {info.value}"


# --------------------------------------------------------------------------------------------------
# jvp: the rule traced, run, and compared with central differences of the impl in float64


def _upcast(x):
    x = np.asarray(x)
    return x.astype(F64) if x.dtype == F32 else x


def _upcast_params(params):
    return {k: F64 if isinstance(v, np.dtype) and v == F32 else v for k, v in params.items()}


def central_difference(case, args, tangents, eps=1e-6):
    params = _upcast_params(case.params)
    shifted = [[_upcast(a) + s * eps * _upcast(t) if t is not None else a for a, t in zip(args, tangents)]
               for s in (+1, -1)]
    hi, lo = (np.asarray(case.prim.impl(*xs, **params), F64) for xs in shifted)
    return (hi - lo) / (2 * eps)


def jvp_of_rule(case, args, tangents):
    """(primal out, tangent out) of the jvp rule, traced with Zero tangents for non-float operands."""
    floats = [i for i, t in enumerate(tangents) if t is not None]
    zero_out = []

    def fun(*xs):
        primals = list(xs[:len(args)])
        ts = [Zero(AVal(np.shape(a), np.asarray(a).dtype)) for a in args]
        for i, t in zip(floats, xs[len(args):]):
            ts[i] = t
        out, t_out = case.prim.jvp(primals, ts, **case.params)
        zero_out.append(is_zero(t_out))
        return [out] if is_zero(t_out) else [out, t_out]

    outs = run_traced(fun, list(args) + [tangents[i] for i in floats])
    return outs[0], (Zero(case.out_aval()) if zero_out[0] else outs[1])


@pytest.mark.parametrize("case", cases_for("jvp"))
def test_jvp(case):
    rng = np.random.default_rng(case.seed + 1)
    args = case.make_args()
    tangents = [rng.standard_normal(np.shape(a)).astype(a.dtype) if a.dtype.kind == "f" else None
                for a in args]
    out, t_out = jvp_of_rule(case, args, tangents)
    assert_same(out, case.prim.impl(*args, **case.params), dtype=case.out_aval().dtype, what="primal: ")
    aval = case.out_aval()
    if aval.dtype.kind != "f":
        assert is_zero(t_out), f"{case.id}: an integer or bool output needs a symbolic Zero tangent"
    elif case.derivative == "zero":
        assert is_zero(t_out) or not np.any(np.asarray(t_out)), f"{case.id}: tangent must be zero"
    elif case.derivative == "fd":
        expected = central_difference(case, args, tangents)
        t_out = np.zeros(aval.shape, aval.dtype) if is_zero(t_out) else t_out
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        tol = 2e-3 if aval.dtype == F32 else 1e-6
        assert_same(t_out, expected, dtype=aval.dtype, rtol=tol, atol=tol * scale, what=f"{case.id} jvp: ")


def test_reduce_max_tie_averages_the_tangents():
    x = np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 0.0]])
    t = np.array([[10.0, 1.0, 2.0, 7.0], [3.0, 6.0, 9.0, 4.0]])
    _, t_out = PRIMITIVES["reduce_max"].jvp((x,), (t,), axes=(1,))
    assert_same(t_out, [1.5, 6.0])
    _, t_out = PRIMITIVES["reduce_min"].jvp((-x,), (t,), axes=(1,))
    assert_same(t_out, [1.5, 6.0])


def test_reduce_prod_jvp_with_zeros_is_the_product_of_the_others():
    x = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    t = np.ones_like(x)
    _, t_out = PRIMITIVES["reduce_prod"].jvp((x,), (t,), axes=(1,))
    assert_same(t_out, [24.0, 0.0, 24.0 + 12.0 + 8.0 + 6.0])


def test_scatter_last_update_wins():
    x = np.zeros(4)
    out = PRIMITIVES["scatter"].bind(x, np.array([[1], [2], [1], [1]]), np.array([1.0, 2.0, 3.0, 4.0]),
                                     axes=(0,))
    assert_same(out, [0.0, 4.0, 2.0, 0.0])


def test_gather_clamps_out_of_range_indices():
    out = PRIMITIVES["gather"].bind(np.arange(4.0), np.array([[-3], [1], [9]]), axes=(0,))
    assert_same(out, [0.0, 1.0, 3.0])


# --------------------------------------------------------------------------------------------------
# transpose: <ct, f(t)> == <f^T(ct), t> for each group of operands the primitive is linear in


def _held_at_zero(case, group):
    """Operands jointly linear with the group but outside it: zero, so the map of the group is linear."""
    return [i for i in range(len(case.args)) if i not in group
            and any(i in g and set(group) <= set(g) for g in case.linear)]


@pytest.mark.parametrize("case", cases_for("transpose", LINEAR_CASES))
def test_transpose_dot_product_identity(case):
    rng = np.random.default_rng(case.seed + 2)
    out_aval = case.out_aval()
    for group in case.linear:
        args = case.make_args(rng)
        for i in _held_at_zero(case, group):
            args[i] = np.zeros_like(args[i])
        t = {i: case.args[i](rng) for i in group}
        ct = rng.standard_normal(out_aval.shape).astype(out_aval.dtype)
        f_t = case.prim.bind(*[t.get(i, a) for i, a in enumerate(args)], **case.params)
        known = [i for i in range(len(args)) if i not in group]

        def fun(ct_, *xs):
            operands = [Linear(case.in_avals[i]) for i in range(len(args))]
            for i, x in zip(known, xs):
                operands[i] = x
            cts = case.prim.transpose(ct_, *operands, **case.params)
            assert len(cts) == len(args)
            assert all(cts[i] is None for i in known), "no cotangent for a non-linear operand"
            return [cts[i] if cts[i] is not None else np.zeros(args[i].shape, args[i].dtype) for i in group]

        cts = run_traced(fun, [ct] + [args[i] for i in known])
        lhs = np.vdot(ct.astype(F64), np.asarray(f_t, F64))
        rhs = sum(np.vdot(np.asarray(c, F64), t[i].astype(F64)) for c, i in zip(cts, group))
        for c, i in zip(cts, group):
            assert c.shape == args[i].shape and c.dtype == args[i].dtype, f"{case.id}: cotangent {i}"
        low = F32 in [out_aval.dtype] + [g.dtype for g in case.args]
        tol = 1e-4 if low else 1e-10
        assert abs(lhs - rhs) <= tol * max(1.0, abs(lhs)), f"{case.id} group {group}: {lhs} != {rhs}"
        # a symbolic zero cotangent gives no cotangents at all
        operands = [Linear(case.in_avals[i]) if i in group else a for i, a in enumerate(args)]
        assert all(c is None for c in case.prim.transpose(Zero(out_aval), *operands, **case.params))


# --------------------------------------------------------------------------------------------------
# batching: every placement of every operand's batch axis, against a loop over the batch


def _placements(case):
    """Per operand: not mapped or any axis; at least one operand mapped."""
    options = [[not_mapped] + list(range(len(g.shape) + 1)) for g in case.args]
    return [dims for dims in itertools.product(*options) if any(d is not not_mapped for d in dims)]


def _batched_args(base, examples, dims, size):
    """Operand i stacked along dims[i] over the examples, or base[i] where it is not mapped."""
    batched = []
    for i, d in enumerate(dims):
        if d is not_mapped:
            batched.append(base[i])
        elif size:
            batched.append(np.stack([ex[i] for ex in examples], axis=d))
        else:
            shape = base[i].shape
            batched.append(np.zeros(shape[:d] + (0,) + shape[d:], base[i].dtype))
    return batched


def batch_of_rule(case, args, dims):
    out_dim = []

    def fun(*xs):
        out, d = case.prim.batch(list(xs), list(dims), **case.params)
        out_dim.append(d)
        return [out]

    (out,) = run_traced(fun, args)
    return out, out_dim[0]


@pytest.mark.parametrize("case", cases_for("batch", [c for c in CASES if c.args]))
def test_batching(case):
    rng = np.random.default_rng(case.seed + 3)
    base = case.make_args(rng)
    out_aval = case.out_aval()
    for dims in _placements(case):
        sizes = (3, 0) if all(d in (not_mapped, 0) for d in dims) else (3,)
        for size in sizes:
            examples = [case.make_args(rng) for _ in range(size)]
            batched = _batched_args(base, examples, dims, size)
            out, out_dim = batch_of_rule(case, batched, dims)
            what = f"{case.id} dims={dims} size={size}: "
            assert out_dim is not not_mapped, what + "a batched operand gives a batched result"
            if size:
                expected = np.stack([case.prim.impl(*[ex[i] if d is not not_mapped else base[i]
                                                      for i, d in enumerate(dims)], **case.params)
                                     for ex in examples], axis=out_dim)
                assert_same(out, expected, dtype=out_aval.dtype, rtol=1e-5 if out_aval.dtype == F32 else 1e-12,
                            what=what)
            else:
                shape = out_aval.shape[:out_dim] + (0,) + out_aval.shape[out_dim:]
                assert np.shape(out) == shape and np.asarray(out).dtype == out_aval.dtype, what


# --------------------------------------------------------------------------------------------------
# The same checks through the passes: jaxlike.jvp, jaxlike.vjp and jaxlike.vmap on the one-primitive
# function of each case (tracing, the jvp pass, partial evaluation, transpose, batching and simplify)


def function_of(case):
    def f(*xs):
        return case.prim.bind(*xs, **case.params)
    f.__name__ = case.prim.name
    return f


def _random_tangents(case, args, rng):
    return [rng.standard_normal(a.shape).astype(a.dtype) if a.dtype.kind == "f" else np.zeros_like(a)
            for a in args]


@pytest.mark.parametrize("case", cases_for("jvp", [c for c in CASES if c.args]))
def test_jvp_pass_against_central_differences(case):
    rng = np.random.default_rng(case.seed + 4)
    args = case.make_args()
    tangents = _random_tangents(case, args, rng)
    aval = case.out_aval()
    out, t_out = jaxlike.jvp(function_of(case), args, tangents)
    assert_same(out, case.prim.impl(*args, **case.params), dtype=aval.dtype, what="primal: ")
    assert np.shape(t_out) == aval.shape
    if case.derivative == "zero" or aval.dtype.kind != "f":
        assert not np.any(np.asarray(t_out)), f"{case.id}: the tangent must be zero"
    elif case.derivative == "fd":
        floats = [t if a.dtype.kind == "f" else None for a, t in zip(args, tangents)]
        expected = central_difference(case, args, floats)
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        tol = 2e-3 if aval.dtype == F32 else 1e-6
        assert_same(t_out, expected, dtype=aval.dtype, rtol=tol, atol=tol * scale, what=f"{case.id} jvp: ")


VJP_CASES = [c for c in CASES if c.args and c.out_aval().dtype.kind == "f" and c.derivative != "skip"
             and any(g.dtype.kind == "f" for g in c.args)]


@pytest.mark.parametrize("case", cases_for("vjp", VJP_CASES))
def test_vjp_pass_dot_product_identity(case):
    """<ct, J t> (forward mode) == <J^T ct, t> (reverse mode), for random t and ct."""
    rng = np.random.default_rng(case.seed + 5)
    args = case.make_args()
    aval = case.out_aval()
    tangents = _random_tangents(case, args, rng)
    ct = rng.standard_normal(aval.shape).astype(aval.dtype)
    out, f_vjp = jaxlike.vjp(function_of(case), *args)
    assert_same(out, case.prim.impl(*args, **case.params), dtype=aval.dtype, what="primal: ")
    cts = f_vjp(ct)
    assert len(cts) == len(args)
    for c, a in zip(cts, args):
        assert np.shape(c) == a.shape, f"{case.id}: cotangent shape {np.shape(c)} for {a.shape}"
        if a.dtype.kind == "f":
            assert np.asarray(c).dtype == a.dtype
    if case.derivative == "zero":
        assert not any(np.any(np.asarray(c)) for c in cts), f"{case.id}: the cotangents must be zero"
        return
    _, jt = jaxlike.jvp(function_of(case), args, tangents)
    lhs = np.vdot(ct.astype(F64), np.asarray(jt, F64))
    rhs = sum(np.vdot(np.asarray(c, F64), t.astype(F64)) for c, t, a in zip(cts, tangents, args)
              if a.dtype.kind == "f")
    low = F32 in [aval.dtype] + [a.dtype for a in args]
    tol = 1e-4 if low else 1e-10
    assert abs(lhs - rhs) <= tol * max(1.0, abs(lhs)), f"{case.id}: {lhs} != {rhs}"


@pytest.mark.parametrize("case", cases_for("batch", [c for c in CASES if c.args]))
def test_vmap_pass_against_a_loop(case):
    rng = np.random.default_rng(case.seed + 6)
    base = case.make_args(rng)
    aval = case.out_aval()
    f = function_of(case)
    for dims in _placements(case):
        for size in (3, 0) if all(d in (not_mapped, 0) for d in dims) else (3,):
            examples = [case.make_args(rng) for _ in range(size)]
            batched = _batched_args(base, examples, dims, size)
            out = jaxlike.vmap(f, in_axes=tuple(dims))(*batched)
            what = f"{case.id} in_axes={dims} size={size}: "
            per_example = [[ex[i] if d is not not_mapped else base[i] for i, d in enumerate(dims)]
                           for ex in examples]
            expected = (np.stack([case.prim.impl(*xs, **case.params) for xs in per_example]) if size
                        else np.zeros((0,) + aval.shape, aval.dtype))
            assert_same(out, expected, dtype=aval.dtype, rtol=1e-5 if aval.dtype == F32 else 1e-12,
                        what=what)
