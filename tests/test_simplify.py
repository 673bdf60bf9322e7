"""What simplification buys, one golden text per rewrite; and ``verify`` after every pass.

Each golden test parses a small graph, simplifies it and compares the printed result: the text is the
interface, so a change in what simplify does shows up as a diff here.
"""

import textwrap

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike import lax
from jaxlike.ir.batching import batch_graph
from jaxlike.ir.builder import trace_graph
from jaxlike.ir.dce import dce
from jaxlike.ir.interpret import eval_graph
from jaxlike.ir.jvp import jvp_graph
from jaxlike.ir.parse import parse_graph
from jaxlike.ir.partial_eval import partial_eval
from jaxlike.ir.prims.custom import has_custom, inline_custom
from jaxlike.ir.simplify import simplify
from jaxlike.ir.transpose import transpose_graph
from jaxlike.ir.verify import verify


def simplified(text, consts=None):
    graph = verify(parse_graph(textwrap.dedent(text).strip(), consts))
    out = verify(simplify(graph))
    assert out.in_avals == graph.in_avals and out.out_avals == graph.out_avals
    return str(out)


def golden(text):
    return textwrap.dedent(text).strip()


# --------------------------------------------------------------------------------------------------
# The headline: the gradient of sum(sin(x) * y) is cos(x) * y and nothing more


def test_gradient_is_cos_x_times_y_and_nothing_more():
    x, y = np.ones(3), np.ones(3)
    graph = jaxlike.make_ir(jaxlike.grad(lambda x, y: jnp.sum(jnp.sin(x) * y)))(x, y)
    assert str(graph) == golden("""
        { lambda ; a:f64[3] b:f64[3]. let
            c:f64[3] = cos a
            d:f64[3] = mul b c
          in (d,) }""")


def test_what_the_passes_leave_before_simplification():
    # grad by hand: jvp, partial evaluation, transpose, then the known part and the transpose run on a
    # cotangent of 1. Symbolic zeros keep the passes lean; what is left for simplify is the primal output
    # nobody reads (sin, the sum) and the cotangent 1, broadcast to a constant and multiplied in.
    x, y = np.ones(3), np.ones(3)
    graph = jaxlike.make_ir(lambda x, y: jnp.sum(jnp.sin(x) * y))(x, y)
    jg = verify(jvp_graph(graph, [True, False]))
    known, linear, nres = partial_eval(jg, [False, False, True], [False, True])
    transposed = verify(transpose_graph(verify(linear), [False] * nres + [True]))

    def grad_fn(x, y):
        out_and_residuals = eval_graph(verify(known), x, y)
        return eval_graph(transposed, *out_and_residuals[1:], np.ones(()))

    raw, _ = trace_graph(grad_fn, graph.in_avals)
    assert str(raw) == golden("""
        { lambda a:f64[3] ; b:f64[3] c:f64[3]. let
            d:f64[3] = sin b
            e:f64[3] = cos b
            f:f64[3] = mul d c
            g:f64[] = reduce_sum[axes=(0,)] f
            h:f64[3] = mul a c
            i:f64[3] = mul h e
          in (i,) }""")
    np.testing.assert_array_equal(list(raw.consts.values())[0], np.ones(3))  # the cotangent 1, broadcast
    assert str(verify(simplify(raw))) == golden("""
        { lambda ; a:f64[3] b:f64[3]. let
            c:f64[3] = cos a
            d:f64[3] = mul b c
          in (d,) }""")


# --------------------------------------------------------------------------------------------------
# One golden per rewrite row


def test_mul_one():  # x*1 → x, 1*x → x
    assert simplified("""
        { lambda ; a:f64[3]. let
            b:f64[3] = mul a 1.0
            c:f64[3] = mul 1.0 b
          in (c,) }""") == golden("""
        { lambda ; a:f64[3]. let
          in (a,) }""")


def test_add_and_sub_zero():  # x+0 → x, 0+x → x, x-0 → x, 0-x → -x
    assert simplified("""
        { lambda ; a:f64[3] b:f64[]. let
            c:f64[3] = add a 0.0
            d:f64[3] = add 0.0 c
            e:f64[] = sub b 0.0
            f:f64[] = sub 0.0 e
          in (d, f) }""") == golden("""
        { lambda ; a:f64[3] b:f64[]. let
            c:f64[] = neg b
          in (a, c) }""")


