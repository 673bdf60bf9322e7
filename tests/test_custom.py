"""custom_jvp and custom_vjp: the rules are used by every transform (jvp, grad, vjp, linearize, jacfwd,
jacrev, hessian, vmap, jit), to any order; the printed IR; every error message."""

import functools

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike import custom_jvp, custom_vjp
from jaxlike.ir.builder import UnexpectedTracerError, state
from jaxlike.ir.prims.custom import has_custom, inline_custom
from jaxlike.ir.verify import verify
from jaxlike.testing import check_grads, check_jit, check_vmap

X = np.array([0.3, -1.2, 2.0])


def allclose(a, b, tol=1e-12):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


# A rule that deliberately differs from the true derivative, so a test can tell it was used:
# the "derivative" of sin is 2 cos, and the rule calls the function itself (as JAX rules usually do).

@custom_jvp
def sin2(x):
    return jnp.sin(x)


@sin2.defjvp
def sin2_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return sin2(x), 2.0 * jnp.cos(x) * t


# d/dx sin x = 3 cos x * y by decree; d/dy = sin x (true)

@custom_vjp
def siny(x, y):
    return jnp.sin(x) * y


def siny_fwd(x, y):
    return siny(x, y), (jnp.cos(x), jnp.sin(x), y)


def siny_bwd(res, g):
    cos_x, sin_x, y = res
    return 3.0 * cos_x * g * y, jnp.sum(sin_x * g)  # y is a scalar in these tests


siny.defvjp(siny_fwd, siny_bwd)


# --------------------------------------------------------------------------------------------------
# custom_jvp: every transform uses the rule


def test_custom_jvp_outside_transforms_is_the_function():
    allclose(sin2(X), np.sin(X))
    assert isinstance(sin2(X), np.ndarray)
    assert sin2.__name__ == "sin2" and sin2.__doc__ is None


def test_custom_jvp_rule_in_every_mode():
    allclose(jaxlike.jvp(sin2, (X,), (np.ones(3),))[1], 2 * np.cos(X))
    allclose(jaxlike.grad(lambda x: sin2(x).sum())(X), 2 * np.cos(X))
    out, pullback = jaxlike.vjp(sin2, X)
    allclose(pullback(np.ones(3))[0], 2 * np.cos(X))
    _, f_jvp = jaxlike.linearize(sin2, X)
    allclose(f_jvp(np.ones(3)), 2 * np.cos(X))
    allclose(jaxlike.jacfwd(sin2)(X), np.diag(2 * np.cos(X)))
    allclose(jaxlike.jacrev(sin2)(X), np.diag(2 * np.cos(X)))


def test_custom_jvp_higher_order_differentiates_the_rule():
    # d/dx (2 cos x) = -2 sin x: the rule is differentiated, and its own call of sin2 uses the rule again
    x = np.array(0.7)
    allclose(jaxlike.grad(jaxlike.grad(sin2))(x), -2 * np.sin(x))
    allclose(jaxlike.hessian(lambda v: sin2(v).sum())(X), np.diag(-2 * np.sin(X)))
    # third order: the rule's sin2(x) primal is not differentiated, the tangent -2 sin x is: -2 cos x
    allclose(jaxlike.grad(jaxlike.grad(jaxlike.grad(sin2)))(x), -2 * np.cos(x))


def test_custom_jvp_rule_that_calls_the_function_in_its_tangent():
    @custom_jvp
    def exp2(x):
        return jnp.exp(x)

    @exp2.defjvp
    def exp2_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        ans = exp2(x)
        return ans, 2.0 * ans * t  # d exp2 = 2 exp2, so the n-th derivative is 2^n exp

    x = np.array(0.5)
    allclose(jaxlike.grad(exp2)(x), 2 * np.exp(x))
    allclose(jaxlike.grad(jaxlike.grad(exp2))(x), 4 * np.exp(x))
    allclose(jaxlike.grad(jaxlike.grad(jaxlike.grad(exp2)))(x), 8 * np.exp(x))


