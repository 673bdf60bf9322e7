"""jit: caching and re-tracing, static arguments, pytrees, the staged API, dumps, threads, bad inputs,
and transforms tracing through a jitted function.
"""

import threading

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike.errors import TracerBoolConversionError
from jaxlike.jit import jit


def test_matches_python_and_does_not_retrace():
    @jit
    def f(x, y):
        return jnp.sin(x) * y + jnp.sum(x * x)

    x, y = np.linspace(0, 1, 5), np.arange(5.0)
    expected = np.sin(x) * y + np.sum(x * x)
    for _ in range(3):
        np.testing.assert_allclose(f(x, y), expected, rtol=1e-12)
    assert f.trace_count() == 1
    f(x.astype(np.float32), y.astype(np.float32))  # a new signature traces once more
    f(x.astype(np.float32), y.astype(np.float32))
    assert f.trace_count() == 2


def test_new_shape_retraces_and_old_one_still_works():
    f = jit(lambda x: x * 2.0)
    a, b = np.ones(3), np.ones(4)
    np.testing.assert_array_equal(f(a), 2 * a)
    np.testing.assert_array_equal(f(b), 2 * b)
    np.testing.assert_array_equal(f(a), 2 * a)  # the native entry of (4,) falls back to the cache
    assert f.trace_count() == 2


def test_wraps_the_function():
    def my_function(x):
        """Docs."""
        return x
    f = jit(my_function)
    assert f.__name__ == "my_function" and f.__doc__ == "Docs." and f.__wrapped__ is my_function


def test_pytrees_in_and_out():
    @jit
    def f(params, x):
        return {"y": params["w"] * x + params["b"], "parts": (x, params["b"])}

    params = {"w": np.array([1.0, 2.0]), "b": np.array(0.5)}
    out = f(params, np.array([3.0, 4.0]))
    np.testing.assert_array_equal(out["y"], [3.5, 8.5])
    np.testing.assert_array_equal(out["parts"][0], [3.0, 4.0])
    assert out["parts"][1].shape == ()


def test_keyword_arguments_and_python_scalars():
    @jit
    def f(x, scale=1.0):
        return x * scale

    np.testing.assert_array_equal(f(np.ones(2), scale=3.0), [3.0, 3.0])
    np.testing.assert_array_equal(f(np.ones(2), 4.0), [4.0, 4.0])
    np.testing.assert_array_equal(f(np.ones(2), 5.0), [5.0, 5.0])
    assert f.trace_count() == 2  # by keyword and by position are two structures, as in JAX


def test_static_argnums_and_argnames():
    @jit
    def plain(x, n):
        return x * n

    def power(x, n):
        for _ in range(n):  # Python control flow on a static value
            x = x * 2.0
        return x

    f = jit(power, static_argnums=1)
    np.testing.assert_array_equal(f(np.ones(2), 3), [8.0, 8.0])
    np.testing.assert_array_equal(f(np.ones(2), 3), [8.0, 8.0])
    np.testing.assert_array_equal(f(np.ones(2), 1), [2.0, 2.0])
    assert f.trace_count() == 2
    g = jit(power, static_argnames="n")
    np.testing.assert_array_equal(g(np.ones(2), n=2), [4.0, 4.0])
    np.testing.assert_array_equal(g(np.ones(2), 2), [4.0, 4.0])  # static by position too
    np.testing.assert_array_equal(plain(np.ones(2), 3), [3.0, 3.0])


def test_unhashable_static_argument_is_a_clear_type_error():
    f = jit(lambda x, axes: jnp.sum(x, axis=axes), static_argnums=1)
    with pytest.raises(TypeError, match="Non-hashable static arguments"):
        f(np.ones((2, 2)), [0])
    np.testing.assert_array_equal(f(np.ones((2, 2)), (0,)), [2.0, 2.0])


def test_python_control_flow_on_a_traced_value_raises():
    @jit
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(TracerBoolConversionError, match="static_argnums"):
        f(np.float64(1.0))
    np.testing.assert_array_equal(jit(f, static_argnums=0)(1.0), 1.0)


