"""Every rule of every primitive, checked through the one table in prim_cases.py.

- impl against the NumPy reference (values, dtype, shape); eager bind against a traced graph run by the
  interpreter; shape-rule errors (type and message); the table covers the registry.
- Each rule on its own: the jvp rule against central differences (all tangents, then each alone with
  symbolic zeros for the others), the transpose rule by the dot-product identity.
- Through the passes: jaxlike.jvp against central differences, jaxlike.vjp by the dot-product identity,
  second order (forward over forward, reverse over forward) for the nonlinear primitives.
- Batching: the rule and jaxlike.vmap against a loop over the batch, for every placement of every
  operand's batch axis (not mapped included), and batches of size 0.
- Every derived graph (jvp, vjp, batched) verifies and prints to text that parses back.

Outputs are handled as lists throughout, so primitives with several results run through the same checks.
"""

import itertools
import warnings

import numpy as np
import pytest

import jaxlike
from jaxlike.api import vjp_graphs
from jaxlike.ir import PRIMITIVES, eval_graph, trace_graph
from jaxlike.ir.batching import batch_graph
from jaxlike.ir.builder import PrimitiveImplError
from jaxlike.ir.core import AVal, Graph, subgraphs
from jaxlike.ir.jvp import jvp_graph
from jaxlike.ir.parse import parse_graph
from jaxlike.ir.primitive import NONLINEAR, RULES, Linear, Zero, is_zero, not_mapped
from jaxlike.ir.verify import verify

from prim_cases import CASES, ERROR_CASES, F32, F64, TRANSPOSED_ELSEWHERE, threefry2x32_scalar

LINEAR_CASES = [c for c in CASES if c.linear]
OPERAND_CASES = [c for c in CASES if c.args]


def cases_for(test, cases=CASES):
    """The cases as pytest params; a case that shows a known bug in this test is a strict xfail, a case
    the test does not apply to (by design, said why) is skipped."""
    def marks(c):
        if test in c.skip:
            return [pytest.mark.skip(reason=c.skip[test])]
        if test in c.known:
            return [pytest.mark.xfail(reason=c.known[test], strict=True)]
        return []
    return [pytest.param(c, id=c.id, marks=marks(c)) for c in cases]


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


def assert_all_same(actual, expected, avals, what="", **tol):
    assert len(actual) == len(expected) == len(avals), f"{what}{len(actual)} results, expected {len(avals)}"
    for k, (a, e, aval) in enumerate(zip(actual, expected, avals)):
        assert_same(a, e, dtype=aval.dtype, what=f"{what}result {k}: ", **tol)


def listed(case, result):
    """A primitive's result as a list: its results, or the one result."""
    return list(result) if case.prim.multiple_results else [result]


def impl_outs(case, args, params=None):
    return [np.asarray(r) for r in listed(case, case.prim.impl(*args, **(params or case.params)))]


def run_traced(fun, args):
    """fun traced to a Graph on the avals of args, then run by the interpreter; returns its outputs."""
    graph, captured = trace_graph(fun, [AVal(np.shape(a), np.asarray(a).dtype) for a in args])
    assert not captured
    return eval_graph(graph, *args)


def function_of(case):
    """The case's primitive as a function of its operands (for jaxlike.jvp, vjp and vmap)."""
    def f(*xs):
        return case.prim.bind(*xs, **case.params)
    f.__name__ = case.prim.name
    return f


def function_of_flat(case):
    """The case's primitive as a function of flat arrays to a list of outputs, as trace_graph takes it."""
    return case.bind_flat


def tolerance(case, first=2e-3, second=1e-6):
    return first if F32 in [a.dtype for a in case.out_avals()] + [g.dtype for g in case.args] else second


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
    linear = {name for name, prim in PRIMITIVES.items()
              if callable(prim.transpose) and name not in TRANSPOSED_ELSEWHERE}
    tested = {c.prim.name for c in LINEAR_CASES}
    assert linear <= tested, f"linear primitives without a transpose case: {sorted(linear - tested)}"


def test_nonlinear_is_declared_with_the_constant():
    for name, prim in PRIMITIVES.items():
        assert prim.transpose == NONLINEAR or callable(prim.transpose) or "transpose" in prim.holes, name