def test_log1pexp_stable_gradient():
    @custom_jvp
    def log1pexp(x):
        return jnp.log(1.0 + jnp.exp(x))

    @log1pexp.defjvp
    def log1pexp_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), t * (1.0 - 1.0 / (1.0 + jnp.exp(x)))

    with np.errstate(over="ignore", invalid="ignore"):
        naive = jaxlike.grad(lambda x: jnp.log(1.0 + jnp.exp(x)))(np.array(1000.0))
        stable = jaxlike.grad(log1pexp)(np.array(1000.0))
    assert np.isnan(naive)
    allclose(stable, 1.0)


def test_defjvps_one_rule_per_argument():
    @custom_jvp
    def f(x, y):
        return jnp.sin(x) * y

    f.defjvps(lambda tx, ans, x, y: 5.0 * tx, None)  # d/dx is 5 by decree, y is not differentiated
    gx, gy = jaxlike.grad(f, argnums=(0, 1))(np.array(0.3), np.array(2.0))
    allclose(gx, 5.0)
    allclose(gy, 0.0)


def test_custom_jvp_pytrees_in_and_out_and_kwargs():
    @custom_jvp
    def f(params, x):
        return {"a": params["w"] * x, "b": (x, params["b"] + x)}

    @f.defjvp
    def f_jvp(primals, tangents):
        (params, x), (tp, tx) = primals, tangents
        out = f(params, x)
        return out, {"a": 10.0 * (tp["w"] * x + params["w"] * tx),
                     "b": (tx, tp["b"] + tx)}

    params = {"w": np.array(2.0), "b": np.array(1.0)}
    x = np.array(3.0)
    g = jaxlike.grad(lambda p, x: f(p, x=x)["a"])(params, x)
    allclose(g["w"], 30.0)
    allclose(g["b"], 0.0)
    gb = jaxlike.grad(lambda p: f(p, x)["b"][1])(params)
    allclose(gb["b"], 1.0)


def test_nondiff_argnums_static_function_argument():
    @functools.partial(custom_jvp, nondiff_argnums=(0,))
    def apply(fn, x):
        return fn(x)

    @apply.defjvp
    def apply_jvp(fn, primals, tangents):
        (x,), (t,) = primals, tangents
        return apply(fn, x), 7.0 * t  # every derivative is 7

    allclose(jaxlike.grad(lambda x: apply(jnp.sin, x))(np.array(0.2)), 7.0)
    allclose(jaxlike.grad(lambda x: apply(jnp.cos, x) * x)(np.array(0.2)), 7 * 0.2 + np.cos(0.2))
    allclose(jaxlike.vmap(jaxlike.grad(lambda x: apply(jnp.sin, x)))(X), [7.0] * 3)


def test_nondiff_argnums_array_argument_is_passed_to_the_rule():
    @functools.partial(custom_jvp, nondiff_argnums=(1,))
    def scale(x, s):
        return x * s

    @scale.defjvp
    def scale_jvp(s, primals, tangents):
        (x,), (t,) = primals, tangents
        return scale(x, s), 3.0 * s * t  # 3 s instead of s

    s = np.array(2.0)
    allclose(jaxlike.grad(scale)(np.array(1.5), s), 6.0)
    # a traced nondiff argument: the rule gets it; its own derivative is that of the function (x)
    allclose(jaxlike.grad(lambda x: scale(x, x * 1.0))(np.array(1.5)), 3 * 1.5 + 1.5)
    allclose(jaxlike.grad(lambda s: scale(np.array(1.5), s))(s), 1.5)
    allclose(jaxlike.vmap(jaxlike.grad(scale), (0, None))(X, s), [6.0] * 3)


def test_closure_over_a_traced_value_differentiates_the_function_there():
    def loss(w, x):
        @custom_jvp
        def f(x):
            return jnp.sin(x) * w

        @f.defjvp
        def f_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            return jnp.sin(x) * 2.0, 100.0 * t  # closes over nothing traced
        return f(x)

    w, x = np.array(2.0), np.array(0.5)
    gw, gx = jaxlike.grad(loss, argnums=(0, 1))(w, x)
    allclose(gx, 100.0)  # the rule
    allclose(gw, np.sin(x))  # through the closed-over w: the derivative of the function


