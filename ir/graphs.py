"""The IR as a graph: a networkx DiGraph for analyses, DOT text for pictures, structural dependencies.

Nodes are named ``in0``, ``const0``, ``eqn0``, ``out0`` (by position) and carry:

- ``kind``: "input", "const", "eqn" or "output";
- ``primitive`` and ``family`` (equations; None otherwise);
- ``aval``: the printed aval (an equation's output avals, space separated);
- ``label``: the printed binder or equation, with names as ``print(graph)`` gives them.

An edge goes from the node that defines a Var to each node that uses it and carries ``var`` (its printed
name), ``vars`` (every Var it carries, when a node uses several from one producer) and ``aval``. Nested graphs
are not expanded: they stay params of their equation. networkx is imported here and nowhere else in the IR.
"""

import zlib

import networkx as nx

from . import printing
from .core import Lit, Var
from .verify import eqn_summary

# Fill colours by primitive family (ColorBrewer Set3 and Pastel1); unknown families take one by a stable
# hash of their name, so a picture looks the same from run to run.
PALETTE = {
    "unary": "#8dd3c7",
    "binary": "#ffffb3",
    "shape": "#bebada",
    "reduce": "#fb8072",
    "indexing": "#80b1d3",
    "linalg": "#fdb462",
    "control": "#b3de69",
    "random": "#fccde5",
    "misc": "#ccebc5",
}
_SPARE = ("#bc80bd", "#ffed6f", "#decbe4", "#fed9a6", "#e5d8bd", "#fddaec", "#b3cde3")
_KIND_STYLE = {
    "input": 'shape=ellipse, style=filled, fillcolor="#ffffff"',
    "const": 'shape=box, style="filled,dashed", fillcolor="#f0f0f0"',
    "output": 'shape=ellipse, style="filled,bold", fillcolor="#d9d9d9"',
}


def family_colour(family):
    if family in PALETTE:
        return PALETTE[family]
    return _SPARE[zlib.crc32(str(family).encode()) % len(_SPARE)]


def _printed_names(graph):
    """The namer that ``print(graph)`` uses, after naming every Var of the graph."""
    namer = printing._Namer()
    printing._graph_lines(graph, namer, 0)
    return namer


def to_networkx(graph):
    """``graph`` as a networkx.DiGraph; see the module docstring for the node and edge attributes."""
    namer = _printed_names(graph)
    g = nx.DiGraph()
    producer = {}  # Var -> node id

    def binder_node(node, kind, var):
        g.add_node(node, kind=kind, primitive=None, family=None, aval=str(var.aval),
                   label=f"{namer(var)}:{var.aval}")
        producer[var] = node

    def connect(atoms, node):
        for atom in atoms:
            if not isinstance(atom, Var) or atom not in producer:
                continue
            src = producer[atom]
            name = namer(atom)
            if g.has_edge(src, node):
                data = g.edges[src, node]
                if name not in data["vars"]:
                    data["vars"] += (name,)
            else:
                g.add_edge(src, node, var=name, vars=(name,), aval=str(atom.aval))

    for i, var in enumerate(graph.consts):
        binder_node(f"const{i}", "const", var)
    for i, var in enumerate(graph.inputs):
        binder_node(f"in{i}", "input", var)
    for i, eqn in enumerate(graph.eqns):
        node = f"eqn{i}"
        g.add_node(node, kind="eqn", primitive=eqn.prim.name, family=eqn.prim.family,
                   aval=" ".join(str(v.aval) for v in eqn.outputs), label=eqn_summary(eqn, namer))
        connect(eqn.inputs, node)
        for var in eqn.outputs:
            producer[var] = node
    for i, atom in enumerate(graph.outputs):
        node = f"out{i}"
        text = printing.lit_to_text(atom) if isinstance(atom, Lit) else namer(atom)
        g.add_node(node, kind="output", primitive=None, family=None, aval=str(atom.aval),
                   label=f"out {i}: {text}")
        connect([atom], node)
    return g


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph, name="graph"):
    """DOT text for ``graph`` (render with Graphviz: ``dot -Tsvg``); equations coloured by family."""
    g = to_networkx(graph)
    lines = [f"digraph {_quote(name)} {{", "  rankdir=TB;",
             '  node [fontname="monospace", fontsize=10];', '  edge [fontname="monospace", fontsize=9];']
    for node, data in g.nodes(data=True):
        if data["kind"] == "eqn":
            style = f'shape=box, style="rounded,filled", fillcolor="{family_colour(data["family"])}"'
        else:
            style = _KIND_STYLE[data["kind"]]
        lines.append(f"  {node} [label={_quote(data['label'])}, {style}];")
    for src, dst, data in g.edges(data=True):
        lines.append(f"  {src} -> {dst} [label={_quote(' '.join(data['vars']))}];")
    families = sorted({d["family"] for _, d in g.nodes(data=True) if d["kind"] == "eqn"})
    if families:
        lines.append("  subgraph cluster_legend {")
        lines.append('    label="families"; style=dashed;')
        for fam in families:
            lines.append(f"    {_quote('family:' + fam)} [label={_quote(fam)}, shape=box, "
                         f'style="rounded,filled", fillcolor="{family_colour(fam)}"];')
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dependencies(graph):
    """For each output, the set of input positions it depends on structurally (through any equation).

    One forward loop with a bit set per Var: an equation's outputs depend on everything its inputs do.
    """
    masks = {var: 1 << i for i, var in enumerate(graph.inputs)}
    for eqn in graph.eqns:
        mask = 0
        for atom in eqn.inputs:
            if isinstance(atom, Var):
                mask |= masks.get(atom, 0)
        for var in eqn.outputs:
            masks[var] = mask
    return [_indices(masks.get(atom, 0)) if isinstance(atom, Var) else set() for atom in graph.outputs]


def _indices(mask):
    out = set()
    while mask:
        low = mask & -mask
        out.add(low.bit_length() - 1)
        mask ^= low
    return out
