"""jaxlike.lax control flow: each construct against the Python loop or branch it stands for.

One table of programs, each a lax version and the Python version evaluated eagerly (with values attached,
so Python ``if`` and ``for`` work and unroll). Every program is checked by value, under jvp, grad (against
the Python version and central differences), vmap (against a loop over the batch), vmap of grad and jit;
the graphs the transforms derive pass verify and print / parse round trips. Then the cases of their own:
batched predicates, reverse mode through a bounded while_loop, the printed IR, the error messages.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike import lax
from jaxlike.ir.core import Graph
from jaxlike.ir.parse import parse_graph
from jaxlike.ir.verify import verify
from jaxlike.testing import check_grads

DOCS = Path(__file__).resolve().parent.parent / "docs" / "control_flow.md"
TOL = dict(rtol=1e-9, atol=1e-10)


# --------------------------------------------------------------------------------------------------
# The programs: lax version, Python version, an input


@dataclass
class Program:
    id: str
    lax_fn: object
    py_fn: object
    x: np.ndarray
    reverse: bool = True  # reverse mode is defined (not for unbounded while loops)


W = np.array([0.5, 1.5, -0.7])
PROGRAMS = []


def program(id, x, reverse=True):
    def register(pair):
        lax_fn, py_fn = pair()
        PROGRAMS.append(Program(id, lax_fn, py_fn, np.asarray(x, float), reverse))
        return pair
    return register


@program("cond", [0.3, -1.2, 2.0])
def _cond():
    def branches(x):
        return (lambda x: jnp.sin(x) * x, lambda x: jnp.cos(x) + x)

    def lax_fn(x):
        yes, no = branches(x)
        return jnp.sum(lax.cond(jnp.sum(x) > 1.0, yes, no, x) * W)

    def py_fn(x):
        yes, no = branches(x)
        return jnp.sum((yes(x) if jnp.sum(x) > 1.0 else no(x)) * W)
    return lax_fn, py_fn


@program("cond-false", [0.3, -1.2, 0.5])
def _cond_false():
    return _cond()


@program("switch-closure", [0.3, -1.2, 2.0])
def _switch():
    def branches(x):  # the branches close over x: captured, extra operands of the equation
        return [lambda y: y * x, lambda y: jnp.exp(y) - x[0], lambda y: y * y * x[1]]

    def lax_fn(x):
        return jnp.sum(lax.switch(jnp.argmax(x), branches(x), jnp.sin(x)))

    def py_fn(x):
        return jnp.sum(branches(x)[int(jnp.argmax(x))](jnp.sin(x)))
    return lax_fn, py_fn


@program("scan-pytree-reverse", [0.3, -1.2, 2.0])
def _scan():
    def step(w, c, xi):
        return {"a": c["a"] * jnp.sin(w * xi) + c["b"], "b": c["b"] * 0.9 + xi * w}, (c["a"] * xi, xi)

    def lax_fn(x):
        c, (ys, zs) = lax.scan(lambda c, xi: step(x, c, xi), {"a": jnp.cos(x), "b": x}, x, reverse=True)
        return jnp.sum(c["a"] * c["b"]) + jnp.sum(ys * ys) + jnp.sum(zs)

    def py_fn(x):
        c, total = {"a": jnp.cos(x), "b": x}, 0.0
        for xi in [x[2], x[1], x[0]]:
            c, (y, z) = step(x, c, xi)
            total = total + jnp.sum(y * y) + z
        return jnp.sum(c["a"] * c["b"]) + total
    return lax_fn, py_fn


@program("fori-static", [0.3, -1.2, 2.0])
def _fori():
    def lax_fn(x):
        return jnp.sum(lax.fori_loop(0, 5, lambda i, v: jnp.sin(v) * x + i, x))

    def py_fn(x):
        v = x
        for i in range(5):
            v = jnp.sin(v) * x + i
        return jnp.sum(v)
    return lax_fn, py_fn


@program("while-bounded-newton", [2.0, 9.0, 0.25])
def _newton():
    def lax_fn(a):
        root = lax.while_loop(lambda x: jnp.max(jnp.abs(x * x - a)) > 1e-13, lambda x: 0.5 * (x + a / x), a,
                              max_steps=60)
        return jnp.sum(root * W)

    def py_fn(a):
        x = a
        while jnp.max(jnp.abs(x * x - a)) > 1e-13:
            x = 0.5 * (x + a / x)
        return jnp.sum(x * W)
    return lax_fn, py_fn


@program("while-unbounded", [0.3, -1.2, 2.0], reverse=False)
def _while():
    def lax_fn(x):
        _, v = lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, jnp.sin(c[1]) + x), (0, x))
        return jnp.sum(v)

    def py_fn(x):
        v = x
        for _ in range(4):
            v = jnp.sin(v) + x
        return jnp.sum(v)
    return lax_fn, py_fn


@program("map-batched", [0.3, -1.2, 2.0])
def _map():
    def lax_fn(x):
        xs = jnp.reshape(jnp.concatenate([x, x * 2, -x]), (9, 1)) * x
        return jnp.sum(lax.map(lambda r: jnp.sin(r) * r[0], xs, batch_size=4) * 0.5) + \
            jnp.sum(lax.map(jnp.cos, x))

    def py_fn(x):
        xs = jnp.reshape(jnp.concatenate([x, x * 2, -x]), (9, 1)) * x
        return sum(jnp.sum(jnp.sin(r) * r[0]) for r in xs) * 0.5 + jnp.sum(jnp.cos(x))
    return lax_fn, py_fn


@program("nested-scan-cond-fori", [0.3, -1.2, 2.0])
def _nested():
    def inner(c, d, yi):
        return d * yi + jnp.sin(c) if yi > 0 else d - yi * c

    def lax_fn(x):
        def outer(c, xi):
            def body(d, yi):
                return lax.cond(yi > 0, lambda d: d * yi + jnp.sin(c), lambda d: d - yi * c, d), d
            d, ds = lax.scan(body, c, x)
            return lax.fori_loop(0, 2, lambda i, e: e * 0.5 + xi, d), jnp.sum(ds)
        c, ys = lax.scan(outer, 1.0, x)
        return c + jnp.sum(ys)

    def py_fn(x):
        c, total = 1.0, 0.0
        for xi in x:
            d, ds = c, 0.0
            for yi in x:
                d, ds = inner(c, d, yi), ds + d
            for _ in range(2):
                d = d * 0.5 + xi
            c, total = d, total + ds
        return c + total
    return lax_fn, py_fn


IDS = [p.id for p in PROGRAMS]
REVERSE = [p for p in PROGRAMS if p.reverse]


def batch_of(x):
    return np.stack([x, x * 0.5 + 0.3, x[::-1]])


@pytest.mark.parametrize("p", PROGRAMS, ids=IDS)
def test_value(p):
    np.testing.assert_allclose(p.lax_fn(p.x), p.py_fn(p.x), **TOL)


@pytest.mark.parametrize("p", PROGRAMS, ids=IDS)
def test_jvp(p):
    t = np.array([0.7, -0.2, 1.1])
    out, tan = jaxlike.jvp(p.lax_fn, (p.x,), (t,))
    want, want_tan = jaxlike.jvp(p.py_fn, (p.x,), (t,))
    np.testing.assert_allclose(out, want, **TOL)
    np.testing.assert_allclose(tan, want_tan, **TOL)


@pytest.mark.parametrize("p", REVERSE, ids=[p.id for p in REVERSE])
def test_grad(p):
    np.testing.assert_allclose(jaxlike.grad(p.lax_fn)(p.x), jaxlike.grad(p.py_fn)(p.x), **TOL)


@pytest.mark.parametrize("p", PROGRAMS, ids=IDS)
def test_check_grads(p):
    """Forward (and reverse) derivatives to second order against central differences."""
    check_grads(p.lax_fn, (p.x,), order=2, modes=("fwd", "rev") if p.reverse else ("fwd",))


@pytest.mark.parametrize("p", PROGRAMS, ids=IDS)
def test_vmap(p):
    xs = batch_of(p.x)
    np.testing.assert_allclose(jaxlike.vmap(p.lax_fn)(xs), [p.py_fn(x) for x in xs], **TOL)


@pytest.mark.parametrize("p", REVERSE, ids=[p.id for p in REVERSE])
def test_vmap_of_grad(p):
    xs = batch_of(p.x)
    np.testing.assert_allclose(jaxlike.vmap(jaxlike.grad(p.lax_fn))(xs),
                               [jaxlike.grad(p.py_fn)(x) for x in xs], **TOL)


@pytest.mark.parametrize("p", PROGRAMS, ids=IDS)
def test_derived_graphs_verify_and_round_trip(p):
    t = np.ones(3)
    graphs = [jaxlike.make_ir(p.lax_fn)(p.x),
              jaxlike.make_ir(lambda x, t: jaxlike.jvp(p.lax_fn, (x,), (t,)))(p.x, t),
              jaxlike.make_ir(jaxlike.vmap(p.lax_fn))(batch_of(p.x))]
    if p.reverse:
        graphs.append(jaxlike.make_ir(jaxlike.grad(p.lax_fn))(p.x))
    for graph in graphs:
        verify(graph)
        binders = list(binders_of(graph))
        assert len(binders) == len(set(binders)), "a Var is bound in two places (two bodies share it)"
        text = str(graph)
        assert str(parse_graph(text, consts_in_print_order(graph) or None)) == text


def nested_graphs(eqn):
    for key in sorted(eqn.params):
        value = eqn.params[key]
        yield from (sub for sub in (value if isinstance(value, tuple) else (value,)) if isinstance(sub, Graph))


def binders_of(graph):
    """Every Var graph and its nested graphs bind (consts, inputs, equation outputs)."""
    yield from graph.consts
    yield from graph.inputs
    for eqn in graph.eqns:
        yield from eqn.outputs
        for sub in nested_graphs(eqn):
            yield from binders_of(sub)


def consts_in_print_order(graph):
    """The const values of graph and of its nested graphs, in the order their names first appear."""
    values = list(graph.consts.values())
    for eqn in graph.eqns:
        for sub in nested_graphs(eqn):
            values += consts_in_print_order(sub)
    return values


def test_hessian_through_scan_and_cond():
    p = next(p for p in PROGRAMS if p.id == "nested-scan-cond-fori")
    np.testing.assert_allclose(jaxlike.hessian(p.lax_fn)(p.x), jaxlike.hessian(p.py_fn)(p.x), **TOL)
    np.testing.assert_allclose(jaxlike.jacfwd(p.lax_fn)(p.x), jaxlike.jacrev(p.lax_fn)(p.x), **TOL)


def test_linearize_runs_only_the_linear_loop():
    p = next(p for p in PROGRAMS if p.id == "scan-pytree-reverse")
    out, f_jvp = jaxlike.linearize(p.lax_fn, p.x)
    t = np.array([0.3, 0.1, -2.0])
    np.testing.assert_allclose(f_jvp(t), jaxlike.jvp(p.py_fn, (p.x,), (t,))[1], **TOL)
    assert "sin" not in str(f_jvp.graph)  # the primal loop stayed in the known part


# --------------------------------------------------------------------------------------------------
# Graph shape: one equation, not an unrolled loop


def prims_of(graph):
    return [e.prim.name for e in graph.eqns]


def test_loops_stay_one_equation():
    x = np.ones(3)
    graph = jaxlike.make_ir(lambda x: lax.fori_loop(0, 1000, lambda i, v: v * 0.5 + x, x))(x)
    assert prims_of(graph) == ["scan"]
    graph = jaxlike.make_ir(lambda x, n: lax.fori_loop(0, n, lambda i, v: v * 0.5 + x, x))(x, 3)
    assert prims_of(graph) == ["while"]  # traced bounds: a while loop
    grad_graph = jaxlike.make_ir(jaxlike.grad(lambda x: jnp.sum(lax.fori_loop(0, 1000, lambda i, v: jnp.sin(v), x))))(x)
    assert prims_of(grad_graph).count("scan") == 2  # forward with stacked residuals, then backward
    assert len(grad_graph.eqns) < 10


def test_the_body_closes_over_outer_values_as_consts():
    x = np.ones(3)

    def f(x, y):
        return lax.scan(lambda c, _: (c * y + x, None), x, None, length=4)[0]
    graph = jaxlike.make_ir(f)(x, 2 * x)
    (eqn,) = graph.eqns
    assert eqn.params["num_consts"] == 2 and eqn.inputs[:2] == graph.inputs[::-1]


def test_fori_loop_with_concrete_traced_bounds_is_a_scan_under_eager_grad():
    def f(x):
        n = jnp.sum(jnp.ones(3, dtype=np.int64))  # a traced int whose value is known during eager grad
        return lax.fori_loop(0, n, lambda i, v: v * x, 1.0)
    np.testing.assert_allclose(jaxlike.grad(f)(2.0), 3 * 2.0 ** 2, **TOL)


# --------------------------------------------------------------------------------------------------
# Eager: plain NumPy in, NumPy out, nothing traced


def test_eager_numpy_inputs():
    x = np.array([1.0, 2.0, 3.0])
    out = lax.cond(True, lambda x: x * 2, lambda x: x + 1, x)
    assert isinstance(out, np.ndarray) and out.tolist() == [2, 4, 6]
    assert lax.switch(7, [lambda x: x, lambda x: -x], x).tolist() == [-1, -2, -3]  # index clamped
    assert lax.switch(-3, [lambda x: x, lambda x: -x], x).tolist() == [1, 2, 3]
    i, v = lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 2), (0, x))
    assert int(i) == 3 and v.tolist() == [8, 16, 24]
    c, ys = lax.scan(lambda c, x: (c + x, c * x), 0.0, x)
    assert float(c) == 6 and ys.tolist() == [0, 2, 9]
    assert lax.fori_loop(0, 4, lambda i, v: v + i, 0).tolist() == 6
    assert lax.fori_loop(5, 2, lambda i, v: v + i, 0).tolist() == 0  # an empty range
    assert lax.map(lambda r: r * r, np.arange(7.0), batch_size=3).tolist() == [0, 1, 4, 9, 16, 25, 36]
    c, ys = lax.scan(lambda c, x: (c, x), 1.0, np.zeros((0, 2)))
    assert float(c) == 1 and ys.shape == (0, 2)


def test_bounded_while_stops_after_max_steps():
    def f(x):
        return lax.while_loop(lambda v: v < 100.0, lambda v: v * 2.0 + x, x, max_steps=3)

    def py(x):
        v = x
        for _ in range(3):
            v = v * 2.0 + x
        return v
    np.testing.assert_allclose(f(1.0), py(1.0))
    np.testing.assert_allclose(jaxlike.grad(f)(1.0), jaxlike.grad(py)(1.0))
    np.testing.assert_allclose(jaxlike.vmap(jaxlike.grad(f))(np.array([1.0, 30.0])), [15.0, 7.0])


# --------------------------------------------------------------------------------------------------
# Reverse mode through a bounded while_loop: Newton's method for the square root


def newton_sqrt(a):
    return lax.while_loop(lambda x: jnp.abs(x * x - a) > 1e-14 * a, lambda x: 0.5 * (x + a / x), a,
                          max_steps=100)


@pytest.mark.parametrize("a", [2.0, 0.09, 1e4])
def test_grad_of_newton_sqrt_is_one_over_two_sqrt(a):
    np.testing.assert_allclose(newton_sqrt(a), np.sqrt(a), rtol=1e-14)
    np.testing.assert_allclose(jaxlike.grad(newton_sqrt)(a), 1 / (2 * np.sqrt(a)), rtol=1e-12)


def test_newton_sqrt_batched_and_compiled_derivatives():
    a = np.array([2.0, 0.09, 1e4])
    np.testing.assert_allclose(jaxlike.vmap(jaxlike.grad(newton_sqrt))(a), 1 / (2 * np.sqrt(a)), rtol=1e-12)
    np.testing.assert_allclose(jaxlike.jacrev(jaxlike.vmap(newton_sqrt))(a),
                               np.diag(1 / (2 * np.sqrt(a))), rtol=1e-12, atol=1e-15)


def test_grad_of_unbounded_while_loop_raises_jax_error():
    f = lambda a: lax.while_loop(lambda x: x * x > a, lambda x: 0.5 * (x + a / x), a)  # noqa: E731
    assert float(jaxlike.jvp(f, (4.0,), (1.0,))[1]) > 0  # forward mode is fine
    with pytest.raises(ValueError, match=r"^Reverse-mode differentiation does not work for lax\.while_loop "
                                         r"or lax\.fori_loop with dynamic start/stop values\. Try using "
                                         r"lax\.scan.*pass max_steps=N"):
        jaxlike.grad(f)(4.0)
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work"):
        # traced bounds (abstract tracing: their value is unknown) make fori_loop a while loop
        jaxlike.make_ir(jaxlike.grad(lambda x, n: lax.fori_loop(0, n, lambda i, v: v * x, x)))(2.0, 3)


# --------------------------------------------------------------------------------------------------
# Batched predicates


def test_batched_cond_predicate_becomes_a_select():
    f = lambda x: lax.cond(x > 0, jnp.sin, jnp.cos, x)  # noqa: E731
    x = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_allclose(jaxlike.vmap(f)(x), np.where(x > 0, np.sin(x), np.cos(x)))
    graph = jaxlike.make_ir(jaxlike.vmap(f))(x)
    assert "cond" not in prims_of(graph) and "select" in prims_of(graph)
    np.testing.assert_allclose(jaxlike.vmap(jaxlike.grad(f))(x), np.where(x > 0, np.cos(x), -np.sin(x)))


def test_batched_switch_index_clamps_per_element():
    f = lambda i, x: lax.switch(i, [lambda x: x, lambda x: 2 * x, lambda x: -x], x)  # noqa: E731
    i = np.array([-4, 0, 1, 2, 9])
    x = np.arange(5.0)
    np.testing.assert_allclose(jaxlike.vmap(f)(i, x), [0, 1, 4, -3, -4])


def test_batched_while_predicate_freezes_finished_elements():
    def collatz_steps(n):
        def body(c):
            k, m = c
            return k + 1, jnp.where(m % 2 == 0, m // 2, 3 * m + 1)
        return lax.while_loop(lambda c: c[1] != 1, body, (0, n))[0]
    n = np.array([1, 6, 7, 27])
    assert jaxlike.vmap(collatz_steps)(n).tolist() == [0, 8, 16, 111]

    def trips(n, x):  # a batched trip count through fori_loop's traced bounds
        return lax.fori_loop(0, n, lambda i, v: v * x, 1.0)
    np.testing.assert_allclose(jaxlike.vmap(trips)(np.array([0, 1, 3]), np.array([2.0, 2.0, 2.0])), [1, 2, 8])
    tangents = jaxlike.vmap(lambda n, x: jaxlike.jvp(lambda x: trips(n, x), (x,), (1.0,))[1])(
        np.array([0, 1, 3]), np.array([2.0, 2.0, 2.0]))
    np.testing.assert_allclose(tangents, [0, 1, 12])


# --------------------------------------------------------------------------------------------------
# The printed IR


FORI_TEXT = """\
{ lambda ; a:f64[3]. let
    b:i64[] c:f64[3] = scan[
        body={ lambda ; d:f64[3] e:i64[] f:f64[3]. let
            g:i64[] = add e 1
            h:f64[3] = sin f
            i:f64[3] = mul h d
          in (g, i) },
        length=10,
        num_carry=2,
        num_consts=1,
        reverse=False
      ] a 0 a
  in (c,) }"""


def test_printed_loop_golden_and_round_trip():
    graph = jaxlike.make_ir(lambda x: lax.fori_loop(0, 10, lambda i, v: jnp.sin(v) * x, x))(np.ones(3))
    assert str(graph) == FORI_TEXT == str(graph)
    assert str(parse_graph(FORI_TEXT)) == FORI_TEXT
    assert FORI_TEXT in DOCS.read_text()  # the docs show this very text


# --------------------------------------------------------------------------------------------------
# Errors: JAX's types and messages


X = np.ones(3)


@pytest.mark.parametrize("call, error, message", [
    (lambda: lax.cond(True, lambda x: x, lambda x: x.astype(np.int64), X), TypeError,
     r"true_fun and false_fun output must have identical types, got\n  output: float64\[3\] from true_fun "
     r"vs\. int64\[3\] from false_fun\."),
    (lambda: lax.cond(True, lambda x: x, lambda x: (x, x), X), TypeError,
     r"true_fun and false_fun output must have same type structure, got PyTreeDef\(\*\) and "
     r"PyTreeDef\(\(\*, \*\)\)\."),
    (lambda: lax.switch(0, [lambda x: x, lambda x: x, lambda x: x[:2]], X), TypeError,
     r"branch 0 and branch 2 output must have identical types, got\n  output: float64\[3\] from branch 0 "
     r"vs\. float64\[2\] from branch 2\."),
    (lambda: lax.cond(X > 0, lambda x: x, lambda x: x, X), TypeError,
     r"Pred must be a scalar, got \[ True  True  True\] of shape \(3,\)\."),
    (lambda: lax.switch(1.0, [lambda x: x], X), TypeError, r"Index type must be an integer, got 1\.0"),
    (lambda: lax.switch(0, [], X), ValueError, r"Empty branch sequence"),
    (lambda: lax.cond(True, 1, 2), TypeError, r"true_fun and false_fun arguments should be callable\."),
    (lambda: lax.scan(lambda c, x: (c.astype(np.float32), x), X, X), TypeError,
     r"scan body function carry input and carry output must have equal types \(e\.g\. shapes and dtypes "
     r"of arrays\), but they differ:\n\n  \* the input carry component carry has type float64\[3\] but "
     r"the corresponding output carry component has type float32\[3\], so the dtypes do not match"),
    (lambda: lax.scan(lambda c, x: ((c[0], jnp.sum(c[1])), x), (1.0, X), np.ones((2, 3))), TypeError,
     r"carry\[1\] has type float64\[3\] but the corresponding output carry component has type float64\[\], "
     r"so the shapes do not match"),
    (lambda: lax.scan(lambda c, x: ((c, c), x), 1.0, X), TypeError,
     r"scan body function carry input and carry output must have the same pytree structure"),
    (lambda: lax.scan(lambda c, x: c, 1.0, X), TypeError, r"scan body output must be a pair \(carry, y\), got float64\[\]\."),
    (lambda: lax.scan(lambda c, x: (c, x), 1.0, (X, np.ones(4))), ValueError,
     r"scan got values with different leading axis sizes: 3, 4\."),
    (lambda: lax.scan(lambda c, x: (c, x), 1.0, None), ValueError,
     r"scan got no values to scan over and `length` not provided\."),
    (lambda: lax.scan(lambda c, x: (c, x), 1.0, X, length=4), ValueError,
     r"scan got `length` argument of 4 which disagrees with leading axis sizes \[3\]\."),
    (lambda: lax.while_loop(lambda c: c, lambda c: c, 1.0), TypeError,
     r"cond_fun must return a boolean scalar, but got output type\(s\) \[float64\[\]\]\."),
    (lambda: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1.0, c[1]), (0, X)), TypeError,
     r"while_loop body function carry input and carry output must have equal types .*\n\n  \* the input "
     r"carry component carry\[0\] has type int64\[\] but the corresponding output carry component has type "
     r"float64\[\], so the dtypes do not match"),
    (lambda: lax.fori_loop(0, 3, lambda i, v: v[:2], X), TypeError,
     r"carry\[1\] has type float64\[3\] but the corresponding output carry component has type float64\[2\], "
     r"so the shapes do not match"),
    (lambda: lax.fori_loop(0.0, 3, lambda i, v: v, X), TypeError,
     r"fori_loop lower bound must be an integer scalar, got float64\[\]"),
    (lambda: lax.while_loop(lambda c: c < 1, lambda c: c, 0.0, max_steps=-1), ValueError,
     r"while_loop: max_steps must be None or an int >= 0, got -1"),
], ids=["cond-types", "cond-structure", "switch-types", "pred-shape", "index-dtype", "no-branches",
        "not-callable", "scan-carry-dtype", "scan-carry-shape", "scan-carry-structure", "scan-not-pair",
        "scan-lengths", "scan-no-length", "scan-length-disagrees", "while-cond-not-bool",
        "while-carry-dtype", "fori-carry-shape", "fori-float-bound", "max-steps"])
def test_error_messages(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_bounded_while_with_a_counter_matches_the_python_loop():
    def f(x, w):
        i, v = lax.while_loop(lambda c: (c[0] < 7) & (c[1] < 50.0), lambda c: (c[0] + 1, c[1] * w + jnp.sin(x)),
                              (0, x), max_steps=10)
        return v * i

    def py(x, w):
        i, v = 0, x
        while i < 7 and v < 50.0:
            i, v = i + 1, v * w + jnp.sin(x)
        return v * i
    for x, w in [(1.0, 1.5), (2.0, 3.0)]:
        np.testing.assert_allclose(jaxlike.grad(f, argnums=(0, 1))(x, w), jaxlike.grad(py, argnums=(0, 1))(x, w),
                                   **TOL)
    check_grads(f, (1.0, 1.5), order=2)


def test_python_control_flow_inside_a_body_points_to_lax():
    with pytest.raises(jaxlike.TracerBoolConversionError, match=r"while tracing scan body \(<lambda>\)"):
        lax.scan(lambda c, x: (c + x if x > 0 else c, None), 0.0, np.ones(3))


def test_python_control_flow_on_traced_values_points_to_lax():
    def f(x):
        return jnp.sin(x) if x > 0 else jnp.cos(x)
    for transform in (jaxlike.vmap, jaxlike.jit):
        with pytest.raises(jaxlike.TracerBoolConversionError, match=r"jaxlike\.lax\.cond"):
            transform(f)(np.array([1.0, -1.0]))
    np.testing.assert_allclose(jaxlike.vmap(lambda x: lax.cond(x > 0, jnp.sin, jnp.cos, x))(
        np.array([1.0, -1.0])), [np.sin(1.0), np.cos(-1.0)])


# --------------------------------------------------------------------------------------------------
# Compiled: the loop is a loop in LLVM, whatever its trip count


def _compiled_ir(f, x):
    return jaxlike.jit(f).lower(x).compile().llvm_ir()


def test_jit_ir_size_does_not_grow_with_the_trip_count():
    x = np.array([0.3, -1.2, 2.0])

    def loop(n):
        return lambda x: lax.fori_loop(0, n, lambda i, v: jnp.sin(v) * 0.5 + x, x)
    compiled = {n: jaxlike.jit(loop(n)).lower(x).compile() for n in (10, 1000, 100_000)}
    # what the backend emits: one module, whatever the trip count (up to the numbers in names)
    emitted = {n: re.sub(r"\d+", "0", c.compiled.llvm_ir_unoptimized) for n, c in compiled.items()}
    assert emitted[10] == emitted[1000] == emitted[100_000]
    # after LLVM's optimiser, which may unroll a loop of 10 iterations but not one of 1000
    lines = {n: len(c.llvm_ir().splitlines()) for n, c in compiled.items()}
    assert lines[1000] == lines[100_000] and lines[10] < 1.2 * lines[100_000]
    np.testing.assert_allclose(compiled[10](x), loop(10)(x), **TOL)


@pytest.mark.parametrize("p", PROGRAMS, ids=IDS)
def test_jit(p):
    np.testing.assert_allclose(jaxlike.jit(p.lax_fn)(p.x), p.py_fn(p.x), **TOL)
    if p.reverse:
        np.testing.assert_allclose(jaxlike.jit(jaxlike.grad(p.lax_fn))(p.x), jaxlike.grad(p.py_fn)(p.x),
                                   **TOL)


# --------------------------------------------------------------------------------------------------
# The docs: every python block of docs/control_flow.md runs


def _doc_blocks():
    return re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S) if DOCS.exists() else []


def test_docs_exist():
    assert _doc_blocks()


@pytest.mark.parametrize("index", range(len(_doc_blocks())))
def test_docs_control_flow_blocks_run(index):
    exec(compile(_doc_blocks()[index], f"docs/control_flow.md block {index}", "exec"), {"__name__": "__docs__"})



# --------------------------------------------------------------------------------------------------
# scan(..., unroll=k): accepted, no effect


@pytest.mark.parametrize("unroll", [2, 3, True, False])
def test_scan_unroll_is_accepted_and_changes_nothing(unroll):
    f = lambda unroll: (lambda w, xs: lax.scan(lambda c, x: (jnp.sin(c) * w + x, c * 2.0), w, xs,
                                               unroll=unroll))
    w, xs = 0.7, np.arange(7.0) / 10
    assert str(jaxlike.make_ir(f(unroll))(w, xs)) == str(jaxlike.make_ir(f(1))(w, xs))
    for got, want in zip(f(unroll)(w, xs), f(1)(w, xs), strict=True):
        np.testing.assert_array_equal(got, want)
