"""The LLVM backend against the interpreter: every primitive case of prim_cases.py, every dtype, 0-d and
size-0 arrays, NaN and +-inf, integer corner cases; fusion, workspace reuse and the native entry point.
"""

import threading
import time

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike.codegen import LOWERINGS, compile_graph
from jaxlike.codegen.loops import GraphPlan
from jaxlike.ir import PRIMITIVES, eval_graph, trace_graph
from jaxlike.ir.core import AVal
from jaxlike.ir.prims import binary, unary

from prim_cases import CASES, F32

ALL_DTYPES = [np.float32, np.float64, np.int32, np.int64, np.uint32, np.bool_]


def assert_same(actual, expected, what=""):
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, expected {expected.dtype}"
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    if actual.dtype.kind == "f":
        tol = 1e-5 if actual.dtype == F32 else 1e-12
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


def graph_of(fun, avals):
    graph, captured = trace_graph(fun, avals)
    assert not captured
    return graph


def compile_and_compare(graph, args, what=""):
    """Compiled (both call paths) against eval_graph on the same arguments."""
    compiled = compile_graph(graph)
    expected = eval_graph(graph, *args)
    got = compiled.run([np.ascontiguousarray(a) for a in args])
    for g, e in zip(got, expected, strict=True):
        assert_same(g, e, what)
    native = compiled.native(lambda *a: pytest.fail("the native entry fell back on valid arguments"))
    out = native(*args)
    out = [out] if len(graph.outputs) == 1 else list(out)
    for g, e in zip(out, expected, strict=True):
        assert_same(g, e, what + " (native)")
    return compiled


def prim_graph(case):
    def fun(*xs):
        out = case.prim.bind(*xs, **case.params)
        return list(out) if case.prim.multiple_results else [out]
    return graph_of(fun, case.in_avals)


# --------------------------------------------------------------------------------------------------
# The table


def test_every_primitive_has_a_lowering():
    missing = [name for name in PRIMITIVES if name not in LOWERINGS]
    assert not missing, f"primitives without a row in codegen.lowering.LOWERINGS: {missing}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_primitive_matches_interpreter(case):
    skip = getattr(case, "skip", {}) or {}
    if case.prim.name == "custom_lin":  # forward mode of a custom_vjp rule: an error, compiled or not
        with pytest.raises(TypeError, match="forward-mode"):
            compile_graph(prim_graph(case))
        return
    if "impl" in skip:
        pytest.skip(skip["impl"])
    compile_and_compare(prim_graph(case), case.make_args(), case.id)


def _with_specials(args, rng):
    out = []
    for a in args:
        a = np.array(a)
        if a.dtype.kind == "f" and a.size:
            flat = a.reshape(-1)
            picks = rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0], flat.size)
            mask = rng.random(flat.size) < 0.5
            flat[mask] = picks[mask]
        out.append(a)
    return out


FLOAT_CASES = [c for c in CASES if any(g.dtype.kind == "f" for g in c.args)
               and LOWERINGS[c.prim.name].kind in ("elementwise", "reduce")]


@pytest.mark.parametrize("case", FLOAT_CASES, ids=lambda c: c.id)
def test_nan_and_inf_match_interpreter(case):
    rng = np.random.default_rng(case.seed)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        compile_and_compare(prim_graph(case), _with_specials(case.make_args(), rng), case.id)


# --------------------------------------------------------------------------------------------------
# Dtypes, shapes, integer corner cases


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_through_a_fused_chain(dtype):
    dt = np.dtype(dtype)

    def fun(x, y):
        if dt.kind == "b":
            return [binary.and_(binary.or_(x, y), unary.not_(y)), binary.eq(x, y)]
        if dt.kind == "f":
            return [binary.max_(x * y + x, y), binary.lt(x, y)]
        return [binary.max_(x * y + x, y), binary.lt(x, y)]

    rng = np.random.default_rng(1)
    args = [np.asarray(rng.integers(0, 5, (3, 4)), dt), np.asarray(rng.integers(0, 5, (3, 4)), dt)]
    compile_and_compare(graph_of(fun, [AVal((3, 4), dt)] * 2), args, dt.name)


@pytest.mark.parametrize("shape", [(), (0,), (0, 3), (3, 0), (1,), (2, 1, 3)], ids=str)
def test_zero_d_and_size_zero(shape):
    import jaxlike.numpy as jnp

    def fun(x):
        return [jnp.exp(x) * 2.0, jnp.sum(x), jnp.max(x, axis=-1, initial=-np.inf) if len(shape) else x]

    x = np.random.default_rng(0).uniform(size=shape)
    compile_and_compare(graph_of(fun, [AVal(shape, np.float64)]), [x], str(shape))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint32], ids=lambda d: np.dtype(d).name)
