"""dce of control flow: what nobody reads is no longer computed, in any branch or iteration.

Each program is traced (untrimmed), trimmed with ir.dce, lowered by jit (whose simplify ends with
dce): the dead work is gone from the printed IR, and the results agree with the untrimmed graph on the
interpreter, with the compiled function and with plain Python.
"""

import math

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike import ir, lax
from jaxlike.api import trace_fn
from jaxlike.ir.dce import dce, dce_graph
from jaxlike.ir.verify import verify

TOL = dict(rtol=1e-12, atol=1e-12)


def traced(f, *args):
    """The graph f traces to, dead code and all (make_ir leaves out dead equations)."""
    return trace_fn(f, args, name="test", abstract=True).graph


def lowered(f, *args):
    return jaxlike.jit(f).lower(*args).as_text()


def check(f, py, *args, dead=(), kept=()):
    """f traced and trimmed: the names in ``dead`` are gone, those in ``kept`` stay (from the printed IR,
    after dce and after jit's lowering), and every way of running it agrees with py."""
    graph = traced(f, *args)
    trimmed = dce(graph)
    verify(trimmed)
    text, jit_text = str(trimmed), lowered(f, *args)
    for name in dead:
        assert name in str(graph), f"{name} is not in the untrimmed graph: the test tests nothing"
        assert name not in text, f"{name} survived dce:\n{text}"
        assert name not in jit_text, f"{name} survived jit:\n{jit_text}"
    for name in kept:
        assert name in text and name in jit_text, f"{name} was trimmed but is needed:\n{text}"
    want = py(*args)
    flat = [np.asarray(a) for a in args]
    for got in (ir.eval_graph(graph, *flat), ir.eval_graph(trimmed, *flat)):
        for g, w in zip(got, np.atleast_1d(want) if np.ndim(want) == 0 else [want], strict=True):
            np.testing.assert_allclose(g, w, **TOL)
    np.testing.assert_allclose(jaxlike.jit(f)(*args), want, **TOL)
    return trimmed


# --------------------------------------------------------------------------------------------------
# cond and switch


def test_cond_unused_output_goes_from_every_branch():
    def f(x):
        a, b = lax.cond(x > 0, lambda x: (x * 2.0, jnp.sin(x)), lambda x: (x - 1.0, jnp.exp(x)), x)
        return a

    for x in (0.5, -0.5):
        trimmed = check(f, lambda x: x * 2.0 if x > 0 else x - 1.0, x, dead=("sin", "exp"))
        (eqn,) = [e for e in trimmed.eqns if e.prim.name == "cond"]
        assert len(eqn.outputs) == 1 and all(len(b.outputs) == 1 for b in eqn.params["branches"])


def test_switch_operand_only_a_dead_output_reads_goes():
    def f(x, y):
        branches = [lambda x, y: (x + 1.0, jnp.cos(y)), lambda x, y: (x * x, y), lambda x, y: (-x, jnp.tanh(y))]
        return lax.switch(jnp.argmax(x), branches, x, y)[0]

    x, y = np.array([0.1, 0.9, 0.3]), np.array([2.0, 3.0, 4.0])
    trimmed = check(f, lambda x, y: x * x, x, y, dead=("cos", "tanh"))
    (eqn,) = [e for e in trimmed.eqns if e.prim.name == "cond"]
    assert len(eqn.inputs) == 2  # the index and x: y is read by nothing left
    assert all(len(b.inputs) == 1 for b in eqn.params["branches"])


def test_unused_cond_goes():
    def f(x):
        lax.cond(x > 0, jnp.sin, jnp.cos, x)
        return x * 3.0

    check(f, lambda x: x * 3.0, 0.25, dead=("cond", "sin", "cos"))


def test_cond_all_outputs_used_is_kept_as_it_is():
    f = lambda x: lax.cond(x > 0, jnp.sin, jnp.cos, x)
    graph = traced(f, 0.5)
    assert dce(graph).eqns[-1] is graph.eqns[-1]


# --------------------------------------------------------------------------------------------------
# while_loop and fori_loop with traced bounds


def test_while_dead_carry_goes_and_condition_carry_stays():
    def f(x):
        def body(c):
            i, total, junk = c
            return i + 1, total + x, jnp.sin(junk) * 2.0  # junk: read by nobody
        return lax.while_loop(lambda c: c[0] < 5, body, (0, 0.0, x))[1]

    def py(x):
        i, total = 0, 0.0
        while i < 5:
            i, total = i + 1, total + x
        return total

    trimmed = check(f, py, 1.5, dead=("sin",), kept=("lt",))
    (eqn,) = [e for e in trimmed.eqns if e.prim.name == "while"]
    assert len(eqn.outputs) == 2  # i (the condition reads it) and total


