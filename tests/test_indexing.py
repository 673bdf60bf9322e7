"""Indexing (x[idx]) and functional updates (x.at[idx].op(v)) against NumPy, eager and traced.

Every index form is checked three ways: on NumPy arrays through jnp (``jnp.at(x)[idx].get()``), traced
abstractly then interpreted, and traced with values attached.
"""

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike.errors import ConcretizationTypeError, NonConcreteBooleanIndexError
from jaxlike.ir import AVal, eval_graph
from jaxlike.ir.builder import Tracer, trace_graph
from jaxlike.ir.verify import verify


def _x(shape, dtype=np.float64):
    return (np.arange(int(np.prod(shape))) * 1.5 - 3).astype(dtype).reshape(shape)


def run_three_ways(f, *args):
    """f(*args) eager, traced (interpreted) and traced with values; all three results, as NumPy arrays."""
    eager = f(*args)
    avals = [AVal(np.shape(a), np.asarray(a).dtype) for a in args]
    graph, _ = trace_graph(lambda *xs: [f(*xs)], avals)
    verify(graph)
    (traced,) = eval_graph(graph, *args)
    seen = []
    trace_graph(lambda *xs: seen.append(f(*xs)) or seen, avals, values=list(args))
    with_values = seen[0].value if isinstance(seen[0], Tracer) else seen[0]
    return [np.asarray(eager), np.asarray(traced), np.asarray(with_values)]


def assert_same(results, expected):
    for out in results:
        assert out.shape == expected.shape and out.dtype == expected.dtype, (out.shape, expected.shape)
        np.testing.assert_array_equal(out, expected)


I = np.array  # noqa: E741  (short for index arrays below)

GETITEM = [
    # basic: integers, slices, None, Ellipsis
    ((5,), 2), ((5,), -1), ((3, 4), (1, -2)), ((3, 4), 0), ((2, 3, 4), (1, Ellipsis)),
    ((5,), slice(1, 4)), ((7,), slice(None, None, 2)), ((7,), slice(1, -1, 3)), ((7,), slice(None, None, -1)),
    ((7,), slice(5, 1, -2)), ((7,), slice(-2, None, -3)), ((7,), slice(10, -10, -1)), ((7,), slice(3, 3)),
    ((7,), slice(-100, 100)), ((3, 4), (slice(None, None, -1), slice(1, None, 2))),
    ((3, 4), (None, 1)), ((3, 4), (Ellipsis, None)), ((3, 4), (slice(None), None, slice(None))),
    ((2, 3, 4), (Ellipsis, 1)), ((2, 3, 4), (0, Ellipsis, slice(None, None, -2))), ((), ()), ((), None),
    ((), Ellipsis), ((3, 4), ()), ((0, 3), slice(None)), ((0, 3), (Ellipsis, 1)),
    # advanced: integer arrays, lists, broadcasting, negative entries
    ((5,), I([0, 4, -1, 2, 2])), ((5,), [3, 1]), ((5,), I([[0, 1], [2, 3]])), ((3, 4), I([2, 0])),
    ((3, 4), (I([0, 2]), I([1, 3]))), ((3, 4), (I([[0], [2]]), I([1, 3, 0]))), ((3, 4), (slice(None), I([3, 0]))),
    ((3, 4), (1, I([0, 2]))), ((3, 4), (I([1, 2]), slice(1, None))), ((5,), I(3)), ((5,), []),
    ((3, 4), (I([], np.int64), slice(None))), ((2, 3), I([[]], np.int32)),
    # where the advanced axes go: adjacent ones stay in place, separated ones go first
    ((2, 3, 4), (slice(None), I([0, 1]), I([1, 2]))), ((2, 3, 4), (I([0, 1]), slice(None), I([1, 2]))),
    ((2, 3, 4), (0, slice(None), I([1, 2]))), ((2, 3, 4), (I([0]), None, I([0]))),
    ((2, 3, 4), (slice(None), I([0, 1]), None, I([0, 1]))), ((2, 3, 4), (None, I([0]), I([0]))),
    ((2, 3, 4), (I([0, 1]), Ellipsis, I([0, 1]))), ((2, 3, 4), (Ellipsis, I([0]), I([0]))),
    ((2, 3, 4, 5), (slice(None), I([[0], [1]]), I([0, 2]), slice(1, 3))),
    ((2, 3, 4, 5), (I([1, 0]), slice(None), slice(None), I([4, 0]))),
    # boolean scalars and masks
    ((3, 4), True), ((3, 4), False), ((), True), ((2, 3, 4), (0, slice(None), True)),
    ((5,), I([True, False, True, True, False])), ((3, 4), _x((3, 4)) > 0), ((3, 4), I([False, True, True])),
    ((3, 4), (slice(None), I([True, False, False, True]))), ((2, 3, 4), (Ellipsis, _x((3, 4)) < 2)),
    ((2, 3, 4), (I([1, 0]), _x((3,)) > -2)), ((3,), I([False, False, False])),
]


