"""Every case of numpy_cases.CASES against NumPy: eager (NumPy arrays in, NumPy arrays out), traced
abstractly then interpreted, and traced with values attached. Values, dtypes and shapes must all match."""

import math
import pickle

import numpy as np
import pytest
from numpy_cases import CASES

import jaxlike.numpy as jnp
from jaxlike.errors import ConcretizationTypeError
from jaxlike.ir import PRIMITIVES, AVal, dtypes, eval_graph
from jaxlike.ir.builder import Tracer, trace_graph
from jaxlike.ir.verify import verify

TOLERANCES = {np.dtype(np.float32): (2e-5, 1e-6), np.dtype(np.float64): (1e-11, 1e-13)}


def _leaves(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def assert_matches(outs, expected, where):
    outs, expected = _leaves(outs), _leaves(expected)
    assert len(outs) == len(expected), f"{where}: {len(outs)} outputs, NumPy gives {len(expected)}"
    for i, (out, ref) in enumerate(zip(outs, expected, strict=True)):
        out, ref = np.asarray(out), np.asarray(ref)
        assert out.shape == ref.shape, f"{where}[{i}]: shape {out.shape}, NumPy gives {ref.shape}"
        assert out.dtype == dtypes.canonical(ref.dtype), f"{where}[{i}]: dtype {out.dtype}, NumPy {ref.dtype}"
        rtol, atol = TOLERANCES.get(out.dtype, (0, 0))
        np.testing.assert_allclose(out, ref.astype(out.dtype), rtol=rtol, atol=atol, equal_nan=True,
                                   err_msg=where)


def _reference(case, args):
    with np.errstate(all="ignore"):
        return case.ref(*args, **case.kwargs)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_eager(case):
    args = case.args()
    out = case.fn(*args, **case.kwargs)
    for leaf in _leaves(out):
        assert isinstance(leaf, np.ndarray), f"eager jnp returned {type(leaf).__name__}, not a NumPy array"
    assert_matches(out, _reference(case, args), case.id)


def _traced(case, args, with_values):
    """Trace the case with its NumPy-array arguments as inputs; returns (graph, leaves seen inside)."""
    positions = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]
    seen = []

    def fun(*tracers):
        full = list(args)
        for i, t in zip(positions, tracers, strict=True):
            full[i] = t
        leaves = _leaves(case.fn(*full, **case.kwargs))
        seen.extend(leaves)
        return leaves

    avals = [AVal(args[i].shape, args[i].dtype) for i in positions]
    values = [args[i] for i in positions] if with_values else None
    graph, captured = trace_graph(fun, avals, values=values, name=case.id)
    assert captured == []
    return graph, seen, [args[i] for i in positions]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_traced(case):
    args = case.args()
    expected = _reference(case, args)
    graph, _, inputs = _traced(case, args, with_values=False)
    verify(graph)
    assert_matches(eval_graph(graph, *inputs), expected, case.id + " (traced, interpreted)")
    _, seen, _ = _traced(case, args, with_values=True)
    values = [leaf.value if isinstance(leaf, Tracer) else leaf for leaf in seen]
    assert_matches(values, expected, case.id + " (values attached while tracing)")


def test_the_table_is_complete():
    """Every public function of jnp (outside a short list of non-functions) has a case."""
    names = {c.id.split("-")[0] for c in CASES}
    not_functions = {"ndarray", "result_type", "shape", "ndim", "size", "broadcast_shapes", "at"}
    public = {n for n in dir(jnp) if not n.startswith("_") and callable(getattr(jnp, n))
              and not isinstance(getattr(jnp, n), type) and n not in not_functions}
    assert public - names == set()


def test_case_arguments_are_deterministic():
    for case in CASES[::25]:
        first, second = case.args(), case.args()
        assert pickle.dumps(first) == pickle.dumps(second), case.id


def test_differentiable_cases_name_float_arguments():
    for case in CASES:
        args = case.args()
        for i in case.argnums:
            assert dtypes.is_float(np.asarray(args[i]).dtype), case.id
        assert case.differentiable == bool(case.argnums), case.id


# --------------------------------------------------------------------------------------------------
# Things the table does not express: errors, constants, the array class, promotion details


def test_constants_and_dtypes():
    assert jnp.pi == math.pi and jnp.e == math.e and jnp.inf == math.inf and math.isnan(jnp.nan)
    assert np.dtype(jnp.float32) == np.float32 and np.dtype(jnp.int64) == np.int64
    assert jnp.zeros(2, jnp.bool_).dtype == np.bool_
    assert jnp.asarray(np.ones(2, np.float16)).dtype == np.float32
    with pytest.raises(TypeError, match="not supported"):
        jnp.asarray(np.ones(2, np.complex64))
    with pytest.raises(TypeError, match="not supported"):
        jnp.zeros(2, np.int8)