def test_case_ids_are_unique_and_readable():
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids)
    assert all(c.id.startswith(c.prim.name + "-") and " " not in c.id for c in CASES)


# --------------------------------------------------------------------------------------------------
# impl, eager and traced


@pytest.mark.parametrize("case", cases_for("impl"))
def test_impl_matches_reference(case):
    args = case.make_args()
    raw = impl_outs(case, args)
    expected = listed(case, case.ref(*args, **case.params))
    assert_all_same(raw, expected, case.out_avals(), what=f"{case.id} impl: ")


@pytest.mark.parametrize("case", cases_for("traced"))
def test_traced_matches_eager(case):
    args = case.make_args()
    eager = listed(case, case.prim.bind(*args, **case.params))
    traced = run_traced(function_of_flat(case), args)
    assert_all_same(traced, eager, case.out_avals(), rtol=0, atol=0, what=f"{case.id} traced: ")
    # a trace with values attached records one equation (iota, without operands, is a constant)
    graph, _ = trace_graph(function_of_flat(case), case.in_avals, values=args)
    assert len(graph.eqns) == (1 if args else 0)


@pytest.mark.parametrize("error", ERROR_CASES, ids=lambda e: e[0])
def test_shape_rule_errors(error):
    _, name, avals, params, kind, words = error
    with pytest.raises(kind) as info:
        PRIMITIVES[name].shape_rule(*avals, **params)
    for word in words:
        assert word in str(info.value), f"{word!r} not in the message: {info.value}"


# --------------------------------------------------------------------------------------------------
# jvp rules: traced, run, and compared with central differences of the impl in float64


def _upcast(x):
    x = np.asarray(x)
    return x.astype(F64) if x.dtype == F32 else x


def _upcast_params(params):
    return {k: F64 if isinstance(v, np.dtype) and v == F32 else v for k, v in params.items()}


def _fd_in_own_dtype(case):
    """float32 cases with traced bodies cannot be upcast: their differences are taken in float32."""
    return case.has_bodies and F32 in [g.dtype for g in case.args]


def central_difference(case, args, tangents, eps=1e-6):
    """(f(x + eps t) - f(x - eps t)) / 2 eps per result, in float64 (the operands upcast) where the case
    allows; None tangents hold operands still."""
    if _fd_in_own_dtype(case):
        eps, up, params = 1e-2, (lambda x: np.asarray(x)), case.params
    else:
        up, params = _upcast, _upcast_params(case.params)
    hi, lo = ([up(a) + np.asarray(s * eps, up(a).dtype) * up(t) if t is not None else up(a)
               for a, t in zip(args, tangents)] for s in (+1, -1))
    return [(np.asarray(h, F64) - np.asarray(l, F64)) / (2 * eps)
            for h, l in zip(impl_outs(case, hi, params), impl_outs(case, lo, params))]


def check_tangents(case, t_outs, expected_fd, what):
    """Integer and bool results: a symbolic Zero; "zero" cases: zeros; "fd" cases: central differences."""
    for k, (t, aval) in enumerate(zip(t_outs, case.out_avals())):
        if aval.dtype.kind != "f":
            assert is_zero(t) or not np.any(np.asarray(t)), f"{what}result {k} is not float: zero tangent"
        elif case.derivative == "zero":
            assert is_zero(t) or not np.any(np.asarray(t)), f"{what}result {k}: the tangent must be zero"
        elif case.derivative == "fd":
            expected = expected_fd()[k]
            t = np.zeros(aval.shape, aval.dtype) if is_zero(t) else t
            scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
            tol = 2e-2 if _fd_in_own_dtype(case) else tolerance(case)
            assert_same(t, expected, dtype=aval.dtype, rtol=tol, atol=tol * scale, what=f"{what}result {k}: ")


