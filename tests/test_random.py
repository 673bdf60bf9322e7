"""jaxlike.random: Threefry known answers, statistics, determinism, independence of split keys, batching
of keys, the three vmap randomness modes, the implicit global state and the key input of compiled code."""

import re

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
import jaxlike.random as jr
from jaxlike import grad, jacfwd, jacrev, make_ir, vmap
from jaxlike.ir.builder import trace_graph
from jaxlike.ir.core import AVal
from jaxlike.ir.interpret import eval_graph
from jaxlike.ir.prims.random import random_bits, threefry_2x32


@pytest.fixture(autouse=True)
def seeded():
    saved = jr.get_state()
    jr.seed(1234)
    yield
    jr.set_state(saved)


# --------------------------------------------------------------------------------------------------
# The generator


@pytest.mark.parametrize("key, count, expected", [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
])
def test_threefry_known_answers(key, count, expected):
    # the Random123 test vectors for Threefry-2x32 with 20 rounds
    y0, y1 = threefry_2x32(*key, *count)
    assert (int(y0), int(y1)) == expected


def test_random_bits_of_a_batch_of_keys_is_one_vectorised_draw():
    keys = jr.split(jr.key(0), 5)
    batched = random_bits(keys, (3, 2))
    assert batched.shape == (5, 3, 2) and batched.dtype == np.uint32
    for i in range(5):
        np.testing.assert_array_equal(batched[i], random_bits(keys[i], (3, 2)))
    graph = make_ir(vmap(lambda k: jr.normal(k, (4,))))(keys)
    (draw,) = [e for e in graph.eqns if e.prim.name == "random_bits"]
    assert draw.inputs[0].aval.shape == (5, 2)  # the batching rule binds the same primitive on (5, 2)


def test_keys():
    k = jr.key(42)
    assert k.dtype == np.uint32 and k.shape == (2,)
    np.testing.assert_array_equal(k, [0, 42])
    np.testing.assert_array_equal(jr.PRNGKey(2 ** 32 + 5), [1, 5])
    np.testing.assert_array_equal(jr.key(-1), [0xFFFFFFFF, 0xFFFFFFFF])
    assert jr.split(k).shape == (2, 2) and jr.split(k, 7).shape == (7, 2)
    assert len({tuple(s) for s in jr.split(k, 50)}) == 50
    assert not np.array_equal(jr.fold_in(k, 1), jr.fold_in(k, 2))
    np.testing.assert_array_equal(jr.fold_in(k, 3), jr.fold_in(k, np.int32(3)))


def test_determinism():
    k = jr.key(7)
    np.testing.assert_array_equal(jr.normal(k, (10,)), jr.normal(jr.key(7), (10,)))
    np.testing.assert_array_equal(jr.uniform(k, (3, 3)), jr.uniform(k, (3, 3)))
    np.testing.assert_array_equal(jr.randint(k, (5,), 0, 10), jr.randint(k, (5,), 0, 10))


# --------------------------------------------------------------------------------------------------
# Statistics


N = 200_000


def test_uniform_statistics():
    u = jr.uniform(jr.key(1), (N,))
    assert u.dtype == np.float64 and u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.std() - 12 ** -0.5) < 0.005
    v = jr.uniform(jr.key(2), (N,), np.float32, -2.0, 3.0)
    assert v.dtype == np.float32 and v.min() >= -2.0 and v.max() < 3.0
    assert abs(v.mean() - 0.5) < 0.03 and abs(v.std() - 5 * 12 ** -0.5) < 0.03
    assert np.unique(jr.uniform(jr.key(3), (1000,))).size == 1000


def test_normal_statistics():
    for dtype in (np.float64, np.float32):
        z = jr.normal(jr.key(3), (N,), dtype)
        assert z.dtype == dtype and np.isfinite(z).all()
        assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
        assert abs(np.mean(z ** 3)) < 0.03 and abs(np.mean(z ** 4) - 3) < 0.06  # skew 0, kurtosis 3
        assert abs(np.mean(np.abs(z) < 1.0) - 0.6827) < 0.005


