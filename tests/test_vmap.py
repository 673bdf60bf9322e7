"""vmap: torch.func semantics (in_dims/out_dims prefixes, negative axes, kwargs, nesting, empty batches,
chunking as one loop in the IR) and every error, by type and message."""

import re

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
import jaxlike.random as jr
from jaxlike import TracerBoolConversionError, grad, jacrev, jit, make_ir, vmap


@pytest.fixture
def randn():
    rng = np.random.default_rng(7)
    return lambda *shape: rng.standard_normal(shape)


def loop(f, *batched):
    """The reference: f on each example, stacked."""
    return np.stack([np.asarray(f(*xs)) for xs in zip(*batched)])


# --------------------------------------------------------------------------------------------------
# in_dims


def test_vmap_matches_a_loop(randn):
    x, y = randn(4, 3, 2), randn(4, 2, 5)
    for f in (jnp.matmul, lambda a, b: jnp.sin(a) @ b + 1.0, lambda a, b: jnp.sum(a, axis=0) * b[:, 0]):
        np.testing.assert_allclose(vmap(f)(x, y), loop(f, x, y), rtol=1e-12)


def test_negative_in_dims(randn):
    x, y = randn(5, 3), randn(5)
    np.testing.assert_allclose(vmap(jnp.dot, in_dims=(-1, None))(x, y), x.T @ y)
    np.testing.assert_allclose(vmap(jnp.sum, in_dims=-2)(x), x.sum(axis=1))


def test_in_dims_prefix_applies_to_a_subtree(randn):
    a, b, c = randn(3, 2), randn(3, 2), randn(2)

    def f(pair, v):
        return pair[0] * pair[1] + v

    out = vmap(f, in_dims=(0, None))((a, b), c)  # 0 covers the whole tuple
    np.testing.assert_allclose(out, a * b + c)
    out = vmap(f, in_dims=((0, 1), None))((a, b.T), c)  # per leaf of the tuple
    np.testing.assert_allclose(out, a * b + c)


def test_in_dims_dicts_and_lists_nest(randn):
    w, xs = randn(2), randn(4, 2)

    def f(params, data):
        return jnp.dot(params["w"], data[0]) + params["b"]

    out = vmap(f, in_dims=({"w": None, "b": None}, [0]))({"w": w, "b": 1.5}, [xs])
    np.testing.assert_allclose(out, xs @ w + 1.5)


def test_in_dims_as_a_list_means_a_tuple(randn):
    x, y = randn(2, 5), randn(5)
    np.testing.assert_allclose(vmap(jnp.dot, in_dims=[0, None])(x, y), x @ y)


def test_in_axes_and_out_axes_are_jax_spellings(randn):
    x, y = randn(5, 2), randn(5)
    np.testing.assert_allclose(vmap(jnp.dot, in_axes=(1, None))(x, y), x.T @ y)
    np.testing.assert_allclose(vmap(lambda v: v * 2, out_axes=1)(x), (x * 2).T)


def test_kwargs_are_passed_through_unbatched(randn):
    x = randn(3, 4)
    scale = randn(4)
    out = vmap(lambda v, scale=1.0, shift=0.0: v * scale + shift)(x, scale=scale, shift=2.0)
    np.testing.assert_allclose(out, x * scale + 2.0)


def test_unbatched_arguments_stay_unbatched(randn):
    x, w = randn(6, 3), randn(3, 3)
    g = make_ir(vmap(lambda v, m: m @ v, in_dims=(0, None)))(x, w)
    assert any(e.prim.name == "dot_general" for e in g.eqns)
    assert not any(e.prim.name == "broadcast_in_dim" and e.outputs[0].aval.shape == (6, 3, 3) for e in g.eqns)


def test_non_array_arguments_pass_through_with_in_dim_none(randn):
    x = randn(2, 3)

    def f(v, mode, fn):
        return fn(v) if mode == "apply" else v

    np.testing.assert_allclose(vmap(f, in_dims=(0, None, None))(x, "apply", jnp.sin), np.sin(x))
    with pytest.raises(ValueError, match=re.escape("Got in_dim=0 for input args[1], but that input is of type "
                                                   "str. We cannot vmap over non-array arguments, please use "
                                                   "None as the respective in_dim.")):
        vmap(f)(x, "apply", jnp.sin)


