"""The IR as a picture: SVG that jaxlike draws itself, without Graphviz or matplotlib.

``to_svg(graph)`` returns SVG text; ``save(graph, "g.svg")`` writes it. The layout is layered, top to
bottom, as Graphviz's ``dot`` would do it, in four steps, each one loop (nothing recurses):

1. **layers**: inputs on the first row, each equation one row below the lowest of its inputs, outputs on
   the last row; an equation without inputs (an ``iota``, say) and a constant sit just above their first
   user;
2. **wires**: an edge that skips rows runs through one waypoint per row it crosses; the edges leaving
   one node share their waypoints, so a value used on many rows is one wire with branches;
3. **order**: the nodes of each row are sorted by the mean position of their neighbours, sweeping down
   and up; the order with the fewest edge crossings wins;
4. **positions**: each node moves towards the mean position of its neighbours, keeping its row's order
   and the spacing between boxes (a weighted isotonic regression, solved exactly by pooling adjacent
   violators).

Boxes are coloured by primitive family with the palette of ``to_dot`` (``jaxlike.ir.graphs.PALETTE``);
each shows the primitive (with its params when they are short) and the output binders as
``print(graph)`` names them. Hovering a box shows the whole equation. Nested graphs (the bodies of
``cond``, ``while``, ``scan``) are not expanded, as in ``to_dot``. The output is the same from run to run.
"""

import shutil
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

from .graphs import PALETTE, family_colour, to_dot, to_networkx
from .verify import _short_param

MAX_EQNS = 2000  # above this, to_svg refuses: such a picture cannot be read
LARGE_EQNS = 300  # above this, the title says the picture is of a large graph

FONT_SIZE = 11
CHAR_WIDTH = 6.7  # a monospace advance at FONT_SIZE (0.6 em), with a little slack
BOX_HEIGHT = 34
ROW_GAP = 34
NODE_GAP = 18
WIRE_GAP = 12
MARGIN = 16
MAX_TEXT = 44
SWEEPS = 12
PLACEMENT_ROUNDS = 16
EFFORT_BUDGET = 12_000  # boxes plus waypoints laid out with full effort; larger layouts get fewer sweeps
MAX_LAYOUT_NODES = 100_000  # boxes plus waypoints: above this, to_svg refuses

_KIND_SHAPE = {  # fill, stroke-dasharray, stroke width, corner radius (None: a pill)
    "input": ("#ffffff", None, 1.2, None),
    "const": ("#f0f0f0", "4 2", 1.0, 2),
    "output": ("#d9d9d9", None, 2.0, None),
}
_EQN_RADIUS = 5


class Box:
    """A drawn node: ``node`` (the networkx name: in0, const0, eqn0, out0), ``kind``, ``family``,
    ``lines`` (the text), ``tooltip``, ``row``, ``x`` (left), ``y`` (top), ``width``, ``height``."""

    __slots__ = ("node", "kind", "family", "lines", "tooltip", "row", "x", "y", "width", "height")

    def __init__(self, node, kind, family, lines, tooltip):
        self.node, self.kind, self.family, self.lines, self.tooltip = node, kind, family, lines, tooltip
        self.row = 0
        self.x = self.y = 0.0
        self.width = max(40.0, max(len(t) for t in lines) * CHAR_WIDTH + 16)
        self.height = float(BOX_HEIGHT)

    @property
    def fill(self):
        return family_colour(self.family) if self.kind == "eqn" else _KIND_SHAPE[self.kind][0]


class Layout:
    """Where everything goes: ``boxes`` (in node order), ``edges`` as (source, target, var names, aval,
    points), the picture's ``width`` and ``height``, its ``title`` and the ``families`` shown."""

    def __init__(self, boxes, edges, width, height, title, families):
        self.boxes, self.edges = boxes, edges
        self.width, self.height, self.title, self.families = width, height, title, families


def _clip(text):
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 1] + "…"


