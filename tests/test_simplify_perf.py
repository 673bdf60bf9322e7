"""The optimised graphs of the benchmark Jacobians, golden-tested; one golden per structural row.

The Jacobian of an elementwise function is "compute the diagonal, place it on the diagonal": a vector of
derivatives and one select on the identity's mask, whatever the mode (forward or reverse). A contraction
with the identity is what it selects (the MLP's Jacobian is two matrix products), and a batched Jacobian is
one matrix product. The text is the interface: a change in what the rows do shows up as a diff here.
"""

import textwrap

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike.ir.interpret import eval_graph
from jaxlike.ir.parse import parse_graph
from jaxlike.ir.simplify import simplify
from jaxlike.ir.verify import verify


def golden(text):
    return textwrap.dedent(text).strip()


def simplified(text):
    graph = verify(parse_graph(golden(text)))
    out = verify(simplify(graph))
    assert out.in_avals == graph.in_avals and out.out_avals == graph.out_avals
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(a.shape).astype(a.dtype) for a in graph.in_avals]
    for got, want in zip(eval_graph(out, *args), eval_graph(graph, *args), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    return str(out)


def p2(x):  # bench P2
    return jnp.sin(x) * jnp.exp(-x * x) + x ** 3


# --------------------------------------------------------------------------------------------------
# The benchmark graphs


def test_p2_jacfwd_is_the_diagonal_placed_on_the_diagonal():
    x = np.linspace(-2.0, 2.0, 1000)
    f = jaxlike.jit(jaxlike.jacfwd(p2))
    assert f.lower(x).as_text() == golden("""
        { lambda ; a:f64[1000]. let
            b:f64[1000] = sin a
            c:f64[1000] = cos a
            d:f64[1000] = neg a
            e:f64[1000] = mul d a
            f:f64[1000] = exp e
            g:f64[1000] = integer_pow[y=2] a
            h:f64[1000] = mul 3.0 g
            i:i32[1000,1000] = iota[dimension=0, dtype=i32, shape=(1000, 1000)]
            j:i32[1000,1000] = iota[dimension=1, dtype=i32, shape=(1000, 1000)]
            k:bool[1000,1000] = eq i j
            l:f64[1000] = add d d
            m:f64[1000] = mul l f
            n:f64[1000] = mul c f
            o:f64[1000] = mul b m
            p:f64[1000] = add n o
            q:f64[1000] = add p h
            r:f64[1000,1000] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(1000, 1000)] q
            s:f64[1000,1000] = select k r 0.0
          in (s,) }""")
    d = np.cos(x) * np.exp(-x * x) - 2 * x * np.sin(x) * np.exp(-x * x) + 3 * x * x
    np.testing.assert_allclose(f(x), np.diag(d), rtol=1e-13, atol=1e-13)


def test_p2_jacrev_is_the_diagonal_placed_on_the_diagonal():
    x = np.linspace(-2.0, 2.0, 1000)
    f = jaxlike.jit(jaxlike.jacrev(p2))
    assert f.lower(x).as_text() == golden("""
        { lambda ; a:f64[1000]. let
            b:f64[1000] = sin a
            c:f64[1000] = cos a
            d:f64[1000] = neg a
            e:f64[1000] = mul d a
            f:f64[1000] = exp e
            g:f64[1000] = mul b f
            h:f64[1000] = integer_pow[y=2] a
            i:f64[1000] = mul 3.0 h
            j:i32[1000,1000] = iota[dimension=0, dtype=i32, shape=(1000, 1000)]
            k:i32[1000,1000] = iota[dimension=1, dtype=i32, shape=(1000, 1000)]
            l:bool[1000,1000] = eq j k
            m:f64[1000] = mul d g
            n:f64[1000] = add i m
            o:f64[1000] = mul g a
            p:f64[1000] = neg o
            q:f64[1000] = add n p
            r:f64[1000] = mul f c
            s:f64[1000] = add q r
            t:f64[1000,1000] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(1000, 1000)] s
            u:f64[1000,1000] = select l t 0.0
          in (u,) }""")
    np.testing.assert_allclose(f(x), jaxlike.jacfwd(p2)(x), rtol=1e-13, atol=1e-13)


def _mlp():
    rng = np.random.default_rng(0)
    w1, b1, w2 = rng.normal(size=(256, 64)) / 8, rng.normal(size=256), rng.normal(size=(32, 256)) / 16
    return lambda x: w2 @ jnp.tanh(w1 @ x + b1)


def test_mlp_jacobian_is_two_matrix_products_in_either_mode():
    mlp, x = _mlp(), np.linspace(-1.0, 1.0, 64)
    assert jaxlike.jit(jaxlike.jacrev(mlp)).lower(x).as_text() == golden("""
        { lambda a:f64[256,64] b:f64[256] c:f64[32,256] ; d:f64[64]. let
            e:f64[256] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] a d
            f:f64[256] = add e b
            g:f64[256] = tanh f
            h:f64[256] = mul g g
            i:f64[256] = sub 1.0 h
            j:f64[32,256] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(32, 256)] i
            k:f64[32,256] = mul c j
            l:f64[32,64] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] k a
          in (l,) }""")
    assert jaxlike.jit(jaxlike.jacfwd(mlp)).lower(x).as_text() == golden("""
        { lambda a:f64[256,64] b:f64[256] c:f64[32,256] ; d:f64[64]. let
            e:f64[256] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] a d
            f:f64[256] = add e b
            g:f64[256] = tanh f
            h:f64[256] = mul g g
            i:f64[256] = sub 1.0 h
            j:f64[64,256] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(64, 256)] i
            k:f64[64,256] = transpose[permutation=(1, 0)] a
            l:f64[64,256] = mul k j
            m:f64[32,64] = dot_general[dimension_numbers=(((1,), (1,)), ((), ()))] c l
          in (m,) }""")
    np.testing.assert_allclose(jaxlike.jit(jaxlike.jacfwd(mlp))(x), jaxlike.jacrev(mlp)(x), rtol=1e-12)


def _ops(text):
    return [line.split("=")[1].split()[0].split("[")[0] for line in text.splitlines()[1:-1]]


@pytest.mark.parametrize("batch", [8, 128])
def test_batched_mlp_jacobian_is_one_matrix_product(batch):
    mlp, xs = _mlp(), np.linspace(-1.0, 1.0, batch * 64).reshape(batch, 64)
    text = jaxlike.jit(jaxlike.vmap(jaxlike.jacrev(mlp))).lower(xs).as_text()
    # the weights are broadcast by equations that fuse into their consumers, never batch-sized constants
    assert text.startswith("{ lambda a:f64[256,64] b:f64[256] c:f64[32,256] ;")
    head = ["dot_general", "broadcast_in_dim", "add", "tanh", "mul", "sub"]
    if batch == 8:
        # J_b = (W2 diag(s_b)) W1 with the (batch, rows) axes merged: one product of 256 x 256 by 256 x 64
        assert _ops(text) == head + ["broadcast_in_dim", "broadcast_in_dim", "mul", "reshape", "dot_general",
                                     "reshape"]
        assert "n:f64[256,256] = reshape[shape=(256, 256)] m" in text
    else:
        # more examples than W1 has columns: J_b = s_b · (W2 ⊗ W1), one product of the batch of derivatives
        # (128 x 256) with a 256 x 2048 weight, and the batch of scaled weight matrices is never made
        assert _ops(text) == head + ["transpose", "broadcast_in_dim", "broadcast_in_dim", "mul", "reshape",
                                     "dot_general", "reshape"]
        assert "p:f64[128,2048] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] j o" in text
        assert "f64[128,32,256]" not in text
    np.testing.assert_allclose(jaxlike.jit(jaxlike.vmap(jaxlike.jacrev(mlp)))(xs),
                               np.stack([jaxlike.jacrev(mlp)(x) for x in xs]), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("case", ["rows-batch-k", "batch-rows-k", "two-contractions", "rhs-transposed"])
def test_products_of_scaled_rows_multiply_the_weight_first(case):
    # lhs = w[i, c] * s[b, c] (an outer product in the free axes) contracted with y[c, k], with more batch
    # rows b than columns k: the same numbers as the product as written, and no lhs-sized array
    rng = np.random.default_rng(3)
    w, y, s = rng.normal(size=(16, 40)), rng.normal(size=(40, 3)), rng.normal(size=(50, 40))
    spec, wb, sb = {"rows-batch-k": ("ibc,ck->ibk", w[:, None, :], s[None, :, :]),
                    "batch-rows-k": ("bic,ck->bik", w[None, :, :], s[:, None, :]),
                    "rhs-transposed": ("bic,kc->bik", w[None, :, :], s[:, None, :])}.get(case, (None,) * 3)
    if case == "rhs-transposed":
        y = y.T.copy()
    if case == "two-contractions":
        w, y, s = rng.normal(size=(16, 2, 20)), rng.normal(size=(2, 20, 3)), rng.normal(size=(50, 2, 20))
        spec, wb, sb = "bide,dek->bik", w[None], s[:, None]

    def fun(s):
        w_part = jnp.broadcast_to(w.reshape(wb.shape), np.broadcast_shapes(wb.shape, sb.shape))
        return jnp.einsum(spec, w_part * s.reshape(sb.shape), y)

    text = jaxlike.jit(fun).lower(s).as_text()
    lhs_shape = ",".join(map(str, np.broadcast_shapes(wb.shape, sb.shape)))
    assert f"f64[{lhs_shape}]" not in text, text
    np.testing.assert_allclose(jaxlike.jit(fun)(s), np.einsum(spec, wb * sb, y), rtol=1e-12, atol=1e-12)


def test_logistic_regression_hessian_scales_its_operand_once():  # bench P5: y·B(a)·B(b) … → y·B(a·b …)
    rng = np.random.default_rng(1)
    X, y, w = rng.normal(size=(20, 5)), (rng.random(20) < 0.5).astype(float), rng.normal(size=5) * 0.1

    def loss(w):
        z = X @ w
        return jnp.sum(jnp.logaddexp(0.0, z) - y * z)
    hess = jaxlike.jit(jaxlike.hessian(loss))
    assert hess.lower(w).as_text() == golden("""
        { lambda a:f64[20,5] b:f64[20] c:f64[5,20] ; d:f64[5]. let
            e:f64[20] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] a d
            f:f64[20] = neg e
            g:bool[20] = ne f f
            h:f64[20] = abs f
            i:f64[20] = sign f
            j:f64[20] = neg h
            k:f64[20] = exp j
            l:f64[20] = add 1.0 k
            m:f64[20] = select g 0.0 b
            n:f64[20] = div m l
            o:f64[20] = mul l l
            p:f64[20] = neg i
            q:f64[20] = mul p k
            r:f64[20] = neg q
            s:f64[20] = mul r m
            t:f64[20] = div s o
            u:f64[20] = mul t k
            v:f64[20] = mul q n
            w:f64[20] = add u v
            x:f64[20] = neg w
            y:f64[20] = mul x i
            z:f64[20] = neg y
            aa:f64[5,20] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(5, 20)] z
            ab:f64[5,20] = mul c aa
            ac:f64[5,5] = dot_general[dimension_numbers=(((0,), (1,)), ((), ()))] a ab
          in (ac,) }""")
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    np.testing.assert_allclose(hess(w), (X.T * (p * (1.0 - p))) @ X, rtol=1e-13, atol=1e-15)


def test_hessian_of_a_sum_of_a_matrix_product_reads_no_identity():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 5))
    text = jaxlike.jit(jaxlike.hessian(lambda w: jnp.sum(jnp.tanh(X @ w)))).lower(np.ones(5)).as_text()
    assert "iota" not in text and "select" not in text
    assert text.count("dot_general") == 2  # X @ w, and Xᵀ diag(·) X


