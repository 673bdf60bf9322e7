"""jacfwd, jacrev and jacobian agree with each other and with central differences on the jnp op table;
chunked jacrev equals unchunked and its memory grows with the chunk, not with the number of rows; the
torch.autograd.functional jacobian options; structures, argnums, has_aux and errors."""

import re
import tracemalloc

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike import hessian, jacfwd, jacobian, jacrev, make_ir, tree, vmap
from jaxlike.functional import ForwardModeVectorizeError
from numpy_cases import CASES


# --------------------------------------------------------------------------------------------------
# The op table: one representative case per function (float64 when there is one), plus one float32 case


def _float(x):
    return isinstance(x, np.ndarray) and x.dtype.kind == "f"


def _usable(case):
    if not case.differentiable:
        return False
    args = case.args()
    if not all(_float(args[i]) and args[i].size for i in case.argnums):
        return False
    out = case.ref(*args, **case.kwargs)
    leaves = list(out) if isinstance(out, (tuple, list)) else [out]
    return all(np.asarray(o).dtype.kind == "f" for o in leaves)


def _representatives():
    by_name = {}
    for case in CASES:
        by_name.setdefault(case.id.split("-")[0], []).append(case)
    picked = []
    for cases in by_name.values():
        usable = [c for c in cases if _usable(c)]
        f64 = [c for c in usable if "f32" not in c.id.split("-")[1:3]]
        f32 = [c for c in usable if c not in f64]
        picked += (f64[:1] or usable[:1]) + f32[:1]
    return picked


TABLE = _representatives()


def _split_args(case):
    """(function of the differentiated arguments only, those arguments); the rest are closed over."""
    args = case.args()
    nums = case.argnums

    def f(*diff):
        full = list(args)
        for i, x in zip(nums, diff):
            full[i] = x
        out = case.fn(*full, **case.kwargs)
        return tuple(out) if isinstance(out, list) else out

    return f, tuple(args[i] for i in nums)


def central_differences(f, xs):
    """[[d out_o / d x_j]] (o over output leaves, j over inputs) by central differences in float64."""
    xs64 = [x.astype(np.float64) for x in xs]
    outs = tree.leaves(f(*xs64))
    blocks = [[np.zeros(np.shape(o) + x.shape) for x in xs] for o in outs]
    for j, x in enumerate(xs64):
        for idx in np.ndindex(x.shape):
            h = 1e-6 * max(1.0, abs(x[idx]))
            up, down = x.copy(), x.copy()
            up[idx] += h
            down[idx] -= h
            hi = tree.leaves(f(*xs64[:j], up, *xs64[j + 1:]))
            lo = tree.leaves(f(*xs64[:j], down, *xs64[j + 1:]))
            for o in range(len(outs)):
                blocks[o][j][(Ellipsis,) + idx] = (np.asarray(hi[o], np.float64)
                                                   - np.asarray(lo[o], np.float64)) / (2 * h)
    return blocks