@pytest.mark.parametrize("shape, index", GETITEM, ids=[f"{s}-{i!r}".replace(" ", "").replace("\n", "")
                                                       for s, i in GETITEM])
def test_getitem(shape, index):
    x = _x(shape)
    assert_same(run_three_ways(lambda a: jnp.at(a)[index].get(), x), x[index])
    assert_same(run_three_ways(lambda a: jnp.asarray(a)[index] if isinstance(a, Tracer) else a[index], x),
                x[index])


def test_getitem_on_float32_keeps_dtype():
    x = _x((3, 4), np.float32)
    assert_same(run_three_ways(lambda a: jnp.at(a)[::2, I([0, 3])].get(), x), x[::2, I([0, 3])])


@pytest.mark.parametrize("index_shape, index_value", [((), 2), ((), -1), ((3,), [0, -1, 2]), ((2, 2), [[1, 0], [-2, 3]])])
def test_traced_integer_index_wraps_negatives(index_shape, index_value):
    x = _x((4, 3))
    i = np.asarray(index_value, np.int64)
    assert_same(run_three_ways(lambda a, j: a[j], x, i), x[i])
    assert_same(run_three_ways(lambda a, j: a[1:, j % 3], x, i), x[1:, i % 3])
    assert_same(run_three_ways(lambda a, j: a[j, ::-1], x, i), x[i, ::-1])


def test_traced_integer_index_out_of_range_is_clamped():
    x = _x((4,))
    graph, _ = trace_graph(lambda a, j: [a[j]], [AVal((4,), np.float64), AVal((2,), np.int64)])
    (out,) = eval_graph(graph, x, np.array([7, -9]))
    np.testing.assert_array_equal(out, [x[3], x[0]])


def test_tracer_methods_and_iteration():
    x = _x((3, 2))
    graph, _ = trace_graph(lambda a: [a[0], list(a)[2], a.T, a.mT, abs(a), a // 2.0, a % 2.0, a ** 2, 2.0 ** a,
                                      a @ a.T, a.sum(0), a.reshape(2, 3), a.reshape((6,)), a.transpose(1, 0),
                                      a.astype(np.float32), a.clip(0, 1), a.round(), a.ravel(), a.flatten(),
                                      a.swapaxes(0, 1), a.squeeze(), a.cumsum(), a.max(), a.argmin(), a.std(),
                                      a.dot(a.T), a.any(), a.all(), a.mean(axis=1), a.prod(), a.min()],
                           [AVal((3, 2), np.float64)])
    refs = [x[0], x[2], x.T, x.T, abs(x), x // 2.0, x % 2.0, x ** 2, 2.0 ** x, x @ x.T, x.sum(0),
            x.reshape(2, 3), x.reshape(6), x.T, x.astype(np.float32), x.clip(0, 1), x.round(), x.ravel(),
            x.flatten(), x.swapaxes(0, 1), x.squeeze(), x.cumsum(), x.max(), x.argmin(), x.std(), x.dot(x.T),
            x.any(), x.all(), x.mean(axis=1), x.prod(), x.min()]
    for out, ref in zip(eval_graph(graph, x), refs, strict=True):
        assert out.dtype == ref.dtype
        np.testing.assert_allclose(out, ref, rtol=1e-12)