# --------------------------------------------------------------------------------------------------
# out_dims


def test_out_dims_per_output(randn):
    x = randn(4, 3)
    a, b = vmap(lambda v: (v * 2, jnp.outer(v, v)), out_dims=(1, -1))(x)
    np.testing.assert_allclose(a, (x * 2).T)
    assert b.shape == (3, 3, 4)
    np.testing.assert_allclose(b[..., 2], np.outer(x[2], x[2]))


def test_out_dims_prefix_for_nested_outputs(randn):
    x = randn(4, 3)
    out = vmap(lambda v: {"a": v, "b": (v.sum(), v * 0 + 1)}, out_dims={"a": 1, "b": 0})(x)
    assert out["a"].shape == (3, 4) and out["b"][0].shape == (4,) and out["b"][1].shape == (4, 3)


def test_out_dims_none_for_an_unbatched_output(randn):
    x = randn(4, 3)
    y, const = vmap(lambda v: (v + 1, np.arange(3.0)), out_dims=(0, None))(x)
    np.testing.assert_allclose(y, x + 1)
    np.testing.assert_allclose(const, np.arange(3.0))


def test_an_output_independent_of_the_batch_is_broadcast(randn):
    out = vmap(lambda v: np.ones(2))(randn(5, 3))
    np.testing.assert_allclose(out, np.ones((5, 2)))


# --------------------------------------------------------------------------------------------------
# Nesting, composition, edge sizes


def test_nested_vmap_with_different_axes(randn):
    x, y = randn(3, 4, 5), randn(5, 4)
    out = vmap(vmap(jnp.dot, in_dims=(0, 1)), in_dims=(0, None))(x, y)
    np.testing.assert_allclose(out, np.einsum("abk,kb->ab", x, y))


def test_vmap_of_grad_and_grad_of_vmap(randn):
    x = randn(6, 3)
    per_example = vmap(grad(lambda v: jnp.sum(jnp.sin(v) ** 2)))(x)
    np.testing.assert_allclose(per_example, 2 * np.sin(x) * np.cos(x), rtol=1e-12)
    total = grad(lambda m: jnp.sum(vmap(lambda v: jnp.sum(v ** 3))(m)))(x)
    np.testing.assert_allclose(total, 3 * x ** 2, rtol=1e-12)


def test_vmap_inside_jit(randn):
    x, y = randn(5, 3), randn(5, 3)
    np.testing.assert_allclose(jit(vmap(jnp.dot))(x, y), (x * y).sum(axis=1), rtol=1e-12)


def test_batch_size_zero(randn):
    x = np.zeros((0, 3))
    assert vmap(jnp.sin)(x).shape == (0, 3)
    assert vmap(jnp.dot, in_dims=(0, None))(x, randn(3)).shape == (0,)
    assert vmap(lambda v: jnp.outer(v, v), out_dims=2, chunk_size=2)(x).shape == (3, 3, 0)


def test_python_scalars_and_zero_d_unbatched_arguments(randn):
    x = randn(4)
    np.testing.assert_allclose(vmap(lambda v, s: v * s, in_dims=(0, None))(x, 3.0), 3.0 * x)


# --------------------------------------------------------------------------------------------------
# chunk_size


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 7, 8, 100])
def test_chunk_size_gives_the_same_result(chunk_size, randn):
    x, w = randn(7, 3), randn(3)
    f = vmap(lambda v, m: (jnp.tanh(v) * m, v.sum()), in_dims=(0, None), out_dims=(1, 0),
             chunk_size=chunk_size)
    a, b = f(x, w)
    np.testing.assert_allclose(a, (np.tanh(x) * w).T, rtol=1e-12)
    np.testing.assert_allclose(b, x.sum(axis=1), rtol=1e-12)


def _count_eqns(graph):
    from jaxlike.ir.core import subgraphs
    return sum(1 + sum(_count_eqns(g) for g in subgraphs(e.params)) for e in graph.eqns)


