"""Automatic differentiation end to end: one second derivative many ways, nesting, eager control flow,
blocking gradients, argnums / pytrees / has_aux, linearize, and every error (type and message)."""

import re

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike import custom_jvp, custom_vjp, grad, jvp, linearize, no_grad, stop_gradient, value_and_grad, vjp
from jaxlike.ir.builder import state

X0 = 0.7


def f(x):
    return jnp.sin(x) * x * x


def df(x):
    return np.cos(x) * x * x + 2 * x * np.sin(x)


def d2f(x):
    return -np.sin(x) * x * x + 4 * x * np.cos(x) + 2 * np.sin(x)


def close(a, b, tol=1e-12):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


# custom rules that state the true first derivative, so every route must agree

@custom_jvp
def f_custom_jvp(x):
    return f(x)


@f_custom_jvp.defjvp
def _f_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return f_custom_jvp(x), (jnp.cos(x) * x * x + 2 * x * jnp.sin(x)) * t


@custom_vjp
def f_custom_vjp(x):
    return f(x)


def _f_fwd(x):
    return f(x), x


def _f_bwd(x, g):
    return ((jnp.cos(x) * x * x + 2 * x * jnp.sin(x)) * g,)


f_custom_vjp.defvjp(_f_fwd, _f_bwd)


# --------------------------------------------------------------------------------------------------
# One second derivative, many ways


SECOND_DERIVATIVES = {
    "grad(grad)": lambda x: grad(grad(f))(x),
    "jvp(grad)": lambda x: jvp(grad(f), (x,), (1.0,))[1],
    "linearize(grad)": lambda x: linearize(grad(f), x)[1](1.0),
    "vjp(grad)": lambda x: vjp(grad(f), x)[1](1.0)[0],
    "grad(grad(custom_jvp))": lambda x: grad(grad(f_custom_jvp))(x),
    "grad(grad(custom_vjp))": lambda x: grad(grad(f_custom_vjp))(x),
    "jvp(jvp)": lambda x: jvp(lambda y: jvp(f, (y,), (1.0,))[1], (x,), (1.0,))[1],
    "jvp(grad(custom_jvp))": lambda x: jvp(grad(f_custom_jvp), (x,), (1.0,))[1],
    "jvp(grad(custom_vjp))": lambda x: jvp(grad(f_custom_vjp), (x,), (1.0,))[1],
    "grad(jvp)": lambda x: grad(lambda y: jvp(f, (y,), (1.0,))[1])(x),
    "hessian": lambda x: jaxlike.hessian(f)(x),
    "jacrev(jacrev)": lambda x: jaxlike.jacrev(jaxlike.jacrev(f))(x),
    "jacfwd(jacfwd)": lambda x: jaxlike.jacfwd(jaxlike.jacfwd(f))(x),
    "jit(grad(grad))": lambda x: jaxlike.jit(grad(grad(f)))(x),
    "vmap(grad(grad))": lambda x: jaxlike.vmap(grad(grad(f)))(np.array([x]))[0],
}


@pytest.mark.parametrize("way", list(SECOND_DERIVATIVES))
def test_second_derivative_every_way(way):
    x = np.array(X0)
    close(SECOND_DERIVATIVES[way](x), d2f(X0))


def test_second_derivative_ways_agree_with_each_other():
    x = np.array(-1.3)
    values = {way: float(compute(x)) for way, compute in SECOND_DERIVATIVES.items()}
    assert len(values) >= 7
    for way, value in values.items():
        close(value, d2f(-1.3), tol=1e-11), way


def test_third_derivative_of_a_vector_function():
    x = np.array([0.3, -0.5, 1.1])
    g = grad(lambda x: grad(lambda y: jnp.sum(f(y)))(x).sum())  # sum of second derivatives per element
    close(g(x), d2f(x))
    d3 = jvp(lambda x: grad(lambda y: jnp.sum(grad(lambda z: jnp.sum(f(z)))(y)))(x), (x,), (np.ones(3),))[1]
    h = 1e-5
    close(d3, (d2f(x + h) - d2f(x - h)) / (2 * h), tol=1e-7)


# --------------------------------------------------------------------------------------------------
# Nesting: perturbation confusion and closures


