"""Sparse Jacobians and Hessians: the pattern pass against dense Jacobians, colourings, compressed values,
the API and the examples."""

import importlib.util
import os
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import jaxlike
import jaxlike.lax as lax
import jaxlike.numpy as jnp
import jaxlike.sparse as sparse
from jaxlike.api import trace_fn
from jaxlike.ir import coloring
from jaxlike.ir.prims import indexing, linalg, reduce, shape
from jaxlike.ir.sparsity import jacobian_sparsity

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.join(HERE, "..", "examples")
BENCH = os.path.join(HERE, "..", "bench")


def _load(folder, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dense_jacobian(f, *args, argnums=0):
    """The Jacobian of the flattened output w.r.t. the flattened argument, by jacfwd."""
    jac = jaxlike.jacfwd(f, argnums=argnums)(*args)
    x = args[argnums]
    m = max(int(np.prod(np.shape(f(*args)))), 1)
    return np.asarray(jac, np.float64).reshape(m, np.size(x))


def pattern_of(f, *args, argnums=0):
    traced = trace_fn(f, args, name="test", abstract=True)
    diff = [i == argnums for i in range(len(args))] + [False] * len(traced.captured)
    rows, cols = jacobian_sparsity(traced.graph, diff)
    m = sum(a.size for a in traced.graph.out_avals)
    out = np.zeros((m, np.size(args[argnums])), bool)
    out[rows, cols] = True
    assert len(np.unique(rows * out.shape[1] + cols)) == len(rows), "duplicate entries"
    assert np.all(np.diff(rows * out.shape[1] + cols) > 0), "not in CSR order"
    return out


RNG = np.random.default_rng(0)
X6 = RNG.uniform(0.5, 1.5, 6)
X12 = RNG.uniform(0.5, 1.5, 12)
M34 = RNG.uniform(0.5, 1.5, (3, 4))
SPARSE_A = np.where(RNG.uniform(size=(5, 6)) < 0.4, RNG.uniform(1, 2, (5, 6)), 0.0)
IDX = np.array([4, 0, 0, 5, 2])

# (id, f, x, exact): exact cases must give the dense Jacobian's non-zeros; the others only a superset
CASES = [
    ("sin*x", lambda x: jnp.sin(x) * x, X6, True),
    ("exp-log-tanh", lambda x: jnp.exp(x) + jnp.log(x) * jnp.tanh(x), X6, True),
    ("scalar-broadcast", lambda x: x * x[2], X6, True),
    ("outer", lambda x: jnp.outer(x[:3], x[3:]), X6, True),
    ("div-const", lambda x: x / (x + 2.0), X6, True),
    ("pow", lambda x: x ** 3 + x ** x, X6, True),
    ("max-min", lambda x: jnp.maximum(x[:3], 1.0) + jnp.minimum(x[:3], x[3:]), X6, False),
    ("mul-const-zeros", lambda x: x * np.array([1.0, 0.0, 2.0, 0.0, 3.0, 1.0]), X6, True),
    ("where-const", lambda x: jnp.where(np.arange(6) % 2 == 0, x, jnp.roll(x, 1) * 2.0), X6, True),
    ("where-traced", lambda x: jnp.where(x > 1.0, x, jnp.roll(x, 1)), X6, False),
    ("sum-axis", lambda x: jnp.sum(x.reshape(3, 4), axis=1), X12, True),
    ("sum-all", lambda x: jnp.sum(x * x), X12, True),
    ("max-axis", lambda x: jnp.max(x.reshape(3, 4), axis=0), X12, False),
    ("prod-axis", lambda x: jnp.prod(x.reshape(4, 3), axis=1), X12, True),
    ("mean-keepdims", lambda x: x.reshape(3, 4) - jnp.mean(x.reshape(3, 4), axis=1, keepdims=True), X12,
     True),
    ("cumsum", lambda x: jnp.cumsum(x), X6, True),
    ("cumsum-rev", lambda x: reduce.cumsum(x, 0, reverse=True), X6, True),
    ("transpose", lambda x: x.reshape(3, 4).T * np.arange(1.0, 5.0)[:, None], X12, True),
    ("slices", lambda x: x[1:] * x[:-1], X6, True),
    ("stride", lambda x: x[::2] + x[1::2] ** 2, X6, True),
    ("rev", lambda x: jnp.flip(x) * x, X6, True),
    ("roll-2d", lambda x: jnp.roll(x.reshape(3, 4), 1, axis=1) * x.reshape(3, 4), X12, True),
    ("stencil-2d", lambda x: (lambda a: a[1:-1, 1:-1] * 4.0 - a[:-2, 1:-1] - a[2:, 1:-1] - a[1:-1, :-2]
                              - a[1:-1, 2:])(x.reshape(3, 4)), X12, True),
    ("pad", lambda x: shape.pad(x, 0.0, [(2, 1, 1)]) * 2.0, X6, True),
    ("pad-crop", lambda x: shape.pad(x, 1.0, [(-1, 2, 0)]), X6, True),
    ("concat-stack", lambda x: jnp.stack([x[:3] ** 2, jnp.sin(x[3:])]), X6, True),
    ("tile-repeat", lambda x: jnp.tile(x[:2], 3) * jnp.repeat(x[2:4], 3), X6, True),
    ("expand-squeeze", lambda x: jnp.squeeze(jnp.expand_dims(x, 0) * 2.0), X6, True),
    ("broadcast_to", lambda x: jnp.broadcast_to(x[:3], (2, 3)) * x[3:, None][:2], X6, True),
    ("matvec-sparse-const", lambda x: SPARSE_A @ x, X6, True),
    ("vecmat-sparse-const", lambda x: x[:5] @ SPARSE_A, X6, True),
    ("matmul-traced", lambda x: x.reshape(3, 4) @ x.reshape(4, 3), X12, True),
    ("batched-dot", lambda x: linalg.dot_general(x.reshape(2, 2, 3), x.reshape(2, 3, 2),
                                                  (((2,), (1,)), ((0,), (0,)))), X12, True),
    ("einsum-trace", lambda x: jnp.einsum("ij,jk->ik", x.reshape(3, 4), np.eye(4)[:, :2]), X12, True),
    ("take-const", lambda x: jnp.take(x, IDX) * x[:5], X6, True),
    ("fancy-index", lambda x: x[np.array([5, 1, 1])] ** 2, X6, True),
    ("gather-2d", lambda x: x.reshape(3, 4)[np.array([2, 0]), np.array([1, 3])], X12, True),
    ("gather-traced-index", lambda x: x[jnp.argmax(x)] * x, X6, False),
    ("at-add-const", lambda x: jnp.at(x)[np.array([0, 2, 2])].add(x[3:] ** 2), X6, True),
    ("at-set-const", lambda x: jnp.at(x)[np.array([1, 4])].set(x[:2] * 3.0), X6, True),
    ("at-set-duplicate", lambda x: jnp.at(x)[np.array([1, 1])].set(x[2:4]), X6, True),
    ("scatter-traced", lambda x: indexing.scatter_add(x, jnp.argmin(x).reshape(1, 1), x[:1], (0,)), X6,
     False),
    ("triu", lambda x: jnp.triu(x.reshape(3, 4)) * 2.0, X12, True),
    ("convert-f32", lambda x: (x.astype(np.float32) * np.float32(2)).astype(np.float64), X6, True),
    ("int-path", lambda x: x * jnp.floor(x) + jnp.sign(x) * (x > 1.0), X6, False),
    ("stop-gradient", lambda x: x * jaxlike.stop_gradient(x[::-1]), X6, True),
    ("abs-clip", lambda x: jnp.abs(x - 1.0) + jnp.clip(x, 0.7, 1.2), X6, False),
    ("cond", lambda x: lax.cond(x[0] > 1.0, lambda a: a * a[0], lambda a: jnp.roll(a, 1), x), X6, False),
    ("fori-loop", lambda x: lax.fori_loop(0, 2, lambda i, a: a * jnp.roll(a, 1), x), X6, True),
    ("scan-cumulative", lambda x: lax.scan(lambda c, a: (c * a, c * a), 1.0, x)[1], X6, True),
    ("map", lambda x: lax.map(lambda a: jnp.sin(a) * a[0], x.reshape(3, 4)), X12, True),
]


@pytest.mark.parametrize("f,x,exact", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pattern_matches_dense_jacobian(f, x, exact):
    pattern = pattern_of(f, x)
    nonzero = dense_jacobian(f, x) != 0
    assert pattern.shape == nonzero.shape
    missing = nonzero & ~pattern
    assert not missing.any(), f"the pattern misses {np.argwhere(missing).tolist()}"
    if exact:
        extra = pattern & ~nonzero
        assert not extra.any(), f"the pattern has extra entries {np.argwhere(extra).tolist()}"


@pytest.mark.parametrize("f,x", [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_values_match_dense_jacobian(f, x):
    want = dense_jacobian(f, x)
    for mode in ("fwd", "rev"):
        J = sparse.jacobian(f, mode=mode)(x)
        np.testing.assert_allclose(J.toarray(), want, rtol=1e-12, atol=1e-12, err_msg=mode)


# Random compositions: programs of elementwise, data-movement and reduction steps over a pool of values

UNARY = [jnp.sin, jnp.exp, jnp.tanh, lambda a: a * a, lambda a: jnp.roll(a, 1), lambda a: jnp.flip(a),
         lambda a: jnp.cumsum(a), lambda a: jnp.concatenate([a[2:], a[:2]]), lambda a: a[::-1] * 0.5,
         lambda a: jnp.sum(a) * jnp.ones(a.shape), lambda a: shape.pad(a[1:], 0.0, [(1, 0, 0)]),
         lambda a: jnp.take(a, np.arange(a.shape[0])[::-1].copy())]
MAXIMUM = 3  # the one binary step whose derivative depends on the values (which operand is larger)
BINARY = [lambda a, b: a * b, lambda a, b: a + 2.0 * b, lambda a, b: a / (b + 3.0),
          lambda a, b: jnp.maximum(a, b), lambda a, b: jnp.where(np.arange(a.shape[0]) % 3 == 0, a, b)]


def random_program(seed, steps=8):
    """(f, exact): f composes random steps over a growing pool of values; exact when no step is a maximum
    (then no derivative vanishes by accident, and the pattern must be the dense Jacobian's)."""
    rng = np.random.default_rng(seed)
    ops = [(int(rng.integers(2)), int(rng.integers(12)), int(rng.integers(100)), int(rng.integers(1, 100)))
           for _ in range(steps)]

    def f(x):
        pool = [x, jnp.roll(x, 3) * 1.5]
        for kind, which, i, j in ops:
            a, b = pool[i % len(pool)], pool[(i + j) % len(pool)]
            if kind == 1 and a is b:
                b = pool[(i + 1) % len(pool)]
            pool.append(UNARY[which](a) if kind == 0 else BINARY[which % len(BINARY)](a, b))
        return pool[-1] + 0.1 * pool[-2]
    return f, not any(kind == 1 and which % len(BINARY) == MAXIMUM for kind, which, _, _ in ops)


@pytest.mark.parametrize("seed", range(16))
def test_random_compositions(seed):
    f, exact = random_program(seed)
    x = np.random.default_rng(100 + seed).uniform(0.5, 1.5, 8)
    pattern = pattern_of(f, x)
    want = dense_jacobian(f, x)
    assert not ((want != 0) & ~pattern).any()
    if exact:
        assert (pattern == (want != 0)).all()
    for mode in ("fwd", "rev"):
        np.testing.assert_allclose(sparse.jacobian(f, mode=mode)(x).toarray(), want, rtol=1e-10, atol=1e-12)


# Multiple arguments, pytrees, dtypes, argnums


def test_pytrees_and_argnums():
    def f(params, x):
        return {"a": params["w"] * x[:3], "b": jnp.sum(params["b"] * x[3:])}

    params = {"w": np.array([1.0, 2.0, 3.0]), "b": np.array([0.5, 0.25])}
    x = X6[:5]
    J = sparse.jacobian(f, argnums=(0, 1))(params, x)
    assert J.shape == (4, 10)
    want = np.zeros((4, 10))
    want[:3, 2:5] = np.diag(x[:3])  # the leaves in sorted key order: b, w, then x
    want[np.arange(3), 5 + np.arange(3)] = params["w"]
    want[3, :2] = x[3:]
    want[3, 8:] = params["b"]
    np.testing.assert_allclose(J.toarray(), want)
    Jx = sparse.jacobian(f, argnums=1)(params, x)
    np.testing.assert_allclose(Jx.toarray(), want[:, 5:])


def test_float32():
    x = X6.astype(np.float32)
    rows, cols, vals = sparse.jacobian(lambda x: jnp.sin(x) * x[::-1], format="triplets")(x)
    assert vals.dtype == np.float32
    dense = np.zeros((6, 6), np.float32)
    dense[rows, cols] = vals
    np.testing.assert_allclose(dense, dense_jacobian(lambda x: jnp.sin(x) * x[::-1], x), rtol=1e-6)


def test_formats():
    f = lambda x: jnp.sin(x) * jnp.roll(x, 1)  # noqa: E731
    want = dense_jacobian(f, X6)
    csr = sparse.jacobian(f)(X6)
    coo = sparse.jacobian(f, format="coo")(X6)
    rows, cols, values = sparse.jacobian(f, format="triplets")(X6)
    assert csr.format == "csr" and coo.format == "coo"
    np.testing.assert_allclose(csr.toarray(), want)
    np.testing.assert_allclose(coo.toarray(), want)
    dense = np.zeros_like(want)
    dense[rows, cols] = values
    np.testing.assert_allclose(dense, want)
    for compiled in (False, True):
        got = sparse.jacobian(f, format="dense", compiled=compiled)(X6)
        assert isinstance(got, np.ndarray)
        np.testing.assert_allclose(got, want)
    with pytest.raises(ValueError, match="format"):
        sparse.jacobian(f, format="full")


def test_plan_is_cached_per_signature():
    traces = []

    def f(x):
        traces.append(x.shape)
        return x[1:] * x[:-1]

    jac = sparse.jacobian(f)
    jac(X6)
    jac(X6 + 1.0)
    jac(X6.tolist() and X6 * 2)
    assert len(traces) == 1
    jac(X12)
    assert len(traces) == 2
    assert len(jac.cache) == 2
    np.testing.assert_allclose(jac(X6 * 2).toarray(), dense_jacobian(f, X6 * 2))


def test_nondifferentiated_arguments_change_between_calls():
    def f(t, y):
        return y * t + jnp.roll(y, 1) * t * t

    jac = sparse.jacobian(f, argnums=1)
    for t in (0.5, 2.0):
        np.testing.assert_allclose(jac(t, X6).toarray(), dense_jacobian(f, t, X6, argnums=1))


def test_zero_jacobian_and_empty_rows():
    J = sparse.jacobian(lambda x: jnp.floor(x) * 2.0)(X6)
    assert J.nnz == 0 and J.shape == (6, 6)
    f = lambda x: jnp.concatenate([x[:2] * 2.0, jnp.zeros(3)])  # noqa: E731
    np.testing.assert_allclose(sparse.jacobian(f)(X6).toarray(), dense_jacobian(f, X6))


def test_errors():
    with pytest.raises(TypeError, match="float outputs"):
        sparse.jacobian(lambda x: jnp.argmax(x))(X6)
    with pytest.raises(TypeError, match="float"):
        sparse.jacobian(lambda x: x * 2)(np.arange(3))
    with pytest.raises(ValueError, match="mode"):
        sparse.jacobian(lambda x: x, mode="sideways")(X6)
    with pytest.raises(TypeError, match="scalar output"):
        sparse.hessian(lambda x: x * x)(X6)
    with pytest.raises(ValueError, match="coloring"):
        sparse.hessian(lambda x: jnp.sum(x), coloring="rainbow")(X6)


def test_inside_jit_and_grad():
    f = lambda x: jnp.sin(x) * jnp.roll(x, 1)  # noqa: E731

    def g(x):
        rows, cols, values = sparse.jacobian(f, format="triplets")(x)
        return jnp.sum(values * values)

    want = np.sum(dense_jacobian(f, X6) ** 2)
    np.testing.assert_allclose(g(X6), want)
    np.testing.assert_allclose(jaxlike.jit(g)(X6), want)
    h = 1e-6
    fd = (g(X6 + h * np.eye(6)[2]) - g(X6 - h * np.eye(6)[2])) / (2 * h)
    np.testing.assert_allclose(jaxlike.grad(g)(X6)[2], fd, rtol=1e-6)
    with pytest.raises(TypeError, match="triplets"):
        jaxlike.jit(lambda x: sparse.jacobian(f)(x))(X6)


def test_compiled_matches_interpreter():
    pytest.importorskip("llvmlite")
    f = lambda x: jnp.exp(x[1:]) * x[:-1] - jnp.roll(x, 2)[1:] ** 2  # noqa: E731
    for mode in ("fwd", "rev"):
        got = sparse.jacobian(f, mode=mode, compiled=True, format="triplets")(X12)
        want = sparse.jacobian(f, mode=mode, format="triplets")(X12)
        np.testing.assert_allclose(got[2], want[2], rtol=1e-13)


# Colourings


def random_pattern(rng, m, n, density):
    dense = rng.uniform(size=(m, n)) < density
    return np.nonzero(dense)


@pytest.mark.parametrize("seed", range(6))
def test_column_and_row_colourings_are_valid(seed):
    rng = np.random.default_rng(seed)
    rows, cols = random_pattern(rng, 40, 30, 0.1)
    for ordering in coloring.ORDERINGS + ("best",):
        colors = coloring.color_columns(rows, cols, (40, 30), ordering)
        assert coloring.is_column_coloring(rows, cols, colors)
        row_colors = coloring.color_rows(rows, cols, (40, 30), ordering)
        assert coloring.is_column_coloring(cols, rows, row_colors)


def test_colouring_quality_on_stencils():
    # the 5-point Laplacian needs 5 colours on any grid ((i + 2j) mod 5); the greedy strategies find them
    n = 12
    ids = np.arange(n * n).reshape(n, n)
    rows, cols = [], []
    for di, dj in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        ok = (0 <= i + di) & (i + di < n) & (0 <= j + dj) & (j + dj < n)
        rows.append(ids[i[ok], j[ok]])
        cols.append(ids[(i + di)[ok], (j + dj)[ok]])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    assert coloring.num_colors(coloring.color_columns(rows, cols, (n * n, n * n))) == 5
    # a tridiagonal matrix: 3 colours; its star colouring: 3 as well (a path needs 3)
    r = np.concatenate([np.arange(10), np.arange(9), np.arange(1, 10)])
    c = np.concatenate([np.arange(10), np.arange(1, 10), np.arange(9)])
    assert coloring.num_colors(coloring.color_columns(r, c, (10, 10))) == 3
    assert coloring.num_colors(coloring.color_star(r, c, 10)) == 3


def _bicoloured_p4(adjacency, colors):
    """A path a-b-c-d on two colours, if any (brute force)."""
    n = len(adjacency)
    for b in range(n):
        for c in adjacency[b]:
            for a in adjacency[b]:
                if a == c or colors[a] != colors[c]:
                    continue
                for d in adjacency[c]:
                    if d not in (a, b) and colors[d] == colors[b]:
                        return a, b, c, d
    return None


@pytest.mark.parametrize("seed", range(8))
def test_star_colouring(seed):
    rng = np.random.default_rng(seed)
    n = 30
    upper = np.triu(rng.uniform(size=(n, n)) < 0.12, 1)
    sym = upper | upper.T | np.eye(n, dtype=bool)
    rows, cols = np.nonzero(sym)
    colors = coloring.color_star(rows, cols, n)
    adjacency = [set(np.flatnonzero(sym[i])) - {i} for i in range(n)]
    assert all(colors[i] != colors[j] for i in range(n) for j in adjacency[i])
    assert _bicoloured_p4(adjacency, colors) is None
    # direct recovery of every entry of a symmetric H from B = H S
    H = np.where(sym, rng.uniform(1, 2, (n, n)), 0.0)
    H = H + H.T
    S = np.zeros((n, coloring.num_colors(colors)))
    S[np.arange(n), colors] = 1
    B = H @ S
    src_row, src_color = coloring.star_sources(rows, cols, colors)
    np.testing.assert_allclose(B[src_row, src_color], H[rows, cols])
    assert coloring.num_colors(colors) <= coloring.num_colors(coloring.color_columns(rows, cols, (n, n)))


# Hessians


def chained_rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def banded_energy(x):
    return jnp.sum(jnp.sin(x) * jnp.roll(x, 2) ** 2) + jnp.sum(jnp.exp(x[::3]))


@pytest.mark.parametrize("f", [chained_rosenbrock, banded_energy])
@pytest.mark.parametrize("kind", ["star", "column"])
def test_hessian(f, kind):
    want = np.asarray(jaxlike.hessian(f)(X12))
    H = sparse.hessian(f, coloring=kind)(X12)
    np.testing.assert_allclose(H.toarray(), want, rtol=1e-10, atol=1e-10)
    info = sparse.sparsity_pattern(f, hessian=True, coloring=kind)(X12)
    assert info.mode == kind
    assert np.array_equal(info.to_dense(), info.to_dense().T)
    assert not ((want != 0) & ~info.to_dense()).any()


def test_star_needs_fewer_colours_than_columns_on_an_arrow():
    def arrow(x):  # x[0] meets everyone: column colouring needs n colours, star colouring 2
        return jnp.sum(x[0] * x[1:] ** 2) + jnp.sum(x ** 4)

    x = X12
    star = sparse.sparsity_pattern(arrow, hessian=True)(x)
    column = sparse.sparsity_pattern(arrow, hessian=True, coloring="column")(x)
    assert star.n_colors == 2 and column.n_colors == 12
    np.testing.assert_allclose(sparse.hessian(arrow)(x).toarray(), np.asarray(jaxlike.hessian(arrow)(x)),
                               rtol=1e-12)


# Inspection and the picture


def test_sparsity_pattern_is_printable(tmp_path):
    f = lambda x: jnp.sin(x[1:]) * x[:-1]  # noqa: E731
    info = sparse.sparsity_pattern(f)(X12)
    text = str(info)
    assert "11 x 12" in text and "22 non-zeros" in text and "colours" in text
    assert info.mode in ("fwd", "rev") and info.n_colors == 2
    assert repr(info).startswith("SparsityInfo(jacobian 11x12")
    svg = info.spy(tmp_path / "p.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(root.findall("{http://www.w3.org/2000/svg}path")) == 2
    png = info.spy(tmp_path / "p.png")
    with open(png, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    sparse.sparsity_pattern(chained_rosenbrock, hessian=True)(X12).spy(tmp_path / "h.svg")


def test_conservative_primitives_are_reported():
    f = lambda x: lax.while_loop(lambda c: c[0] < 3.0, lambda c: c * 1.5, x)  # noqa: E731
    info = sparse.sparsity_pattern(f)(X6)
    assert info.nnz == 6  # the loop body is elementwise: the fixed point keeps the diagonal
    assert info.conservative == []
    double = jaxlike.custom_jvp(lambda a: a * 2.0)
    double.defjvp(lambda primals, tangents: (primals[0] * 2.0, tangents[0] * 2.0))
    info = sparse.sparsity_pattern(double)(X6)
    assert info.nnz == 36 and info.conservative == ["custom_jvp_call"]
    assert "conservative" in str(info)
    np.testing.assert_allclose(sparse.jacobian(double)(X6).toarray(), 2.0 * np.eye(6))


# The P4 problem and the examples


def test_brusselator_pattern_is_fast_and_exact():
    bruss = _load(EXAMPLES, "brusselator_bdf")
    rhs = bruss.make_rhs(32)
    y = bruss.initial_state(32)
    traced = trace_fn(rhs, (0.0, y), name="p4", abstract=True)
    start = time.perf_counter()
    rows, cols = jacobian_sparsity(traced.graph, [False, True])
    assert time.perf_counter() - start < 1.0
    assert len(rows) == 12288
    info = sparse.sparsity_pattern(rhs, argnums=1)(0.0, y)
    assert info.n_colors <= 11
    small = bruss.make_rhs(6)
    y6 = bruss.initial_state(6)
    want = dense_jacobian(small, 1.5, y6, argnums=1)
    np.testing.assert_allclose(sparse.jacobian(small, argnums=1)(1.5, y6).toarray(), want, rtol=1e-12)


def test_brusselator_bdf_example():
    bruss = _load(EXAMPLES, "brusselator_bdf")
    result = bruss.main(n=8, t_end=1.5, verbose=False)
    assert result["success"] and result["states"] == 128 and result["nnz"] == 768
    assert result["njev"] >= 1
    from scipy.integrate import solve_ivp
    reference = solve_ivp(jaxlike.jit(bruss.make_rhs(8)), (0.0, 1.5), bruss.initial_state(8), method="BDF",
                          rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(result["y_end"], reference.y[:, -1], rtol=1e-4, atol=1e-5)


def test_least_squares_example():
    lsq = _load(EXAMPLES, "least_squares_sparse")
    result = lsq.main(n=15, lam=1.0, verbose=False)
    assert result["success"] and result["cost"] < 1e-20
    assert result["nnz"] == 5 * 15 * 15 - 4 * 15 and result["colors"] == 5
    assert abs(result["u_max"] - 0.078) < 0.002  # the Bratu solution for λ = 1: max u ≈ 0.0781


def test_benchmark_problem_agrees_with_the_reference():
    bench = _load(BENCH, "p4_brusselator")
    problem = bench.p4(n=8)
    for p in problem:
        reference = p["numpy"](*p["args"])
        got = p["jaxlike"]()(*p["args"])
        got = got.toarray() if hasattr(got, "toarray") else np.asarray(got)
        want = reference.toarray() if hasattr(reference, "toarray") else np.asarray(reference)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-8)


def test_docs_python_blocks_run(tmp_path, monkeypatch):
    docs = os.path.join(HERE, "..", "docs", "sparse.md")
    with open(docs) as fh:
        text = fh.read()
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    assert blocks
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(EXAMPLES)
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/sparse.md", "exec"), namespace)  # noqa: S102


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


@pytest.mark.parametrize("size", [0, 1, 7, 500])
def test_unique_ints_is_numpys_unique(size):
    keys = np.random.default_rng(size).integers(-5, 40, size=size)
    np.testing.assert_array_equal(coloring.unique_ints(keys), np.unique(keys))
    got, counts = coloring.unique_ints(keys, return_counts=True)
    want, want_counts = np.unique(keys, return_counts=True)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(counts, want_counts)


def test_a_pattern_analysis_does_not_import_numpy_ma():
    # NumPy 2's np.unique imports numpy.ma on first use: 25 ms of a first jacrev in a fresh process
    import subprocess
    code = ("import sys, numpy as np, jaxlike, jaxlike.numpy as jnp;"
            "f = jaxlike.jacrev(lambda x: jnp.tanh(jnp.ones((40, 30)) @ x));"
            "assert f(np.ones(30)).shape == (40, 30);"
            "print('numpy.ma' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