def test_integer_division_by_zero_and_int_min(dtype):
    info = np.iinfo(dtype)
    x = np.array([7, -7, 0, info.min, info.min, info.max, 5, 1], dtype=dtype) if info.min else np.array(
        [7, 0, info.max, 5, 1, 3, 9, 2], dtype=dtype)
    y = np.array([0, 2, 0, -1, 0, -1, 3, 0], dtype=np.int64).astype(dtype)
    graph = graph_of(lambda a, b: [binary.div(a, b), binary.rem(a, b)], [AVal(x.shape, x.dtype)] * 2)
    compiled = compile_graph(graph)
    q, r = compiled.run([x, y])
    expected_q, expected_r = eval_graph(graph, x, y)
    ok = np.abs(x.astype(np.float64)) < 2 ** 52  # the interpreter divides in float64 beyond that
    assert_same(q[ok], expected_q[ok], "div")
    assert_same(r, expected_r, "rem")
    if info.min:
        assert q[3] == info.min  # INT_MIN / -1 wraps, never traps


@pytest.mark.parametrize("dst", [np.int32, np.int64, np.uint32, np.bool_], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("src", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_float_to_int_conversion_of_nan_and_out_of_range(src, dst):
    x = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 2.0 ** 31, -2.0 ** 31, 2.0 ** 32, -1.5, 3.7, -0.0,
                  2.0 ** 63, -2.0 ** 63], dtype=src)
    from jaxlike.ir.builder import convert
    graph = graph_of(lambda a: [convert(a, dst)], [AVal(x.shape, x.dtype)])
    with np.errstate(invalid="ignore"):
        compile_and_compare(graph, [x], f"{np.dtype(src)}->{np.dtype(dst)}")


def test_max_and_min_propagate_nan_like_numpy():
    x = np.array([np.nan, 1.0, np.nan, -np.inf, 0.0])
    y = np.array([1.0, np.nan, np.nan, np.inf, -0.0])
    graph = graph_of(lambda a, b: [binary.max_(a, b), binary.min_(a, b)], [AVal((5,), np.float64)] * 2)
    mx, mn = compile_graph(graph).run([x, y])
    np.testing.assert_array_equal(mx, np.maximum(x, y))
    np.testing.assert_array_equal(mn, np.minimum(x, y))


# --------------------------------------------------------------------------------------------------
# Fusion and the workspace


def test_elementwise_chain_is_one_loop():
    def fun(x, y):
        return [unary.exp(unary.sin(x) * y + 1.0) - y]
    graph = graph_of(fun, [AVal((64,), np.float64)] * 2)
    assert len(GraphPlan(graph).groups) == 1
    rng = np.random.default_rng(0)
    compile_and_compare(graph, [rng.uniform(size=64), rng.uniform(size=64)])


def test_reduction_fuses_with_its_producer_and_epilogue():
    import jaxlike.numpy as jnp

    def fun(x):
        return [jnp.sum(jnp.exp(x) * x, axis=1) / 3.0]
    graph = graph_of(fun, [AVal((5, 3), np.float64)])
    plan = GraphPlan(graph)
    assert len(plan.groups) == 1 and plan.workspace_size == 0
    compile_and_compare(graph, [np.random.default_rng(0).uniform(size=(5, 3))])


def test_broadcast_and_transpose_are_read_through_not_materialised():
    import jaxlike.numpy as jnp

    def fun(x, v):
        return [jnp.tanh(x.T + v) * 2.0]
    graph = graph_of(fun, [AVal((4, 3), np.float64), AVal((4,), np.float64)])
    plan = GraphPlan(graph)
    assert len(plan.groups) == 1 and plan.workspace_size == 0
    rng = np.random.default_rng(0)
    compile_and_compare(graph, [rng.uniform(size=(4, 3)), rng.uniform(size=4)])


def test_workspace_slots_are_reused_once_dead():
    from jaxlike.ir.prims.reduce import cumsum

    def fun(x):
        for _ in range(6):  # each cumsum is a kernel: a materialised temporary
            x = cumsum(x, 0, False) * 0.5
        return [x]
    graph = graph_of(fun, [AVal((256,), np.float64)])
    plan = GraphPlan(graph)
    temporaries = sum(1 for st in {id(s): s for s in plan.storage.values()}.values() if st.kind == "ws")
    assert temporaries >= 5
    assert plan.workspace_size <= 3 * 256 * 8 + 3 * 64  # far fewer bytes than one slot per temporary
    compile_and_compare(graph, [np.random.default_rng(0).uniform(size=256)])


def test_graph_outputs_that_are_inputs_literals_or_repeated():
    graph = graph_of(lambda x: [x, 2.0, x * 2.0, x * 2.0], [AVal((3,), np.float64)])
    graph.outputs[3] = graph.outputs[2]  # the same var twice
    compile_and_compare(graph, [np.arange(3.0)])


def test_large_constants_and_small_constants():
    big, small = np.arange(20000.0), np.arange(3.0)
    graph = graph_of(lambda x: [x + big, small * 2.0], [AVal((20000,), np.float64)])
    compile_and_compare(graph, [np.ones(20000)])