# --------------------------------------------------------------------------------------------------
# Structural zeros: exact zeros off the diagonal, a user's zero keeps NumPy's NaN


def test_off_diagonal_entries_are_exact_zeros_even_where_the_derivative_is_inf():
    x = np.array([0.0, 1.0, 4.0])
    for transform in (jaxlike.jacfwd, jaxlike.jacrev):
        for jac in (transform(jnp.sqrt)(x), jaxlike.jit(transform(jnp.sqrt))(x)):
            np.testing.assert_array_equal(jac, np.diag([np.inf, 0.5, 0.25]))


def test_a_users_zero_times_inf_is_still_nan():
    mask = np.array([True, False, True])
    f = jaxlike.jit(lambda x: jnp.where(mask, x, 0.0) * np.inf)
    with np.errstate(invalid="ignore"):
        want = np.where(mask, 1.0, 0.0) * np.inf
    np.testing.assert_array_equal(f(np.ones(3)), want)


# --------------------------------------------------------------------------------------------------
# One golden per row of ir/simplify_structure.py


def test_elementwise_of_broadcasts():  # f(bcast(x), bcast(y)) → bcast(f(x, y))
    assert simplified("""
        { lambda ; a:f64[3] b:f64[3]. let
            c:f64[4,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(4, 3)] a
            d:f64[4,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(4, 3)] b
            e:f64[4,3] = mul c d
            f:f64[4,3] = sin e
          in (f,) }""") == golden("""
        { lambda ; a:f64[3] b:f64[3]. let
            c:f64[3] = mul a b
            d:f64[3] = sin c
            e:f64[4,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(4, 3)] d
          in (e,) }""")


