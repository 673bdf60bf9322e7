"""verify: each broken invariant raises IRError naming the equation as it prints."""

import numpy as np
import pytest

import jaxlike.ir as ir
from jaxlike.ir import builder
from jaxlike.ir.core import AVal, Eqn, Graph, Lit, Var, nested_graphs, subgraphs
from jaxlike.ir.prims import unary
from jaxlike.ir.verify import IRError, verify

f64, f32 = np.dtype(np.float64), np.dtype(np.float32)
P = ir.PRIMITIVES
S, V3 = AVal((), f64), AVal((3,), f64)


def trace(fun, *avals):
    graph, _ = builder.trace_graph(lambda *xs: list(fun(*xs)), list(avals))
    return graph


@pytest.fixture
def call_prim():
    """test_verify_call[body=Graph]: a primitive with a nested graph, removed from PRIMITIVES afterwards."""
    try:
        prim = ir.Primitive("test_verify_call", family="test", multiple_results=True)
        prim.shape_rule = lambda *avals, body, **params: [a.aval for a in body.outputs]
        prim.impl = lambda *args, body, **params: ir.eval_graph(body, *args)
        yield prim
    finally:
        ir.PRIMITIVES.pop("test_verify_call", None)


def test_valid_graphs_pass_and_chain():
    graph = trace(lambda x, y: [builder.reduce_sum(unary.sin(x) * y, axes=(0,)), x * np.ones(3) + 1.0],
                  V3, V3)
    assert verify(graph) is graph


def test_assigned_twice():
    a = Var(V3)
    graph = Graph({}, [a], [Eqn(P["sin"], [a], {}, [a])], [a])
    with pytest.raises(IRError, match=r"^equation 0 `a:f64\[3\] = sin a`: var a:f64\[3\] is assigned twice "
                                      r"\(again as output 0\)$"):
        verify(graph)


def test_assigned_twice_by_two_equations():
    a, b = Var(V3), Var(V3)
    graph = Graph({}, [a], [Eqn(P["sin"], [a], {}, [b]), Eqn(P["cos"], [a], {}, [b])], [b])
    with pytest.raises(IRError, match=r"^equation 1 `b:f64\[3\] = cos a`: var b:f64\[3\] is assigned twice"):
        verify(graph)


def test_const_and_input_are_one_var():
    a = Var(V3)
    graph = Graph({a: np.zeros(3)}, [a], [], [a])
    with pytest.raises(IRError, match=r"var a:f64\[3\] is assigned twice \(again as an input\)"):
        verify(graph)


def test_used_before_definition():
    graph = trace(lambda x: [unary.cos(unary.sin(x))], V3)
    graph.eqns.reverse()
    assert str(graph).splitlines()[1] == "    b:f64[3] = cos c"  # names as print(graph) gives them
    with pytest.raises(IRError, match=r"^equation 0 `b:f64\[3\] = cos c`: input 0 \(c:f64\[3\]\) is used "
                                      r"before its definition \(by equation 1\)$"):
        verify(graph)


def test_not_defined():
    a, b, c = Var(V3), Var(V3), Var(V3)
    graph = Graph({}, [a], [Eqn(P["mul"], [a, b], {}, [c])], [c])
    with pytest.raises(IRError, match=r"^equation 0 `b:f64\[3\] = mul a c`: input 1 \(c:f64\[3\]\) is not "
                                      r"defined in this graph$"):
        verify(graph)


def test_graph_output_not_defined():
    a, b = Var(V3), Var(V3)
    graph = Graph({}, [a], [], [a, b])
    with pytest.raises(IRError, match=r"^graph output 1 \(b:f64\[3\]\) is not defined in this graph$"):
        verify(graph)


def test_recorded_aval_differs_from_shape_rule():
    graph = trace(lambda x: [builder.reduce_sum(x, (0,))], V3)
    graph.eqns[0].outputs[0].aval = V3
    with pytest.raises(IRError, match=r"^equation 0 `b:f64\[3\] = reduce_sum\[axes=\(0,\)\] a`: output 0 is "
                                      r"recorded as f64\[3\] but the shape rule of reduce_sum gives f64\[\]$"):
        verify(graph)


def test_recorded_dtype_differs():
    graph = trace(lambda x: [x * 2.0], V3)
    graph.eqns[0].outputs[0].aval = AVal((3,), f32)
    with pytest.raises(IRError, match=r"recorded as f32\[3\] but the shape rule of mul gives f64\[3\]"):
        verify(graph)


def test_shape_rule_rejects_inputs():
    a, b, c = Var(V3), Var(AVal((3,), f32)), Var(V3)
    graph = Graph({}, [a, b], [Eqn(P["add"], [a, b], {}, [c])], [c])
    with pytest.raises(IRError, match=r"^equation 0 `c:f64\[3\] = add a b`: the shape rule of add rejects the "
                                      r"inputs: TypeError: add requires operands of one dtype"):
        verify(graph)


def test_too_many_inputs():
    a, b = Var(V3), Var(V3)
    graph = Graph({}, [a], [Eqn(P["sin"], [a, a], {}, [b])], [b])
    with pytest.raises(IRError, match=r"^equation 0 `b:f64\[3\] = sin a a`: sin takes 1 input\(s\), got 2$"):
        verify(graph)


def test_too_few_inputs():
    a, b = Var(V3), Var(V3)
    graph = Graph({}, [a], [Eqn(P["mul"], [a], {}, [b])], [b])
    with pytest.raises(IRError, match=r"mul takes 2 input\(s\), got 1$"):
        verify(graph)