def test_ten_thousand_equations_compile():
    def fun(x):
        for i in range(6700):
            x = unary.sin(x) * 1.0001 if i % 2 else x + 0.5
        return [x]
    t0 = time.perf_counter()
    graph = graph_of(fun, [AVal((4,), np.float64)])
    assert len(graph.eqns) >= 10000
    compiled = compile_graph(graph)
    elapsed = time.perf_counter() - t0
    x = np.arange(4.0)
    np.testing.assert_allclose(compiled.run([x])[0], eval_graph(graph, x)[0], rtol=1e-9)
    print(f"{len(graph.eqns)} equations traced and compiled in {elapsed:.2f} s")


def test_many_unfusable_equations_compile():
    from jaxlike.ir.prims.reduce import cumsum

    def fun(x):
        for _ in range(300):
            x = cumsum(x, 0, False) * 0.001
        return [x]
    graph = graph_of(fun, [AVal((3,), np.float64)])
    compile_and_compare(graph, [np.ones(3)])


# --------------------------------------------------------------------------------------------------
# The native entry point


@pytest.fixture(scope="module")
def scale():
    graph = graph_of(lambda x, y: [x * 2.0 + y, unary.exp(y)],
                     [AVal((2, 3), np.float64), AVal((), np.float64)])
    return compile_graph(graph)


@pytest.mark.parametrize("bad", ["dtype", "rank", "shape", "non-array", "non-contiguous", "nargs", "subclass",
                                 "byteswapped", "readonly"])
def test_native_entry_hands_mismatches_to_the_fallback(scale, bad):
    calls = []

    def fallback(*args):
        calls.append(args)
        return "fallback"
    fn = scale.native(fallback)
    x, y = np.ones((2, 3)), np.float64(1.0)
    y = np.asarray(y)
    bad_args = {
        "dtype": (x.astype(np.float32), y), "rank": (np.ones(6), y), "shape": (np.ones((3, 2)), y),
        "non-array": ([[1.0] * 3] * 2, y), "non-contiguous": (np.ones((2, 6))[:, ::2], y),
        "nargs": (x,), "subclass": (np.ones((2, 3)).view(np.matrix), y),
        "byteswapped": (x.astype(">f8"), y), "readonly": None,
    }[bad]
    if bad == "readonly":  # read-only arrays are fine: the function never writes its inputs
        x.setflags(write=False)
        out = fn(x, y)
        np.testing.assert_array_equal(out[0], x * 2 + 1)
        return
    assert fn(*bad_args) == "fallback"
    assert len(calls) == 1


def test_native_entry_returns_fresh_arrays(scale):
    fn = scale.native(lambda *a: None)
    x, y = np.ones((2, 3)), np.asarray(0.5)
    a, b = fn(x, y)
    c, d = fn(x, y)
    assert a is not c and not np.shares_memory(a, c)
    np.testing.assert_array_equal(a, x * 2 + 0.5)
    assert b.shape == () and b == np.exp(0.5)


def test_native_entry_propagates_fallback_errors(scale):
    def fallback(*args):
        raise ValueError("from the fallback")
    fn = scale.native(fallback)
    with pytest.raises(ValueError, match="from the fallback"):
        fn(1, 2)


def test_compiled_function_is_safe_on_many_threads():
    from jaxlike.ir.prims.reduce import cumsum  # a kernel, so the workspace is used
    graph = graph_of(lambda x: [cumsum(unary.cos(x) * x, 0, False) + 1.0], [AVal((1000,), np.float64)])
    compiled = compile_graph(graph)
    fn = compiled.native(lambda *a: None)
    errors = []

    def worker(seed):
        x = np.random.default_rng(seed).uniform(size=1000)
        expected = eval_graph(graph, x)[0]
        for _ in range(200):
            if not np.allclose(fn(x), expected):
                errors.append(seed)
                return

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_llvm_failure_is_an_internal_compiler_error():
    from jaxlike.codegen import engine
    from jaxlike.errors import InternalCompilerError
    with pytest.raises(InternalCompilerError, match="saved to") as info:
        engine.compile_ir("define void @f() {\n  ret i32 0\n}\n", "{ lambda ; . let in () }")
    path = str(info.value).split("saved to ")[1].split(" ")[0]
    assert "ret i32 0" in open(path).read()


@pytest.mark.parametrize("dims", [
    ((40, 50), (50, 30), (((1,), (0,)), ((), ()))),
    ((40, 50), (30, 50), (((1,), (1,)), ((), ()))),
    ((50, 40), (50, 30), (((0,), (0,)), ((), ()))),
    ((2, 40, 50), (2, 50, 30), (((2,), (1,)), ((0,), (0,)))),
], ids=["nn", "nt", "tn", "batched"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_large_matrix_products_match_interpreter(dims, dtype):
    from jaxlike.codegen import linalg
    from jaxlike.ir.prims.linalg import dot_general
    xs, ys, dn = dims
    # the lhs is a view (a transpose of a transpose): it is copied to a buffer for BLAS
    graph = graph_of(lambda x, y: [dot_general(unary.sin(x) + 0.0, y, dn)],
                     [AVal(xs, dtype), AVal(ys, dtype)])
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(xs).astype(dtype), rng.standard_normal(ys).astype(dtype)]
    compiled = compile_graph(graph)
    if linalg.blas():
        assert "gemm" in compiled.llvm_ir
    expected = eval_graph(graph, *args)[0]
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(compiled.run(args)[0], expected, rtol=tol, atol=tol)


def test_blas_comes_from_numpys_own_openblas_without_importing_scipy():
    import glob
    import os
    import subprocess
    import sys
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "libscipy_openblas64_*"))
    if not libs:
        pytest.skip("this NumPy does not bundle OpenBLAS (not a PyPI wheel)")
    code = ("import sys; from jaxlike.codegen import linalg, emit; found = linalg.blas();"
            "print(sorted(found), found['float64'][1] is emit.i64, 'scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['float32',", "'float64']", "True", "False"]