def test_sum_of_a_broadcast():  # Σ over broadcast axes → n · x; over x's own axes → Σ x
    assert simplified("""
        { lambda ; a:f64[3]. let
            b:f64[4,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(4, 3)] a
            c:f64[3] = reduce_sum[axes=(0,)] b
            d:f64[] = reduce_sum[axes=(0, 1)] b
          in (c, d) }""") == golden("""
        { lambda ; a:f64[3]. let
            b:f64[3] = mul a 4.0
            c:f64[] = reduce_sum[axes=(0,)] a
            d:f64[] = mul c 4.0
          in (b, d) }""")


def test_masked_arithmetic_and_transpose():  # M(P, X)·Y → M(P, X·Y), M(P, X) ± M(P, Y) → M(P, X ± Y),
    # -M(P, X) → M(P, -X), T(M(P, X)) → M(T(P), T(X)), read along the inner axis
    assert simplified("""
        { lambda ; a:f64[3] b:f64[3]. let
            c:i32[3,3] = iota[dimension=0, dtype=i32, shape=(3, 3)]
            d:i32[3,3] = iota[dimension=1, dtype=i32, shape=(3, 3)]
            e:bool[3,3] = eq c d
            f:f64[3,3] = select e 1.0 0.0
            g:f64[3,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(3, 3)] a
            h:f64[3,3] = mul f g
            i:f64[3,3] = neg f
            j:f64[3,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(3, 3)] b
            k:f64[3,3] = mul i j
            l:f64[3,3] = add h k
            m:f64[3,3] = transpose[permutation=(1, 0)] l
          in (m,) }""") == golden("""
        { lambda ; a:f64[3] b:f64[3]. let
            c:i32[3,3] = iota[dimension=0, dtype=i32, shape=(3, 3)]
            d:i32[3,3] = iota[dimension=1, dtype=i32, shape=(3, 3)]
            e:bool[3,3] = eq c d
            f:f64[3] = neg b
            g:f64[3] = add a f
            h:f64[3,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(3, 3)] g
            i:f64[3,3] = select e h 0.0
          in (i,) }""")