def test_inside_grad_and_vmap_jit_traces_through():
    f = jit(lambda x: jnp.sum(jnp.sin(x) * x))
    x = np.linspace(0, 1, 4)
    np.testing.assert_allclose(jaxlike.grad(f)(x), np.cos(x) * x + np.sin(x), rtol=1e-12)
    g = jit(lambda x: jnp.sin(x) * 2.0)
    np.testing.assert_allclose(jaxlike.vmap(g)(np.ones((3, 2))), 2 * np.sin(np.ones((3, 2))))
    np.testing.assert_allclose(jit(jaxlike.grad(lambda x: jnp.sum(x ** 3)))(x), 3 * x ** 2, rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# Threads


def test_eight_threads_three_signatures_compile_three_times():
    @jit
    def f(x):
        return jnp.tanh(x) * 2.0 + 1.0

    inputs = [np.linspace(0, 1, 7), np.linspace(0, 1, 9).astype(np.float32), np.ones((2, 3))]
    errors = []
    barrier = threading.Barrier(8)

    def worker(k):
        barrier.wait()
        for i in range(60):
            x = inputs[(k + i) % 3]
            if not np.allclose(f(x), np.tanh(x) * 2.0 + 1.0, rtol=1e-6):
                errors.append((k, i))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert f.trace_count() == 3 and f.compile_count() == 3


# --------------------------------------------------------------------------------------------------
# The staged API and the dumps


def test_lower_as_text_and_compile():
    def f(x):
        return jnp.exp(x) * 1.0 + 0.0

    lowered = jit(f).lower(np.ones(3))
    text = lowered.as_text()
    assert "exp" in text and "f64[3]" in text
    compiled = lowered.compile()
    np.testing.assert_allclose(compiled(np.ones(3)), np.exp(np.ones(3)))
    assert "define" in compiled.llvm_ir() and "entry" in compiled.llvm_ir()
    assert "ret" in compiled.asm()


def test_compiled_rejects_other_signatures_with_clear_errors():
    compiled = jit(lambda x, y: x + y).lower(np.ones(3), np.ones(3)).compile()
    with pytest.raises(TypeError, match=r"args\[1\] has shape \(4,\).*compiled for shape \(3,\)"):
        compiled(np.ones(3), np.ones(4))
    with pytest.raises(TypeError, match=r"args\[0\] has dtype complex128.*astype"):
        compiled(np.ones(3, complex), np.ones(3))
    with pytest.raises(TypeError, match=r"args\[0\] is a str"):
        compiled("abc", np.ones(3))
    with pytest.raises(TypeError, match="structure"):
        compiled((np.ones(3),), np.ones(3))
    # what converts safely is converted
    ints, singles = np.array([1, 2, 3], np.int32), np.ones(3, np.float32)
    np.testing.assert_array_equal(compiled(ints, singles), [2.0, 3.0, 4.0])
    np.testing.assert_array_equal(compiled(np.ones(6)[::2], np.ones(3)), [2.0, 2.0, 2.0])


def test_dump_environment_variable_prints_each_stage(monkeypatch, capsys):
    monkeypatch.setenv("JAXLIKE_DUMP", "ir,opt,llvm,asm")
    jit(lambda x: x * 3.0 + 1.0)(np.ones(2))
    err = capsys.readouterr().err
    for stage in ("ir", "opt", "llvm", "asm"):
        assert f"---- jaxlike {stage}:" in err


# --------------------------------------------------------------------------------------------------
# Bad inputs: a clear error or a correct result, never a crash


@pytest.fixture(scope="module")
def affine():
    return jit(lambda x: x * 2.0 + 1.0)


@pytest.mark.parametrize("arg, expected", [
    (np.ones(3, np.float32), np.full(3, 3.0, np.float32)),  # another dtype: compiled for it
    (np.ones((2, 2)), np.full((2, 2), 3.0)),  # another rank
    (np.ones(6)[::2], np.full(3, 3.0)),  # non-contiguous
    (1.5, np.array(4.0)),  # a Python scalar
    (np.ones(3, ">f8"), np.full(3, 3.0)),  # byte-swapped
    (np.frombuffer(b"\0" + np.ones(3).tobytes(), np.float64, 3, 1), np.full(3, 3.0)),  # unaligned
    (np.ones(3, np.int32), np.full(3, 3.0)),  # integers promote with a float literal
], ids=["dtype", "rank", "non-contiguous", "scalar", "byteswapped", "unaligned", "int32"])
def test_other_inputs_give_correct_results(affine, arg, expected):
    out = affine(arg)
    np.testing.assert_array_equal(out, expected)
    assert np.asarray(out).dtype == expected.dtype


@pytest.mark.parametrize("arg, error, match", [
    ("abc", TypeError, r"argument args\[0\] of type str is not a valid jaxlike type"),
    (object(), TypeError, "not a valid jaxlike type"),
    (np.ones(3, np.int8), TypeError, r"args\[0\].*int8 is not supported"),
    (np.ones(3, complex), TypeError, "complex128 is not supported"),
], ids=["string", "object", "int8", "complex"])
def test_invalid_inputs_raise_naming_the_argument(affine, arg, error, match):
    with pytest.raises(error, match=match):
        affine(arg)


def test_wrong_pytree_structure_retraces_or_raises():
    f = jit(lambda p: p["a"] * 2.0)
    np.testing.assert_array_equal(f({"a": np.ones(2)}), [2.0, 2.0])
    with pytest.raises(KeyError):
        f({"b": np.ones(2)})
    with pytest.raises((TypeError, IndexError)):
        f(np.ones(2))  # indexing an array with a string
    np.testing.assert_array_equal(f({"a": np.ones(2)}), [2.0, 2.0])


def test_wrong_number_of_arguments_raises_like_python():
    f = jit(lambda x, y: x + y)
    with pytest.raises(TypeError, match="argument"):
        f(np.ones(2))


# --------------------------------------------------------------------------------------------------
# Control flow: nested graphs compiled as real loops and branches


def _control_flow(x, n):
    from jaxlike import lax

    y = lax.fori_loop(0, n, lambda i, c: c * 0.5 + jnp.sin(c) + i, x)
    z = lax.cond(jnp.sum(y) > 0, lambda a: a * 2.0, lambda a: -a, y)

    def step(c, xi):
        c = c + xi
        return c, c * 2.0
    c, ys = lax.scan(step, jnp.zeros(()), z)
    w = lax.while_loop(lambda c: c < 100.0, lambda c: c * 2.0 + 1.0, c)
    return y, z, c, ys, w


@pytest.mark.parametrize("static", [True, False], ids=["static-trip-count", "traced-trip-count"])
def test_control_flow_compiles_and_matches_eager(static):
    x = np.linspace(-1, 1, 5)
    expected = _control_flow(x, 4)
    f = jit(_control_flow, static_argnums=1 if static else ())
    for got, want in zip(f(x, 4), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    text = f.lower(x, 4).as_text()
    assert "while" in text and "scan" in text and "cond" in text


def test_gradient_through_scan_compiles():
    import jaxlike

    def loss(x):
        return jnp.sum(_control_flow(x, 3)[3])
    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(jit(jaxlike.grad(loss))(x), jaxlike.grad(loss)(x), rtol=1e-12)


# --------------------------------------------------------------------------------------------------
# The jaxlike.numpy table, compiled


def _numpy_cases():
    from numpy_cases import CASES
    return CASES


def _same(got, want, what):
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want), what
        for g, w in zip(got, want):
            _same(g, w, what)
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype, (what, got.shape, want.shape, got.dtype,
                                                                 want.dtype)
    if want.dtype.kind == "f":
        tol = 2e-5 if want.dtype == np.float32 else 1e-10
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def _frozen(value):
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


@pytest.mark.parametrize("case", _numpy_cases(), ids=lambda c: c.id)
def test_numpy_case_compiled_matches_eager(case):
    import warnings
    # static arguments must be hashable: lists become tuples (the functions accept either)
    args = [_frozen(a) for a in case.args()]
    kwargs = {k: _frozen(v) for k, v in case.kwargs.items()}
    static = tuple(i for i, a in enumerate(args) if not isinstance(a, np.ndarray))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = case.fn(*args, **kwargs)
        f = jit(case.fn, static_argnums=static, static_argnames=tuple(kwargs))
        got = f(*args, **kwargs)
    _same(got, want, case.id)


def test_every_python_block_of_the_compiling_doc_runs():
    import pathlib
    import re
    text = (pathlib.Path(__file__).parent.parent / "docs" / "compiling.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 5
    for block in blocks:
        exec(compile(block, "docs/compiling.md", "exec"), {"__name__": "__doc__"})


# --------------------------------------------------------------------------------------------------
# out=: results written into the caller's buffers


def test_out_writes_in_place_and_returns_out():
    f = jit(lambda x: jnp.sin(x) * 2.0)
    x = np.linspace(0.0, 1.0, 7)
    out = np.empty(7)
    for _ in range(3):  # the first call compiles, the next ones take the native path
        assert f(x, out=out) is out
        np.testing.assert_allclose(out, np.sin(x) * 2.0)
    compiled = f.lower(x).compile()
    out2 = np.zeros(7)
    assert compiled(x, out=out2) is out2
    np.testing.assert_allclose(out2, np.sin(x) * 2.0)


def test_out_for_several_outputs_is_a_tuple():
    g = jit(lambda x: (x + 1.0, jnp.sum(x)))
    x = np.arange(4.0)
    out = (np.empty(4), np.empty(()))
    for _ in range(2):
        assert g(x, out=out) is out
        np.testing.assert_allclose(out[0], x + 1.0)
        assert out[1] == 6.0


def test_out_overlapping_an_input_gives_the_right_answer():
    f = jit(lambda x: x[::-1] * 1.0 + x)
    x = np.arange(5.0)
    for _ in range(2):
        y = x.copy()
        assert f(y, out=y) is y
        np.testing.assert_allclose(y, x[::-1] + x)


@pytest.mark.parametrize("bad, match", [
    (np.empty(6), r"out is float64 of shape \(6,\) but the output is f64\[7\]"),
    (np.empty(7, np.float32), r"out is float32 of shape \(7,\)"),
    (np.empty(14)[::2], "out must be a writeable, C-contiguous"),
    ([0.0] * 7, "out is a list, not a numpy.ndarray"),
], ids=["shape", "dtype", "strided", "list"])
def test_out_is_checked_naming_out(bad, match):
    f = jit(lambda x: x * 2.0)
    x = np.ones(7)
    f(x)
    with pytest.raises(TypeError, match=match):
        f(x, out=bad)
    with pytest.raises(TypeError, match=match):
        f.lower(x).compile()(x, out=bad)
    readonly = np.empty(7)
    readonly.flags.writeable = False
    with pytest.raises(TypeError, match="writeable"):
        f(x, out=readonly)


def test_a_parameter_named_out_is_the_functions_own():
    f = jit(lambda x, out: x + out)
    np.testing.assert_allclose(f(np.ones(2), out=np.ones(2)), [2.0, 2.0])


def _peak_bytes(fn, args, kwargs, calls=200):
    import tracemalloc
    fn(*args, **kwargs)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for _ in range(calls):
            fn(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_steady_state_calls_allocate_only_their_outputs():
    # cumsums keep two 160 kB temporaries in a workspace too large for the stack
    f = jit(lambda x: jnp.cumsum(jnp.sin(x)) * jnp.cumsum(jnp.cos(x)) + 1.0)
    x = np.linspace(0.0, 1.0, 20_000)
    out = np.empty_like(x)
    # without out=: each call allocates its result (freed before the next), never the workspace
    assert _peak_bytes(f, (x,), {}) < x.nbytes + 4096
    # with out=: nothing of the size of an array at all (the interpreter's own few hundred bytes aside)
    assert _peak_bytes(f, (x,), {"out": out}) < 4096
    np.testing.assert_allclose(out, np.cumsum(np.sin(x)) * np.cumsum(np.cos(x)) + 1.0)


def test_diagonal_jacobians_computed_in_one_loop_are_all_written_on_their_mask():
    from jaxlike.codegen.loops import GraphPlan
    f = lambda x: jnp.tanh(x) * 2.0  # noqa: E731
    both = jit(lambda x: (jaxlike.jacrev(f)(x), f(x), jaxlike.jacfwd(f)(x) * 3.0, jnp.outer(x, x[:3])))
    x = np.linspace(-1.0, 1.0, 64)
    d = 2.0 / np.cosh(x) ** 2
    want = (np.diag(d), 2.0 * np.tanh(x), 3.0 * np.diag(d), np.outer(x, x[:3]))
    plan = GraphPlan(both.lower(x).graph, zeroed_outputs=True)
    # the two diagonals share one loop and one mask (an outer product of their shape would join that loop
    # too, and then the loop runs over everything: docs/performance.md)
    assert [st.zeroed for st in plan.out_storage] == [True, False, True, False]
    outs = tuple(np.full(w.shape, np.nan) for w in want)
    for got in (both(x), both(x, out=outs)):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-14, atol=1e-15)