def test_neg_neg():  # --x → x
    assert simplified("""
        { lambda ; a:f64[3]. let
            b:f64[3] = neg a
            c:f64[3] = neg b
          in (c,) }""") == golden("""
        { lambda ; a:f64[3]. let
          in (a,) }""")


def test_constant_folding():
    assert simplified("""
        { lambda ; a:f64[]. let
            b:f64[] = mul 2.0 3.0
            c:f64[] = sin 0.0
            d:f64[] = add b c
            e:f64[] = mul a d
          in (e,) }""") == golden("""
        { lambda ; a:f64[]. let
            b:f64[] = mul a 6.0
          in (b,) }""")


def test_constant_folding_of_array_constants():
    text = """
        { lambda a:f64[3] ; b:f64[3]. let
            c:f64[3] = mul a a
            d:f64[3] = add b c
          in (d,) }"""
    graph = simplify(parse_graph(golden(text), [np.array([1.0, 2.0, 3.0])]))
    assert str(graph) == golden("""
        { lambda a:f64[3] ; b:f64[3]. let
            c:f64[3] = add b a
          in (c,) }""")
    np.testing.assert_array_equal(list(graph.consts.values())[0], [1.0, 4.0, 9.0])


def test_broadcast_of_a_broadcast():  # bcast(bcast(x)) → bcast(x)
    assert simplified("""
        { lambda ; a:f64[3]. let
            b:f64[2,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(2, 3)] a
            c:f64[4,2,3] = broadcast_in_dim[broadcast_dimensions=(1, 2), shape=(4, 2, 3)] b
          in (c,) }""") == golden("""
        { lambda ; a:f64[3]. let
            b:f64[4,2,3] = broadcast_in_dim[broadcast_dimensions=(2,), shape=(4, 2, 3)] a
          in (b,) }""")


def test_factors_of_a_scaled_value_meet_on_their_own_shape():  # y·B(a) op B(b) → y·B(a op b), -(y·B(a))
    # → y·B(-a), y·B(a) ± y·B(b) → y·B(a ± b): the large shape is multiplied once
    text = """
        { lambda ; a:f64[2,3] b:f64[3] c:f64[3]. let
            d:f64[2,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(2, 3)] b
            e:f64[2,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(2, 3)] c
            f:f64[2,3] = mul a d
            g:f64[2,3] = neg f
            h:f64[2,3] = mul e g
            i:f64[2,3] = div h d
            j:f64[2,3] = add f i
            k:f64[2,3] = sub j f
          in (k,) }"""
    assert simplified(text) == golden("""
        { lambda ; a:f64[2,3] b:f64[3] c:f64[3]. let
            d:f64[3] = neg b
            e:f64[3] = mul d c
            f:f64[3] = div e b
            g:f64[3] = add b f
            h:f64[3] = sub g b
            i:f64[2,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(2, 3)] h
            j:f64[2,3] = mul a i
          in (j,) }""")
    graph = parse_graph(golden(text))
    rng = np.random.default_rng(0)
    args = [rng.normal(size=(2, 3)), rng.uniform(1, 2, size=3), rng.normal(size=3)]
    np.testing.assert_allclose(eval_graph(simplify(graph), *args)[0], eval_graph(graph, *args)[0], rtol=1e-14)


def test_factors_along_other_axes_stay_apart():  # y·B(a along 1)·B(c along 0): an outer product a·c
    # would be as large as y, so nothing is gathered
    text = """
        { lambda ; a:f64[2,3] b:f64[3] c:f64[2]. let
            d:f64[2,3] = broadcast_in_dim[broadcast_dimensions=(1,), shape=(2, 3)] b
            e:f64[2,3] = broadcast_in_dim[broadcast_dimensions=(0,), shape=(2, 3)] c
            f:f64[2,3] = mul a d
            g:f64[2,3] = mul f e
            h:f64[2,3] = add g f
          in (h,) }"""
    assert simplified(text) == golden(text)


def test_transpose_of_a_transpose():  # T(T(x)) → one transpose, or x when they cancel
    assert simplified("""
        { lambda ; a:f64[2,3,4]. let
            b:f64[3,4,2] = transpose[permutation=(1, 2, 0)] a
            c:f64[4,2,3] = transpose[permutation=(1, 2, 0)] b
            d:f64[2,3,4] = transpose[permutation=(1, 2, 0)] c
            e:f64[4,3,2] = transpose[permutation=(2, 1, 0)] a
            f:f64[3,4,2] = transpose[permutation=(1, 0, 2)] e
          in (d, f) }""") == golden("""
        { lambda ; a:f64[2,3,4]. let
            b:f64[3,4,2] = transpose[permutation=(1, 2, 0)] a
          in (a, b) }""")