def test_sum_and_product_of_a_diagonal():  # Σ_j M(i == j, X) → X at j = i; diag(a) · B → a * B
    assert simplified("""
        { lambda ; a:f64[3] b:f64[3,5]. let
            c:i32[3,3] = iota[dimension=0, dtype=i32, shape=(3, 3)]
            d:i32[3,3] = iota[dimension=1, dtype=i32, shape=(3, 3)]
            e:bool[3,3] = eq c d
            g:f64[3,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(3, 3)] a
            h:f64[3,3] = select e g 0.0
            i:f64[3] = reduce_sum[axes=(1,)] h
            j:f64[3,5] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] h b
          in (i, j) }""") == golden("""
        { lambda ; a:f64[3] b:f64[3,5]. let
            c:f64[3,5] = broadcast_in_dim[broadcast_dimensions=(0,), shape=(3, 5)] a
            d:f64[3,5] = mul c b
          in (a, d) }""")


def test_rows_of_the_identity_times_a_matrix_are_a_slice():  # a chunk of jacrev: rows 2..5 of I · Aᵀ
    assert simplified("""
        { lambda ; a:f64[2,5]. let
            c:i32[3,5] = iota[dimension=0, dtype=i32, shape=(3, 5)]
            d:i32[3,5] = iota[dimension=1, dtype=i32, shape=(3, 5)]
            e:i32[3,5] = add c 2:i32
            f:bool[3,5] = eq e d
            g:f64[3,5] = select f 1.0 0.0
            h:f64[3,2] = dot_general[dimension_numbers=(((1,), (1,)), ((), ()))] g a
          in (h,) }""") == golden("""
        { lambda ; a:f64[2,5]. let
            b:f64[2,3] = slice[limit_indices=(2, 5), start_indices=(0, 2), strides=(1, 1)] a
            c:f64[3,2] = transpose[permutation=(1, 0)] b
          in (c,) }""")