def test_rule_closing_over_the_same_traced_value_as_its_function():
    def loss(w, x):
        @custom_jvp
        def f(x):
            return x * w

        @f.defjvp
        def f_jvp(primals, tangents):  # runs after the trace of loss has ended: w stands for its value
            (x,), (t,) = primals, tangents
            return f(x), 3.0 * t * w
        return f(x)

    w, x = np.array(2.0), np.array(0.5)
    gw, gx = jaxlike.grad(loss, argnums=(0, 1))(w, x)
    allclose(gx, 3 * w)
    allclose(gw, x)
    allclose(jaxlike.grad(jaxlike.grad(loss, argnums=1), argnums=0)(w, x), 3.0)  # d/dw of the rule's 3w
    allclose(jaxlike.vmap(jaxlike.grad(loss, argnums=1), (None, 0))(w, X), [6.0] * 3)


def test_closures_through_batching_and_jit():
    def loss_jvp(w, xs):
        @custom_jvp
        def f(x):
            return jnp.sin(x) * w

        f.defjvp(lambda p, t: (f(p[0]), 3.0 * t[0] * w))
        return jnp.sum(jaxlike.vmap(f)(xs))

    def loss_vjp(w, xs):
        @custom_vjp
        def f(x):
            return jnp.sin(x) * w

        f.defvjp(lambda x: (f(x), jnp.cos(x)), lambda cos_x, g: (5.0 * cos_x * g * w,))
        return jnp.sum(jaxlike.vmap(f)(xs))

    w = np.array(2.0)
    gw, gx = jaxlike.grad(loss_jvp, argnums=(0, 1))(w, X)  # grad of vmap: the batched rule gets w
    allclose(gw, np.sin(X).sum())
    allclose(gx, [6.0] * 3)
    gw, gx = jaxlike.grad(loss_vjp, argnums=(0, 1))(w, X)
    allclose(gw, np.sin(X).sum())
    allclose(gx, 5 * np.cos(X) * w)
    gw, gx = jaxlike.jit(jaxlike.grad(loss_vjp, argnums=(0, 1)))(w, X)
    allclose(gx, 5 * np.cos(X) * w)
    allclose(jaxlike.jit(lambda w, x: jaxlike.grad(loss_jvp, argnums=1)(w, x))(w, X), [6.0] * 3)


def test_batching_along_other_axes():
    xs = np.arange(6.0).reshape(2, 3) / 5
    allclose(jaxlike.vmap(jaxlike.grad(lambda x: sin2(x).sum()), in_dims=1)(xs), 2 * np.cos(xs).T)
    allclose(jaxlike.grad(lambda x: jaxlike.vmap(sin2, in_dims=1, out_dims=1)(x).sum())(xs), 2 * np.cos(xs))
    allclose(jaxlike.grad(lambda x: jaxlike.vmap(siny, in_dims=(1, None))(x, 2.0).sum())(xs), 6 * np.cos(xs))
    check_vmap(siny, (xs, np.array(2.0)), (1, None))


def test_rule_closing_over_a_value_its_function_does_not_use_raises_with_hint():
    def loss(v, x):
        @custom_jvp
        def f(x):
            return x * 2.0

        @f.defjvp
        def f_jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            return x * 2.0, t * v  # v belongs to the trace of loss, which has ended when this runs
        return f(x)

    with pytest.raises(UnexpectedTracerError, match=r"custom rule \S*f_jvp: a custom rule runs when a "
                                                    r"transform differentiates the function"):
        jaxlike.grad(loss, argnums=1)(np.array(2.0), np.array(0.5))
    assert state.stack == []


def test_integer_argument_of_a_custom_jvp_function():
    @custom_jvp
    def power(x, n):
        return x ** n

    @power.defjvp
    def power_jvp(primals, tangents):
        (x, n), (t, _) = primals, tangents
        return power(x, n), n * x ** (n - 1) * t

    allclose(jaxlike.grad(power)(np.array(2.0), np.array(3)), 12.0)