@pytest.mark.parametrize("x", [0.0, 1.0, -3.5])
def test_perturbation_confusion(x):
    # d/dx [x · d/dy (x + y)] = d/dx [x · 1] = 1, not 2
    close(grad(lambda x: x * grad(lambda y: x + y)(1.0))(np.array(x)), 1.0)
    close(jvp(lambda x: x * jvp(lambda y: x + y, (1.0,), (1.0,))[1], (np.array(x),), (1.0,))[1], 1.0)
    close(grad(lambda x: x * jvp(lambda y: x + y, (1.0,), (1.0,))[1])(np.array(x)), 1.0)
    close(jvp(lambda x: x * grad(lambda y: x + y)(1.0), (np.array(x),), (1.0,))[1], 1.0)


def test_grad_of_a_function_that_takes_grad_of_a_closure_over_its_argument():
    def g(x):
        return grad(lambda y: x * y * y)(x)  # = 2 x · x

    close(g(np.array(1.5)), 4.5)
    close(grad(g)(np.array(1.5)), 6.0)  # d/dx 2x² = 4x
    close(grad(grad(g))(np.array(1.5)), 4.0)
    close(jaxlike.vmap(grad(g))(np.array([1.0, 2.0])), [4.0, 8.0])


def test_inner_derivative_of_an_outer_value_only():
    # the inner function ignores its own argument: its derivative is 0, the outer one sees x²
    close(grad(lambda x: grad(lambda y: x * x)(1.0) + x * x)(np.array(3.0)), 6.0)


# --------------------------------------------------------------------------------------------------
# Eager Python control flow: the derivative follows the branch taken


def piecewise(x):
    if x > 0:
        return x * x
    return -x * x * x


def doubling(x):
    while x < 10.0:
        x = x * 2.0
    return x


def test_if_on_a_traced_value_under_grad():
    close(grad(piecewise)(np.array(3.0)), 6.0)
    close(grad(piecewise)(np.array(-2.0)), -12.0)
    close(grad(grad(piecewise))(np.array(-2.0)), 12.0)
    close(jvp(piecewise, (np.array(3.0),), (np.array(1.0),))[1], 6.0)


def test_while_on_a_traced_value_under_grad():
    close(grad(doubling)(np.array(3.0)), 4.0)  # 3 -> 6 -> 12: two doublings
    close(grad(doubling)(np.array(0.5)), 32.0)  # five doublings
    close(value_and_grad(doubling)(np.array(20.0)), (20.0, 1.0))


@pytest.mark.parametrize("fn", [piecewise, doubling])
def test_python_control_flow_under_jit_raises_with_hint(fn):
    with pytest.raises(jaxlike.TracerBoolConversionError, match=re.escape("Attempted boolean conversion of "
                                                                          "traced array")) as info:
        jaxlike.jit(fn)(np.array(3.0))
    message = str(info.value)
    assert "jaxlike.lax.cond" in message and "jnp.where" in message and "static_argnums" in message
    with pytest.raises(jaxlike.TracerBoolConversionError):
        jaxlike.jit(grad(fn))(np.array(3.0))
    assert state.stack == []


# --------------------------------------------------------------------------------------------------
# Blocking gradients


def test_stop_gradient_blocks_both_modes():
    def g(x):
        return x * stop_gradient(x * x)

    x = np.array(3.0)
    close(g(x), 27.0)
    close(grad(g)(x), 9.0)
    close(jvp(g, (x,), (1.0,))[1], 9.0)
    close(grad(grad(g))(x), 0.0)
    close(jaxlike.jacfwd(g)(x), 9.0)
    close(jaxlike.jacrev(g)(x), 9.0)
    tree_out = stop_gradient({"a": x, "b": [x, 2.0]})
    assert tree_out["b"][1] == 2.0


def test_no_grad_blocks_both_modes():
    def g(x):
        with no_grad():
            y = x * x
        return x * y

    x = np.array(3.0)
    close(grad(g)(x), 9.0)
    close(jvp(g, (x,), (1.0,))[1], 9.0)
    close(jaxlike.jacrev(g)(x), 9.0)
    assert state.no_grad == 0


def test_no_grad_is_reset_after_an_error():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert state.no_grad == 0


# --------------------------------------------------------------------------------------------------
# argnums, pytrees, has_aux