def jvp_of_rule(case, args, tangents):
    """(primal outs, tangent outs) of the jvp rule, traced; None tangents become symbolic Zeros."""
    moving = [i for i, t in enumerate(tangents) if t is not None]
    zero_outs = []

    def fun(*xs):
        primals = list(xs[:len(args)])
        ts = [Zero(AVal(np.shape(a), np.asarray(a).dtype)) for a in args]
        for i, t in zip(moving, xs[len(args):]):
            ts[i] = t
        out, t_out = case.prim.jvp(primals, ts, **case.params)
        outs, t_outs = listed(case, out), listed(case, t_out)
        zero_outs.extend(is_zero(t) for t in t_outs)
        return outs + [t for t in t_outs if not is_zero(t)]

    results = iter(run_traced(fun, list(args) + [tangents[i] for i in moving]))
    n = len(case.out_avals())
    outs = [next(results) for _ in range(n)]
    t_outs = [Zero(aval) if zero else next(results) for aval, zero in zip(case.out_avals(), zero_outs)]
    return outs, t_outs


def _tangent_subsets(tangents):
    """All float operands moving at once, then each alone (the others get symbolic Zero tangents)."""
    floats = [i for i, t in enumerate(tangents) if t is not None]
    if len(floats) < 2:
        return [tangents]
    return [tangents] + [[t if i == j else None for i, t in enumerate(tangents)] for j in floats]


@pytest.mark.parametrize("case", cases_for("jvp"))
def test_jvp_rule(case):
    rng = np.random.default_rng(case.seed + 1)
    args = case.make_args()
    all_tangents = [rng.standard_normal(np.shape(a)).astype(a.dtype) if a.dtype.kind == "f" else None
                    for a in args]
    for tangents in _tangent_subsets(all_tangents):
        outs, t_outs = jvp_of_rule(case, args, tangents)
        assert_all_same(outs, impl_outs(case, args), case.out_avals(), what=f"{case.id} primal: ")
        for t, aval in zip(t_outs, case.out_avals()):
            if aval.dtype.kind != "f":
                assert is_zero(t), f"{case.id}: an integer or bool result needs a symbolic Zero tangent"
        check_tangents(case, t_outs, lambda: central_difference(case, args, tangents), f"{case.id} jvp: ")


def test_reduce_max_tie_averages_the_tangents():
    x = np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, 0.0]])
    t = np.array([[10.0, 1.0, 2.0, 7.0], [3.0, 6.0, 9.0, 4.0]])
    _, t_out = PRIMITIVES["reduce_max"].jvp((x,), (t,), axes=(1,))
    assert_same(t_out, [1.5, 6.0])
    _, t_out = PRIMITIVES["reduce_min"].jvp((-x,), (t,), axes=(1,))
    assert_same(t_out, [1.5, 6.0])


def test_reduce_prod_jvp_with_zeros_is_the_product_of_the_others():
    x = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    _, t_out = PRIMITIVES["reduce_prod"].jvp((x,), (np.ones_like(x),), axes=(1,))
    assert_same(t_out, [24.0, 0.0, 24.0 + 12.0 + 8.0 + 6.0])


def test_threefry_reference_reproduces_the_known_answers():
    """The Random123 known-answer vectors for Threefry-2x32 with 20 rounds."""
    assert threefry2x32_scalar(0, 0, 0, 0) == (0x6B200159, 0x99BA4EFE)
    assert threefry2x32_scalar(*[0xFFFFFFFF] * 4) == (0x1CB996FC, 0xBB002BE7)
    assert threefry2x32_scalar(0x13198A2E, 0x03707344, 0x243F6A88, 0x85A308D3) == (0xC4923A9C, 0x483DF7A0)


@pytest.mark.parametrize("case", [c for c in CASES if c.prim.name == "custom_lin"], ids=str)
def test_custom_lin_has_no_forward_evaluation(case):
    """custom_lin stands for a custom_vjp rule's linear map, known only by its transpose: evaluating it
    forward is the forward-mode error (its transpose is checked by the vjp of custom_vjp_call)."""
    with pytest.raises(TypeError, match="forward-mode"):
        case.prim.bind(*case.make_args(), **case.params)


@pytest.mark.parametrize("case", [c for c in CASES if c.prim.name == "while" and "vjp" in c.skip], ids=str)
def test_unbounded_while_refuses_reverse_mode(case):
    with pytest.raises(ValueError, match="max_steps"):
        jaxlike.vjp(function_of(case), *case.make_args())


