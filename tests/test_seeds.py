"""Every example of the torch.func documents the Jacobian API is specified by, in jaxlike.

The documents are torch.func.jacfwd, torch.func.jacrev (twice), torch.autograd.functional.jacobian and a
module re-exporting jacrev and vmap. Each test is one example, with ``jnp`` in place of ``torch`` and the
assertion the document makes. Where an example only prints a value, the test checks its shape and values.
"""

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike import hessian, jacfwd, jacobian, jacrev, vmap


@pytest.fixture
def randn():
    rng = np.random.default_rng(1234)
    return lambda *shape: rng.standard_normal(shape)


def allclose(a, b):
    return np.allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------------------------------
# torch.func.jacfwd and torch.func.jacrev: the examples both documents share

JACOBIANS = [pytest.param(jacfwd, id="jacfwd"), pytest.param(jacrev, id="jacrev")]


@pytest.mark.parametrize("jac", JACOBIANS)
def test_pointwise_unary_gives_a_diagonal_jacobian(jac, randn):
    x = randn(5)
    jacobian_ = jac(jnp.sin)(x)
    expected = jnp.diag(jnp.cos(x))
    assert allclose(jacobian_, expected)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_composes_with_vmap_for_batched_jacobians(jac, randn):
    x = randn(64, 5)
    jacobian_ = vmap(jac(jnp.sin))(x)
    assert jacobian_.shape == (64, 5, 5)
    assert allclose(jacobian_, np.stack([np.diag(np.cos(row)) for row in x]))


@pytest.mark.parametrize("jac", JACOBIANS)
def test_has_aux_returns_the_output_as_well(jac, randn):
    x = randn(5)

    def f(x):
        return jnp.sin(x)

    def g(x):
        result = f(x)
        return result, result

    jacobian_f, f_x = jac(g, has_aux=True)(x)
    assert allclose(f_x, f(x))
    assert allclose(jacobian_f, np.diag(np.cos(x)))


@pytest.mark.parametrize("outer", JACOBIANS)
def test_composed_with_jacrev_gives_the_hessian(outer, randn):
    def f(x):
        return jnp.sin(x).sum()

    x = randn(5)
    hessian_ = outer(jacrev(f))(x)  # jacfwd(jacrev(f)) in the jacfwd document, jacrev(jacrev(f)) in jacrev's
    assert allclose(hessian_, jnp.diag(-jnp.sin(x)))
    assert allclose(hessian(f)(x), np.diag(-np.sin(x)))


@pytest.mark.parametrize("jac", JACOBIANS)
def test_argnums_selects_another_argument(jac, randn):
    def f(x, y):
        return x + y ** 2

    x, y = randn(5), randn(5)
    jacobian_ = jac(f, argnums=1)(x, y)
    expected = jnp.diag(2 * y)
    assert allclose(jacobian_, expected)


@pytest.mark.parametrize("jac", JACOBIANS)
def test_argnums_tuple_gives_one_jacobian_per_argument(jac, randn):
    def f(x, y):
        return x + y ** 2

    x, y = randn(5), randn(5)
    jacobian_ = jac(f, argnums=(0, 1))(x, y)
    expected_x = jnp.diag(jnp.ones_like(x))
    expected_y = jnp.diag(2 * y)
    assert isinstance(jacobian_, tuple) and len(jacobian_) == 2
    assert allclose(jacobian_[0], expected_x)
    assert allclose(jacobian_[1], expected_y)


@pytest.mark.parametrize("randomness", ["error", "same", "different"])
def test_jacfwd_accepts_the_randomness_flag(randomness, randn):
    x = randn(5)
    assert allclose(jacfwd(jnp.sin, randomness=randomness)(x), np.diag(np.cos(x)))


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 5, 64])
@pytest.mark.parametrize("preallocate", [False, True])
def test_jacrev_chunk_size(chunk_size, preallocate, randn):
    x = randn(5)
    jac = jacrev(jnp.sin, chunk_size=chunk_size, _preallocate_and_copy=preallocate)(x)
    assert allclose(jac, np.diag(np.cos(x)))