def test_argnums_int_and_tuple():
    g = lambda x, y, z: x * y * y * z  # noqa: E731
    args = (np.array(2.0), np.array(3.0), np.array(5.0))
    close(grad(g)(*args), 45.0)
    close(grad(g, argnums=1)(*args), 60.0)
    close(grad(g, argnums=-1)(*args), 18.0)
    gx, gz = grad(g, argnums=(0, 2))(*args)
    close(gx, 45.0)
    close(gz, 18.0)
    (gz2,) = grad(g, argnums=(2,))(*args)
    close(gz2, 18.0)
    value, (gy, gx2) = value_and_grad(g, argnums=(1, 0))(*args)
    close(value, 90.0)
    close(gy, 60.0)
    close(gx2, 45.0)


def test_pytrees_everywhere():
    params = {"w": np.array([1.0, 2.0]), "b": (np.array(0.5), [np.array(-1.0)])}

    def loss(p, x):
        return jnp.sum(p["w"] * x) + p["b"][0] * p["b"][1][0] * 3.0

    x = np.array([3.0, 4.0])
    g = grad(loss)(params, x)
    assert set(g) == {"w", "b"} and isinstance(g["b"], tuple) and isinstance(g["b"][1], list)
    close(g["w"], x)
    close(g["b"][0], -3.0)
    close(g["b"][1][0], 1.5)
    out, tangent = jvp(lambda p: {"y": p["w"] * 2.0, "z": (p["b"][0],)}, (params,),
                       ({"w": np.ones(2), "b": (np.array(1.0), [np.array(0.0)])},))
    close(tangent["y"], [2.0, 2.0])
    close(tangent["z"][0], 1.0)
    out, pullback = vjp(lambda p: [p["w"].sum(), p["b"][0]], params)
    (ct,) = pullback([np.array(1.0), np.array(2.0)])
    close(ct["w"], [1.0, 1.0])
    close(ct["b"][0], 2.0)
    close(ct["b"][1][0], 0.0)
    _, f_jvp = linearize(lambda p: p["w"] * p["b"][0], params)
    close(f_jvp({"w": np.ones(2), "b": (np.array(0.0), [np.array(0.0)])}), [0.5, 0.5])


def test_has_aux():
    def loss(x):
        return jnp.sum(x * x), {"norm": jnp.sum(x), "count": 3}

    x = np.array([1.0, 2.0, 3.0])
    g, aux = grad(loss, has_aux=True)(x)
    close(g, 2 * x)
    close(aux["norm"], 6.0)
    assert aux["count"] == 3
    (value, aux), g = value_and_grad(loss, has_aux=True)(x)
    close(value, 14.0)
    out, tangent, aux = jvp(loss, (x,), (np.ones(3),), has_aux=True)
    close(tangent, 12.0)
    out, pullback, aux = vjp(loss, x, has_aux=True)
    close(pullback(np.array(1.0))[0], 2 * x)
    out, f_jvp, aux = linearize(loss, x, has_aux=True)
    close(f_jvp(np.ones(3)), 12.0)
    close(aux["norm"], 6.0)


def test_integer_arguments_not_differentiated():
    g = lambda x, n: x ** n  # noqa: E731
    close(grad(g)(np.array(2.0), np.array(3)), 12.0)
    ct = vjp(g, np.array(2.0), np.array(3))[1](np.array(1.0))
    assert ct[1].dtype.kind == "i" and ct[1] == 0


# --------------------------------------------------------------------------------------------------
# linearize runs only the linear graph


def test_linearize_runs_only_the_linear_graph():
    x = np.array([0.1, 0.2, 0.3])
    out, f_jvp = linearize(lambda x: jnp.sin(x) * jnp.exp(x), x)
    close(out, np.sin(x) * np.exp(x))
    names = [e.prim.name for e in f_jvp.graph.eqns]
    assert names and not {"sin", "cos", "exp"} & set(names), names
    assert set(names) <= {"mul", "add", "neg", "sub", "broadcast_in_dim"}, names
    t = np.array([1.0, 0.0, 2.0])
    close(f_jvp(t), (np.cos(x) * np.exp(x) + np.sin(x) * np.exp(x)) * t)


def test_vjp_pullback_graph_has_no_primal_work():
    _, pullback = vjp(lambda x: jnp.sin(x) * jnp.exp(x), np.array([0.1, 0.2]))
    assert not {"sin", "cos", "exp"} & {e.prim.name for e in pullback.graph.eqns}


# --------------------------------------------------------------------------------------------------
# Errors: JAX's types and messages


def test_integer_input_to_grad():
    with pytest.raises(TypeError, match=re.escape("grad requires real-valued (float) inputs (input dtype "
                                                  "that is a sub-dtype of np.inexact), but got int64")):
        grad(lambda x: x * 2.0)(np.array(3))


