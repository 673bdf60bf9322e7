"""jaxlike.ir.drawing: the IR as an SVG picture, drawn without Graphviz."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

import jaxlike
import jaxlike.numpy as jnp
from jaxlike import lax
from jaxlike.__main__ import main
from jaxlike.ir import drawing
from jaxlike.ir.graphs import PALETTE, family_colour, to_networkx

SVG = "{http://www.w3.org/2000/svg}"


def readme_f(x, y):
    return jnp.sum(jnp.sin(x) * y)


def rosenbrock(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


W = np.arange(12.0).reshape(4, 3) / 10


def graphs():
    x3, y3 = np.ones(3), np.arange(3.0)
    return {
        "traced": jaxlike.make_ir(readme_f)(x3, y3),
        "grad": jaxlike.make_ir(jaxlike.grad(readme_f))(x3, y3),
        "hessian": jaxlike.make_ir(jaxlike.hessian(rosenbrock))(np.zeros(5)),
        "jacrev-consts": jaxlike.make_ir(jaxlike.jacrev(lambda v: jnp.tanh(W @ v)))(np.ones(3)),
        "optimised": jaxlike.jit(jaxlike.hessian(rosenbrock)).lower(np.zeros(5)).graph,
        "loop": jaxlike.make_ir(lambda v: lax.fori_loop(0, 3, lambda i, u: jnp.sin(u), v))(np.ones(2)),
        "no-eqns": jaxlike.make_ir(lambda v, w: (w, v))(np.ones(2), np.ones(3)),
    }


GRAPHS = graphs()


def nodes(root):
    return [g for g in root.iter(SVG + "g") if "node" in g.get("class", "").split()]


@pytest.mark.parametrize("name", list(GRAPHS))
def test_svg_is_well_formed_with_one_box_per_binder_and_equation(name):
    graph = GRAPHS[name]
    root = ET.fromstring(drawing.to_svg(graph))
    assert root.tag == SVG + "svg"
    boxes = nodes(root)
    kinds = [g.get("class").split()[1] for g in boxes]
    assert kinds.count("eqn") == len(graph.eqns)
    assert kinds.count("input") == len(graph.inputs)
    assert kinds.count("const") == len(graph.consts)
    assert kinds.count("output") == len(graph.outputs)
    assert [g.get("id") for g in boxes] == list(to_networkx(graph).nodes)
    edges = [p for p in root.iter(SVG + "path") if p.get("class") == "edge"]
    assert len(edges) == to_networkx(graph).number_of_edges()


@pytest.mark.parametrize("name", list(GRAPHS))
def test_equations_are_coloured_by_family_with_the_dot_palette(name):
    graph = GRAPHS[name]
    root = ET.fromstring(drawing.to_svg(graph))
    for g in nodes(root):
        if g.get("class").split()[1] != "eqn":
            continue
        eqn = graph.eqns[int(g.get("id")[3:])]
        assert f"family-{eqn.prim.family}" in g.get("class")
        assert g.find(SVG + "rect").get("fill") == family_colour(eqn.prim.family)
        texts = [t.text for t in g.iter(SVG + "text")]
        assert texts[0].startswith(eqn.prim.name)  # the primitive, then the output binders
        assert all(str(v.aval) in texts[1] or "…" in texts[1] for v in eqn.outputs)
    legend = next(g for g in root.iter(SVG + "g") if g.get("class") == "legend")
    shown = {t.text for t in legend.iter(SVG + "text")}
    assert {e.prim.family for e in graph.eqns} | {"input", "const", "output"} == shown


def test_palette_is_the_one_of_to_dot():
    assert drawing.PALETTE is PALETTE
    svg = drawing.to_svg(GRAPHS["grad"])
    assert PALETTE["unary"] in svg and PALETTE["binary"] in svg


@pytest.mark.parametrize("name", list(GRAPHS))
def test_output_is_deterministic(name):
    assert drawing.to_svg(GRAPHS[name]) == drawing.to_svg(GRAPHS[name])
    assert drawing.to_svg(GRAPHS[name]) == drawing.to_svg(graphs()[name])  # a new trace, the same picture


@pytest.mark.parametrize("name", list(GRAPHS))
def test_layout_rows_point_down_and_boxes_do_not_overlap(name):
    lay = drawing.layout(GRAPHS[name])
    by_node = {b.node: b for b in lay.boxes}
    for src, dst, _, _, points in lay.edges:
        assert by_node[src].row < by_node[dst].row
        assert all(y0 <= y1 for (_, y0), (_, y1) in zip(points, points[1:]))
    rows = {}
    for box in lay.boxes:
        rows.setdefault(box.row, []).append(box)
        assert 0 <= box.x and box.x + box.width <= lay.width and box.y + box.height <= lay.height
    for row in rows.values():
        row.sort(key=lambda b: b.x)
        for a, b in zip(row, row[1:]):
            assert a.x + a.width <= b.x + 1e-6
    outputs = {b.row for b in lay.boxes if b.kind == "output"}
    assert outputs == {max(rows)}
    assert {b.row for b in lay.boxes if b.kind == "input"} <= {0}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_edges_entering_a_box_do_not_cross_there(name):
    lay = drawing.layout(GRAPHS[name])
    incoming = {}
    for src, dst, _, _, points in lay.edges:
        incoming.setdefault(dst, []).append((points[-2][0], points[-1][0]))
    for ends in incoming.values():
        ends.sort()
        assert [e for _, e in ends] == sorted(e for _, e in ends)


def test_title_counts_and_escaping():
    svg = drawing.to_svg(GRAPHS["grad"], title="grad of <f> & co")
    assert "grad of &lt;f&gt; &amp; co: 2 inputs, 2 equations, 1 output" in svg
    ET.fromstring(svg)


def chain(n):
    def f(x):
        for _ in range(n):
            x = jnp.sin(x) * x
        return x
    return jaxlike.make_ir(f)(np.ones(2))


def test_large_graphs_say_so_and_huge_ones_are_refused():
    big = chain(160)  # 320 equations
    svg = drawing.to_svg(big)
    assert "a large graph" in svg and len(nodes(ET.fromstring(svg))) == 322
    assert "a large graph" not in drawing.to_svg(chain(10))
    with pytest.raises(ValueError, match="the graph has 320 equations; to_svg draws at most max_eqns=100"):
        drawing.to_svg(big, max_eqns=100)


def test_deep_graphs_do_not_recurse():
    graph = chain(1200)  # 2400 equations, far deeper than the recursion limit allows for recursion
    svg = drawing.to_svg(graph, max_eqns=3000)
    assert svg.count('class="node eqn') == 2400


def test_save(tmp_path):
    path = drawing.save(GRAPHS["hessian"], tmp_path / "h.svg", title="hessian")
    assert path.read_text() == drawing.to_svg(GRAPHS["hessian"], title="hessian")
    with pytest.raises(ValueError, match="ending in .svg"):
        drawing.save(GRAPHS["hessian"], tmp_path / "h.png")
    with pytest.raises(ValueError, match="engine"):
        drawing.save(GRAPHS["hessian"], tmp_path / "h.svg", engine="matplotlib")


def test_command_line_svg(tmp_path, capsys):
    model = tmp_path / "model.py"
    model.write_text("import jaxlike.numpy as jnp\n\ndef loss(x):\n    return jnp.sum(jnp.sin(x) ** 2)\n")
    out = tmp_path / "g.svg"
    assert main(["ir", f"{model}:loss", "--arg", "f64[4]", "--transform", "hessian", "--stage", "optimised",
                 "--svg", str(out)]) == 0
    root = ET.fromstring(out.read_text())
    title = next(t.text for t in root.iter(SVG + "text"))
    assert title.startswith("hessian(loss), optimised: 1 input")
    assert "wrote" in capsys.readouterr().err
    assert main(["ir", f"{model}:loss", "--arg", "f64[4]", "--svg", str(tmp_path / "g.png")]) == 2
    assert "ending in .svg" in capsys.readouterr().err