# --------------------------------------------------------------------------------------------------
# The jacrev note on no_grad


def _x_minus_square(x):
    with jaxlike.no_grad():
        c = x ** 2
    return x - c


def test_no_grad_inside_the_function_is_respected(randn):
    x = randn(5)
    assert allclose(jacrev(_x_minus_square)(x), np.eye(5))  # c is a constant: d(x - c)/dx = I


def test_no_grad_around_jacrev_is_not(randn):
    x = randn(5)
    with jaxlike.no_grad():
        jac = jacrev(_x_minus_square)(x)
    assert allclose(jac, np.eye(5))  # the outer no_grad does not change the transform's result
    with jaxlike.no_grad():
        assert allclose(jacrev(lambda x: x ** 2)(x), np.diag(2 * x))


# --------------------------------------------------------------------------------------------------
# torch.autograd.functional.jacobian


def exp_reducer(x):
    return jnp.exp(x).sum(axis=1)


def exp_adder(x, y):
    return 2 * jnp.exp(x) + 3 * y


def linear_model(x):
    W = np.array([[2.0, -1.0], [0.0, 1.0]])  # noqa: N806  (the document's name)
    b = np.array([1.0, 0.5])
    return x @ W.T + b


def test_jacobian_exp_reducer():
    inputs = np.random.default_rng(0).random((2, 2))
    jac = jacobian(exp_reducer, inputs)
    assert isinstance(jac, np.ndarray) and jac.shape == (2, 2, 2)
    expected = np.zeros((2, 2, 2))
    expected[0, 0] = np.exp(inputs[0])
    expected[1, 1] = np.exp(inputs[1])
    assert allclose(jac, expected)  # the document's zeros: row i of the output depends on row i only
    assert allclose(jacobian(exp_reducer, inputs, create_graph=True), expected)


def test_jacobian_exp_adder_gives_one_block_per_input():
    rng = np.random.default_rng(1)
    inputs = (rng.random(2), rng.random(2))
    jac = jacobian(exp_adder, inputs)
    assert isinstance(jac, tuple) and len(jac) == 2
    assert allclose(jac[0], np.diag(2 * np.exp(inputs[0])))
    assert allclose(jac[1], np.array([[3.0, 0.0], [0.0, 3.0]]))


def test_jacobian_linear_model_vectorized(randn):
    x = randn(4, 2)
    jac = jacobian(linear_model, x, vectorize=True)
    assert jac.shape == (4, 2, 4, 2)
    W = np.array([[2.0, -1.0], [0.0, 1.0]])  # noqa: N806
    assert allclose(jac, np.einsum("ik,jl->ijkl", np.eye(4), W))
    assert allclose(jacobian(linear_model, x), jac)
    assert allclose(jacobian(linear_model, x, vectorize=True, strategy="forward-mode"), jac)


def test_jacobian_return_structure():
    x, y = np.arange(1.0, 3.0), np.arange(3.0, 6.0)
    both = jacobian(lambda x, y: (x * 2.0, y.sum() * x), (x, y))
    assert isinstance(both, tuple) and all(isinstance(row, tuple) and len(row) == 2 for row in both)
    assert [[b.shape for b in row] for row in both] == [[(2, 2), (2, 3)], [(2, 2), (2, 3)]]
    assert allclose(both[0][1], np.zeros((2, 3)))
    assert allclose(both[1][1], np.outer(x, np.ones(3)))
    outs = jacobian(lambda x: (x * 2.0, x.sum()), x)
    assert isinstance(outs, tuple) and [o.shape for o in outs] == [(2, 2), (2,)]


# --------------------------------------------------------------------------------------------------
# torch.func.vmap (from the module re-exporting jacrev and vmap)