def test_unit_axes_leave_products_transposes_and_reshapes():  # dot without its unit axes; T of unit axes
    # only → reshape; reshapes compose
    assert simplified("""
        { lambda ; a:f64[4,3] b:f64[3]. let
            c:f64[3,1] = reshape[shape=(3, 1)] b
            d:f64[4,1] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] a c
            e:f64[1,4] = transpose[permutation=(1, 0)] d
            f:f64[4] = reshape[shape=(4,)] e
          in (f,) }""") == golden("""
        { lambda ; a:f64[4,3] b:f64[3]. let
            c:f64[4] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] a b
          in (c,) }""")


def test_transpose_of_a_product_swaps_its_operands():  # (A·B)ᵀ → B·A as one dot_general
    assert simplified("""
        { lambda ; a:f64[2,4] b:f64[4,5]. let
            c:f64[2,5] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] a b
            d:f64[5,2] = transpose[permutation=(1, 0)] c
          in (d,) }""") == golden("""
        { lambda ; a:f64[2,4] b:f64[4,5]. let
            c:f64[5,2] = dot_general[dimension_numbers=(((0,), (1,)), ((), ()))] b a
          in (c,) }""")


def test_adjacent_free_axes_are_merged_into_a_matrix_product():  # (2,3,4)·(4,5) → (6,4)·(4,5)
    assert simplified("""
        { lambda ; a:f64[2,3,4] b:f64[4,5]. let
            c:f64[2,3,5] = dot_general[dimension_numbers=(((2,), (0,)), ((), ()))] a b
          in (c,) }""") == golden("""
        { lambda ; a:f64[2,3,4] b:f64[4,5]. let
            c:f64[6,4] = reshape[shape=(6, 4)] a
            d:f64[6,5] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] c b
            e:f64[2,3,5] = reshape[shape=(2, 3, 5)] d
          in (e,) }""")


def test_transpose_of_a_unit_axis_reshape():  # T(reshape(x)) → reshape(T(x)) when the reshape adds unit axes
    assert simplified("""
        { lambda ; a:f64[3,4]. let
            b:f64[3,4,1] = reshape[shape=(3, 4, 1)] a
            c:f64[4,3,1] = transpose[permutation=(1, 0, 2)] b
            d:f64[4,3] = reshape[shape=(4, 3)] c
            e:f64[3,4] = transpose[permutation=(1, 0)] d
          in (e,) }""") == golden("""
        { lambda ; a:f64[3,4]. let
          in (a,) }""")


def test_times_minus_one_is_a_negation():  # x * -1 → -x
    assert simplified("""
        { lambda ; a:f64[3]. let
            b:f64[3] = mul a -1.0
            c:f64[3] = neg a
            d:f64[3] = add b c
          in (d,) }""") == golden("""
        { lambda ; a:f64[3]. let
            b:f64[3] = neg a
            c:f64[3] = add b b
          in (c,) }""")


def test_an_iota_comparing_with_itself_is_a_constant():  # i + 1 == i + 1 → True; iotas stay symbolic
    assert simplified("""
        { lambda ; a:f64[2,3]. let
            b:i32[2,3] = iota[dimension=1, dtype=i32, shape=(2, 3)]
            c:i32[2,3] = add b 1:i32
            d:i32[2,3] = add b 1:i32
            e:bool[2,3] = eq c d
            f:f64[2,3] = select e a 0.0
          in (f,) }""") == golden("""
        { lambda ; a:f64[2,3]. let
          in (a,) }""")


@pytest.mark.parametrize("n", [1, 2, 7])
def test_jacobians_of_elementwise_functions_of_any_size(n):
    x = np.linspace(0.5, 1.5, n)
    for transform in (jaxlike.jacfwd, jaxlike.jacrev):
        jac = jaxlike.jit(transform(p2))(x)
        np.testing.assert_allclose(jac, np.diag(np.diag(jaxlike.jacfwd(p2)(x))), rtol=1e-13, atol=1e-14)
