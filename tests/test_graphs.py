"""Graph views (networkx, DOT, dependencies), dead code elimination and the primitive x rule matrix."""

import os
import subprocess
import sys

import networkx as nx
import numpy as np
import pytest

import jaxlike.ir as ir
from jaxlike.ir import builder, table
from jaxlike.ir.core import AVal, Eqn, Graph, Var
from jaxlike.ir.dce import dce
from jaxlike.ir.graphs import PALETTE, dependencies, family_colour, to_dot, to_networkx
from jaxlike.ir.prims import unary
from jaxlike.ir.verify import verify

f64 = np.dtype(np.float64)
S, V3 = AVal((), f64), AVal((3,), f64)


def trace(fun, *avals):
    graph, _ = builder.trace_graph(lambda *xs: list(fun(*xs)), list(avals))
    return graph


def design():
    """The DESIGN.md example, plus a const: { lambda a ; b c. let d = sin b; e = mul d c; ... }."""
    weights = np.array([1.0, 2.0, 3.0])
    return trace(lambda x, y: [builder.reduce_sum(unary.sin(x) * y, axes=(0,)), x * weights], V3, V3)


@pytest.fixture
def test_prims():
    """test_graphs_effect (effectful, no outputs) and test_graphs_two (two outputs); removed afterwards."""
    try:
        effect = ir.Primitive("test_graphs_effect", family="test", multiple_results=True)
        effect.shape_rule = lambda x: []
        effect.impl = lambda x: []
        effect.effectful = True
        two = ir.Primitive("test_graphs_two", family="test", multiple_results=True)
        two.shape_rule = lambda x: [x, x]
        two.impl = lambda x: [np.sin(x), np.cos(x)]
        yield effect, two
    finally:
        ir.PRIMITIVES.pop("test_graphs_effect", None)
        ir.PRIMITIVES.pop("test_graphs_two", None)


# --------------------------------------------------------------------------------------------------
# networkx


def test_to_networkx_nodes_and_edges():
    graph = design()
    assert str(graph).splitlines()[0] == "{ lambda a:f64[3] ; b:f64[3] c:f64[3]. let"
    g = to_networkx(graph)
    assert isinstance(g, nx.DiGraph)
    assert list(g.nodes) == ["const0", "in0", "in1", "eqn0", "eqn1", "eqn2", "eqn3", "out0", "out1"]
    assert g.nodes["const0"] == {"kind": "const", "primitive": None, "family": None, "aval": "f64[3]",
                                 "label": "a:f64[3]"}
    assert g.nodes["in1"]["kind"] == "input" and g.nodes["in1"]["label"] == "c:f64[3]"
    assert g.nodes["eqn0"] == {"kind": "eqn", "primitive": "sin", "family": "unary", "aval": "f64[3]",
                               "label": "d:f64[3] = sin b"}
    assert g.nodes["eqn2"]["primitive"] == "reduce_sum" and g.nodes["eqn2"]["family"] == "reduce"
    assert g.nodes["eqn2"]["aval"] == "f64[]"
    assert g.nodes["eqn2"]["label"] == "f:f64[] = reduce_sum[axes=(0,)] e"
    assert g.nodes["out0"]["kind"] == "output" and g.nodes["out0"]["aval"] == "f64[]"
    assert g.edges["in0", "eqn0"] == {"var": "b", "vars": ("b",), "aval": "f64[3]"}
    assert g.edges["eqn0", "eqn1"]["var"] == "d"
    assert g.edges["const0", "eqn3"]["var"] == "a"
    assert g.edges["eqn2", "out0"]["aval"] == "f64[]"
    assert sorted(g.edges) == sorted([("in0", "eqn0"), ("eqn0", "eqn1"), ("in1", "eqn1"), ("eqn1", "eqn2"),
                                      ("in0", "eqn3"), ("const0", "eqn3"), ("eqn2", "out0"),
                                      ("eqn3", "out1")])
    assert nx.is_directed_acyclic_graph(g)
    assert nx.has_path(g, "in1", "out0") and not nx.has_path(g, "in1", "out1")


def test_to_networkx_edges_carry_every_var(test_prims):
    _, two = test_prims
    graph = trace(lambda x: [builder.mul(*two.bind(x)), x * x, 2.0], V3)
    g = to_networkx(graph)
    assert g.edges["eqn0", "eqn1"]["vars"] == ("b", "c")
    assert g.edges["in0", "eqn2"]["vars"] == ("a",)
    assert g.nodes["eqn0"]["aval"] == "f64[3] f64[3]"
    assert g.nodes["out2"]["label"] == "out 2: 2.0" and g.in_degree("out2") == 0


def test_to_dot_is_deterministic_and_coloured():
    dot = to_dot(design())
    assert dot == to_dot(design())
    assert dot.startswith('digraph "graph" {\n')
    assert dot.endswith("}\n")
    assert f'eqn0 [label="d:f64[3] = sin b", shape=box, style="rounded,filled", fillcolor="{PALETTE["unary"]}"];' \
        in dot
    assert f'fillcolor="{PALETTE["reduce"]}"' in dot and f'fillcolor="{PALETTE["binary"]}"' in dot
    assert 'in0 -> eqn0 [label="b"];' in dot
    assert '"family:unary" [label="unary"' in dot


def test_dot_renders_if_graphviz_is_installed(tmp_path):
    from shutil import which
    if which("dot") is None:
        pytest.skip("graphviz is not installed")
    path = tmp_path / "g.dot"
    path.write_text(to_dot(design()))
    subprocess.run(["dot", "-Tsvg", str(path), "-o", str(tmp_path / "g.svg")], check=True)