def test_item_needs_a_value():
    seen = []
    trace_graph(lambda a: seen.append(a[1].item()) or [a], [AVal((3,), np.float64)], values=[_x((3,))])
    assert seen == [_x((3,))[1].item()] and isinstance(seen[0], float)
    with pytest.raises(ConcretizationTypeError, match="item"):
        trace_graph(lambda a: [a[0].item()], [AVal((3,), np.float64)])


# --------------------------------------------------------------------------------------------------
# Boolean masks


def test_traced_mask_raises_non_concrete_boolean_index_error():
    def f(a):
        return [a[a > 0]]
    with pytest.raises(NonConcreteBooleanIndexError) as info:
        trace_graph(f, [AVal((3, 4), np.float64)])
    message = str(info.value)
    assert "bool[3,4]" in message and "jnp.where(mask, x, 0)" in message and "-jnp.inf" in message
    assert isinstance(info.value, IndexError) and isinstance(info.value, ConcretizationTypeError)


def test_traced_boolean_scalar_index_raises():
    with pytest.raises(NonConcreteBooleanIndexError, match=r"bool\[\]"):
        trace_graph(lambda a, m: [a[m]], [AVal((3,), np.float64), AVal((), np.bool_)])


def test_mask_with_a_value_gathers_and_the_derivative_flows():
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    assert_same([jnp.at(x)[x > 0].get()], x[x > 0])
    seen = []
    graph, _ = trace_graph(lambda a: seen.append(a[a > 0]) or seen, [AVal((4,), np.float64)], values=[x])
    assert_same([seen[0].value], x[x > 0])
    assert "gather" in str(graph)
    grad = jaxlike.grad(lambda a: jnp.sum(a[a > 0] ** 2))(x)
    np.testing.assert_allclose(grad, np.where(x > 0, 2 * x, 0.0))


def test_mask_under_vmap_raises():
    with pytest.raises(NonConcreteBooleanIndexError):
        jaxlike.vmap(lambda a: jnp.sum(a[a > 0]))(np.ones((2, 3)))


def test_where_is_the_rewrite_the_error_suggests():
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    graph, _ = trace_graph(lambda a: [jnp.sum(jnp.where(a > 0, a, 0))], [AVal((4,), np.float64)])
    assert eval_graph(graph, x)[0] == 6.0


# --------------------------------------------------------------------------------------------------
# Bad indices


@pytest.mark.parametrize("shape, index, error, message", [
    ((3,), 3, IndexError, "index 3 is out of bounds for axis 0 with size 3"),
    ((3,), -4, IndexError, "index -4 is out of bounds for axis 0 with size 3"),
    ((2, 3), (0, 5), IndexError, "index 5 is out of bounds for axis 1 with size 3"),
    ((3,), I([0, 3]), IndexError, "index 3 is out of bounds for axis 0 with size 3"),
    ((2, 3), (slice(None), I([-4])), IndexError, "index -4 is out of bounds for axis 1 with size 3"),
    ((2, 3), (0, 0, 0), IndexError, "too many indices for array: array is 2-dimensional, but 3 were indexed"),
    ((2, 3), 1.0, IndexError, "only integers, slices"),
    ((2, 3), I([0.0]), IndexError, "only integers, slices"),
    ((2, 3), "a", IndexError, "only integers, slices"),
    ((2, 3), (Ellipsis, Ellipsis), IndexError, "an index can only have a single ellipsis"),
    ((2, 3), (I([0, 1]), I([0, 1, 2])), IndexError, "shape mismatch: indexing arrays could not be broadcast"),
    ((3, 2), I([True, False]), IndexError, "boolean index did not match indexed array along axis 0; size of "
                                           "axis is 3 but size of corresponding boolean axis is 2"),
    ((3,), slice(0, 2.5), TypeError, "slice indices must be integers"),
])
def test_bad_index(shape, index, error, message):
    x = _x(shape)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        jnp.at(x)[index].get()
    with pytest.raises(error):
        x[index]  # NumPy agrees that this is an error