def test_while_carry_feeding_a_used_carry_stays():
    def f(x):
        def body(c):
            i, a, b = c
            return i + 1, a + jnp.sin(b), b * 0.5  # b's output is unused but a reads it
        return lax.while_loop(lambda c: c[0] < 4, body, (0, 0.0, x))[1]

    def py(x):
        a, b = 0.0, x
        for _ in range(4):
            a, b = a + math.sin(b), b * 0.5
        return a

    trimmed = check(f, py, 2.0, kept=("sin", "mul"))
    (eqn,) = [e for e in trimmed.eqns if e.prim.name == "while"]
    assert len(eqn.outputs) == 3


def test_fori_loop_traced_bounds_dead_carry():
    def f(n, x):
        return lax.fori_loop(0, n, lambda i, c: (c[0] * x, jnp.exp(c[1])), (1.0, x))[0]

    check(f, lambda n, x: x ** n, np.int64(3), 1.25, dead=("exp",))


def test_unused_while_goes():
    def f(x):
        lax.while_loop(lambda v: v < 10.0, lambda v: v * 2.0, x)
        return x + 1.0

    check(f, lambda x: x + 1.0, 1.0, dead=("while",))


# --------------------------------------------------------------------------------------------------
# scan and fori_loop with static bounds


def test_scan_dead_carry_and_dead_ys():
    def f(x, xs):
        def step(c, xi):
            a, b = c
            return (a * xi, jnp.sin(b) + xi), (a, jnp.cos(b))
        (a, _), (ys_a, _) = lax.scan(step, (x, x), xs)
        return a + jnp.sum(ys_a)

    def py(x, xs):
        a, ys = x, []
        for xi in xs:
            ys.append(a)
            a = a * xi
        return a + sum(ys)

    trimmed = check(f, py, 0.5, np.array([1.0, 2.0, 3.0]), dead=("sin", "cos"))
    (eqn,) = [e for e in trimmed.eqns if e.prim.name == "scan"]
    assert eqn.params["num_carry"] == 1 and len(eqn.outputs) == 2


def test_fori_loop_counter_nobody_reads_goes():
    f = lambda x: lax.fori_loop(0, 10, lambda i, v: jnp.sin(v) * x, x)
    trimmed = check(f, lambda x: _fori_py(x), np.ones(3) * 0.3, dead=("i64[]",))
    (eqn,) = [e for e in trimmed.eqns if e.prim.name == "scan"]
    assert eqn.params["num_carry"] == 1


def _fori_py(x):
    v = x
    for _ in range(10):
        v = np.sin(v) * x
    return v


def test_fori_loop_counter_read_by_the_body_stays():
    f = lambda x: lax.fori_loop(0, 4, lambda i, v: v + i * x, x)
    check(f, lambda x: x + 6 * x, 0.5, kept=("i64[]",))


def test_scan_xs_and_consts_only_dead_work_reads_go():
    w = np.array([1.0, -2.0])

    def f(x, xs, zs):
        def step(c, xz):
            xi, zi = xz
            return c + xi, jnp.exp(zi * x * w)  # the ys read zs, x and w: dead
        return lax.scan(step, np.zeros(2), (xs, zs))[0]

    xs, zs = np.arange(6.0).reshape(3, 2), np.ones((3, 2))
    trimmed = check(f, lambda x, xs, zs: xs.sum(0), 2.0, xs, zs, dead=("exp",))
    (eqn,) = [e for e in trimmed.eqns if e.prim.name == "scan"]
    assert eqn.params["num_consts"] == 0 and len(eqn.inputs) == 2  # the init and xs


def test_unused_scan_goes():
    def f(x):
        lax.scan(lambda c, _: (jnp.sin(c), None), x, None, length=5)
        return x * 2.0

    check(f, lambda x: x * 2.0, 0.5, dead=("scan", "sin"))


def test_nested_dead_work_is_trimmed_at_every_depth():
    def f(x):
        def outer(c, _):
            inner = lax.fori_loop(0, 3, lambda i, v: (v[0] + 1.0, jnp.sin(v[1])), (c, c))
            picked = lax.cond(c > 0, lambda c: (c * 2.0, jnp.tanh(c)), lambda c: (c, jnp.cosh(c)), c)
            return inner[0] + picked[0], None
        return lax.scan(outer, x, None, length=2)[0]

    def py(x):
        for _ in range(2):
            x = (x + 3.0) + (x * 2.0 if x > 0 else x)
        return x

    check(f, py, 0.5, dead=("sin", "tanh", "cosh"))