def test_bernoulli_and_randint_statistics():
    b = jr.bernoulli(jr.key(4), 0.3, (N,))
    assert b.dtype == np.bool_ and abs(b.mean() - 0.3) < 0.005
    p = np.array([0.1, 0.9])
    assert jr.bernoulli(jr.key(5), p).shape == (2,)
    r = jr.randint(jr.key(6), (N,), -3, 4)
    assert r.dtype == np.int64 and r.min() == -3 and r.max() == 3
    np.testing.assert_allclose(np.bincount(r + 3) / N, np.full(7, 1 / 7), atol=0.005)
    assert jr.randint(jr.key(6), (4,), 0, 5, dtype=np.int32).dtype == np.int32


def test_split_keys_are_independent():
    k1, k2 = jr.split(jr.key(0))
    a, b = jr.normal(k1, (N,)), jr.normal(k2, (N,))
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.01
    c, d = jr.normal(jr.fold_in(k1, 0), (N,)), jr.normal(jr.fold_in(k1, 1), (N,))
    assert abs(np.corrcoef(c, d)[0, 1]) < 0.01
    # neighbouring elements of one draw are independent too
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) < 0.01


# --------------------------------------------------------------------------------------------------
# Implicit draws from the global state


def test_implicit_state_is_seeded_and_advances():
    jr.seed(0)
    a, b = jr.normal((3,)), jr.normal((3,))
    assert not np.array_equal(a, b)
    jr.seed(0)
    np.testing.assert_array_equal(jr.normal((3,)), a)
    state = jr.get_state()
    c = jr.rand(2, 3)
    jr.set_state(state)
    np.testing.assert_array_equal(jr.rand((2, 3)), c)
    assert c.shape == (2, 3) and jr.randn(4).shape == (4,) and jr.randn().shape == ()
    assert jr.initial_seed() == 0
    assert jr.uniform().shape == () and jr.randint(3, 0, 2).shape == (3,) and jr.bits((2,)).dtype == np.uint32


def test_a_key_argument_is_told_apart_from_a_shape():
    k = jr.key(9)
    np.testing.assert_array_equal(jr.normal(k, (2,)), jr.normal(key=k, shape=(2,)))
    assert jr.normal((2,)).shape == (2,)  # no key: the tuple is the shape
    assert jr.normal(2).shape == (2,)
    with pytest.raises(TypeError, match=re.escape("normal: a key is a uint32 array of shape (2,)")):
        jr.normal(jr.split(k, 3), (2,))  # three keys where one was meant
    with pytest.raises(TypeError, match="normal: dtype must be a float dtype"):
        jr.normal(k, (2,), np.int32)


def test_draws_inside_eager_transforms():
    x = np.array([1.0, 2.0])
    k = jr.key(0)
    noise = jr.normal(k, (2,))
    np.testing.assert_allclose(grad(lambda x: (x * jr.normal(k, (2,))).sum())(x), noise)
    np.testing.assert_allclose(jacrev(lambda x: x * jr.normal(k, (2,)))(x), np.diag(noise))


# --------------------------------------------------------------------------------------------------
# vmap randomness


def test_vmap_error_mode_raises_for_implicit_draws_only():
    with pytest.raises(RuntimeError, match=re.escape(jr.ERROR_MESSAGE)):
        vmap(lambda x: x + jr.normal(()))(np.zeros(3))
    with pytest.raises(RuntimeError, match="randomness error mode"):
        vmap(lambda x: x * jr.rand(2))(np.zeros(3))
    k = jr.key(0)
    out = vmap(lambda x: x + jr.normal(k, ()))(np.zeros(3))  # an explicit key is an ordinary value
    np.testing.assert_array_equal(out, np.full(3, jr.normal(k, ())))


def test_vmap_same_gives_every_element_the_same_numbers():
    out = vmap(lambda x: x + jr.normal((2,)), randomness="same")(np.zeros((4, 2)))
    assert np.all(out == out[0]) and np.all(out[0] != 0)