def test_custom_jvp_under_vmap():
    check_vmap(sin2, (np.ones((4, 3)),), 0)
    allclose(jaxlike.vmap(jaxlike.grad(sin2))(X), 2 * np.cos(X))
    allclose(jaxlike.grad(lambda x: jaxlike.vmap(sin2)(x).sum())(X), 2 * np.cos(X))
    allclose(jaxlike.jacrev(jaxlike.vmap(sin2))(X), np.diag(2 * np.cos(X)))
    # a batched and an unbatched argument
    f = custom_jvp(lambda x, y: jnp.sin(x) * y)
    f.defjvp(lambda p, t: (f(*p), 4.0 * t[0] + 0.0 * t[1] * p[1]))
    y = np.array(3.0)
    allclose(jaxlike.grad(lambda x: jaxlike.vmap(f, (0, None))(x, y).sum())(X), [4.0] * 3)
    allclose(jaxlike.grad(lambda y: jaxlike.vmap(f, (0, None))(X, y).sum())(y), 0.0)
    # vmap over a batched tangent with an unbatched primal (jvp inside vmap)
    tangents = np.eye(3)
    jac = jaxlike.vmap(lambda t: jaxlike.jvp(sin2, (X,), (t,))[1])(tangents)
    allclose(jac, np.diag(2 * np.cos(X)))


def test_custom_jvp_under_jit():
    check_jit(sin2, (X,))
    allclose(jaxlike.jit(jaxlike.grad(lambda x: sin2(x).sum()))(X), 2 * np.cos(X))
    allclose(jaxlike.grad(lambda x: jaxlike.jit(sin2)(x).sum())(X), 2 * np.cos(X))
    allclose(jaxlike.jit(jaxlike.vmap(jaxlike.grad(sin2)))(X), 2 * np.cos(X))


def test_custom_jvp_printed_and_inlined():
    graph = jaxlike.make_ir(lambda x: sin2(x) * 2.0)(np.array(1.0))
    assert str(graph) == """\
{ lambda ; a:f64[]. let
    b:f64[] = custom_jvp_call[
        call={ lambda ; c:f64[]. let
            d:f64[] = sin c
          in (d,) },
        jvp=sin2_jvp,
        num_consts=0,
        num_nondiff=0
      ] a
    e:f64[] = mul b 2.0
  in (e,) }"""
    verify(graph)
    inlined = inline_custom(graph)
    verify(inlined)
    assert not has_custom(inlined)
    assert str(inlined) == """\
{ lambda ; a:f64[]. let
    b:f64[] = sin a
    c:f64[] = mul b 2.0
  in (c,) }"""
    assert inline_custom(inlined) is inlined  # nothing to do: the same graph


def test_grad_of_custom_jvp_graph_is_the_rule():
    graph = jaxlike.make_ir(jaxlike.grad(sin2))(np.array(1.0))
    assert str(graph) == """\
{ lambda ; a:f64[]. let
    b:f64[] = cos a
    c:f64[] = mul 2.0 b
  in (c,) }"""


def test_custom_jvp_call_in_a_linear_position_is_transposed():
    @custom_jvp
    def double(x):  # linear, with a (correct) rule that calls itself on the tangent
        return 2.0 * x

    double.defjvp(lambda p, t: (double(p[0]), double(t[0])))

    @custom_jvp
    def f(x):
        return jnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), double(0.5 * jnp.cos(p[0]) * t[0])))  # tangent through a custom call
    allclose(jaxlike.grad(lambda x: f(x).sum())(X), np.cos(X))
    check_grads(f, (X,), order=2)


def test_custom_jvp_check_grads_with_a_correct_rule():
    @custom_jvp
    def softplus(x):
        return jnp.log(1.0 + jnp.exp(x))

    @softplus.defjvp
    def softplus_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return softplus(x), t / (1.0 + jnp.exp(-x))

    check_grads(softplus, (X,), order=2)
    check_grads(softplus, (X.astype(np.float32),), order=2)
    check_grads(lambda x: jaxlike.vmap(softplus)(x), (X,), order=2)