def test_chunked_graph_does_not_grow_with_the_number_of_chunks(randn):
    f = vmap(lambda v: jnp.sin(v) * v, chunk_size=3)
    small, large = make_ir(f)(randn(9, 4)), make_ir(f)(randn(300, 4))
    assert _count_eqns(small) == _count_eqns(large)
    assert [e.prim.name for e in large.eqns].count("scan") == 1


def test_chunk_size_one_is_a_plain_loop(randn):
    graph = make_ir(vmap(jnp.sin, chunk_size=1))(randn(5, 4))
    (loop_eqn,) = [e for e in graph.eqns if e.prim.name == "scan"]
    body = loop_eqn.params["body"]
    assert [a.shape for a in body.in_avals] == [(4,)]  # the unbatched function: no batching rule involved


def test_chunked_vmap_nests(randn):
    x = randn(5, 4, 3)
    out = vmap(vmap(jnp.sum, chunk_size=3), chunk_size=2)(x)
    np.testing.assert_allclose(out, x.sum(axis=2))


# --------------------------------------------------------------------------------------------------
# Errors: type and message


def test_error_in_dims_tuple_length(randn):
    with pytest.raises(ValueError, match=re.escape("vmap(dot, in_dims=(0,), ...)(<inputs>): in_dims is not "
                                                   "compatible with the structure of `inputs`. in_dims has "
                                                   "1 entry but the function was called with 2")):
        vmap(jnp.dot, in_dims=(0,))(randn(2, 3), randn(2, 3))


def test_error_in_dims_nested_structure(randn):
    f = lambda d: d["x"] + d["y"]  # noqa: E731
    with pytest.raises(ValueError, match=r"in_dims is not compatible with the structure of `inputs`: "
                                         r"in_dims\[0\] has structure PyTreeDef\(\{'x': \*, 'z': None\}\) but the value there "
                                         r"has structure PyTreeDef\(\{'x': \*, 'y': \*\}\)"):
        vmap(f, in_dims=({"x": 0, "z": None},))({"x": randn(2), "y": randn(2)})


def test_error_in_dims_dict_at_top_level(randn):
    with pytest.raises(ValueError, match=r"expected `in_dims` to be int or a \(potentially nested\) tuple "
                                         r"matching the structure of inputs, got: dict\. .*wrap it in a tuple"):
        vmap(lambda d: d["x"], in_dims={"x": 0})({"x": randn(2)})


def test_error_in_dim_not_an_int(randn):
    with pytest.raises(ValueError, match=r"Got in_dim='a' for input args\[0\], but in_dim must be either an "
                                         r"integer dimension or None"):
        vmap(jnp.sin, in_dims=("a",))(randn(3))


@pytest.mark.parametrize("in_dims, shape, bound", [(2, (2, 3), 2), (-3, (2, 3), 2), (0, (), 0)])
def test_error_mapped_axis_out_of_range(in_dims, shape, bound, randn):
    msg = (f"Got in_dim={in_dims} for input args[0], but that input has shape {shape} (dimensionality "
           f"{bound}) so expected in_dim to satisfy -{bound} <= in_dim < {bound}")
    with pytest.raises(ValueError, match=re.escape(msg)):
        vmap(jnp.sin, in_dims=in_dims)(randn(*shape))


def test_error_inconsistent_batch_sizes_names_each_argument(randn):
    msg = ("vmap: Expected all tensors to have the same size in the mapped dimension, got sizes [2, 3] for "
           "the mapped dimension: args[0] has size 2 in dimension 0; args[1]['w'] has size 3 in dimension 1")
    with pytest.raises(ValueError, match=re.escape(msg)):
        vmap(lambda a, p: a.sum() + p["w"].sum(), in_dims=(0, 1))(randn(2, 4), {"w": randn(4, 3)})


def test_error_all_in_dims_none(randn):
    with pytest.raises(ValueError, match=r"at least one input must be batched over, but in_dims is None for "
                                         r"every input"):
        vmap(jnp.dot, in_dims=(None, None))(randn(3), randn(3))
    with pytest.raises(ValueError, match="at least one input must be batched over"):
        vmap(jnp.sin, in_dims=None)(randn(3))


def test_error_no_inputs():
    with pytest.raises(ValueError, match=r"vmap\(<lambda>\)\(<inputs>\): got no inputs"):
        vmap(lambda: 1.0)()