def test_ndarray_isinstance():
    assert isinstance(np.ones(2), jnp.ndarray)
    assert not isinstance([1.0], jnp.ndarray)
    seen = []
    trace_graph(lambda x: seen.append(isinstance(x, jnp.ndarray)) or [x], [AVal((2,), np.float64)])
    assert seen == [True]


def test_weak_scalars_and_promotion():
    x32 = np.ones(3, np.float32)
    assert jnp.add(x32, 1.0).dtype == np.float32
    assert jnp.multiply(np.ones(3, np.int32), 2).dtype == np.int32
    assert jnp.add(np.ones(3, np.int32), 1.5).dtype == np.float64
    assert jnp.divide(np.ones(3, np.int32), np.ones(3, np.int32)).dtype == np.float64
    assert jnp.sin(np.arange(3)).dtype == np.float64
    assert jnp.sum(np.ones(3, np.int32)).dtype == np.int64
    assert jnp.mean(np.arange(4)).dtype == np.float64


@pytest.mark.parametrize("fn, message", [
    (lambda: jnp.max(np.zeros((0, 3)), axis=0), "zero-size array to reduction operation maximum"),
    (lambda: jnp.min(np.zeros(0)), "zero-size array to reduction operation minimum"),
    (lambda: jnp.argmax(np.zeros((2, 0)), axis=1), "attempt to get argmax of an empty sequence"),
    (lambda: jnp.sum(np.zeros((2, 3)), axis=2), "axis 2 is out of bounds for array of dimension 2"),
    (lambda: jnp.sum(np.zeros((2, 3)), axis=(0, -2)), "duplicate value in 'axis'"),
    (lambda: jnp.reshape(np.zeros(6), (4, -1)), "cannot reshape array of size 6"),
    (lambda: jnp.squeeze(np.zeros((2, 3)), 0), "cannot select an axis to squeeze out"),
    (lambda: jnp.concatenate([np.zeros(2), np.zeros((2, 2))]), "same number of dimensions"),
    (lambda: jnp.concatenate([np.zeros((2, 2)), np.zeros((2, 3))]), "along dimension 1"),
    (lambda: jnp.concatenate([np.zeros(()), np.zeros(())]), "zero-dimensional arrays cannot be"),
    (lambda: jnp.stack([np.zeros(2), np.zeros(3)]), "all input arrays must have the same shape"),
    (lambda: jnp.split(np.zeros(5), 2), "array split does not result in an equal division"),
    (lambda: jnp.matmul(np.zeros(3), np.zeros(2)), "mismatch in its core dimension"),
    (lambda: jnp.matmul(np.zeros(()), np.zeros(2)), "does not have enough dimensions"),
    (lambda: jnp.dot(np.zeros((2, 3)), np.zeros(2)), "not aligned"),
    (lambda: jnp.einsum("ij,jk->ik", np.zeros((2, 3)), np.zeros((4, 2))), "size of label 'j'"),
    (lambda: jnp.einsum("ij->k", np.zeros((2, 3))), "does not appear in any input"),
    (lambda: jnp.einsum("ij", np.zeros(3)), "operand 0 has 1 dimensions"),
    (lambda: jnp.power(np.arange(3), -1), "Integers to negative integer powers"),
    (lambda: jnp.broadcast_to(np.zeros(3), (2, 2)), r"cannot broadcast shape \(3,\) to \(2, 2\)"),
    (lambda: jnp.linalg.norm(np.zeros((2, 2)), 2), "needs singular values"),
    (lambda: jnp.linalg.norm(np.zeros(3), "fro"), "Invalid norm order 'fro' for vectors"),
    (lambda: jnp.where(np.ones(2, bool)), "takes 3 arguments"),
])
def test_numpy_errors(fn, message):
    with pytest.raises((ValueError, TypeError, NotImplementedError), match=message):
        fn()


def test_bool_subtract_raises_like_numpy():
    with pytest.raises(TypeError, match="boolean subtract"):
        jnp.subtract(np.ones(2, bool), np.ones(2, bool))


def test_static_arguments_need_values():
    def f(n):
        return [jnp.arange(n)]
    with pytest.raises(ConcretizationTypeError, match="jnp.arange needs a concrete value"):
        trace_graph(f, [AVal((), np.int64)])
    graph, _ = trace_graph(f, [AVal((), np.int64)], values=[np.asarray(3)])
    np.testing.assert_array_equal(eval_graph(graph, np.asarray(3))[0], np.arange(3))