# --------------------------------------------------------------------------------------------------
# custom_vjp


def test_custom_vjp_outside_transforms_is_the_function():
    allclose(siny(X, 2.0), np.sin(X) * 2)


def test_custom_vjp_rule_in_reverse_mode():
    x, y = np.array(0.3), np.array(2.0)
    gx, gy = jaxlike.grad(siny, argnums=(0, 1))(x, y)
    allclose(gx, 3 * np.cos(x) * y)
    allclose(gy, np.sin(x))
    _, pullback = jaxlike.vjp(siny, X, y)
    cx, cy = pullback(np.ones(3))
    allclose(cx, 3 * np.cos(X) * 2)
    allclose(cy, np.sin(X).sum())
    allclose(jaxlike.jacrev(siny)(X, y), np.diag(3 * np.cos(X) * 2))


def test_custom_vjp_higher_order_differentiates_bwd():
    x, y = np.array(0.3), np.array(2.0)
    allclose(jaxlike.grad(jaxlike.grad(siny))(x, y), -3 * np.sin(x) * y)
    allclose(jaxlike.hessian(lambda v: siny(v, y).sum())(X), np.diag(-3 * np.sin(X) * 2))
    allclose(jaxlike.jacfwd(jaxlike.grad(siny))(x, y), -3 * np.sin(x) * y)


def test_custom_vjp_forward_mode_is_an_error():
    for transform in (lambda: jaxlike.jvp(siny, (X, 2.0), (X, 1.0)),
                      lambda: jaxlike.jacfwd(siny)(X, np.array(2.0)),
                      lambda: jaxlike.linearize(siny, X, np.array(2.0))[1](X, np.array(1.0))):
        with pytest.raises(TypeError, match=r"can't apply forward-mode autodiff \(jvp\) to a custom_vjp "
                                            r"function"):
            transform()
        assert state.stack == []


def test_custom_vjp_none_cotangent_and_pytrees():
    @custom_vjp
    def f(params, x):
        return {"out": params["w"] * jnp.sin(x)}

    def f_fwd(params, x):
        return f(params, x), {"w": params["w"], "sin": jnp.sin(x), "cos": jnp.cos(x)}

    def f_bwd(res, ct):
        g = ct["out"]
        return {"w": (res["sin"] * g).sum(), "b": None}, None  # no cotangent for x, nor for b

    f.defvjp(f_fwd, f_bwd)
    params = {"w": np.array(2.0), "b": np.array(1.0)}
    g = jaxlike.grad(lambda p, x: f(p, x)["out"].sum(), argnums=(0, 1))(params, X)
    allclose(g[0]["w"], np.sin(X).sum())
    allclose(g[0]["b"], 0.0)
    allclose(g[1], np.zeros(3))


def test_custom_vjp_nondiff_argnums():
    @functools.partial(custom_vjp, nondiff_argnums=(0,))
    def clip_gradient(bound, x):
        return x

    def clip_fwd(bound, x):
        return x, None

    def clip_bwd(bound, _, g):
        return (jnp.clip(g, -bound, bound),)

    clip_gradient.defvjp(clip_fwd, clip_bwd)
    allclose(jaxlike.grad(lambda x: clip_gradient(0.5, x * 3.0).sum())(X), np.full(3, 1.5))
    allclose(jaxlike.grad(lambda x: clip_gradient(0.5, x).sum() * 3.0)(X), np.full(3, 0.5))
    # an array bound, traced, passed to bwd
    allclose(jaxlike.grad(lambda x, b: clip_gradient(b, x).sum() * 3.0)(X, np.array(1.0)), np.full(3, 1.0))