def _tolerance(xs, f):
    single = any(x.dtype == np.float32 for x in xs) or any(
        np.asarray(o).dtype == np.float32 for o in tree.leaves(f(*xs)))
    return dict(rtol=2e-3, atol=2e-3) if single else dict(rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", TABLE, ids=lambda c: c.id)
def test_jacobians_agree_with_each_other_and_with_central_differences(case):
    f, xs = _split_args(case)
    argnums = tuple(range(len(xs)))
    fwd = tree.leaves(jacfwd(f, argnums=argnums)(*xs))
    rev = tree.leaves(jacrev(f, argnums=argnums)(*xs))
    fun = tree.leaves(jacobian(f, xs))
    fd = [b for row in central_differences(f, xs) for b in row]
    assert len(fwd) == len(rev) == len(fun) == len(fd)
    tol = _tolerance(xs, f)
    for a, b, c, ref in zip(fwd, rev, fun, fd):
        assert a.shape == b.shape == c.shape == ref.shape
        np.testing.assert_allclose(a, b, **tol)
        np.testing.assert_allclose(b, c, **tol)
        np.testing.assert_allclose(b, ref, **tol)


def test_the_table_covers_every_differentiable_function():
    names = {c.id.split("-")[0] for c in CASES if _usable(c)}
    assert names == {c.id.split("-")[0] for c in TABLE}
    assert len(names) > 50


# --------------------------------------------------------------------------------------------------
# chunk_size


CHUNK_CASES = [c for c in TABLE if c.args()[c.argnums[0]].size >= 4][:12]


@pytest.mark.parametrize("case", CHUNK_CASES, ids=lambda c: c.id)
def test_jacrev_chunk_sizes_agree(case):
    f, xs = _split_args(case)
    argnums = tuple(range(len(xs)))
    ref = tree.leaves(jacrev(f, argnums=argnums)(*xs))
    for k in (1, 2, 7):
        got = tree.leaves(jacrev(f, argnums=argnums, chunk_size=k)(*xs))
        for a, b in zip(got, ref, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("k", [1, 2, 7, None])
def test_jacrev_chunks_with_several_outputs_and_inputs(k):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal(5)

    def f(a, b):
        return {"u": jnp.tanh(a) * b[:3], "v": jnp.outer(b, a.sum(axis=0))}

    got = jacrev(f, argnums=(0, 1), chunk_size=k)(a, b)
    ref = jacfwd(f, argnums=(0, 1))(a, b)
    assert got["u"][0].shape == (4, 3, 4, 3) and got["v"][1].shape == (5, 3, 5)
    for x, y in zip(tree.leaves(got), tree.leaves(ref), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def test_chunked_jacrev_is_one_loop_in_the_graph():
    w = np.random.default_rng(0).standard_normal((40, 6))
    f = jacrev(lambda x: jnp.tanh(w @ x), chunk_size=3)
    graph = make_ir(f)(np.ones(6))
    names = [e.prim.name for e in graph.eqns]
    assert names.count("scan") == 1  # 13 full chunks of 3 rows, and one more call for the last row
    assert len(graph.eqns) < 60


def _peak(fn, *args):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn(*args)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, out


def test_jacrev_memory_grows_with_chunk_size_not_with_rows():
    rng = np.random.default_rng(0)
    n, hidden = 4, 2000
    w1 = rng.standard_normal((hidden, n)) / n
    x = rng.standard_normal(n)

    def model(rows):
        w2 = rng.standard_normal((rows, hidden)) / hidden
        return lambda x: w2 @ jnp.tanh(w1 @ x), w2

    few, _ = model(32)
    many, w2 = model(256)
    peak_few_k4, _ = _peak(jacrev(few, chunk_size=4), x)
    peak_many_k4, jac = _peak(jacrev(many, chunk_size=4), x)
    peak_many_k32, _ = _peak(jacrev(many, chunk_size=32), x)
    peak_many_all, ref = _peak(jacrev(many), x)
    np.testing.assert_allclose(jac, ref, rtol=1e-10, atol=1e-12)
    # 8 times the rows, the same chunk: about the same peak (the extra is the Jacobian itself, 8 KB)
    assert peak_many_k4 < 1.5 * peak_few_k4 + 64_000
    # 8 times the chunk: a larger peak; all rows at once: far larger than one chunk of 4
    assert peak_many_k32 > 2 * peak_many_k4
    assert peak_many_all > 8 * peak_many_k4


# --------------------------------------------------------------------------------------------------
# Structures, argnums, has_aux, hessian


def test_pytrees_in_and_out():
    params = {"w": np.arange(6.0).reshape(2, 3) / 7, "b": np.array([0.1, -0.2])}
    x = np.array([0.5, -1.0, 2.0])

    def f(params, x):
        y = jnp.tanh(params["w"] @ x + params["b"])
        return y, (y ** 2).sum()

    for jac in (jacfwd, jacrev):
        (dy, ds) = jac(f)(params, x)
        assert dy["w"].shape == (2, 2, 3) and dy["b"].shape == (2, 2) and ds["w"].shape == (2, 3)
        dx = jac(f, argnums=1)(params, x)
        assert dx[0].shape == (2, 3) and dx[1].shape == (3,)
        both = jac(f, argnums=(0, 1))(params, x)
        assert isinstance(both[0], tuple) and both[0][1].shape == (2, 3)
    fwd, rev = jacfwd(f)(params, x), jacrev(f)(params, x)
    for a, b in zip(tree.leaves(fwd), tree.leaves(rev), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_output_shape_is_out_shape_plus_in_shape():
    x = np.ones((2, 3))
    f = lambda x: jnp.outer(x.sum(axis=0), np.arange(4.0))  # noqa: E731
    assert jacfwd(f)(x).shape == jacrev(f)(x).shape == (3, 4, 2, 3)
    assert jacrev(lambda x: x.sum())(x).shape == (2, 3)
    assert jacfwd(lambda s: s * np.arange(3.0))(np.float64(2.0)).shape == (3,)


def test_hessian_with_argnums_and_aux():
    def f(x, y):
        return (x ** 2 * y).sum() + jnp.sin(y).sum(), {"value": x.sum()}

    x, y = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    h, aux = hessian(f, argnums=(0, 1), has_aux=True)(x, y)
    np.testing.assert_allclose(h[0][0], np.diag(2 * y))
    np.testing.assert_allclose(h[0][1], np.diag(2 * x))
    np.testing.assert_allclose(h[1][1], np.diag(-np.sin(y)))
    assert float(aux["value"]) == 3.0


def test_jacobians_compose():
    x = np.array([0.3, -0.7, 1.1])
    f = lambda x: jnp.sin(x) * x.sum()  # noqa: E731
    third = jacfwd(jacrev(jacrev(f)))(x)
    assert third.shape == (3, 3, 3, 3)
    np.testing.assert_allclose(jacrev(jacfwd(jacrev(f)))(x), third, rtol=1e-10, atol=1e-12)
    batched = vmap(jacfwd(jacrev(f, chunk_size=2)))(np.stack([x, 2 * x]))
    np.testing.assert_allclose(batched[0], jacfwd(jacrev(f))(x), rtol=1e-12)
    np.testing.assert_allclose(jaxlike.jit(jacrev(f))(x), jacrev(f)(x), rtol=1e-12)


def test_large_basis_is_built_from_iota_not_a_constant():
    n = 300
    graph = make_ir(jacfwd(lambda x: jnp.sin(x) * jnp.sum(x)))(np.ones(n))  # dense: the plain basis
    assert all(v.size < n * n for v in graph.consts.values())
    assert any(e.prim.name == "iota" for e in graph.eqns)
    np.testing.assert_allclose(jacrev(jnp.sin)(np.full(n, 0.5)), np.diag(np.full(n, np.cos(0.5))))


def test_errors():
    with pytest.raises(TypeError, match="jacrev requires float outputs"):
        jacrev(lambda x: (x > 0))(np.ones(2))
    with pytest.raises(TypeError, match=re.escape("jacfwd requires real-valued (float) inputs")):
        jacfwd(lambda x: x * 2)(np.arange(3))
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        jacrev(jnp.sin, argnums=2)(np.ones(2))
    with pytest.raises(TypeError, match="has_aux=True, so it must return a pair"):
        jacfwd(jnp.sin, has_aux=True)(np.ones(2))


# --------------------------------------------------------------------------------------------------
# jacobian (torch.autograd.functional)


def test_jacobian_strategies_and_vectorize_agree():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal(3), rng.standard_normal((2, 3))
    f = lambda x, y: (jnp.sin(x) * y, (y @ x).sum())  # noqa: E731
    ref = jacobian(f, (x, y))
    for kwargs in ({"vectorize": True}, {"vectorize": True, "strategy": "forward-mode"},
                   {"create_graph": True}):
        got = jacobian(f, (x, y), **kwargs)
        for a, b in zip(tree.leaves(got), tree.leaves(ref), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_jacobian_dtype_is_the_inputs_for_reverse_mode_and_the_outputs_for_forward_mode():
    x = np.ones(3, np.float32)
    f = lambda x: x.astype(np.float64) * 2.0  # noqa: E731
    assert jacobian(f, x).dtype == np.float32
    assert jacobian(f, x, vectorize=True, strategy="forward-mode").dtype == np.float64


def test_jacobian_strict_is_structural():
    x, y = np.ones(2), np.ones(2)
    with pytest.raises(RuntimeError, match=re.escape("Output 1 of the user-provided function is independent "
                                                     "of input 0. This is not allowed in strict mode.")):
        jacobian(lambda x, y: (x * y, y * 2.0), (x, y), strict=True)
    with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 0"):
        jacobian(lambda x: jaxlike.stop_gradient(x) * 2.0, x, strict=True)
    with pytest.raises(RuntimeError, match="independent of input 0"):
        jacobian(lambda x: (x > 0).astype(np.float64), x, strict=True, vectorize=True)
    # a zero derivative through a real dependency is not independence: x * 0 depends on x
    np.testing.assert_allclose(jacobian(lambda x: x * 0.0, x, strict=True), np.zeros((2, 2)))
    np.testing.assert_allclose(jacobian(lambda x: x * 0.0, x), np.zeros((2, 2)))


def test_jacobian_inside_grad_can_be_differentiated_again():
    x = np.array([0.2, 0.4])
    g = jaxlike.grad(lambda x: jnp.trace(jacobian(lambda v: jnp.sin(v) * v, x, create_graph=True)))
    d2 = -np.sin(x) * x + 2 * np.cos(x)  # d/dx of the diagonal sin(x) + x cos(x)
    np.testing.assert_allclose(g(x), d2, rtol=1e-12)


def test_jacobian_errors():
    x = np.ones(2)
    with pytest.raises(ValueError, match=re.escape('`strategy="forward-mode"` requires `vectorize=True`')):
        jacobian(jnp.sin, x, strategy="forward-mode")
    with pytest.raises(NotImplementedError):  # what torch raises there
        jacobian(jnp.sin, x, strategy="forward-mode")
    assert issubclass(ForwardModeVectorizeError, ValueError)
    with pytest.raises(ValueError, match='Expected strategy to be either "forward-mode" or "reverse-mode"'):
        jacobian(jnp.sin, x, strategy="sideways")
    with pytest.raises(TypeError, match="The inputs given to jacobian must be either an array or a tuple of "
                                        "arrays but the value at index 0 has type list"):
        jacobian(jnp.sin, [x])
    with pytest.raises(TypeError, match="The outputs of the user-provided function given to jacobian must be "
                                        "either an array or a tuple of arrays but the value at index 0 has "
                                        "type dict"):
        jacobian(lambda x: {"y": x}, x)
    with pytest.raises(TypeError, match="input 0 has dtype int64; only float inputs"):
        jacobian(lambda x: x * 2.0, np.arange(2))


# --------------------------------------------------------------------------------------------------
# Sparse Jacobians: one jvp (vjp) per colour of the pattern, the same values as the plain basis


def _stencil(x):  # tridiagonal, not square
    return x[1:-1] ** 2 - jnp.sin(x[:-2]) + 2.0 * x[2:]


def _periodic(x):  # a periodic stencil through roll, then a nonlinearity
    return jnp.tanh(jnp.roll(x, 1) * x - 0.5 * jnp.roll(x, -1))


def _blocks(params, x):  # a pytree in and out, two arguments
    y = params["a"] * jnp.exp(x) + params["b"][::-1] * x
    return {"y": y, "z": jnp.cumsum(y[:4]) * 2.0}


def _dense(x):
    return jnp.sin(x) * jnp.sum(x ** 2)


X40 = np.linspace(-1.0, 1.3, 40)
PARAMS = {"a": np.linspace(0.5, 1.5, 40), "b": np.linspace(-1.0, 1.0, 40)}
SPARSE_CASES = [
    ("stencil", _stencil, (X40,), 0),
    ("periodic", _periodic, (X40,), 0),
    ("diagonal", jnp.sin, (X40,), 0),
    ("blocks-argnums", _blocks, (PARAMS, X40), (0, 1)),
    ("blocks-x", _blocks, (PARAMS, X40), 1),
    ("dense", _dense, (X40,), 0),
    ("float32", _periodic, (X40.astype(np.float32),), 0),
]


def _plain(monkeypatch, fn):
    """fn() with the compression turned off: one basis vector per input (output) element."""
    with monkeypatch.context() as m:
        m.setattr(jaxlike.ir.sparse_rewrite, "MIN_GAIN", 10 ** 9)
        return fn()


def _assert_same(got, want):
    for a, b in zip(tree.leaves(got), tree.leaves(want), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)  # bit for bit (up to the sign of zero)


@pytest.mark.parametrize("transform", [jacfwd, jacrev], ids=["jacfwd", "jacrev"])
@pytest.mark.parametrize("name, f, args, argnums", SPARSE_CASES, ids=[c[0] for c in SPARSE_CASES])
def test_sparse_jacobians_equal_the_plain_basis(monkeypatch, transform, name, f, args, argnums):
    for wrap in (lambda g: g, jaxlike.jit):
        got = wrap(transform(f, argnums=argnums))(*args)
        want = _plain(monkeypatch, lambda: wrap(transform(f, argnums=argnums))(*args))
        _assert_same(got, want)


@pytest.mark.parametrize("f", [_stencil, _periodic, lambda x: jnp.sin(x[::-1])],
                         ids=["stencil", "periodic", "anti-diagonal"])
def test_sparse_jacfwd_runs_one_jvp_per_colour(monkeypatch, f):
    colours = jaxlike.sparse.sparsity_pattern(f, mode="fwd")(X40).n_colors
    assert colours <= 4  # 3 for a chain, 4 for a ring of 40
    text = str(make_ir(jacfwd(f))(X40))
    plain = str(_plain(monkeypatch, lambda: make_ir(jacfwd(f))(X40)))
    # the plain basis batches over the 40 columns; the dense result aside, the compressed graph never does
    body = [line for line in text.split("let")[1].splitlines() if "= reshape" not in line]
    assert "[40," in plain and not any("[40," in line for line in body)
    if f is _stencil:
        assert f"f64[{colours},38] = mul" in text  # the batched jvp: one row per colour
    graph = make_ir(jaxlike.jit(jacfwd(f)))(X40)
    # the largest value computed before the dense result is one entry per non-zero (or one jvp per colour)
    nnz = jaxlike.sparse.sparsity_pattern(f)(X40).nnz
    sizes = [v.aval.size for e in graph.eqns if e.prim.name not in ("broadcast_in_dim", "scatter", "reshape")
             for v in e.outputs]
    assert max(sizes) <= max(nnz, colours * 40)


def test_sparse_jacrev_runs_one_vjp_per_colour():
    f = lambda x: jnp.sin(x[1:]) * x[:-1]  # noqa: E731  (bidiagonal: 2 colours of rows)
    x = np.linspace(0.1, 1.0, 40)
    assert jaxlike.sparse.sparsity_pattern(f, mode="rev")(x).n_colors == 2
    sizes = [v.aval.size for e in make_ir(jacrev(f))(x).eqns if e.prim.name not in ("broadcast_in_dim",
             "scatter", "reshape") for v in e.outputs]
    assert max(sizes) <= 2 * 40  # the batched vjp: one row of 40 per colour, not one per output (39)


def test_sparse_jacobians_fall_back_where_colouring_does_not_win():
    # a dense Jacobian, and a custom derivative (its pattern rule is conservative): the plain basis
    x = np.linspace(0.1, 1.0, 12)
    f = jaxlike.custom_jvp(lambda x: jnp.sin(x))
    f.defjvp(lambda primals, tangents: (jnp.sin(primals[0]), jnp.cos(primals[0]) * tangents[0]))
    for fn in (_dense, f):
        graph = make_ir(jacfwd(fn))(x)
        assert not any(e.prim.name == "scatter" for e in graph.eqns)  # the compressed path scatters
    np.testing.assert_allclose(jacfwd(f)(x), np.diag(np.cos(x)), rtol=1e-15)


def test_sparse_jacobians_keep_has_aux_vmap_hessian_and_chunks():
    x = np.linspace(0.1, 1.0, 16)
    jac, aux = jacfwd(lambda x: (_periodic(x), jnp.sum(x)), has_aux=True)(x)
    np.testing.assert_array_equal(jac, jacfwd(_periodic)(x))
    assert float(aux) == pytest.approx(np.sum(x))
    xs = np.stack([x, 2 * x, -x])
    batched = vmap(jacrev(_periodic))(xs)
    for k in range(3):
        np.testing.assert_array_equal(batched[k], jacrev(_periodic)(xs[k]))
    rosen = lambda x: jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)  # noqa: E731
    H = jaxlike.jit(hessian(rosen))(x)  # jacfwd of the gradient: 3 colours for 16 columns
    np.testing.assert_allclose(H, jaxlike.sparse.hessian(rosen)(x).toarray(), rtol=1e-12)
    assert np.count_nonzero(H) == 16 + 2 * 15
    np.testing.assert_array_equal(jacrev(_periodic, chunk_size=5)(x), jacrev(_periodic)(x))


# --------------------------------------------------------------------------------------------------
# docs/jacobians.md: every python block runs

DOCS = __import__("pathlib").Path(__file__).resolve().parent.parent / "docs" / "jacobians.md"


def _doc_blocks():
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S) if DOCS.exists() else []


def test_docs_exist():
    assert len(_doc_blocks()) >= 10


@pytest.mark.parametrize("index", range(len(_doc_blocks())))
def test_docs_jacobians_blocks_run(index):
    exec(compile(_doc_blocks()[index], f"docs/jacobians.md block {index}", "exec"), {"__name__": "__docs__"})