# --------------------------------------------------------------------------------------------------
# Effects and the rule contract


@pytest.fixture
def effect_prim():
    """test_dce_effect: effectful, one output equal to its input, recorded in a list when it runs."""
    calls = []
    try:
        prim = ir.Primitive("test_dce_effect", family="test")
        prim.shape_rule = lambda x: x
        prim.impl = lambda x: (calls.append(np.array(x)), np.array(x))[1]
        prim.effectful = True
        yield prim, calls
    finally:
        ir.PRIMITIVES.pop("test_dce_effect", None)


def test_effect_in_a_loop_body_keeps_the_loop_and_what_it_reads(effect_prim):
    prim, calls = effect_prim

    def f(x):
        def step(c, _):
            a, b = c
            prim.bind(jnp.sin(b))  # effectful: kept, and so is the carry b it reads
            return (a + 1.0, b * 2.0), jnp.cos(a)
        lax.scan(step, (x, x), None, length=3)
        return x

    graph = traced(f, 1.0)
    trimmed = dce(graph)
    verify(trimmed)
    (eqn,) = [e for e in trimmed.eqns if e.prim.name == "scan"]
    names = [e.prim.name for e in eqn.params["body"].eqns]
    assert "test_dce_effect" in names and "sin" in names and "cos" not in names
    assert eqn.params["num_carry"] == 1  # b; a feeds only a dead y and itself
    ir.eval_graph(trimmed, np.asarray(1.0))
    np.testing.assert_allclose([c.item() for c in calls], np.sin([1.0, 2.0, 4.0]))


def test_effect_in_a_branch_keeps_the_cond(effect_prim):
    prim, _ = effect_prim

    def f(x):
        lax.cond(x > 0, lambda x: prim.bind(x), lambda x: x, x)
        return x

    trimmed = dce(traced(f, 1.0))
    assert [e.prim.name for e in trimmed.eqns][-1] == "cond"


def test_dce_graph_reports_the_inputs_read():
    graph = traced(lambda x, y, z: (x * y, jnp.sin(z)), 1.0, 2.0, 3.0)
    trimmed, reads = dce_graph(graph, [True, False])
    assert reads == [True, True, False] and len(trimmed.inputs) == 2 and "sin" not in str(trimmed)
    same, reads = dce_graph(graph, [True, True])
    assert same is graph and reads == [True, True, True]


# --------------------------------------------------------------------------------------------------
# Derivatives through trimmed loops


def test_grad_of_a_loop_with_dead_carries_is_unchanged():
    def f(x):
        def step(c, xi):
            a, junk = c
            return (jnp.sin(a) * xi, jnp.exp(junk)), jnp.cos(junk)
        return lax.scan(step, (x, x), np.array([1.0, 2.0, 0.5]))[0][0]

    def py(x):
        a = x
        for xi in (1.0, 2.0, 0.5):
            a = math.sin(a) * xi
        return a

    h = 1e-6
    want = (py(0.3 + h) - py(0.3 - h)) / (2 * h)
    np.testing.assert_allclose(jaxlike.grad(f)(0.3), want, rtol=1e-7)
    np.testing.assert_allclose(jaxlike.jit(jaxlike.grad(f))(0.3), want, rtol=1e-7)
    assert "exp" not in lowered(jaxlike.grad(f), 0.3)  # junk's exp: not in the primal nor the residuals


# --------------------------------------------------------------------------------------------------
# make_ir


def test_make_ir_of_jacrev_shows_no_dead_primal():
    """jacrev evaluates its primal graph for the residuals and discards the outputs: make_ir leaves the
    equations that computed them out (here the product sin(x) * cos(x), which the Jacobian never reads)."""
    g = lambda x: jnp.sum(jnp.sin(x) * jnp.cos(x))
    assert "reduce_sum" in str(traced(jaxlike.jacrev(g), np.ones(3)))  # the primal output, discarded
    graph = jaxlike.make_ir(jaxlike.jacrev(g))(np.ones(3))
    assert "reduce_sum" not in str(graph) and len(dce(graph).eqns) == len(graph.eqns)
    x = np.array([0.1, 0.7, -1.2])
    np.testing.assert_allclose(ir.eval_graph(graph, x)[0], np.cos(2 * x), **TOL)


def test_make_ir_keeps_loops_as_traced():
    """make_ir drops dead equations but not dead carries: a loop prints with the carries it was traced
    with (the counter of a fori_loop), jit's lowering trims them."""
    f = lambda x: lax.fori_loop(0, 10, lambda i, v: jnp.sin(v) * x, x)
    assert "i64" in str(jaxlike.make_ir(f)(np.ones(3))) and "i64" not in lowered(f, np.ones(3))