@pytest.mark.parametrize("axes", [(0,), (1,), (0, 2), (0, 1)], ids=str)
def test_reductions_keeping_the_last_axis_run_in_memory_order(axes):
    import jaxlike.numpy as jnp

    def fun(x):
        y = jnp.exp(x) * 0.5
        return [jnp.sum(y, axis=axes) / 3.0 + jnp.max(x, axis=axes), jnp.argmax(x, axis=axes[0]),
                jnp.min(y, axis=axes)]
    graph = graph_of(fun, [AVal((3, 4, 5), np.float64)])
    x = np.random.default_rng(0).uniform(size=(3, 4, 5))
    x[1, 2, 3] = np.nan
    x[0, 1, 1] = np.inf
    plan = GraphPlan(graph)
    if 2 not in axes:
        assert any(g.column for g in plan.groups)
    compile_and_compare(graph, [x], str(axes))


def test_kernel_operands_that_are_literals_and_views_are_copied_to_buffers():
    from jaxlike import lax
    import jaxlike.numpy as jnp

    def fun(a):
        return [lax.fori_loop(0, 5, lambda i, x: 0.5 * (x + a / x), jnp.ones_like(a))]
    graph = graph_of(fun, [AVal((2,), np.float64)])
    compile_and_compare(graph, [np.array([2.0, 9.0])])


# --------------------------------------------------------------------------------------------------
# exp, exp2, tanh, sin, cos, tan, asin, acos, atan, atan2, sinh, cosh, asinh, acosh, atanh, log, log2,
# log10, log1p, expm1 and cbrt are inlined polynomial kernels (vmath.py, vmath_trig.py): dense sweeps
# against libm, edges included


def _libm(name):
    import ctypes
    import ctypes.util
    fn = getattr(ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6"), name)
    fn.restype, fn.argtypes = ctypes.c_double, [ctypes.c_double]
    return np.vectorize(fn, otypes=[np.float64])


def _ulps(got, want):
    it = np.int64 if got.dtype == np.float64 else np.int32
    def key(a):
        bits = a.view(it).astype(np.int64)
        return np.where(bits < 0, np.int64(np.iinfo(it).min) - bits, bits)
    d = np.abs(key(got) - key(want))
    d[np.isnan(got) & np.isnan(want)] = 0
    return d


_EDGES = [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1.5e-323, 2.2e-308, -2.2e-308, 1e-300, -1e-300,
          1e-17, -1e-17, 1e-8, -1e-8, 0.5, -0.5, 1.0, -1.0, 2.0, 709.78, 709.79, -745.13, -745.14, -708.4,
          -720.0, 0.4, -0.4, 0.39999999, 22.0, -22.0, 36.0, 37.5, 38.0, -40.0, -41.0, 1e300, -1e300, 1.7e308,
          -1.7e308, np.pi, np.pi / 2, np.pi / 4, -np.pi, 355.0, 103993.0, 2.0 ** 20, -2.0 ** 20,
          np.nextafter(2.0 ** 20, 0), 1e6, 1e22, 2.0 ** 1023, -0.9999999999, -1 + 2.0 ** -53, 1 + 2.0 ** -52]


# libm's names where jaxlike.numpy's differ
_NUMPY_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh",
                "atanh": "arctanh"}