def test_custom_vjp_closure_and_integer_argument():
    def loss(w, x, n):
        @custom_vjp
        def f(x, n):
            return jnp.sin(x) * w * n

        f.defvjp(lambda x, n: (f(x, n), (jnp.cos(x), n)), lambda res, g: (10.0 * res[0] * g, None))
        return f(x, n).sum()

    gw, gx = jaxlike.grad(loss, argnums=(0, 1))(np.array(2.0), X, np.array(3))
    allclose(gx, 10 * np.cos(X))  # the rule (which does not use w)
    allclose(gw, (np.sin(X) * 3).sum())  # through the closed-over w: the function's own derivative


def test_custom_vjp_under_vmap():
    check_vmap(siny, (np.ones((4, 3)), np.array(2.0)), (0, None))
    y = np.array(2.0)
    allclose(jaxlike.vmap(jaxlike.grad(siny), (0, None))(X, y), 3 * np.cos(X) * y)
    allclose(jaxlike.grad(lambda x: jaxlike.vmap(siny, (0, None))(x, y).sum())(X), 3 * np.cos(X) * y)
    allclose(jaxlike.grad(lambda y: jaxlike.vmap(siny, (0, None))(X, y).sum())(y), np.sin(X).sum())
    allclose(jaxlike.grad(lambda ys: jaxlike.vmap(siny)(X, ys).sum())(np.ones(3)), np.sin(X))
    allclose(jaxlike.jacrev(jaxlike.vmap(siny, (0, None)))(X, y), np.diag(3 * np.cos(X) * y))


def test_custom_vjp_under_jit():
    check_jit(siny, (X, np.array(2.0)))
    allclose(jaxlike.jit(jaxlike.grad(lambda x: siny(x, 2.0).sum()))(X), 6 * np.cos(X))
    allclose(jaxlike.grad(lambda x: jaxlike.jit(siny)(x, 2.0).sum())(X), 6 * np.cos(X))


def test_custom_vjp_printed():
    graph = jaxlike.make_ir(siny)(np.array(1.0), np.array(2.0))
    assert str(graph) == """\
{ lambda ; a:f64[] b:f64[]. let
    c:f64[] = custom_vjp_call[
        bwd=siny_bwd,
        call={ lambda ; d:f64[] e:f64[]. let
            f:f64[] = sin d
            g:f64[] = mul f e
          in (g,) },
        fwd=siny_fwd,
        num_consts=0,
        num_nondiff=0
      ] a b
  in (c,) }"""
    verify(graph)


def test_custom_vjp_linear_graph_holds_custom_lin_and_its_transpose_is_bwd():
    _, f_jvp = jaxlike.linearize(lambda x: siny(x, 2.0), np.array(1.0))
    assert [e.prim.name for e in f_jvp.graph.eqns] == ["custom_lin"]
    assert "custom_lin[bwd=siny_bwd, num_consts=0, num_nondiff=0, num_res=3]" in str(f_jvp.graph)
    graph = jaxlike.make_ir(jaxlike.grad(lambda x: siny(x, 2.0)))(np.array(1.0))
    assert not has_custom(graph)
    verify(graph)


# --------------------------------------------------------------------------------------------------
# Errors, with JAX's messages


def test_missing_rules():
    f = custom_jvp(lambda x: x)
    with pytest.raises(AttributeError, match=r"No JVP defined for custom_jvp function \S*<lambda> using defjvp."):
        f(1.0)
    g = custom_vjp(lambda x: x)
    with pytest.raises(AttributeError, match=r"No VJP defined for custom_vjp function \S*<lambda> using defvjp."):
        g(1.0)


def _jvp_rule(rule):
    f = custom_jvp(lambda x: jnp.sin(x))
    f.defjvp(rule)
    return f