def test_traced_slice_bounds_need_values():
    with pytest.raises(ConcretizationTypeError, match="static start/stop/step"):
        trace_graph(lambda a, n: [a[:n]], [AVal((3,), np.float64), AVal((), np.int64)])
    graph, _ = trace_graph(lambda a, n: [a[:n]], [AVal((3,), np.float64), AVal((), np.int64)],
                           values=[_x((3,)), np.asarray(2)])
    assert graph.out_avals[0].shape == (2,)


def test_setitem_points_to_at():
    with pytest.raises(TypeError, match=r"x.at\[idx\].set\(y\)"):
        trace_graph(lambda a: a.__setitem__(0, 1.0), [AVal((3,), np.float64)])


# --------------------------------------------------------------------------------------------------
# Functional updates


def _numpy_update(x, index, values, op):
    out = x.copy()
    ufunc = {"add": np.add, "multiply": np.multiply, "divide": np.divide, "min": np.minimum,
             "max": np.maximum, "power": np.power}
    if op == "set":
        out[index] = values
    else:
        ufunc[op].at(out, index, values)
    return out


UPDATES = [
    ((5,), 2, 10.0), ((5,), -1, 10.0), ((5,), slice(1, 4), I([1.0, 2.0, 3.0])), ((5,), slice(None, None, -2), 7.0),
    ((3, 4), 1, I([1.0, 2.0, 3.0, 4.0])), ((3, 4), (slice(None), 0), 9.0), ((3, 4), (Ellipsis, None, 2), 9.0),
    ((5,), I([0, 2, 2, 4, 2]), I([1.0, 2.0, 3.0, 4.0, 5.0])), ((5,), [1, 1], 3.0),
    ((3, 4), (I([0, 2, 0]), slice(1, 3)), I([[1.0, 2.0]])), ((3, 4), (I([0, 0]), I([1, 1])), I([2.0, 3.0])),
    ((2, 3, 4), (slice(None), I([0, 1]), I([1, 1])), 5.0), ((3, 4), _x((3, 4)) > 0, 0.5),
    ((3, 4), (), np.ones((3, 4))), ((0, 3), slice(None), 1.0), ((3,), I([], np.int64), 1.0),
]


@pytest.mark.parametrize("op", ["set", "add", "multiply", "divide", "min", "max", "power"])
@pytest.mark.parametrize("shape, index, values", UPDATES,
                         ids=[f"{s}-{i!r}".replace(" ", "").replace("\n", "") for s, i, _ in UPDATES])
def test_at_update(shape, index, values, op):
    x = _x(shape) + (5.0 if op == "power" else 0.0)
    values = np.asarray(values, np.float64) * (0.5 if op == "power" else 1.0)
    expected = _numpy_update(x, index, values, op)

    def f(a, v):
        return getattr(jnp.at(a)[index], op)(v)
    results = run_three_ways(f, x, values)
    for out in results:
        assert out.shape == expected.shape and out.dtype == expected.dtype
        np.testing.assert_allclose(out, expected, rtol=1e-12)


@pytest.mark.parametrize("op", ["set", "add", "multiply", "divide", "min", "max", "power"])
def test_at_update_with_traced_duplicate_indices(op):
    x = _x((4, 3)) + 5.0
    index = np.array([2, 0, 2, 2, 3])
    values = np.linspace(0.5, 2.0, 5 * 3).reshape(5, 3)
    expected = _numpy_update(x, index, values, op)

    def f(a, i, v):
        return getattr(a.at[i], op)(v)
    graph, _ = trace_graph(lambda *xs: [f(*xs)], [AVal((4, 3), np.float64), AVal((5,), np.int64),
                                                   AVal((5, 3), np.float64)])
    (out,) = eval_graph(graph, x, index, values)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_at_on_tracers_and_get():
    x = _x((3, 4))
    graph, _ = trace_graph(lambda a: [a.at[1, ::2].set(0.0), a.at[I([0, 0])].add(1.0), a.at[-1].get(),
                                      a.at[a > 100].set(1.0)],
                           [AVal((3, 4), np.float64)], values=[x])
    outs = eval_graph(graph, x)
    np.testing.assert_array_equal(outs[0], _numpy_update(x, (1, slice(None, None, 2)), 0.0, "set"))
    np.testing.assert_array_equal(outs[1], _numpy_update(x, I([0, 0]), 1.0, "add"))
    np.testing.assert_array_equal(outs[2], x[-1])
    np.testing.assert_array_equal(outs[3], x)