@pytest.mark.parametrize("name, lo, hi, max_ulp", [
    ("exp", -746.0, 710.0, 1), ("tanh", -25.0, 25.0, 3),
    ("sin", -10.0, 10.0, 1), ("sin", -2.0e6, 2.0e6, 1), ("cos", -10.0, 10.0, 1), ("cos", -2.0e6, 2.0e6, 1),
    ("tan", -10.0, 10.0, 1), ("tan", -2.0e6, 2.0e6, 1), ("tan", -1.6, 1.6, 1),
    ("atan", -3.0, 3.0, 1), ("atan", -1e20, 1e20, 1),
    ("asin", -1.1, 1.1, 1), ("asin", -1e-3, 1e-3, 1), ("acos", -1.1, 1.1, 1), ("acos", 0.999, 1.0, 1),
    # libm's sinh is itself up to 1.8 ulp off (fdlibm's), its cosh near overflow too: the kernels are
    # within 0.8 ulp of the exact values there
    ("sinh", -710.5, 710.5, 2), ("sinh", -2.0, 2.0, 2),
    ("cosh", -710.5, 710.5, 2), ("cosh", -25.0, 25.0, 1), ("cosh", -2.0, 2.0, 1),
    ("exp2", -1080.0, 1030.0, 1), ("exp2", -2.0, 2.0, 1), ("exp2", -1076.0, -1020.0, 1),
    ("log", -1.0, 10.0, 1), ("log", 0.0, 1e300, 1), ("log2", -1.0, 10.0, 1), ("log2", 0.0, 1e300, 1),
    # libm's log10 is itself up to 1.6 ulp off near 1; the kernel is within 0.7 ulp of the exact values
    ("log10", -1.0, 10.0, 2), ("log10", 0.0, 1e300, 2), ("log1p", -1.5, 3.0, 1), ("log1p", -1e-5, 1e-5, 1),
    ("expm1", -50.0, 710.0, 1), ("expm1", -1.5, 1.5, 1),
    # libm's asinh, acosh and atanh are themselves up to 1.5, 2.1 and 1.6 ulp off; the kernels are within
    # 0.76 ulp of the exact values
    ("asinh", -3.0, 3.0, 2), ("asinh", 1.9, 2.1, 2), ("asinh", -1e300, 1e300, 2),
    ("acosh", 0.5, 3.0, 2), ("acosh", 1.0, 1.001, 2), ("acosh", 1.0, 1e300, 2),
    ("atanh", -1.1, 1.1, 2), ("atanh", 0.999, 1.0, 2), ("atanh", -1.0, -0.999, 2),
    # libm's cbrt is itself up to 3.2 ulp off; the kernel is correctly rounded on every sample checked
    # (test_cbrt_is_correctly_rounded_and_exact_on_perfect_cubes)
    ("cbrt", -10.0, 10.0, 3), ("cbrt", -1e300, 1e300, 3), ("cbrt", -1e-300, 1e-300, 3)], ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vector_kernels_stay_within_a_few_ulp_of_libm(name, lo, hi, max_ulp, dtype):
    rng = np.random.default_rng(0)
    spread = np.exp(rng.uniform(-745.0, 709.0, 20_000))  # every binade, both signs
    with np.errstate(over="ignore"):
        x = np.concatenate([np.linspace(lo, hi, 100_001), np.linspace(-1, 1, 50_001),
                            np.linspace(-1e-3, 1e-3, 1001), spread, -spread, _EDGES]).astype(dtype)
    with np.errstate(all="ignore"):
        want = _libm(name)(x.astype(np.float64)).astype(dtype)
    got = jaxlike.jit(getattr(jnp, _NUMPY_NAMES.get(name, name)))(x)
    assert _ulps(got, want).max() <= max_ulp
    zero = want == 0
    np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(want[zero]))


def test_sin_cos_and_tan_near_multiples_of_pi_over_2():
    # doubles m 2^-k closest to multiples of pi/2 (convergents of the continued fraction of 2^k pi/2) below
    # the reduction's bound: sin or cos there is as small as 6e-19, tan as small or as large as 2e18, and
    # still within 1 ulp
    from decimal import Decimal, getcontext
    getcontext().prec = 100
    pi = Decimal("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803")
    xs = []
    for k in range(60):
        a, (h0, h1) = Decimal(2) ** k * pi / 2, (0, 1)
        for _ in range(40):
            h0, h1 = h1, int(a) * h1 + h0
            if h1 >= 2 ** 53 or h1 >= 2 ** (20 + k) or a == int(a):
                break
            xs.append(h1 / 2 ** k)
            a = 1 / (a - int(a))
    x = np.array(xs)
    x = np.concatenate([x, -x, np.nextafter(x, 0), np.nextafter(x, np.inf)])
    for name in ("sin", "cos", "tan"):
        assert _ulps(jaxlike.jit(getattr(jnp, name))(x), _libm(name)(x)).max() <= 1, name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_atan2_stays_within_an_ulp_of_libm(dtype):
    import ctypes
    import ctypes.util
    fn = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6").atan2
    fn.restype, fn.argtypes = ctypes.c_double, [ctypes.c_double, ctypes.c_double]
    rng = np.random.default_rng(0)
    n = 50_000
    def spread():  # every binade, both signs
        return np.exp(rng.uniform(-745.0, 709.0, n)) * rng.choice([-1.0, 1.0], n)
    edges_y, edges_x = np.meshgrid(_EDGES, _EDGES)
    with np.errstate(over="ignore"):
        y = np.concatenate([rng.uniform(-10, 10, n), spread(), rng.uniform(-1, 1, n), spread(),
                            edges_y.ravel()]).astype(dtype)
        x = np.concatenate([rng.uniform(-10, 10, n), spread(), rng.uniform(-1e-3, 1e-3, n),
                            rng.uniform(-2, 2, n), edges_x.ravel()]).astype(dtype)
    with np.errstate(all="ignore"):
        want = np.vectorize(fn, otypes=[np.float64])(y.astype(np.float64), x.astype(np.float64)).astype(dtype)
    got = jaxlike.jit(jnp.arctan2)(y, x)
    assert _ulps(got, want).max() <= 1
    np.testing.assert_array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0]))
    special = ~np.isfinite(y) | ~np.isfinite(x) | (y == 0) | (x == 0)
    np.testing.assert_array_equal(got[special], want[special])  # zeros, infinities, NaN: libm's values