def test_logsumexp_is_stable():
    x = np.array([1000.0, 1000.0, -np.inf])
    np.testing.assert_allclose(jnp.logsumexp(x), 1000.0 + np.log(2.0))
    with np.errstate(divide="ignore"):  # log(0), as in NumPy
        assert jnp.logsumexp(np.full(3, -np.inf)) == -np.inf
    np.testing.assert_allclose(jnp.logsumexp(np.array([0.0, 1.0]), b=np.array([2.0, 0.5])),
                               np.log(2.0 + 0.5 * np.e))


def test_nan_semantics():
    x = np.array([1.0, np.nan, 3.0])
    assert np.isnan(jnp.max(x)) and np.isnan(jnp.maximum(x, 0.0)[1])
    np.testing.assert_array_equal(jnp.fmax(x, np.array([np.nan, 2.0, np.nan])), [1.0, 2.0, 3.0])
    assert jnp.argmax(x) == 1


def test_floor_divide_matches_numpy_at_rounding_edges():
    x = np.array([1.0, -1.0, 7.0, -7.0, 0.3, 5.0])
    y = np.array([0.1, 0.1, 0.7, 0.7, 0.1, np.inf])
    np.testing.assert_array_equal(jnp.floor_divide(x, y), np.floor_divide(x, y))
    np.testing.assert_array_equal(jnp.remainder(x, y), np.remainder(x, y))
    i = np.array([-7, 7, -7, 7, 0, 5], np.int64)
    j = np.array([2, -2, -2, 2, 3, 1], np.int64)
    np.testing.assert_array_equal(jnp.floor_divide(i, j), np.floor_divide(i, j))
    np.testing.assert_array_equal(jnp.remainder(i, j), np.remainder(i, j))


def test_integer_power_wraps_like_numpy():
    x = np.array([3, -2, 7, 0, 1], np.int64)
    y = np.array([40, 63, 5, 0, 100], np.int64)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(jnp.power(x, y), np.power(x, y))
    graph, _ = trace_graph(lambda a, b: [jnp.power(a, b)], [AVal((5,), np.int64)] * 2)
    np.testing.assert_array_equal(eval_graph(graph, x, y)[0], np.power(x, y))


def test_integer_to_negative_python_int_power_raises_like_numpy():
    x = np.array([1, 2, 4], np.int64)
    for pow_ in (lambda a: a ** -1, lambda a: jnp.power(a, -2)):
        with pytest.raises(ValueError, match="Integers to negative integer powers are not allowed"):
            pow_(x)  # NumPy's own error, for the reference
        with pytest.raises(ValueError, match="Integers to negative integer powers are not allowed"):
            pow_(jnp.asarray(x))
        with pytest.raises(ValueError, match="Integers to negative integer powers are not allowed"):
            trace_graph(lambda a: [pow_(a)], [AVal((3,), np.int64)])
    # the primitive itself refuses rather than truncate 1/x to an integer
    with pytest.raises(TypeError, match="integer_pow.*negative integer powers"):
        PRIMITIVES["integer_pow"].bind(x, y=-1)
    np.testing.assert_array_equal(jnp.asarray(x.astype(np.float32)) ** -1, np.float32(1) / x)


def test_numpy_scalars_are_strongly_typed_python_scalars_weak():
    x = np.ones(3, np.float32)
    assert dtypes.weak_kind(np.float64(1.0)) is None and dtypes.weak_kind(np.int64(1)) is None
    assert dtypes.weak_kind(np.bool_(True)) is None and dtypes.weak_kind(True) == "bool"
    for other in (np.float64(1.0), 1.0, np.int64(2), 2, np.float32(1.0), True):
        want = (x + other).dtype  # NumPy 2: np.float64 subclasses float but is not weak
        assert jnp.add(x, other).dtype == want, other
        graph, _ = trace_graph(lambda a: [a + other], [AVal((3,), np.float32)])
        assert graph.outputs[0].aval.dtype == want, other


def test_linalg_namespace():
    import jaxlike.numpy.linalg as la
    assert la is jnp.linalg and la.norm is jnp.linalg.norm
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(la.vector_norm(x, ord=1), np.abs(x).sum())
    np.testing.assert_allclose(la.matrix_norm(x), np.linalg.norm(x))
    np.testing.assert_allclose(la.matmul(x, x.T), x @ x.T)


def test_stop_gradient_is_the_identity_in_value():
    x = np.arange(3.0)
    np.testing.assert_array_equal(jnp.stop_gradient(x), x)
    graph, _ = trace_graph(lambda a: [jnp.stop_gradient(a) * 2], [AVal((3,), np.float64)])
    assert "stop_gradient" in str(graph)


def test_einsum_contracts_pairs_in_one_dot_general_each():
    graph, _ = trace_graph(lambda a, b, c: [jnp.einsum("ij,jk,kl->il", a, b, c)],
                           [AVal((2, 3), np.float64), AVal((3, 4), np.float64), AVal((4, 5), np.float64)])
    assert str(graph).count("dot_general") == 2