@pytest.mark.parametrize("wrong", ["dtype", "shape"])
def test_an_impl_that_disagrees_with_its_shape_rule_is_an_internal_error(monkeypatch, wrong):
    sin = PRIMITIVES["sin"]
    bad = (lambda x: np.sin(x).astype(np.float64)) if wrong == "dtype" else (lambda x: np.sin(x)[:1])
    monkeypatch.setattr(sin, "impl", bad)
    x = np.ones(3, np.float32)
    with pytest.raises(PrimitiveImplError, match=r"impl of sin returned .* shape rule says"):
        sin.bind(x)  # eager: never cast silently to the shape rule's dtype
    with pytest.raises(PrimitiveImplError, match="impl of sin"):
        jaxlike.grad(lambda v: sin.bind(v).sum())(x)  # a trace carrying values
    monkeypatch.setattr(sin, "impl", lambda x: np.float32(np.sin(x.sum())))
    assert sin.bind(np.float32(1.0)).shape == ()  # a NumPy scalar is a 0-d array: fine


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32], ids=lambda d: np.dtype(d).name)
def test_integer_div_is_exact_and_agrees_with_the_compiled_code(dtype):
    """Truncation toward zero in integers, silently: x / 0 is 0 and INT_MIN / -1 wraps to INT_MIN, eager
    and compiled alike (no float64 round trip, so no warning and no rounding of large int64)."""
    info = np.iinfo(dtype)
    x = np.array([7, -7, 0, info.min, info.min, info.max, -9, 2 ** 31 - 3, info.max - 2], np.int64)
    y = np.array([0, 2, 0, -1, 0, -1, 2, -4, 3], np.int64)
    if dtype == np.int64:
        x[-1] = 2 ** 62 + 1  # beyond float64's integers
    x, y = x.astype(dtype), y.astype(dtype)
    div = PRIMITIVES["div"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        eager = div.bind(x, y)
        compiled = jaxlike.jit(lambda a, b: div.bind(a, b))(x, y)
    def c_div(a, b):  # in Python integers, then wrapped to the dtype's range
        q = 0 if b == 0 else (abs(a) // abs(b)) * (1 if (a < 0) == (b < 0) else -1)
        return (q - info.min) % 2 ** info.bits + info.min

    want = np.array([c_div(a, b) for a, b in zip(x.tolist(), y.tolist())], object).astype(dtype)
    assert_same(eager, want)
    assert_same(compiled, want)


def test_reduce_sum_helper_refuses_an_axis_out_of_range():
    from jaxlike.ir.builder import reduce_sum
    x = np.ones((2, 3))
    assert_same(reduce_sum(x, (-1,)), [3.0, 3.0])
    for axis in (2, -3):
        with pytest.raises(ValueError, match=rf"axis {axis} is out of bounds .* shape \(2, 3\)"):
            reduce_sum(x, (axis,))  # never wrapped around to another axis


def test_scatter_last_update_wins():
    out = PRIMITIVES["scatter"].bind(np.zeros(4), np.array([[1], [2], [1], [1]]),
                                     np.array([1.0, 2.0, 3.0, 4.0]), axes=(0,))
    assert_same(out, [0.0, 4.0, 2.0, 0.0])


def test_gather_clamps_out_of_range_indices():
    out = PRIMITIVES["gather"].bind(np.arange(4.0), np.array([[-3], [1], [9]]), axes=(0,))
    assert_same(out, [0.0, 1.0, 3.0])


# --------------------------------------------------------------------------------------------------
# transpose rules: <ct, f(t)> == <f^T(ct), t> for each group of operands the primitive is linear in


def _held_at_zero(case, group):
    """Operands jointly linear with the group but outside it: zero, so the map of the group is linear."""
    return [i for i in range(len(case.args)) if i not in group
            and any(i in g and set(group) <= set(g) for g in case.linear)]


@pytest.mark.parametrize("case", cases_for("transpose", LINEAR_CASES))
def test_transpose_rule_dot_product_identity(case):
    rng = np.random.default_rng(case.seed + 2)
    out_avals = case.out_avals()
    for group in case.linear:
        args = case.make_args(rng)
        for i in _held_at_zero(case, group):
            args[i] = np.zeros_like(args[i])
        t = {i: case.args[i](rng) for i in group}
        cts = [rng.standard_normal(a.shape).astype(a.dtype) for a in out_avals]
        f_t = listed(case, case.prim.bind(*[t.get(i, a) for i, a in enumerate(args)], **case.params))
        known = [i for i in range(len(args)) if i not in group]

        def fun(*xs):
            ct_in, rest = list(xs[:len(cts)]), xs[len(cts):]
            operands = [Linear(case.in_avals[i]) for i in range(len(args))]
            for i, x in zip(known, rest):
                operands[i] = x
            ct_args = ct_in if case.prim.multiple_results else ct_in[0]
            results = case.prim.transpose(ct_args, *operands, **case.params)
            assert len(results) == len(args)
            assert all(results[i] is None for i in known), "no cotangent for a non-linear operand"
            return [results[i] if results[i] is not None else np.zeros(args[i].shape, args[i].dtype)
                    for i in group]

        ct_ins = run_traced(fun, cts + [args[i] for i in known])
        lhs = sum(np.vdot(c.astype(F64), np.asarray(f, F64)) for c, f in zip(cts, f_t))
        rhs = sum(np.vdot(np.asarray(c, F64), t[i].astype(F64)) for c, i in zip(ct_ins, group))
        for c, i in zip(ct_ins, group):
            assert c.shape == args[i].shape and c.dtype == args[i].dtype, f"{case.id}: cotangent {i}"
        tol = tolerance(case, 1e-4, 1e-10)
        assert abs(lhs - rhs) <= tol * max(1.0, abs(lhs)), f"{case.id} group {group}: {lhs} != {rhs}"
        # a symbolic zero cotangent gives no cotangents at all
        operands = [Linear(case.in_avals[i]) if i in group else a for i, a in enumerate(args)]
        zeros = [Zero(a) for a in out_avals]
        results = case.prim.transpose(zeros if case.prim.multiple_results else zeros[0], *operands,
                                      **case.params)
        assert all(r is None or is_zero(r) or not np.any(np.asarray(r)) for r in results)


# --------------------------------------------------------------------------------------------------
# batching rules: every placement of every operand's batch axis, against a loop over the batch


def _placements(case):
    """Per operand: not mapped or any axis; at least one operand mapped."""
    options = [[not_mapped] + list(range(len(g.shape) + 1)) for g in case.args]
    return [dims for dims in itertools.product(*options) if any(d is not not_mapped for d in dims)]


def _sizes(dims):
    """A batch of 3 everywhere; also a batch of size 0 with every operand mapped at axis 0, and with only
    the first operand mapped (the others broadcast to the empty batch)."""
    empty = all(d == 0 for d in dims) or (dims[0] == 0 and all(d is not_mapped for d in dims[1:]))
    return (3, 0) if empty else (3,)


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


def _looped(case, base, examples, dims, out_dims):
    """The results of the primitive example by example, stacked along out_dims; a result the batching
    rule calls unbatched (out dim not_mapped) must be the same for every example."""
    per_example = [impl_outs(case, [ex[i] if d is not not_mapped else base[i] for i, d in enumerate(dims)])
                   for ex in examples]
    stacked = []
    for k, d in enumerate(out_dims):
        if d is not_mapped:
            for outs in per_example[1:]:
                assert_same(outs[k], per_example[0][k], what=f"{case.id} unbatched result {k}: ")
            stacked.append(per_example[0][k])
        else:
            stacked.append(np.stack([outs[k] for outs in per_example], axis=d))
    return stacked


def batch_of_rule(case, args, dims):
    """The batching rule run on arrays (eagerly; jaxlike.vmap runs it traced, through the pass)."""
    out, out_dims = case.prim.batch(list(args), list(dims), **case.params)
    return [np.asarray(o) for o in listed(case, out)], listed(case, out_dims)


# Batching does not depend on the float width: the float32 twins of the float64 cases are left out here.
BATCH_CASES = [c for c in OPERAND_CASES if F32 not in [g.dtype for g in c.args]]


@pytest.mark.parametrize("case", cases_for("batch", BATCH_CASES))
def test_batching_rule_and_vmap_against_a_loop(case):
    """For every placement: the batching rule on arrays, and jaxlike.vmap (the rule traced, through the
    pass), both against the primitive applied example by example."""
    rng = np.random.default_rng(case.seed + 3)
    base = case.make_args(rng)
    avals = case.out_avals()
    f = function_of(case)
    tol = tolerance(case, 1e-5, 1e-12)
    for dims in _placements(case):
        for size in _sizes(dims):
            examples = [case.make_args(rng) for _ in range(size)]
            batched = _batched_args(base, examples, dims, size)
            what = f"{case.id} in_axes={dims} size={size}: "
            outs, out_dims = batch_of_rule(case, batched, dims)
            if not case.prim.multiple_results:
                assert out_dims[0] is not not_mapped, what + "a batched operand gives a batched result"
            if size:
                expected = _looped(case, base, examples, dims, out_dims)
                assert_all_same(outs, expected, avals, rtol=tol, what=what)
            else:
                for out, aval, d in zip(outs, avals, out_dims, strict=True):
                    shape = aval.shape if d is not_mapped else aval.shape[:d] + (0,) + aval.shape[d:]
                    assert np.shape(out) == shape and np.asarray(out).dtype == aval.dtype, what
            vmapped = listed(case, jaxlike.vmap(f, in_axes=tuple(dims))(*batched))
            if size:
                expected = _looped(case, base, examples, dims, [0] * len(avals))
            else:
                expected = [np.zeros((0,) + a.shape, a.dtype) for a in avals]
            assert_all_same(vmapped, expected, avals, rtol=tol, what="vmap " + what)


# --------------------------------------------------------------------------------------------------
# The same checks through the passes: jaxlike.jvp, jaxlike.vjp and jaxlike.vmap on the one-primitive
# function of each case (tracing, the jvp pass, partial evaluation, transpose, batching and simplify)


def _random_tangents(args, rng):
    return [rng.standard_normal(a.shape).astype(a.dtype) if a.dtype.kind == "f" else np.zeros_like(a)
            for a in args]


def _moving(args, tangents):
    return [t if a.dtype.kind == "f" else None for a, t in zip(args, tangents)]


@pytest.mark.parametrize("case", cases_for("jvp", OPERAND_CASES))
def test_jvp_pass_against_central_differences(case):
    rng = np.random.default_rng(case.seed + 4)
    args = case.make_args()
    tangents = _random_tangents(args, rng)
    out, t_out = jaxlike.jvp(function_of(case), args, tangents)
    assert_all_same(listed(case, out), impl_outs(case, args), case.out_avals(), what=f"{case.id} primal: ")
    t_outs = listed(case, t_out)
    assert [np.shape(t) for t in t_outs] == [a.shape for a in case.out_avals()]
    check_tangents(case, t_outs, lambda: central_difference(case, args, _moving(args, tangents)),
                   f"{case.id} jvp: ")


VJP_CASES = [c for c in OPERAND_CASES if all(a.dtype.kind == "f" for a in c.out_avals())
             and c.derivative != "skip" and any(g.dtype.kind == "f" for g in c.args)]


def _dot(xs, ys):
    return sum(np.vdot(np.asarray(x, F64), np.asarray(y, F64)) for x, y in zip(xs, ys))


@pytest.mark.parametrize("case", cases_for("vjp", VJP_CASES))
def test_vjp_pass_dot_product_identity(case):
    """<ct, J t> (forward mode) == <J^T ct, t> (reverse mode), for random t and ct."""
    rng = np.random.default_rng(case.seed + 5)
    args = case.make_args()
    tangents = _random_tangents(args, rng)
    cts = [rng.standard_normal(a.shape).astype(a.dtype) for a in case.out_avals()]
    out, f_vjp = jaxlike.vjp(function_of(case), *args)
    assert_all_same(listed(case, out), impl_outs(case, args), case.out_avals(), what=f"{case.id} primal: ")
    ct_ins = f_vjp(cts if case.prim.multiple_results else cts[0])
    assert len(ct_ins) == len(args)
    for c, a in zip(ct_ins, args):
        assert np.shape(c) == a.shape, f"{case.id}: cotangent shape {np.shape(c)} for {a.shape}"
        if a.dtype.kind == "f":
            assert np.asarray(c).dtype == a.dtype
    floats = [i for i, a in enumerate(args) if a.dtype.kind == "f"]
    if case.derivative == "zero":
        assert not any(np.any(np.asarray(ct_ins[i])) for i in floats), f"{case.id}: cotangents must be zero"
        return
    if "jvp" in case.skip:  # no forward mode (a custom_vjp function): J t by central differences
        jt = central_difference(case, args, _moving(args, tangents))
        tol = tolerance(case, 1e-3, 1e-7)
    else:
        jt = listed(case, jaxlike.jvp(function_of(case), args, tangents)[1])
        tol = tolerance(case, 1e-4, 1e-10)
    lhs = _dot(cts, jt)
    rhs = _dot([ct_ins[i] for i in floats], [tangents[i] for i in floats])
    assert abs(lhs - rhs) <= tol * max(1.0, abs(lhs)), f"{case.id}: {lhs} != {rhs}"


SECOND_ORDER_CASES = [c for c in CASES if c.derivative == "fd" and c.prim.transpose == NONLINEAR
                      and all(g.dtype != F32 for g in c.args)]


@pytest.mark.parametrize("case", cases_for("second_order", SECOND_ORDER_CASES))
def test_second_order(case):
    """The jvp rules are differentiable in turn: forward-over-forward against central differences of the
    first derivative, and reverse-over-forward by the dot-product identity."""
    rng = np.random.default_rng(case.seed + 7)
    args = case.make_args()
    t = _random_tangents(args, rng)
    s = _random_tangents(args, rng)
    f = function_of(case)

    def first(*xs):
        return jaxlike.jvp(f, xs, t)[1]

    _, second = jaxlike.jvp(first, args, s)
    eps = 1e-5
    hi = first(*[a + eps * d if a.dtype.kind == "f" else a for a, d in zip(args, s)])
    lo = first(*[a - eps * d if a.dtype.kind == "f" else a for a, d in zip(args, s)])
    expected = [(np.asarray(h) - np.asarray(l)) / (2 * eps)
                for h, l in zip(listed(case, hi), listed(case, lo), strict=True)]
    for got, want in zip(listed(case, second), expected, strict=True):
        scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
        assert_same(got, want, rtol=1e-5, atol=1e-5 * scale, what=f"{case.id} second order: ")
    cts = [rng.standard_normal(np.shape(x)) for x in listed(case, second)]
    _, f_vjp = jaxlike.vjp(first, *args)
    ct_ins = f_vjp(cts if case.prim.multiple_results else cts[0])
    floats = [i for i, a in enumerate(args) if a.dtype.kind == "f"]
    lhs = _dot(cts, listed(case, second))
    rhs = _dot([ct_ins[i] for i in floats], [s[i] for i in floats])
    assert abs(lhs - rhs) <= 1e-9 * max(1.0, abs(lhs)), f"{case.id}: {lhs} != {rhs}"


def _walk(graph):
    """graph and every graph nested in it, in the order their text appears."""
    yield graph
    for eqn in graph.eqns:
        for sub in subgraphs(eqn.params):
            yield from _walk(sub)


def _prints_back(graph):
    """False where a param is a Python callable (a custom rule): text cannot carry those."""
    return not any(callable(v) and not isinstance(v, Graph) for g in _walk(graph) for e in g.eqns
                   for v in e.params.values())


@pytest.mark.parametrize("case", cases_for("graphs", OPERAND_CASES))
def test_derived_graphs_verify_and_print_back(case):
    """The graph of the primitive and its jvp, vjp and batched graphs keep the IR's invariants and print
    to text that parses back to the same text."""
    graph, _ = trace_graph(function_of_flat(case), case.in_avals)
    diff = [a.dtype.kind == "f" for a in case.in_avals]
    derived = [graph, jvp_graph(graph, diff), batch_graph(graph, [0] * len(case.args), 2)]
    if all(a.dtype.kind == "f" for a in case.out_avals()) and any(diff) and "vjp" not in case.skip:
        derived.extend(vjp_graphs(graph, diff)[:2])
    for g in derived:
        verify(g)
        if _prints_back(g):
            text = str(g)
            consts = [value for sub in _walk(g) for value in sub.consts.values()]
            assert str(parse_graph(text, consts)) == text