def test_sinh_and_cosh_at_zero_and_overflow():
    big = 710.4758600739439  # the largest double whose sinh and cosh are finite
    x = np.array([-0.0, 0.0, big, -big, np.nextafter(big, np.inf), -np.nextafter(big, np.inf), np.nan,
                  np.inf, -np.inf, 5e-324, -5e-324])
    for name in ("sinh", "cosh"):
        got = jaxlike.jit(getattr(jnp, name))(x)
        with np.errstate(over="ignore"):
            want = _libm(name)(x)
        assert _ulps(got, want).max() <= 1, name
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
        assert np.isfinite(got[2:4]).all() and np.isinf(got[4:6]).all(), name


def test_inverse_hyperbolic_functions_at_their_edges_are_libm_values():
    big = np.finfo(np.float64).max
    x = np.array([0.0, -0.0, 1.0, -1.0, np.nextafter(1.0, 2), np.nextafter(1.0, 0), -np.nextafter(1.0, 0), 2.0,
                  -2.0, 2.0 ** 28, 2.0 ** -28, -2.0 ** -29, 5e-324, -5e-324, big, -big, np.inf, -np.inf, np.nan])
    for name in ("asinh", "acosh", "atanh"):
        got = jaxlike.jit(getattr(jnp, _NUMPY_NAMES[name]))(x)
        with np.errstate(all="ignore"):
            want = _libm(name)(x)
        special = ~np.isfinite(want) | (want == 0) | (np.abs(x) < 2.0 ** -27)
        np.testing.assert_array_equal(got[special], want[special])  # NaN, ±inf, signed zeros, x itself
        np.testing.assert_array_equal(np.signbit(got[~np.isnan(want)]), np.signbit(want[~np.isnan(want)]))
        assert _ulps(got, want).max() <= 1, name  # big: finite, log(2x) = log(x) + ln2 never overflows


def test_cbrt_is_correctly_rounded_and_exact_on_perfect_cubes():
    from fractions import Fraction
    f = jaxlike.jit(jnp.cbrt)
    n = np.arange(-208063, 208064, dtype=np.float64)  # every n^3 below 2^53 in magnitude
    np.testing.assert_array_equal(f(n ** 3), n)
    np.testing.assert_array_equal(f(n[::97] ** 3 * 2.0 ** -900), n[::97] * 2.0 ** -300)
    np.testing.assert_array_equal(f(np.array([27.0, -8.0], np.float32)), np.array([3.0, -2.0], np.float32))
    edges = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(f(edges), edges)
    np.testing.assert_array_equal(np.signbit(f(edges)), np.signbit(edges))
    # subnormal perfect cubes (libm's own roots of these are an ulp off)
    np.testing.assert_array_equal(f(np.array([5e-324, -5e-324, 2.0 ** -1071, 2.0 ** -1050])),
                                  [2.0 ** -358, -2.0 ** -358, 2.0 ** -357, 2.0 ** -350])
    rng = np.random.default_rng(3)
    x = np.exp(rng.uniform(-745.0, 709.0, 2000)) * rng.choice([-1.0, 1.0], 2000)  # every binade
    for xi, gi in zip(np.abs(x), np.abs(f(x))):
        below = Fraction(gi) - Fraction(gi - np.nextafter(gi, 0)) / 2
        above = Fraction(gi) + Fraction(np.spacing(gi)) / 2
        assert below ** 3 <= Fraction(xi) <= above ** 3, xi  # the nearest double to the exact root


def test_log2_of_powers_of_two_and_exp2_of_integers_are_exact():
    k = np.arange(-1074, 1024)
    powers = 2.0 ** k
    np.testing.assert_array_equal(jaxlike.jit(jnp.log2)(powers), k.astype(np.float64))
    np.testing.assert_array_equal(jaxlike.jit(jnp.exp2)(k.astype(np.float64)), powers)
    edges = jaxlike.jit(jnp.exp2)(np.array([1024.0, -1075.0, -1074.5]))
    np.testing.assert_array_equal(edges, [np.inf, 0.0, 5e-324])
    k32 = np.arange(-149, 128)
    powers32 = (2.0 ** k32).astype(np.float32)
    np.testing.assert_array_equal(jaxlike.jit(jnp.log2)(powers32), k32.astype(np.float32))
    np.testing.assert_array_equal(jaxlike.jit(jnp.exp2)(k32.astype(np.float32)), powers32)
    n = np.arange(-307, 309)
    np.testing.assert_array_equal(jaxlike.jit(jnp.log10)(10.0 ** n), n.astype(np.float64))  # as libm's