@pytest.mark.parametrize("rule, error, message", [
    (lambda p, t: p[0], TypeError,
     r"Custom JVP rule must produce a pair \(list or tuple of length two\) representing primal and "
     r"tangent outputs"),
    (lambda p, t: (jnp.sin(p[0]), (t[0],)), TypeError,
     r"Custom JVP rule must produce primal and tangent outputs with equal container \(pytree\) "
     r"structures, but got PyTreeDef\(\*\) and PyTreeDef\(\(\*,\)\) respectively"),
    (lambda p, t: (jnp.sin(p[0]), jnp.stack([t[0], t[0]])), TypeError,
     r"Custom JVP rule must produce primal and tangent outputs with equal shapes and dtypes, but got "
     r"f64\[3\] and f64\[2,3\] respectively"),
    (lambda p, t: (jnp.sin(p[0]), t[0].astype(np.float32)), TypeError,
     r"equal shapes and dtypes, but got f64\[3\] and f32\[3\]"),
    (lambda p, t: ((jnp.sin(p[0]),), (t[0],)), TypeError,
     r"must produce primal outputs with the container \(pytree\) structure of the function's output"),
    (lambda p, t: (jnp.sin(p[0])[:2], t[0][:2]), TypeError,
     r"must produce primal outputs with the shapes and dtypes of the function's outputs, but got f64\[2\] "
     r"where the function gives f64\[3\]"),
])
def test_custom_jvp_rule_errors(rule, error, message):
    f = _jvp_rule(rule)
    with pytest.raises(error, match=message):
        jaxlike.grad(lambda x: f(x).sum())(X)
    with pytest.raises(error, match=message):
        jaxlike.jvp(f, (X,), (X,))
    assert state.stack == []


def _vjp_rules(fwd, bwd):
    f = custom_vjp(lambda x, y: jnp.sin(x) * y)
    f.defvjp(fwd, bwd)
    return f


GOOD_FWD = lambda x, y: (jnp.sin(x) * y, (x, y))  # noqa: E731
GOOD_BWD = lambda res, g: (g * res[1], g * res[0])  # noqa: E731


@pytest.mark.parametrize("fwd, bwd, message", [
    (lambda x, y: jnp.sin(x) * y, GOOD_BWD,
     r"Custom VJP fwd function must produce a pair \(list or tuple of length two\) representing primal "
     r"outputs and residuals"),
    (GOOD_FWD, lambda res, g: g,
     r"Custom VJP bwd rule must produce an output with the same container \(pytree\) structure as the args "
     r"tuple of the primal function, and in particular must produce a tuple of length equal to the number "
     r"of arguments to the primal function"),
    (GOOD_FWD, lambda res, g: (g,),
     r"must produce a tuple of length equal to the number of arguments to the primal function, but got bwd "
     r"output structure PyTreeDef\(\(\*,\)\) for primal input structure PyTreeDef\(\(\*, \*\)\)"),
    (GOOD_FWD, lambda res, g: (g, g),
     r"Custom VJP bwd rule must produce an output with the same shape/dtypes as the args tuple of the "
     r"primal function, but at output\[1\] the bwd rule produced an output of shape/dtype f64\[3\] "
     r"corresponding to an input of shape/dtype f64\[\]"),
    (lambda x, y: ((jnp.sin(x) * y,), None), GOOD_BWD,
     r"must produce primal outputs with the container \(pytree\) structure of the function's output"),
])
def test_custom_vjp_rule_errors(fwd, bwd, message):
    f = _vjp_rules(fwd, bwd)
    with pytest.raises(TypeError, match=message):
        jaxlike.grad(lambda x: f(x, np.array(2.0)).sum())(X)
    assert state.stack == []


def test_keyword_only_argument_is_rejected():
    f = custom_jvp(lambda x, *, y: x * y)
    f.defjvp(lambda p, t: (p[0], t[0]))
    with pytest.raises(TypeError, match="keyword arguments could not be resolved to positions"):
        jaxlike.grad(lambda x: f(x, y=2.0))(np.array(1.0))


def test_nondiff_argnums_out_of_range():
    f = custom_jvp(lambda x: x, nondiff_argnums=(3,))
    f.defjvp(lambda p, t: (p[0], t[0]))
    with pytest.raises(ValueError, match=r"nondiff_argnums \(3,\) is out of range for a call with 1 "
                                         r"positional argument"):
        jaxlike.grad(f)(np.array(1.0))