def test_error_out_dims_structure(randn):
    with pytest.raises(ValueError, match=r"out_dims is not compatible with the structure of `outputs`. "
                                         r"out_dims has structure PyTreeDef\(\(\*, \*, \*\)\) but outputs has structure "
                                         r"PyTreeDef\(\(\*, \*\)\)"):
        vmap(lambda v: (v, v), out_dims=(0, 0, 0))(randn(2, 3))
    with pytest.raises(ValueError, match="out_dims is not compatible with the structure of `outputs`"):
        vmap(jnp.sin, out_dims=(0,))(randn(2, 3))


def test_error_out_dims_out_of_range_or_not_int(randn):
    with pytest.raises(ValueError, match=re.escape("Got out_dim=3 for output 0, which has shape (3,) per "
                                                   "example (dimensionality 2 when batched), so expected "
                                                   "out_dim to satisfy -2 <= out_dim < 2")):
        vmap(jnp.sin, out_dims=3)(randn(2, 3))
    with pytest.raises(ValueError, match=r"Got out_dim=1\.0 for output 0, but out_dim must be either an "
                                         r"integer dimension or None"):
        vmap(jnp.sin, out_dims=1.0)(randn(2, 3))


def test_error_out_dims_none_for_a_batched_output(randn):
    with pytest.raises(ValueError, match="out_dims is None for an output that depends on the batched inputs"):
        vmap(jnp.sin, out_dims=None)(randn(2, 3))


@pytest.mark.parametrize("chunk_size", [0, -1, 1.5, True])
def test_error_chunk_size(chunk_size):
    with pytest.raises(ValueError, match=re.escape(f"vmap: chunk_size should be None or greater than 0. "
                                                   f"(got {chunk_size!r})")):
        vmap(jnp.sin, chunk_size=chunk_size)
    with pytest.raises(ValueError, match=re.escape(f"jacrev: chunk_size should be None or greater than 0. "
                                                   f"(got {chunk_size!r})")):
        jacrev(jnp.sin, chunk_size=chunk_size)


@pytest.mark.parametrize("randomness", ["Same", "random", None, 0])
def test_error_randomness_not_one_of_three(randomness):
    msg = f"Only allowed values for randomness are 'error', 'different', or 'same'. Got {randomness!r}"
    with pytest.raises(ValueError, match=re.escape(msg)):
        vmap(jnp.sin, randomness=randomness)
    with pytest.raises(ValueError, match=re.escape(msg)):
        jaxlike.jacfwd(jnp.sin, randomness=randomness)


def test_error_random_draw_in_error_mode(randn):
    with pytest.raises(RuntimeError, match=re.escape(jr.ERROR_MESSAGE)):
        vmap(lambda v: v + jr.normal(()))(randn(3))
    assert jr.ERROR_MESSAGE == ("vmap: called random operation while in randomness error mode. Please either "
                                "use the 'same' or 'different' randomness flags on vmap or perform the "
                                "randomness operation out of vmap")
    with pytest.raises(RuntimeError, match="randomness error mode"):  # any enclosing vmap in error mode
        vmap(vmap(lambda v: v + jr.rand(), randomness="different"))(randn(2, 3))


def test_error_data_dependent_python_control_flow(randn):
    def relu(v):
        return v if v > 0 else 0.0 * v

    with pytest.raises(TracerBoolConversionError, match=r"Attempted boolean conversion of traced array with "
                                                        r"shape bool\[\] while tracing vmap of relu.*jnp.where"):
        vmap(relu)(randn(3))


def test_error_in_dims_and_in_axes_both_given():
    with pytest.raises(TypeError, match="give in_dims or in_axes"):
        vmap(jnp.sin, in_dims=1, in_axes=0)


def test_errors_leave_no_state_behind(randn):
    from jaxlike.ir.builder import state
    with pytest.raises(RuntimeError):
        vmap(lambda v: v + jr.normal(()))(randn(3))
    with pytest.raises(TracerBoolConversionError):
        vmap(lambda v: v if v > 0 else v)(randn(3))
    assert state.stack == [] and state.vmap_randomness == [] and jr._tracing.frames == []