def test_grad_of_a_non_scalar_output():
    with pytest.raises(TypeError, match=re.escape("Gradient only defined for scalar-output functions. Output "
                                                  "had shape: (3,).")) as info:
        grad(jnp.sin)(np.ones(3))
    assert "jacrev" in str(info.value) and ".sum()" in str(info.value)


def test_grad_of_a_non_float_output():
    with pytest.raises(TypeError, match=re.escape("grad requires real-valued outputs (output dtype that is a "
                                                  "sub-dtype of np.floating), but got bool")):
        grad(lambda x: x > 0)(np.array(1.0))


@pytest.mark.parametrize("argnums, text", [(1, "argnums=1"), ((0, 3), "argnums=(0, 3)")])
def test_argnums_out_of_range(argnums, text):
    with pytest.raises(TypeError, match=re.escape(f"differentiating with respect to {text} requires at least")):
        grad(lambda x: x, argnums=argnums)(np.array(1.0))


def test_has_aux_output_not_a_pair():
    with pytest.raises(TypeError, match="expected function with aux output to return a two-element tuple"):
        grad(lambda x: x * 2.0, has_aux=True)(np.array(1.0))
    with pytest.raises(TypeError, match="expected function with aux output to return a two-element tuple"):
        grad(lambda x: (x, x, x), has_aux=True)(np.array(1.0))


def test_jvp_mismatches():
    with pytest.raises(ValueError, match=re.escape("jvp called with different primal and tangent shapes")):
        jvp(jnp.sin, (np.ones(3),), (np.ones(4),))
    with pytest.raises(TypeError, match=re.escape("primal and tangent arguments to jvp do not match; dtypes "
                                                  "must be equal")):
        jvp(jnp.sin, (np.ones(3),), (np.ones(3, np.float32),))
    with pytest.raises(TypeError, match=re.escape("primal and tangent arguments to jvp must have the same tree "
                                                  "structure")):
        jvp(lambda x, y: x * y, (np.ones(3), np.ones(3)), (np.ones(3),))
    with pytest.raises(TypeError, match="primals and tangents must be tuples"):
        jvp(jnp.sin, np.ones(3), np.ones(3))


def test_vjp_cotangent_mismatches():
    _, pullback = vjp(jnp.sin, np.ones(3))
    with pytest.raises(ValueError, match=re.escape("Shape of cotangent input to vjp pullback function (4,) "
                                                   "must be the same as the shape of corresponding primal "
                                                   "output (3,)")):
        pullback(np.ones(4))
    with pytest.raises(TypeError, match=re.escape("Type of cotangent input to vjp pullback function (float32) "
                                                  "is not the expected tangent type (float64)")):
        pullback(np.ones(3, np.float32))
    with pytest.raises(TypeError, match=re.escape("Tree structure of cotangent input")):
        pullback((np.ones(3),))


def test_leaked_tracer():
    leaked = []

    def g(x):
        leaked.append(x)
        return x * 2.0

    grad(g)(np.array(1.0))
    with pytest.raises(jaxlike.UnexpectedTracerError, match="Encountered an unexpected tracer"):
        grad(lambda y: y * leaked[0])(np.array(1.0))
    with pytest.raises(jaxlike.UnexpectedTracerError, match="Encountered an unexpected tracer"):
        jnp.sin(leaked[0])
    assert state.stack == []


def test_tracing_state_clean_after_errors():
    failing = [
        lambda: grad(jnp.sin)(np.ones(3)),
        lambda: grad(lambda x: x)(np.array(3)),
        lambda: grad(lambda x: undefined_name)(np.array(1.0)),  # noqa: F821
        lambda: grad(lambda x: grad(lambda y: y[10])(x))(np.ones(2)),
        lambda: jvp(lambda x: x.reshape(7), (np.ones(3),), (np.ones(3),)),
        lambda: jaxlike.jit(piecewise)(np.array(1.0)),
        lambda: jaxlike.vmap(lambda x: grad(piecewise)(x))(np.ones(3)),
    ]
    for fn in failing:
        with pytest.raises(Exception):
            fn()
        assert state.stack == [] and state.no_grad == 0
    close(grad(f)(np.array(X0)), df(X0))  # and everything still works


# --------------------------------------------------------------------------------------------------
# docs/autodiff.md shows what its code prints