def test_batched_dot(randn):
    batched_dot = vmap(jnp.dot)  # [N, D], [N, D] -> [N]
    x, y = randn(2, 5), randn(2, 5)
    assert allclose(batched_dot(x, y), (x * y).sum(axis=1))


def test_model_hides_the_batch_dimension(randn):
    batch_size, feature_size = 3, 5
    weights = randn(feature_size)

    def model(feature_vec):
        # Very simple linear model with activation
        return jnp.maximum(feature_vec.dot(weights), 0.0)

    examples = randn(batch_size, feature_size)
    result = vmap(model)(examples)
    assert allclose(result, np.maximum(examples @ weights, 0.0))


def test_vectorized_vjps_compute_a_jacobian(randn):
    N = 5  # noqa: N806
    f = lambda x: x ** 2  # noqa: E731
    x = randn(N)
    y, vjp_fn = jaxlike.vjp(f, x)
    I_N = jnp.eye(N)  # noqa: N806
    # Sequential approach
    jacobian_rows = [vjp_fn(v)[0] for v in I_N]
    sequential = jnp.stack(jacobian_rows)
    # vectorized gradient computation

    def get_vjp(v):
        return vjp_fn(v)

    vectorized = vmap(get_vjp)(I_N)[0]
    assert allclose(sequential, np.diag(2 * x))
    assert allclose(vectorized, sequential)


def test_nested_vmap(randn):
    batched_dot = vmap(vmap(jnp.dot))  # [N1, N0, D], [N1, N0, D] -> [N1, N0]
    x, y = randn(2, 3, 5), randn(2, 3, 5)
    out = batched_dot(x, y)
    assert out.shape == (2, 3)
    assert allclose(out, (x * y).sum(axis=2))


def test_in_dims_one(randn):
    batched_dot = vmap(jnp.dot, in_dims=1)  # [N, D], [N, D] -> [D]
    x, y = randn(2, 5), randn(2, 5)
    out = batched_dot(x, y)  # output is [5] instead of [2] if batched along the 0th dimension
    assert out.shape == (5,)
    assert allclose(out, (x * y).sum(axis=0))


def test_in_dims_zero_and_none(randn):
    batched_dot = vmap(jnp.dot, in_dims=(0, None))  # [N, D], [D] -> [N]
    x, y = randn(2, 5), randn(5)
    out = batched_dot(x, y)  # second arg doesn't have a batch dim because in_dim[1] was None
    assert allclose(out, x @ y)


def test_in_dims_for_a_dict_input(randn):
    f = lambda dict: jnp.dot(dict["x"], dict["y"])  # noqa: E731
    x, y = randn(2, 5), randn(5)
    input = {"x": x, "y": y}  # noqa: A001  (the document's name)
    batched_dot = vmap(f, in_dims=({"x": 0, "y": None},))
    assert allclose(batched_dot(input), x @ y)


def test_out_dims_one(randn):
    f = lambda x: x ** 2  # noqa: E731
    x = randn(2, 5)
    batched_pow = vmap(f, out_dims=1)
    out = batched_pow(x)  # [5, 2]
    assert out.shape == (5, 2)
    assert allclose(out, (x ** 2).T)


def test_kwargs_are_not_batched(randn):
    x = randn(2, 5)

    def fn(x, scale=4.0):
        return x * scale

    batched_pow = vmap(fn)
    assert allclose(batched_pow(x), x * 4)
    out = batched_pow(x, scale=x)  # scale is not batched, output has shape [2, 2, 5]
    assert out.shape == (2, 2, 5)
    assert allclose(out, x[:, None, :] * x[None, :, :])


@pytest.mark.parametrize("chunk_size", [None, 1, 2])
def test_vmap_chunk_size_and_randomness_options(chunk_size, randn):
    x, y = randn(3, 5), randn(3, 5)
    for randomness in ("error", "same", "different"):
        out = vmap(jnp.dot, randomness=randomness, chunk_size=chunk_size)(x, y)
        assert allclose(out, (x * y).sum(axis=1))