def test_reshape_of_a_reshape_and_identities():  # reshape(reshape(x)) → reshape(x); x/1, convert to own dtype
    assert simplified("""
        { lambda ; a:f64[6]. let
            b:f64[2,3] = reshape[shape=(2, 3)] a
            c:f64[3,2] = reshape[shape=(3, 2)] b
            d:f64[3,2] = div c 1.0
            e:f64[3,2] = convert[dtype=f64] d
            f:f64[6] = reshape[shape=(6,)] e
          in (e, f) }""") == golden("""
        { lambda ; a:f64[6]. let
            b:f64[3,2] = reshape[shape=(3, 2)] a
          in (b, a) }""")


def test_zeros_through_linear_ops():  # L(0) → 0 for transpose, reshape, reduce_sum, dot, neg
    assert simplified("""
        { lambda ; a:f64[] b:f64[4,5]. let
            c:f64[3,4] = broadcast_in_dim[broadcast_dimensions=(), shape=(3, 4)] 0.0
            d:f64[4,3] = transpose[permutation=(1, 0)] c
            e:f64[12] = reshape[shape=(12,)] d
            f:f64[] = reduce_sum[axes=(0,)] e
            g:f64[] = add a f
            h:f64[3,5] = dot_general[dimension_numbers=(((1,), (0,)), ((), ()))] c b
            i:f64[3,5] = neg h
          in (g, i) }""") == golden("""
        { lambda ; a:f64[] b:f64[4,5]. let
            c:f64[3,5] = broadcast_in_dim[broadcast_dimensions=(), shape=(3, 5)] 0.0
          in (a, c) }""")


def test_structural_zero_times_x_but_not_a_users_zero():  # x * bcast(0) → 0; x * 0.0 stays (0 * inf)
    assert simplified("""
        { lambda ; a:f64[3] b:f64[3]. let
            c:f64[3] = broadcast_in_dim[broadcast_dimensions=(), shape=(3,)] 0.0
            d:f64[3] = mul a c
            e:f64[3] = add d b
            f:f64[3] = mul a b
            g:f64[3] = mul f 0.0
          in (e, g) }""") == golden("""
        { lambda ; a:f64[3] b:f64[3]. let
            c:f64[3] = mul a b
            d:f64[3] = mul c 0.0
          in (b, d) }""")


def test_scalar_operands_and_fills():  # x * bcast(2) → x * 2; bcast(2) * bcast(3) → a fill of 6
    text = simplified("""
        { lambda ; a:f64[3]. let
            b:f64[3] = broadcast_in_dim[broadcast_dimensions=(), shape=(3,)] 2.0
            c:f64[3] = mul a b
            d:f64[3] = broadcast_in_dim[broadcast_dimensions=(), shape=(3,)] 3.0
            e:f64[3] = mul b d
            f:f64[3] = sin b
            g:f64[3] = mul f a
          in (c, e, g) }""")
    assert text == golden("""
        { lambda a:f64[3] ; b:f64[3]. let
            c:f64[3] = mul b 2.0
            d:f64[3] = mul 0.9092974268256817 b
          in (c, a, d) }""")


def test_cse():  # identical equations are emitted once
    assert simplified("""
        { lambda ; a:f64[3]. let
            b:f64[3] = sin a
            c:f64[3] = sin a
            d:f64[3] = mul b c
            e:f64[3] = mul b c
            f:f64[3] = add d e
          in (f,) }""") == golden("""
        { lambda ; a:f64[3]. let
            b:f64[3] = sin a
            c:f64[3] = mul b b
            d:f64[3] = add c c
          in (d,) }""")


def test_dce():  # unused equations go
    assert simplified("""
        { lambda ; a:f64[3]. let
            b:f64[3] = sin a
            c:f64[3] = cos a
            d:f64[3] = exp c
          in (b,) }""") == golden("""
        { lambda ; a:f64[3]. let
            b:f64[3] = sin a
          in (b,) }""")


def test_select_with_a_known_predicate_or_equal_branches():  # select(True, a, b) → a; select(p, a, a) → a
    assert simplified("""
        { lambda ; a:f64[3] b:f64[3]. let
            c:f64[3] = select True a b
            d:bool[3] = lt a b
            e:f64[3] = select d c c
          in (e,) }""") == golden("""
        { lambda ; a:f64[3] b:f64[3]. let
          in (a,) }""")