def test_at_casts_values_to_the_array_dtype():
    x = np.zeros(3, np.int32)
    out = jnp.at(x)[1].set(2.7)
    assert out.dtype == np.int32 and out.tolist() == [0, 2, 0]
    out = jnp.at(np.zeros(3, np.float32))[:2].add(np.array([1.0, 2.0]))
    assert out.dtype == np.float32 and out.tolist() == [1.0, 2.0, 0.0]


def test_at_leaves_the_input_unchanged_and_checks_shapes():
    x = _x((3,))
    before = x.copy()
    jnp.at(x)[0].set(100.0)
    np.testing.assert_array_equal(x, before)
    with pytest.raises(ValueError, match=r"could not broadcast input array from shape \(2,\) into shape \(3,\)"):
        jnp.at(x)[:].set(np.ones(2))
    with pytest.raises(IndexError, match="out of bounds"):
        jnp.at(x)[3].add(1.0)
    with pytest.raises(NotImplementedError, match="mode='drop'"):
        jnp.at(x)[0].set(1.0, mode="drop")


def test_at_under_grad():
    x = np.array([1.0, 2.0, 3.0])
    grad = jaxlike.grad(lambda a: jnp.sum(a.at[I([0, 0, 2])].add(a[1] * 2.0) ** 2))(x)
    # y = [x0 + 4 x1, x1, x2 + 2 x1]; d/dx sum(y²)
    y = np.array([x[0] + 4 * x[1], x[1], x[2] + 2 * x[1]])
    np.testing.assert_allclose(grad, [2 * y[0], 8 * y[0] + 2 * y[1] + 4 * y[2], 2 * y[2]])
    grad = jaxlike.grad(lambda a: jnp.sum(a.at[1].set(0.0) * a))(x)
    np.testing.assert_allclose(grad, [2.0, 0.0, 6.0])


def test_update_of_a_traced_index_emits_no_comparison_matrix_for_a_scalar_index():
    graph, _ = trace_graph(lambda a, i: [a.at[i].multiply(2.0)], [AVal((4, 3), np.float64), AVal((), np.int64)])
    assert "reduce_prod" not in str(graph)
    (out,) = eval_graph(graph, _x((4, 3)), np.asarray(-1))
    np.testing.assert_array_equal(out, _numpy_update(_x((4, 3)), -1, 2.0, "multiply"))


def test_index_arrays_of_any_integer_dtype():
    x = _x((5,))
    for dtype in (np.int8, np.uint8, np.int16, np.uint64, np.int32, np.uint32):
        index = np.array([4, 0, 1], dtype)
        assert_same(run_three_ways(lambda a: jnp.at(a)[index].get(), x), x[index])


def test_arrays_of_one_value_stay_symbolic_inside_a_trace():
    graph, _ = trace_graph(lambda a: [a + jnp.zeros((300, 300)), jnp.at(jnp.ones((300, 300)))[0].set(a[0])],
                           [AVal((300,), np.float64)])
    assert all(c.size < 1000 for c in graph.consts.values())
    outs = eval_graph(graph, _x((300,)))
    np.testing.assert_array_equal(outs[0], np.broadcast_to(_x((300,)), (300, 300)))
    expected = np.ones((300, 300))
    expected[0] = _x((300,))[0]
    np.testing.assert_array_equal(outs[1], expected)