def test_output_count_mismatch():
    a, b, c = Var(V3), Var(V3), Var(V3)
    graph = Graph({}, [a], [Eqn(P["sin"], [a], {}, [b, c])], [b])
    with pytest.raises(IRError, match=r"^equation 0 `b:f64\[3\] c:f64\[3\] = sin a`: 2 output\(s\) are recorded "
                                      r"but the shape rule of sin gives 1$"):
        verify(graph)


def test_missing_params_are_reported():
    a, b = Var(V3), Var(S)
    graph = Graph({}, [a], [Eqn(P["reduce_sum"], [a], {}, [b])], [b])
    with pytest.raises(IRError, match=r"shape rule of reduce_sum rejects the inputs: TypeError: .*axes"):
        verify(graph)


def test_lit_not_scalar():
    a, b = Var(V3), Var(V3)
    lit = Lit(2.0)
    lit.value = np.ones(3)
    graph = Graph({}, [a], [Eqn(P["mul"], [a, lit], {}, [b])], [b])
    with pytest.raises(IRError, match=r"^equation 0 .*mul.*: input 1 is a Lit of shape \(3,\): a Lit is a scalar"):
        verify(graph)


def test_lit_with_array_aval():
    a, b = Var(V3), Var(V3)
    lit = Lit(2.0)
    lit.aval = V3
    graph = Graph({}, [a], [Eqn(P["mul"], [a, lit], {}, [b])], [b])
    with pytest.raises(IRError, match=r"input 1 is a Lit of shape \(3,\): a Lit is a scalar"):
        verify(graph)


def test_lit_graph_output_not_scalar():
    lit = Lit(2.0)
    lit.value = np.ones(2)
    graph = Graph({}, [], [], [lit])
    with pytest.raises(IRError, match=r"^graph output 0 is a Lit of shape \(2,\)"):
        verify(graph)


def test_const_value_differs_from_aval():
    a = Var(V3)
    graph = Graph({a: np.zeros(2)}, [], [], [a])
    with pytest.raises(IRError, match=r"^const a:f64\[3\] holds an array of shape \(2,\) and dtype float64$"):
        verify(graph)


def test_unhashable_param():
    a, b = Var(V3), Var(S)
    graph = Graph({}, [a], [Eqn(P["reduce_sum"], [a], {"axes": [0]}, [b])], [b])
    with pytest.raises(IRError, match=r"param 'axes' is a list, which is not hashable"):
        verify(graph)


def test_atom_of_wrong_type():
    a, b = Var(V3), Var(V3)
    graph = Graph({}, [a], [Eqn(P["mul"], [a, 2.0], {}, [b])], [b])
    with pytest.raises(IRError, match=r"input 1 is 2.0, neither a Var nor a Lit"):
        verify(graph)


def test_nested_graph_is_checked(call_prim):
    body = trace(lambda u: [unary.cos(unary.sin(u))], V3)
    graph = trace(lambda x: call_prim.bind(x, body=body), V3)
    verify(graph)
    body.eqns[0].outputs[0].aval = S
    with pytest.raises(IRError) as info:
        verify(graph)
    assert str(info.value) == (
        "equation 0 `d:f64[] = sin c`: output 0 is recorded as f64[] but the shape rule of sin gives f64[3]\n"
        "  in the graph param 'body' of equation 0 (test_verify_call)")
    outer = graph.eqns[0]
    outer.outputs[0].aval = S
    with pytest.raises(IRError, match=r"^equation 0 `b:f64\[\] = test_verify_call\[body=\{\.\.\.\}\] a`: "):
        verify(graph)


def test_nested_graph_is_closed(call_prim):
    x = Var(V3)
    inner_in, inner_out = Var(V3), Var(V3)
    body = Graph({}, [inner_in], [Eqn(P["mul"], [inner_in, x], {}, [inner_out])], [inner_out])
    out = Var(V3)
    graph = Graph({}, [x], [Eqn(call_prim, [x], {"body": body}, [out])], [out])
    with pytest.raises(IRError, match=r"input 1 \(a:f64\[3\]\) is not defined in this graph \(a nested graph "
                                      r"sees only its own inputs and consts\)\n  in the graph param 'body' of "
                                      r"equation 0 \(test_verify_call\)$"):
        verify(graph)


def test_nested_graph_in_a_tuple_two_levels_down(call_prim):
    good = trace(lambda u: [u * 2.0], S)
    bad = trace(lambda u: [u * 2.0], S)
    bad.eqns[0].inputs.pop()
    inner = trace(lambda y: call_prim.bind(y, body=good), S)
    x, out = Var(S), Var(S)
    outer = Graph({}, [x], [Eqn(call_prim, [x], {"body": inner, "extra": ((good,), (bad,))}, [out])], [out])
    with pytest.raises(IRError, match=r"mul takes 2 input\(s\), got 1\n  in the graph param 'extra'\[1\]\[0\] "
                                      r"of equation 0 \(test_verify_call\)$"):
        verify(outer)


def test_subgraphs_searches_tuples_at_any_depth_as_verify_does():
    a, b, c = (trace(lambda u: [u * 2.0], S) for _ in range(3))
    params = {"body": a, "extra": ((b,), ((c,), 3)), "n": 2}
    assert subgraphs(params) == [a, b, c]
    assert nested_graphs(params["extra"]) == [("[0][0]", b), ("[1][0][0]", c)]


def test_errors_deep_in_a_big_graph():
    def chain(x):
        for _ in range(5000):
            x = unary.sin(x)
        return [x]

    graph = trace(chain, S)
    verify(graph)
    graph.eqns[4000].inputs[0] = graph.eqns[4500].outputs[0]
    with pytest.raises(IRError, match=r"^equation 4000 .* is used before its definition \(by equation 4500\)"):
        verify(graph)