def test_autodiff_page_shows_what_its_code_prints(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "autodiff.md").read_text()
    code = re.findall(r"^```python\n(.*?)^```", page, re.S | re.M)
    shown = re.findall(r"^```text\n(.*?)^```", page, re.S | re.M)
    script = tmp_path / "autodiff_blocks.py"
    script.write_text("\n\n".join(code))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout == "".join(shown)


# --------------------------------------------------------------------------------------------------
# jaxlike.testing catches wrong derivatives, batching and compilation, and says where


def _with_rule(rule):
    fn = custom_jvp(lambda x, y: jnp.sin(x) * y)
    fn.defjvp(rule)
    return fn


def test_check_jvp_and_check_vjp_name_the_wrong_argument():
    from jaxlike.testing import check_jvp, check_vjp
    xs = (np.array([0.3, 0.5]), np.array([1.5, -2.0]))
    right = _with_rule(lambda p, t: (jnp.sin(p[0]) * p[1], jnp.cos(p[0]) * p[1] * t[0] + jnp.sin(p[0]) * t[1]))
    check_jvp(right, xs)
    check_vjp(right, xs)
    wrong_y = _with_rule(lambda p, t: (jnp.sin(p[0]) * p[1],
                                       jnp.cos(p[0]) * p[1] * t[0] + 1.1 * jnp.sin(p[0]) * t[1]))
    with pytest.raises(AssertionError, match=r"check_jvp failed for .*: max abs error .*, max rel error .* "
                                             r"\(atol=1e-06, rtol=1e-06\) at output, from the tangent of "
                                             r"args\[1\] \(central differences"):
        check_jvp(wrong_y, xs)
    with pytest.raises(AssertionError, match=r"check_vjp failed .* by central differences but .* by vjp; the "
                                             r"cotangent of args\[1\] is wrong"):
        check_vjp(wrong_y, xs)


def test_check_grads_finds_a_wrong_second_derivative():
    from jaxlike.testing import check_grads
    # right first derivative, but the rule's tangent is cut from differentiation: d² is 0, not -sin
    flat = custom_jvp(lambda x: jnp.sin(x))
    flat.defjvp(lambda p, t: (jnp.sin(p[0]), stop_gradient(jnp.cos(p[0])) * t[0]))
    x = (np.array([0.3, 0.5]),)
    check_grads(flat, x, order=1)
    with pytest.raises(AssertionError, match=r"check_grads \(JVP of JVP\) failed for jvp\("):
        check_grads(flat, x, order=2, modes="fwd")
    with pytest.raises(AssertionError, match=r"check_grads \(VJP of VJP\) failed for vjp\("):
        check_grads(flat, x, order=2, modes="rev")


def test_check_grads_tolerances_follow_the_dtype():
    from jaxlike.testing import check_grads
    wrong = custom_jvp(lambda x: jnp.sin(x))
    wrong.defjvp(lambda p, t: (jnp.sin(p[0]), 1.001 * jnp.cos(p[0]) * t[0]))  # 0.1% off
    check_grads(wrong, (np.array([0.3, 0.5], np.float32),), order=1)  # within float32's 2e-2
    with pytest.raises(AssertionError, match=r"atol=1e-06, rtol=1e-06"):
        check_grads(wrong, (np.array([0.3, 0.5]),), order=1)
    check_grads(wrong, (np.array([0.3, 0.5]),), order=1, rtol=1e-2, atol=1e-2)
    with pytest.raises(ValueError, match="modes must be 'fwd' and/or 'rev'"):
        check_grads(jnp.sin, (np.ones(2),), modes=("backward",))


def test_check_vmap_and_check_jit_catch_disagreement():
    from jaxlike.testing import check_jit, check_vmap
    calls = [0]

    def stateful(x):  # a Python side effect: called once by vmap and jit, once per element by a loop
        calls[0] += 1
        return x * float(calls[0])

    check_vmap(jnp.sin, (np.ones((4, 3)), ), in_dims=0)
    check_vmap(lambda x, y: x * y, (np.ones((3, 2)), np.arange(3.0)), in_dims=(1, None))
    with pytest.raises(AssertionError, match=r"check_vmap failed for .*stateful: max abs error .* against a "
                                             r"loop over 4 elements"):
        check_vmap(stateful, (np.ones((4, 3)),))
    check_jit(jnp.sin, (np.ones(3),))
    with pytest.raises(AssertionError, match=r"check_jit failed for .*stateful: .*\(compiled against "
                                             r"interpreted\)"):
        check_jit(stateful, (np.ones(3),))