def _boxes(graph, g):
    """One Box per node of ``to_networkx(graph)``, with its text."""
    boxes = {}
    for node, data in g.nodes(data=True):
        kind = data["kind"]
        if kind == "eqn":
            eqn = graph.eqns[int(node[3:])]
            params = ", ".join(f"{k}={_short_param(eqn.params[k])}" for k in sorted(eqn.params))
            head = f"{eqn.prim.name}[{params}]" if params else eqn.prim.name
            if len(head) > MAX_TEXT:
                head = eqn.prim.name + "[…]"
            binders = data["label"].split(" = ", 1)[0] if " = " in data["label"] else data["aval"]
            lines = (_clip(head), _clip(binders))
        elif kind == "output":
            text = data["label"].split(": ", 1)[1]
            lines = (f"output {node[3:]}", _clip(f"{text}:{data['aval']}"))
        else:
            position = node[len(kind if kind == "const" else "in"):]
            lines = (f"{kind} {position}", _clip(data["label"]))
        boxes[node] = Box(node, kind, data["family"], lines, data["label"])
    return boxes


def _rows(g, boxes):
    """Row of each node. Inputs on row 0, outputs on the last row; every other node as high as its inputs
    allow (longest path from the inputs) or as low as its users allow, whichever of the two layerings
    needs fewer waypoints (a gradient's residuals, say, wire down less when their producers sink)."""
    order = list(g.nodes)
    high = {}
    for node in order:
        kind = boxes[node].kind
        preds = [high[p] for p in g.predecessors(node)]
        high[node] = 0 if kind in ("input", "const") else (max(preds) + 1 if preds else 1)
    last = max((high[n] for n in order if boxes[n].kind != "output"), default=0) + 1
    for node in order:
        if boxes[node].kind == "output":
            high[node] = last
    for node in reversed(order):  # constants and input-less equations: just above their first user
        kind = boxes[node].kind
        if kind == "const" or (kind == "eqn" and g.in_degree(node) == 0):
            users = [high[s] for s in g.successors(node)]
            if users:
                high[node] = max(high[node], min(users) - 1)
    low = dict(high)
    for node in reversed(order):
        users = [low[s] for s in g.successors(node)]
        if boxes[node].kind in ("const", "eqn") and users:
            low[node] = max(low[node], min(users) - 1)
    return min((high, low), key=lambda rows: _waypoints(g, rows)), last


def _waypoints(g, row):
    """How many waypoints a layering needs: the edges leaving a node share theirs."""
    return sum(max(row[s] for s in g.successors(n)) - row[n] - 1 for n in g.nodes if g.out_degree(n))


def _wires(g, row):
    """Waypoints of each edge and the layered graph: each edge steps one row at a time.

    Returns ``paths`` (edge -> the nodes it passes, waypoints included), ``up`` and ``down`` (each node's
    neighbours on the rows above and below, in insertion order) and the rows' node lists.
    """
    up, down = {}, {}
    rows = {}

    def add(node, r):
        up[node], down[node] = {}, {}
        rows.setdefault(r, []).append(node)

    for node in g.nodes:
        add(node, row[node])
    paths = {}
    for src in g.nodes:
        waypoints = {}  # row -> waypoint shared by the edges leaving src
        for dst in g.successors(src):
            chain = [src]
            for r in range(row[src] + 1, row[dst]):
                point = waypoints.get(r)
                if point is None:
                    point = waypoints[r] = ("wire", src, r)
                    add(point, r)
                chain.append(point)
            chain.append(dst)
            for a, b in zip(chain, chain[1:]):
                down[a][b] = None
                up[b][a] = None
            paths[(src, dst)] = chain
        if len(up) > MAX_LAYOUT_NODES:
            raise ValueError(f"the graph needs more than {MAX_LAYOUT_NODES} boxes and waypoints to draw: "
                             "too large for a picture; simplify it first, or use jaxlike.ir.graphs.to_dot")
    return paths, up, down, [rows[r] for r in sorted(rows)]


def _crossings(rows, down):
    """Edge crossings between adjacent rows, counted as inversions with a Fenwick tree."""
    total = 0
    for upper, lower in zip(rows, rows[1:]):
        pos = {n: i for i, n in enumerate(lower)}
        ends = sorted((i, pos[b]) for i, a in enumerate(upper) for b in down[a])
        tree = [0] * (len(lower) + 1)
        seen = 0
        for _, j in ends:
            k, smaller = j + 1, 0  # how many seen so far end at or before j
            while k > 0:
                smaller += tree[k]
                k -= k & -k
            total += seen - smaller
            seen += 1
            k = j + 1
            while k <= len(lower):
                tree[k] += 1
                k += k & -k
    return total