def test_family_colours_are_fixed():
    assert family_colour("unary") == PALETTE["unary"]
    assert family_colour("some_new_family") == family_colour("some_new_family")
    assert family_colour("some_new_family").startswith("#")


def test_dot_escapes_quotes():
    x = Var(S)
    graph = Graph({}, [x], [Eqn(ir.PRIMITIVES["integer_pow"], [x], {"y": 2, "note": 'say "hi"'}, [Var(S)])],
                  [x])
    assert r'note=say \"hi\"' in to_dot(graph)


# --------------------------------------------------------------------------------------------------
# dependencies


def test_dependencies():
    graph = trace(lambda x, y, z: [unary.sin(x) * y, z + 1.0, x, 2.0, y * y * z], V3, V3, V3)
    assert dependencies(graph) == [{0, 1}, {2}, {0}, set(), {1, 2}]


def test_dependencies_ignore_consts_and_follow_long_chains():
    def chain(x, y):
        for _ in range(3000):
            x = unary.sin(x) * np.ones(3)
        return [x, y + x, y]

    graph = trace(chain, V3, V3)
    assert dependencies(graph) == [{0}, {0, 1}, {1}]


# --------------------------------------------------------------------------------------------------
# dce


def test_dce_removes_unused_equations_and_consts():
    unused_const = np.array([5.0, 6.0, 7.0])

    def f(x, y):
        dead = unary.exp(x) * unused_const
        unary.cos(dead)
        return [unary.sin(x) * y]

    graph = trace(f, V3, V3)
    assert len(graph.eqns) == 5 and len(graph.consts) == 1
    out = dce(graph)
    assert out is not graph and len(graph.eqns) == 5  # the input graph is unchanged
    verify(out)
    assert str(out) == "\n".join([
        "{ lambda ; a:f64[3] b:f64[3]. let",
        "    c:f64[3] = sin a",
        "    d:f64[3] = mul c b",
        "  in (d,) }"])
    x, y = np.arange(3.0), np.ones(3)
    np.testing.assert_array_equal(ir.eval_graph(out, x, y)[0], ir.eval_graph(graph, x, y)[0])


def test_dce_keeps_inputs_used_consts_and_chains():
    table_ = np.array([1.0, 2.0, 3.0])
    graph = trace(lambda x, y: [unary.sin(unary.cos(x)) * table_], V3, V3)
    out = dce(graph)
    assert out.inputs == graph.inputs and len(out.eqns) == 3 and list(out.consts) == list(graph.consts)


def test_dce_keeps_effectful_and_partly_used_equations(test_prims):
    effect, two = test_prims

    def f(x):
        effect.bind(unary.exp(x))
        first, _ = two.bind(x)
        unary.sin(x)
        return [first]

    graph = trace(f, V3)
    out = dce(graph)
    assert [e.prim.name for e in out.eqns] == ["exp", "test_graphs_effect", "test_graphs_two"]
    verify(out)


def test_dce_long_graph():
    def chain(x):
        for _ in range(10_000):
            unary.cos(x)
            x = unary.sin(x)
        return [x]

    out = dce(trace(chain, S))
    assert len(out.eqns) == 10_000 and all(e.prim.name == "sin" for e in out.eqns)


# --------------------------------------------------------------------------------------------------
# The primitive x rule matrix


def test_rule_matrix_rows_and_cells():
    matrix = table.rule_matrix()
    assert list(matrix) == [p.name for p in table.grouped_primitives()]
    assert set(matrix) == set(ir.PRIMITIVES)
    families = [ir.PRIMITIVES[name].family for name in matrix]
    seen = []
    for fam in families:  # grouped: each family is one run of rows
        if not seen or seen[-1] != fam:
            assert fam not in seen
            seen.append(fam)
    for row in matrix.values():
        assert tuple(row) == table.COLUMNS
        for cell in row.values():
            assert cell in ("✓", "nonlinear", "MISSING", "?") or cell.startswith("hole: ")
    assert matrix["sin"]["transpose"] == "nonlinear"
    assert matrix["add"]["jvp"] == "✓" and matrix["add"]["transpose"] == "✓"


def test_missing_and_holes():
    try:
        prim = ir.Primitive("test_graphs_gap", family="test")
        prim.shape_rule = lambda x: x
        prim.declare_hole("batch", "not batchable yet")
        assert table.rule_matrix()["test_graphs_gap"]["batch"] == "hole: not batchable yet"
        gaps = table.missing()
        assert ("test_graphs_gap", "impl") in gaps and ("test_graphs_gap", "jvp") in gaps
        assert ("test_graphs_gap", "batch") not in gaps and ("test_graphs_gap", "shape") not in gaps
    finally:
        ir.PRIMITIVES.pop("test_graphs_gap", None)


def test_every_primitive_rule_is_present_or_declared():
    assert table.missing() == []


def test_table_cli():
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    result = subprocess.run([sys.executable, "-m", "jaxlike.ir.table", "--strict"], capture_output=True,
                            text=True, encoding="utf-8", env=env, cwd=os.path.dirname(__file__) or ".")
    assert result.returncode == (1 if table.missing() else 0), result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["family", "primitive", "shape", "impl", "jvp", "transpose", "batch", "lower"]
    assert any(line.split()[:2] == ["unary", "neg"] for line in lines)