def test_vmap_different_gives_each_element_its_own_numbers():
    out = vmap(lambda x: x + jr.normal((2,)), randomness="different")(np.zeros((500, 2)))
    assert len({tuple(r) for r in out}) == 500
    assert abs(out.mean()) < 0.1 and abs(out.std() - 1) < 0.1
    # one vectorised draw (a batch large enough not to be folded into a constant)
    graph = make_ir(vmap(lambda x: x + jr.normal(()), randomness="different"))(np.zeros(2000))
    assert [e.prim.name for e in graph.eqns].count("random_bits") == 1


def test_vmap_different_is_the_same_chunked_or_not():
    f = lambda x: x * jr.uniform((3,))  # noqa: E731
    jr.seed(5)
    whole = vmap(f, randomness="different")(np.ones((7, 3)))
    for k in (1, 2, 3):
        jr.seed(5)
        np.testing.assert_array_equal(vmap(f, randomness="different", chunk_size=k)(np.ones((7, 3))), whole)


def test_nested_vmap_randomness():
    f = lambda x: x + jr.normal(())  # noqa: E731
    x = np.zeros((3, 4))
    both = vmap(vmap(f, randomness="different"), randomness="different")(x)
    assert len(set(both.ravel())) == 12
    outer_only = vmap(vmap(f, randomness="same"), randomness="different")(x)
    assert np.all(outer_only == outer_only[:, :1]) and len(set(outer_only[:, 0])) == 3
    inner_only = vmap(vmap(f, randomness="different"), randomness="same")(x)
    assert np.all(inner_only == inner_only[:1]) and len(set(inner_only[0])) == 4


def test_vmap_over_a_batch_of_keys():
    keys = jr.split(jr.key(3), 4)
    out = vmap(lambda k: jr.uniform(k, (2,)))(keys)
    for i in range(4):
        np.testing.assert_array_equal(out[i], jr.uniform(keys[i], (2,)))


def test_jacfwd_randomness():
    x = np.ones(3)
    f = lambda x: x * jr.normal(())  # noqa: E731
    with pytest.raises(RuntimeError, match="randomness error mode"):
        jacfwd(f)(x)
    same = jacfwd(f, randomness="same")(x)
    np.testing.assert_allclose(same, np.eye(3) * same[0, 0])
    different = np.diag(jacfwd(f, randomness="different")(x))
    assert len(set(different)) == 3  # one draw per column of the basis
    with pytest.raises(RuntimeError, match="randomness error mode"):
        jaxlike.hessian(lambda x: (x * jr.normal(())).sum())(x)


# --------------------------------------------------------------------------------------------------
# Compiled functions: the key is an input read at call time


def test_key_input_scope_makes_the_implicit_key_a_graph_input():
    def f(x):
        return [x + jr.normal(()), x * jr.uniform(())]

    with jr.key_input_scope() as scope:
        graph, captured = trace_graph(f, [AVal((), np.float64)], name="compiled")
    assert not captured and scope.used and scope.position == 1
    assert [a.shape for a in graph.in_avals] == [(), (2,)]
    assert not any(v.dtype == np.uint32 for v in graph.consts.values())  # no key baked in
    first = eval_graph(graph, np.float64(0.0), jr.next_key())
    second = eval_graph(graph, np.float64(0.0), jr.next_key())
    assert first[0] != second[0] and first[1] == 0.0


def test_the_state_advances_per_call_of_a_compiled_function():
    f = jaxlike.jit(lambda x: x + jr.normal(()))
    jr.seed(7)
    a, b = f(np.float64(0.0)), f(np.float64(0.0))
    assert a != b
    assert f.trace_count() == 1  # the key is an input read at call time, not a constant baked in
    jr.seed(7)
    assert f(np.float64(0.0)) == a  # and it comes from the global seeded state
    compiled = f.lower(np.float64(0.0)).compile()
    assert compiled(np.float64(0.0)) != compiled(np.float64(0.0))