def test_kernel_loops_vectorise():
    x = np.ones(1000)
    ir_text = jaxlike.jit(lambda x: jnp.tanh(x) + jnp.exp(x)).lower(x).compile().llvm_ir()
    assert "x double>" in ir_text and "@tanh(" not in ir_text and "@llvm.exp.f64" not in ir_text
    for name in ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "exp2",
                 "log", "log2", "log10", "log1p", "expm1", "cbrt"):
        f = getattr(jnp, _NUMPY_NAMES.get(name, name))
        ir_text = jaxlike.jit(lambda x: f(x) * 2.0).lower(x).compile().llvm_ir()
        core = ir_text[ir_text.index("define void @core"):]
        core = core[:core.index("\n}")]
        assert "x double>" in core, name  # the loop itself, not only the masked variants of sin, cos, tan
        assert f"@{name}(" not in core and f"@llvm.{name}." not in core, name
    ir_text = jaxlike.jit(lambda y, x: jnp.arctan2(y, x) * 2.0).lower(x, x).compile().llvm_ir()
    core = ir_text[ir_text.index("define void @core"):]
    core = core[:core.index("\n}")]
    assert "x double>" in core and "@atan2(" not in core


def test_sin_cos_and_tan_beyond_the_reduction_bound_call_libm_in_vector_loops():
    # huge arguments scattered among ordinary ones: the vector loop's masked libm variant takes them
    x = np.random.default_rng(1).uniform(-10, 10, 1001)
    x[::7] = np.random.default_rng(2).uniform(2.0 ** 20, 1e300, x[::7].size) * np.sign(x[::7])
    x[5], x[6] = np.inf, -np.inf
    huge = ~(np.abs(x) < 2.0 ** 20)
    for name in ("sin", "cos", "tan"):
        f = getattr(jnp, name)
        got = jaxlike.jit(lambda x: f(x) * 2.0)(x)
        with np.errstate(invalid="ignore"):
            want = _libm(name)(x) * 2.0
        np.testing.assert_array_equal(got[huge], want[huge])  # libm's own values
        assert _ulps(got, want).max() <= 1