def _order(rows, up, down, sweeps):
    """Barycentre sweeps down and up; the order with the fewest crossings wins."""
    rows = [list(r) for r in rows]
    best, best_cost = [list(r) for r in rows], _crossings(rows, down)
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        indices = range(1, len(rows)) if downward else range(len(rows) - 2, -1, -1)
        for i in indices:
            ref = rows[i - 1] if downward else rows[i + 1]
            pos = {n: k for k, n in enumerate(ref)}
            neighbours = up if downward else down
            keyed = []
            for k, node in enumerate(rows[i]):
                near = [pos[n] for n in neighbours[node]]
                keyed.append((sum(near) / len(near) if near else k, k, node))
            keyed.sort(key=lambda t: (t[0], t[1]))
            rows[i] = [node for _, _, node in keyed]
        cost = _crossings(rows, down)
        if cost < best_cost:
            best, best_cost = [list(r) for r in rows], cost
        if best_cost == 0:
            break
    return best


def _isotonic(targets, weights):
    """The non-decreasing sequence closest to ``targets`` in weighted least squares (pool adjacent
    violators)."""
    blocks = []  # [mean, weight, count]
    for t, w in zip(targets, weights, strict=True):
        blocks.append([t, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    out = []
    for mean, _, count in blocks:
        out.extend([mean] * count)
    return out


def _place(rows, up, down, width, rounds):
    """Centre x of every node: rows start packed and centred, then each node moves towards its
    neighbours' mean while its row keeps its order and spacing. Waypoints pull harder, so wires run
    straight."""
    centre = {}
    prepared = []
    for row in rows:
        offsets = _offsets(row, width)
        half = [width(node) / 2 for node in row]
        span = offsets[-1] + 2 * half[-1]
        for node, off, h in zip(row, offsets, half, strict=True):
            centre[node] = off - span / 2 + h
        weight = [4.0 if isinstance(node, tuple) else 1.0 for node in row]
        prepared.append((row, [o + h for o, h in zip(offsets, half, strict=True)], weight,
                         [list(up[n]) for n in row], [list(down[n]) for n in row]))
    for r in range(rounds):
        direction = r % 3  # down, up, both
        sequence = prepared[1:] if direction == 0 else prepared[-2::-1] if direction == 1 else prepared
        for row, mids, weight, ups, downs in sequence:
            targets, weights = [], []
            for i, node in enumerate(row):
                near = ups[i] if direction == 0 else downs[i] if direction == 1 else ups[i] + downs[i]
                if near:
                    targets.append(sum(centre[n] for n in near) / len(near) - mids[i])
                    weights.append(weight[i])
                else:
                    targets.append(centre[node] - mids[i])
                    weights.append(0.1 * weight[i])
            for node, y, mid in zip(row, _isotonic(targets, weights), mids, strict=True):
                centre[node] = y + mid
    return centre


def _offsets(row, width):
    """Left edge of each node when the row is packed from 0 with the minimum gaps."""
    offsets, x = [], 0.0
    for i, node in enumerate(row):
        offsets.append(x)
        if i + 1 < len(row):
            wire = isinstance(node, tuple) or isinstance(row[i + 1], tuple)
            x += width(node) + (WIRE_GAP if wire else NODE_GAP)
    return offsets


def layout(graph, title=None, max_eqns=MAX_EQNS):
    """The Layout of ``graph``: boxes, edge paths and the picture's size. ``to_svg`` draws it."""
    n_eqns = len(graph.eqns)
    if n_eqns > max_eqns:
        raise ValueError(f"the graph has {n_eqns} equations; to_svg draws at most max_eqns={max_eqns}, "
                         "and a picture that size cannot be read. Draw a smaller function, simplify the graph "
                         "first (jit(f).lower(x).graph is simplified), pass a larger max_eqns, or use "
                         "jaxlike.ir.graphs.to_dot and Graphviz")
    g = to_networkx(graph)
    boxes = _boxes(graph, g)
    row, _ = _rows(g, boxes)
    paths, up, down, rows = _wires(g, row)
    # the effort shrinks with the size, so that a large graph is drawn in seconds
    effort = min(1.0, EFFORT_BUDGET / len(up))
    rows = _order(rows, up, down, max(2, round(SWEEPS * effort)))

    def width(node):
        return 0.0 if isinstance(node, tuple) else boxes[node].width

    centre = _place(rows, up, down, width, max(3, round(PLACEMENT_ROUNDS * effort)))
    counts = (f"{len(graph.inputs)} input{'s' * (len(graph.inputs) != 1)}, {n_eqns} equation"
              f"{'s' * (n_eqns != 1)}, {len(graph.outputs)} output{'s' * (len(graph.outputs) != 1)}")
    heading = f"{title}: {counts}" if title else counts
    if n_eqns > LARGE_EQNS or effort < 1.0:
        heading += " (a large graph, roughly laid out: simplify it, or draw a smaller one, to read it)"
    families = sorted({b.family for b in boxes.values() if b.kind == "eqn"})

    left = min((centre[n] - width(n) / 2 for n in centre), default=0.0)
    top = MARGIN + 2 * FONT_SIZE + 2 * MARGIN  # title and legend lines
    for node, box in boxes.items():
        box.row = row[node]
        box.x = centre[node] - box.width / 2 - left + MARGIN
        box.y = top + row[node] * (BOX_HEIGHT + ROW_GAP)
    edges = []
    for (src, dst), chain in paths.items():
        a = boxes[src]
        points = [(a.x + a.width / 2, a.y + a.height)]
        for point in chain[1:-1]:
            x = centre[point] - left + MARGIN
            y = top + point[2] * (BOX_HEIGHT + ROW_GAP)
            points += [(x, y), (x, y + BOX_HEIGHT)]
        data = g.edges[src, dst]
        edges.append((src, dst, data["vars"], data["aval"], points))
    _enter(edges, boxes)
    legend_width = MARGIN + sum(len(f) * CHAR_WIDTH + 34 for f in families + ["input", "const", "output"])
    width_px = max(max((b.x + b.width for b in boxes.values()), default=0.0) + MARGIN, legend_width,
                   len(heading) * 0.62 * (FONT_SIZE + 2) + 2 * MARGIN)
    height_px = max((b.y + b.height for b in boxes.values()), default=top) + MARGIN
    return Layout(list(boxes.values()), edges, width_px, height_px, heading, families)


def _enter(edges, boxes):
    """End each edge on the top of its target box: the edges entering one box are spread over the middle
    half of its top, in the order they come from, so they do not cross at the box."""
    incoming = {}
    for edge in edges:
        incoming.setdefault(edge[1], []).append(edge)
    for dst, group in incoming.items():
        box = boxes[dst]
        group.sort(key=lambda e: (e[4][-1][0], e[0]))  # the x each comes from, then the source's name
        for rank, (_, _, _, _, points) in enumerate(group):
            share = 0.5 if len(group) == 1 else 0.25 + 0.5 * rank / (len(group) - 1)
            points.append((box.x + box.width * share, box.y))


def _f(v):
    return f"{v:.1f}"


def _path(points):
    """A smooth path: curves between rows, straight lines through a waypoint's row."""
    (x0, y0), rest = points[0], points[1:]
    d = [f"M{_f(x0)},{_f(y0)}"]
    for i, (x1, y1) in enumerate(rest):
        if i % 2 == 1:  # the bottom of a waypoint's row: straight down
            d.append(f"L{_f(x1)},{_f(y1)}")
        else:
            mid = (y0 + y1) / 2
            d.append(f"C{_f(x0)},{_f(mid)} {_f(x1)},{_f(mid)} {_f(x1)},{_f(y1)}")
        x0, y0 = x1, y1
    return " ".join(d)


def _rect(box):
    if box.kind == "eqn":
        dash, stroke_width, radius = None, 1.0, _EQN_RADIUS
    else:
        _, dash, stroke_width, radius = _KIND_SHAPE[box.kind]
    radius = box.height / 2 if radius is None else radius
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<rect x="{_f(box.x)}" y="{_f(box.y)}" width="{_f(box.width)}" height="{_f(box.height)}" '
            f'rx="{_f(radius)}" fill="{box.fill}" stroke="#333333" stroke-width="{stroke_width}"{dash_attr}/>')


def to_svg(graph, title=None, max_eqns=MAX_EQNS):
    """SVG text of ``graph``: a layered drawing, equations coloured by primitive family.

    ``title`` goes before the counts of inputs, equations and outputs on the first line. A graph of more
    than ``max_eqns`` equations raises ``ValueError``; one of more than 300 is drawn, and its title says
    the picture is of a large graph.
    """
    lay = layout(graph, title, max_eqns)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{lay.width:.0f}" height="{lay.height:.0f}" '
           f'viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" font-family="DejaVu Sans Mono, Menlo, Consolas, '
           f'monospace" font-size="{FONT_SIZE}">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555555"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{MARGIN}" y="{MARGIN + FONT_SIZE}" font-size="{FONT_SIZE + 2}" font-weight="bold">'
           f'{escape(lay.title)}</text>']
    # the legend: one swatch per family drawn, then the three kinds of binder
    x, y = float(MARGIN), MARGIN + FONT_SIZE + MARGIN
    legend = [(f, family_colour(f), None) for f in lay.families]
    legend += [(kind, _KIND_SHAPE[kind][0], _KIND_SHAPE[kind][1]) for kind in ("input", "const", "output")]
    out.append('<g class="legend">')
    for name, fill, dash in legend:
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<rect x="{_f(x)}" y="{_f(y)}" width="22" height="12" rx="3" fill="{fill}" '
                   f'stroke="#333333"{dash_attr}/>')
        out.append(f'<text x="{_f(x + 27)}" y="{_f(y + 10)}">{escape(name)}</text>')
        x += len(name) * CHAR_WIDTH + 34
    out.append("</g>")
    out.append('<g class="edges" fill="none" stroke="#555555" stroke-width="1.1">')
    for src, dst, names, aval, points in lay.edges:
        out.append(f'<path class="edge" data-source="{src}" data-target="{dst}" d="{_path(points)}" '
                   f'marker-end="url(#arrow)"><title>{escape(" ".join(names))}: {escape(aval)}</title></path>')
    out.append("</g>")
    for box in lay.boxes:
        family = f" family-{box.family}" if box.kind == "eqn" else ""
        out.append(f'<g class="node {box.kind}{family}" id="{box.node}">'
                   f'<title>{escape(box.tooltip)}</title>{_rect(box)}')
        cx = _f(box.x + box.width / 2)
        head_weight = ' font-weight="bold"' if box.kind == "eqn" else ""
        out.append(f'<text x="{cx}" y="{_f(box.y + 14)}" text-anchor="middle"{head_weight}>'
                   f'{escape(box.lines[0])}</text>')
        out.append(f'<text x="{cx}" y="{_f(box.y + 28)}" text-anchor="middle" fill="#222222">'
                   f'{escape(box.lines[1])}</text></g>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def save(graph, path, title=None, engine="jaxlike", max_eqns=MAX_EQNS):
    """Write the picture of ``graph`` to ``path`` (``.svg``) and return the path.

    ``engine="jaxlike"`` (the default) draws it with ``to_svg``. ``engine="graphviz"`` writes
    ``to_dot(graph)`` and renders it with Graphviz's ``dot`` program (any format ``dot`` knows, from the
    file's suffix), when ``dot`` is installed: jaxlike itself never needs it.
    """
    path = Path(path)
    if engine == "graphviz":
        dot = shutil.which("dot")
        if dot is None:
            raise RuntimeError("engine='graphviz' needs Graphviz's dot program, which is not on PATH; "
                               "use engine='jaxlike' (the default), which needs nothing")
        fmt = path.suffix.lstrip(".") or "svg"
        subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=to_dot(graph), text=True, check=True)
        return path
    if engine != "jaxlike":
        raise ValueError(f"engine must be 'jaxlike' or 'graphviz', got {engine!r}")
    if path.suffix.lower() != ".svg":
        raise ValueError(f"jaxlike draws SVG: give a path ending in .svg, not {path.name!r} (for PNG or PDF "
                         "use engine='graphviz' with Graphviz installed, or convert the SVG)")
    path.write_text(to_svg(graph, title, max_eqns))
    return path


__all__ = ["to_svg", "save", "layout", "Layout", "Box", "PALETTE", "MAX_EQNS"]