def test_simplify_is_idempotent_on_the_goldens():
    graph = jaxlike.make_ir(jaxlike.hessian(lambda x: jnp.sum(jnp.sin(x) * x)))(np.ones(3))
    once = simplify(graph)
    assert str(simplify(once)) == str(once)


def test_jacobian_zeros_are_simplified_away():
    # f(x, y) = (sin x, y): the Jacobian blocks d sin x / dy and d y / dx are zeros, with no work for them
    graph = jaxlike.make_ir(jaxlike.jacfwd(lambda x, y: (jnp.sin(x), y * 1.0), argnums=(0, 1)))(
        np.ones(2), np.ones(2))
    graph = verify(simplify(graph))
    names = [e.prim.name for e in graph.eqns]
    assert names.count("cos") == 1 and "sin" not in names, names
    values = jaxlike.jacfwd(lambda x, y: (jnp.sin(x), y * 1.0), argnums=(0, 1))(np.ones(2), np.ones(2))
    np.testing.assert_array_equal(values[0][1], np.zeros((2, 2)))
    np.testing.assert_array_equal(values[1][0], np.zeros((2, 2)))


# --------------------------------------------------------------------------------------------------
# verify passes after every pass, on a set of traced graphs


@jaxlike.custom_jvp
def _softplus(x):
    return jnp.log(1.0 + jnp.exp(x))


_softplus.defjvp(lambda p, t: (_softplus(p[0]), t[0] / (1.0 + jnp.exp(-p[0]))))


@jaxlike.custom_vjp
def _scaled(x):
    return x * 2.0


_scaled.defvjp(lambda x: (x * 2.0, None), lambda res, g: (g * 2.0,))


def _mlp(w, x):
    return jnp.sum(jnp.tanh(w @ x + 1.0) ** 2)


def _shapes(x, y):
    z = jnp.reshape(x, (2, 3)).T @ jnp.ones((2, 4))
    return jnp.concatenate([z.sum(axis=1), jnp.max(y, keepdims=True)]) * jnp.mean(y)


def _indexing(x, y):
    idx = np.array([2, 0, 0])
    return x[idx] * y + x.at[1].add(y[0])


def _control(x, y):
    def body(carry, xi):
        return carry * 0.5 + jnp.sin(xi), carry * xi
    carry, ys = lax.scan(body, y[0], x)
    branch = lax.cond(y[1] > 0, lambda v: v * 2.0, lambda v: -v, x)
    return carry + jnp.sum(ys) + jnp.sum(branch)


def _custom(x, y):
    return _softplus(x) * _scaled(y)


def _mixed(x, y):
    return jnp.where(x > y, x * y, jnp.exp(x)) + jnp.argmax(y).astype(float)


GRAPHS = {
    "mlp": (_mlp, (np.full((2, 3), 0.1), np.arange(3.0))),
    "shapes": (_shapes, (np.arange(6.0), np.arange(3.0))),
    "indexing": (_indexing, (np.arange(3.0), np.arange(3.0) + 1)),
    "control": (_control, (np.arange(3.0), np.array([1.0, 2.0, 3.0]))),
    "custom": (_custom, (np.arange(3.0), np.arange(3.0))),
    "mixed": (_mixed, (np.arange(3.0), np.array([2.0, 0.0, 1.0]))),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_verify_after_every_pass(name):
    fn, args = GRAPHS[name]
    graph = verify(jaxlike.make_ir(fn)(*args))
    n_in, n_out = len(graph.inputs), len(graph.outputs)
    diff = [a.dtype.kind == "f" for a in graph.in_avals]
    jg = verify(jvp_graph(graph, diff))
    known, linear, nres = partial_eval(jg, [False] * n_in + [True] * sum(diff), [False] * n_out + [True] * n_out)
    verify(known), verify(linear)
    transposed = verify(transpose_graph(linear, [False] * nres + [True] * (len(linear.inputs) - nres)))
    batched = verify(batch_graph(graph, [0] * n_in, 2))
    for g in (graph, jg, known, linear, transposed, batched):
        verify(simplify(g))
        verify(dce(g))
        if not any(e.prim.name == "custom_lin" for e in g.eqns):  # forward mode of custom_vjp: by design
            verify(inline_custom(g))
            assert not has_custom(inline_custom(g))
    # and the derived graphs compute what the transforms compute
    grads = jaxlike.grad(lambda *a: jnp.sum(fn(*a)), argnums=tuple(range(len(args))))(*args)
    assert all(np.all(np.isfinite(g)) for g in grads)