def test_reshape_views_through_rank_zero_read_the_right_element():
    # slice → reshape to () → reshape to (1,) is read through, never materialised: the flat offset of a
    # scalar has no index to unravel into (an unsimplified loop body can hold such a chain)
    from jaxlike.ir.primitive import PRIMITIVES

    def fun(x):
        one = PRIMITIVES["slice"].bind(x, start_indices=(2,), limit_indices=(3,), strides=(1,))
        scalar = PRIMITIVES["reshape"].bind(one, shape=())
        back = PRIMITIVES["reshape"].bind(scalar, shape=(1,))
        return [PRIMITIVES["concatenate"].bind(back, x, dimension=0), scalar * 2.0]

    graph = graph_of(fun, [AVal((4,), np.float64)])
    x = np.array([1.0, 2.0, 3.0, 4.0])
    got = compile_graph(graph).run([x])
    np.testing.assert_array_equal(got[0], [3.0, 1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(got[1], 6.0)
    for a, b in zip(got, eval_graph(graph, x), strict=True):
        np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------------------
# Outputs written on a mask only


def _masked_graph(shape, a, b, shift_a, shift_b, v_axis):
    """select(iota_a + shift_a == iota_b + shift_b, broadcast(v), 0) of ``shape``, v along ``v_axis``."""
    from jaxlike.ir.prims.misc import iota

    def fun(v):
        ia, ib = iota(np.int32, shape, a), iota(np.int32, shape, b)
        if shift_a:
            ia = ia + np.int32(shift_a)
        if shift_b:
            ib = ib - np.int32(-shift_b)
        x = PRIMITIVES["broadcast_in_dim"].bind(v, shape=shape, broadcast_dimensions=(v_axis,))
        return [binary.select(PRIMITIVES["eq"].bind(ia, ib), jnp.sin(x) * 3.0, np.float64(0.0))]
    return graph_of(fun, [AVal((shape[v_axis],), np.float64)])


@pytest.mark.parametrize("shape, a, b, shift_a, shift_b, mask", [  # over 1024 elements: not a folded constant
    ((40, 40), 0, 1, 0, 0, (0, 1, 0)),      # the diagonal
    ((33, 50), 1, 0, 0, 0, (0, 1, 0)),      # written the other way round
    ((33, 50), 0, 1, 3, 0, (0, 1, -3)),     # a shifted diagonal, as for a chunk of rows
    ((50, 33), 0, 1, 0, -2, (0, 1, -2)),    # i_0 == i_1 - 2
    ((3, 24, 24), 2, 1, 0, 0, (1, 2, 0)),   # a batch axis in front
    ((24, 3, 24), 0, 2, 1, 1, (0, 2, 0)),   # the mask skips an axis
])
def test_masked_outputs_are_written_on_their_mask_only(shape, a, b, shift_a, shift_b, mask):
    graph = _masked_graph(shape, a, b, shift_a, shift_b, v_axis=len(shape) - 1)
    plan = GraphPlan(graph, zeroed_outputs=True)
    assert [g.mask for g in plan.groups if g.mask] == [mask]
    assert plan.out_storage[0].zeroed
    v = np.linspace(0.1, 2.0, shape[-1])  # sin(v) never 0: a zero of the result is off the mask
    compiled = compile_and_compare(graph, [v])
    index = np.indices(shape)
    on = index[a] + shift_a == index[b] + shift_b
    want = np.where(on, 3.0 * np.sin(np.broadcast_to(v, shape)), 0.0)
    # a fresh result, and an out= buffer full of garbage, come back whole, zeros included, on both paths
    for run in (lambda o: compiled.run([v])[0], lambda o: compiled.run([v], out=[o])[0],
                lambda o: compiled.native(pytest.fail)(v), lambda o: compiled.native(pytest.fail)(v, out=o)):
        got = run(np.full(shape, np.nan))
        np.testing.assert_array_equal(got == 0, ~on)
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_a_mask_that_is_not_one_stays_a_full_loop():
    from jaxlike.ir.prims.misc import iota

    def fun(v):  # i_0 == 2: a comparison with a constant, not of two iotas
        shape = (40, 40)
        x = PRIMITIVES["broadcast_in_dim"].bind(v, shape=shape, broadcast_dimensions=(1,))
        same = PRIMITIVES["eq"].bind(iota(np.int32, shape, 0), np.int32(2))
        return [binary.select(same, x, np.float64(0.0))]
    graph = graph_of(fun, [AVal((40,), np.float64)])
    assert not any(g.mask for g in GraphPlan(graph, zeroed_outputs=True).groups)
    v = np.arange(1.0, 41.0)
    want = np.zeros((40, 40))
    want[2] = v
    np.testing.assert_array_equal(compile_and_compare(graph, [v]).run([v])[0], want)


def test_jacobian_of_an_elementwise_function_writes_its_diagonal_only():
    def f(x):
        return jnp.sin(x) * jnp.exp(-x * x) + x ** 3
    x = np.linspace(-2.0, 2.0, 300)
    jac = jaxlike.jit(jaxlike.jacfwd(f))
    plan = GraphPlan(jac.lower(x).graph, zeroed_outputs=True)
    assert [g.mask for g in plan.groups if g.mask] == [(0, 1, 0)]
    want = np.diag(np.cos(x) * np.exp(-x * x) - 2 * x * np.sin(x) * np.exp(-x * x) + 3 * x * x)
    np.testing.assert_allclose(jac(x), want, rtol=1e-13, atol=1e-13)
    out = np.full((300, 300), 7.0)
    assert jac(x, out=out) is out
    np.testing.assert_allclose(out, want, rtol=1e-13, atol=1e-13)
    batched = jaxlike.jit(jaxlike.vmap(jaxlike.jacrev(f)))(np.stack([x, -x]))
    np.testing.assert_allclose(batched, np.stack([want, want]), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("prim, base", [("scatter", 0.0), ("scatter_add", 0.0), ("scatter", 1.0)])
def test_a_scatter_into_zeros_writes_its_updates_only(prim, base):
    # a sparse Jacobian made dense: the output comes in as zeros, and no loop copies zeros into it first
    idx = np.array([[5], [2047], [5], [0], [1000]])

    def fun(upd):
        zeros = PRIMITIVES["broadcast_in_dim"].bind(np.float64(base), shape=(2048,), broadcast_dimensions=())
        out = PRIMITIVES[prim].bind(zeros, idx, upd, axes=(0,))
        return [PRIMITIVES["reshape"].bind(out, shape=(32, 64))]
    graph = graph_of(fun, [AVal((5,), np.float64)])
    plan = GraphPlan(graph, zeroed_outputs=True)
    assert plan.out_storage[0].zeroed == (base == 0.0)
    upd = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    want = np.full(2048, base)
    if prim == "scatter":
        want[idx[:, 0]] = upd  # the last duplicate wins
    else:
        np.add.at(want, idx[:, 0], upd)
    want = want.reshape(32, 64)
    compiled = compile_and_compare(graph, [upd])
    for run in (lambda o: compiled.run([upd], out=[o])[0], lambda o: compiled.native(pytest.fail)(upd, out=o)):
        np.testing.assert_array_equal(run(np.full((32, 64), np.nan)), want)


def test_a_masked_output_beside_others_in_a_tuple():
    f = lambda x: jnp.tanh(x) * 2.0  # noqa: E731
    both = jaxlike.jit(lambda x: (jaxlike.jacrev(f)(x), f(x), jnp.outer(x, x[:3])))
    x = np.linspace(-1.0, 1.0, 64)
    d = 2.0 / np.cosh(x) ** 2
    want = (np.diag(d), 2.0 * np.tanh(x), np.outer(x, x[:3]))
    plan = GraphPlan(both.lower(x).graph, zeroed_outputs=True)
    assert [st.zeroed for st in plan.out_storage] == [True, False, False]
    outs = tuple(np.full(w.shape, np.nan) for w in want)
    for got in (both(x), both(x, out=outs)):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-14, atol=1e-15)
    assert all(g is o for g, o in zip(both(x, out=outs), outs, strict=True))
