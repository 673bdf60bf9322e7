"""Sparse Jacobians and Hessians: the pattern read off the graph, a colouring, one compressed evaluation.

    import jaxlike.sparse

    J = jaxlike.sparse.jacobian(f)(x)          # a scipy.sparse CSR matrix
    H = jaxlike.sparse.hessian(f)(x)           # symmetric, by star colouring
    print(jaxlike.sparse.sparsity_pattern(f)(x))

The pipeline, once per input signature (pytree structure, shapes, dtypes) and cached:

1. trace ``f`` abstractly to a Graph (as ``jit`` does: Python control flow on values must use
   ``jnp.where`` or ``jaxlike.lax``);
2. read the Jacobian's sparsity pattern off the graph (``jaxlike.ir.sparsity``);
3. colour the columns (forward mode) or the rows (reverse mode), keeping the mode with fewer colours
   (``jaxlike.ir.coloring``); a Hessian gets a star colouring;
4. build ONE Graph from the inputs to the non-zero values: the jvp (or vjp) of f batched over one seed
   vector per colour, then a gather with constant indices that picks each non-zero out of the compressed
   result. That Graph is interpreted, or compiled with ``jaxlike.jit`` when ``compiled=True``.

Each call then runs only step 4's graph and wraps the values (in CSR order) into the format asked for.
The graph passes of step 4 live in ``jaxlike.ir.sparse_rewrite``; this module plans, caches and formats.

The Jacobian is that of the flattened output with respect to the flattened input: output leaves are
flattened (row-major) and concatenated into the rows, the leaves of the differentiated arguments likewise
into the columns.
"""

import functools
import time
import warnings

import numpy as np

from .api import _diff_mask, _normalize_argnums, flatten_args, trace_fn
from .ir import coloring, dtypes
from .ir.builder import Tracer
from .ir.interpret import eval_graph
from .ir.sparse_rewrite import densify, forward_graph, gradient_graph, reverse_graph
from .ir.sparsity import jacobian_sparsity

FORMATS = ("csr", "coo", "triplets", "dense")


# --------------------------------------------------------------------------------------------------
# What the analysis found: printable, and the input of the compressed evaluation


class SparsityInfo:
    """The sparsity pattern of a Jacobian (or Hessian), its colouring and the chosen mode.

    ``rows``, ``cols``: the structural non-zeros, sorted by row then column (CSR order); ``shape``;
    ``colors``: one colour per column (mode 'fwd'), per row ('rev') or per variable ('star', Hessians);
    ``n_colors``: how many evaluations of the jvp (or vjp) one Jacobian costs.
    """

    def __init__(self, kind, rows, cols, shape, mode, colors, alternatives, conservative):
        self.kind = kind
        self.rows = rows
        self.cols = cols
        self.shape = shape
        self.mode = mode
        self.colors = colors
        self.alternatives = alternatives  # mode -> number of colours it would need
        self.conservative = conservative  # primitives whose rule had to assume dependence on everything
        self.timings = {}  # seconds per stage of the analysis (trace, pattern, coloring, ...)

    @property
    def nnz(self):
        return len(self.rows)

    @property
    def n_colors(self):
        return coloring.num_colors(self.colors)

    @property
    def density(self):
        size = self.shape[0] * self.shape[1]
        return self.nnz / size if size else 0.0

    def to_dense(self):
        """The pattern as a boolean array."""
        out = np.zeros(self.shape, bool)
        out[self.rows, self.cols] = True
        return out

    def to_scipy(self, format="csr"):  # noqa: A002  (scipy's name)
        """The pattern as a scipy.sparse matrix of ones."""
        return _to_format(self, np.ones(self.nnz), format)

    def spy(self, path, title=None):
        """Save a picture of the pattern, each non-zero in the colour of its group, next to the compressed
        matrix it is read from. SVG always; PNG with matplotlib when installed, else a plain PNG."""
        return save_spy(self, path, title)

    def __repr__(self):
        return (f"SparsityInfo({self.kind} {self.shape[0]}x{self.shape[1]}, nnz={self.nnz}, "
                f"mode={self.mode!r}, n_colors={self.n_colors})")

    def __str__(self):
        m, n = self.shape
        per_row = np.bincount(self.rows, minlength=m) if m else np.zeros(0, int)
        how = {"fwd": "columns (forward mode: one jvp per colour)",
               "rev": "rows (reverse mode: one vjp per colour)",
               "star": "variables, star colouring (forward-over-reverse: one Hessian-vector product "
                       "per colour)",
               "column": "columns of the Hessian (forward-over-reverse: one Hessian-vector product per "
                         "colour)"}[self.mode]
        lines = [f"{self.kind} sparsity: {m} x {n}, {self.nnz} non-zeros ({100 * self.density:.3g}% dense), "
                 f"{per_row.max() if m else 0} at most per row",
                 f"colouring: {self.n_colors} colours of {how}"]
        others = ", ".join(f"{k} {v}" for k, v in self.alternatives.items() if k != self.mode)
        if others:
            lines.append(f"  colours with the other choices: {others}")
        if self.conservative:
            lines.append("  conservative (all inputs to all outputs) through: "
                         + ", ".join(sorted(set(self.conservative))))
        if m <= 40 and n <= 80:
            dense = self.to_dense()
            mark = np.full(self.shape, ".", dtype="<U1")
            keys = _picture(self)[0]
            mark[self.rows, self.cols] = [_glyph(int(k)) for k in keys]
            lines += ["  " + "".join(r) for r in np.where(dense, mark, ".")]
        return "\n".join(lines)


def _glyph(k):
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return alphabet[k] if k < len(alphabet) else "#"


# --------------------------------------------------------------------------------------------------
# Planning: the analysis of one signature


class Plan:
    """Everything computed once per signature: the info, the values graph and the function running it."""

    def __init__(self, info, graph, out_tree, run, dtype):
        self.info = info
        self.graph = graph
        self.out_tree = out_tree
        self.run = run
        self.dtype = dtype
        self.templates = {}  # format -> a SciPy matrix of this pattern, checked once, whose values we replace
        self.clock = None  # timings of the planning, until the first run adds its own


def _values_dtype(avals):
    return np.result_type(*[a.dtype for a in avals]) if avals else np.dtype(np.float64)


def _check_float_outputs(fname, graph, out_tree):
    for i, a in enumerate(graph.out_avals):
        if not dtypes.is_float(a.dtype):
            raise TypeError(f"{fname} requires float outputs, but output {i} of {out_tree} has dtype "
                            f"{a.dtype}")


def _structurally_symmetric(rows, cols, shape):
    if shape[0] != shape[1]:
        return False
    n = shape[0]
    return np.array_equal(np.sort(cols * n + rows), rows * n + cols)  # rows * n + cols is sorted (CSR)


def _choose_mode(mode, rows, cols, shape):
    """(mode, colours, {mode: number of colours}): forward mode colours columns, reverse mode rows; None
    picks the one with fewer colours (forward on a tie: a jvp is cheaper than a vjp)."""
    if mode not in (None, "fwd", "rev"):
        raise ValueError(f"mode must be None (choose), 'fwd' or 'rev', got {mode!r}")
    alternatives, colorings = {}, {}
    if mode in (None, "fwd"):
        colorings["fwd"] = coloring.color_columns(rows, cols, shape)
        alternatives["fwd"] = coloring.num_colors(colorings["fwd"])
    if mode in (None, "rev"):
        if "fwd" in colorings and _structurally_symmetric(rows, cols, shape):
            colorings["rev"] = colorings["fwd"]  # the rows of a symmetric pattern are its columns
        else:
            colorings["rev"] = coloring.color_rows(rows, cols, shape)
        alternatives["rev"] = coloring.num_colors(colorings["rev"])
    if mode is None:
        mode = "fwd" if alternatives["fwd"] <= alternatives["rev"] else "rev"
    return mode, colorings[mode], alternatives


class _Clock:
    """Seconds spent in each stage, in order."""

    def __init__(self):
        self.times = {}
        self.last = time.perf_counter()

    def lap(self, stage):
        now = time.perf_counter()
        self.times[stage] = self.times.get(stage, 0.0) + now - self.last
        self.last = now


def plan_jacobian(graph, diff, mode=None, name="jacobian", clock=None, values=True):
    """The SparsityInfo and the values Graph (None unless values) of the sparse Jacobian of graph w.r.t.
    the inputs in diff."""
    clock = clock or _Clock()
    conservative = []
    rows, cols = jacobian_sparsity(graph, diff, conservative)
    clock.lap("pattern")
    m = sum(a.size for a in graph.out_avals)
    n = sum(a.size for a, d in zip(graph.in_avals, diff, strict=True) if d)
    mode, colors, alternatives = _choose_mode(mode, rows, cols, (m, n))
    info = SparsityInfo(name, rows, cols, (m, n), mode, colors, alternatives, conservative)
    clock.lap("coloring")
    info.timings = clock.times
    if not values:
        return info, None
    dtype = _values_dtype(graph.out_avals)
    if mode == "fwd":
        values = forward_graph(graph, diff, colors, colors[cols] * m + rows, dtype)
    else:
        values = reverse_graph(graph, diff, colors, colors[rows] * n + cols, dtype)
    clock.lap("values graph")
    return info, values


def plan_hessian(graph, diff, coloring_kind="star", name="hessian", clock=None, values=True):
    """The SparsityInfo and values Graph of the sparse Hessian of the scalar output of graph."""
    if coloring_kind not in ("star", "column"):
        raise ValueError(f"coloring must be 'star' or 'column', got {coloring_kind!r}")
    clock = clock or _Clock()
    grad = gradient_graph(graph, diff)
    clock.lap("gradient graph")
    conservative = []
    rows, cols = jacobian_sparsity(grad, diff, conservative)
    clock.lap("pattern")
    n = sum(a.size for a, d in zip(graph.in_avals, diff, strict=True) if d)
    # symmetric by definition: the union of the pattern with its transpose, in CSR order
    keys = coloring.unique_ints(np.concatenate([rows * n + cols, cols * n + rows]))
    rows, cols = np.divmod(keys, n) if n else (rows, cols)
    if coloring_kind == "star":
        colors = coloring.color_star(rows, cols, n)
        src_row, src_color = coloring.star_sources(rows, cols, colors)
    else:
        colors = coloring.color_columns(rows, cols, (n, n))
        src_row, src_color = rows, colors[cols]
    alternatives = {coloring_kind: coloring.num_colors(colors)}
    info = SparsityInfo(name, rows, cols, (n, n), coloring_kind, colors, alternatives, conservative)
    clock.lap("coloring")
    info.timings = clock.times
    if not values:
        return info, None
    values = forward_graph(grad, diff, colors, src_color * n + src_row, _values_dtype(grad.out_avals))
    clock.lap("values graph")
    return info, values


# --------------------------------------------------------------------------------------------------
# Running and formatting


def _runner(graph, compiled):
    """A function of the flat input leaves giving the values: compiled with jaxlike.jit when asked (and
    available), the interpreter otherwise. Inside another trace the graph is inlined."""
    def interpret(*leaves):
        return eval_graph(graph, *leaves)[0]

    if not compiled:
        return interpret
    try:
        from .jit import jit
    except ImportError as err:
        warnings.warn(f"compiled=True: jaxlike.jit is not available ({err}); using the interpreter",
                      RuntimeWarning, stacklevel=3)
        return interpret
    return jit(interpret)  # inside another trace, jit traces through: the graph is inlined there


def _to_format(info, values, format, plan=None):  # noqa: A002
    if format == "triplets":
        return info.rows, info.cols, values
    if format == "dense":
        return values
    try:
        import scipy.sparse as sp
    except ImportError:
        raise ImportError(f"format={format!r} needs SciPy, which is not installed; install it "
                          "(pip install scipy) or ask for format='triplets' to get (rows, cols, values)"
                          ) from None
    if isinstance(values, Tracer):
        raise TypeError(f"format={format!r} builds a SciPy matrix, which cannot hold traced values; inside "
                        "jit, vmap or another transform use format='triplets'")
    template = plan.templates.get(format) if plan is not None else None
    if template is not None and template.data.dtype == values.dtype:
        # a matrix SciPy has checked once, with new values: a constructor call costs 40 µs, this 1 µs
        out = object.__new__(type(template))
        out.__dict__.update(template.__dict__)
        out.data = values
        return out
    if format == "coo":
        out = sp.coo_matrix((values, (info.rows, info.cols)), shape=info.shape)
    else:
        index_dtype = np.int32 if max(info.shape + (info.nnz,)) < 2**31 - 1 else np.int64
        indptr = np.zeros(info.shape[0] + 1, index_dtype)
        np.cumsum(np.bincount(info.rows, minlength=info.shape[0]), out=indptr[1:])
        out = sp.csr_matrix((values, info.cols.astype(index_dtype), indptr), shape=info.shape)
    if plan is not None and "data" in out.__dict__:
        plan.templates[format] = out
        out = _to_format(info, values, format, plan)  # a matrix of its own, sharing only the indices
    return out


def _check_format(format):  # noqa: A002
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(map(repr, FORMATS))}, got {format!r}")


_SCALARS = {float: np.float64, int: np.int64, bool: np.bool_, np.float64: np.float64, np.float32: np.float32,
            np.int64: np.int64, np.int32: np.int32, np.bool_: np.bool_}


def _fast_key(args):
    """A cheap signature for positional NumPy arrays (of supported dtypes) and Python scalars, else None."""
    key = []
    for a in args:
        if type(a) is np.ndarray:
            if a.dtype not in dtypes.SUPPORTED:
                return None
            key.append((a.shape, a.dtype))
        elif type(a) in _SCALARS:
            key.append(type(a))
        else:
            return None
    return tuple(key)


class _Transform:
    """A sparse derivative of f: called like f, planned once per signature and cached."""

    kind = None

    def __init__(self, f, argnums, format, compiled, options):  # noqa: A002
        _check_format(format)
        self.f = f
        self.argnums = argnums
        self.format = format
        self.compiled = compiled
        self.options = options
        self.cache = {}  # (pytree structure, avals) -> Plan
        self.fast = {}  # the same Plans keyed on the types, shapes and dtypes of plain positional arrays
        functools.update_wrapper(self, f)

    def _plan(self, args, kwargs):
        """(plan, flat input leaves, captured outer values) for these arguments."""
        leaves, avals, treedef = flatten_args(args)
        concrete = not kwargs and not any(isinstance(x, Tracer) for x in leaves)
        key = (treedef, tuple(avals)) if concrete else None
        plan = self.cache.get(key) if key is not None else None
        if plan is not None:
            fast = _fast_key(args)
            if fast is not None:
                self.fast[fast] = plan
            return plan, leaves, []
        clock = _Clock()
        fname = f"jaxlike.sparse.{self.kind}"
        _, nums = _normalize_argnums(self.argnums, len(args), fname)
        diff = _diff_mask(args, nums, fname)
        traced = trace_fn(self.f, args, kwargs, name=fname, abstract=True)
        graph = traced.graph
        diff = diff + [False] * len(traced.captured)
        _check_float_outputs(fname, graph, traced.out_tree)
        clock.lap("trace")
        info, values = self.analyse(graph, diff, fname, clock)
        if values is not None and self.format == "dense":
            values = densify(values, info.rows, info.cols, info.shape)
        run = _runner(values, self.compiled) if values is not None else None
        plan = Plan(info, values, traced.out_tree, run, _values_dtype(graph.out_avals))
        if key is not None and not traced.captured:
            self.cache[key] = plan
            fast = _fast_key(args)
            if fast is not None:
                self.fast[fast] = plan
        plan.clock = clock
        return plan, leaves, traced.captured

    def __call__(self, *args, **kwargs):
        plan = self.fast.get(_fast_key(args)) if not kwargs else None
        if plan is not None and plan.clock is None:  # plain arrays of a known signature: straight to the graph
            values = plan.run(*[a if type(a) is np.ndarray else np.asarray(a, _SCALARS[type(a)]) for a in args])
            return _to_format(plan.info, values, self.format, plan)
        plan, leaves, captured = self._plan(args, kwargs)
        if plan.clock is None:
            return _to_format(plan.info, plan.run(*leaves, *captured), self.format, plan)
        plan.clock.last = time.perf_counter()  # the first run of a new plan: compiling happens here
        values = plan.run(*leaves, *captured)
        plan.clock.lap("compile and first run" if self.compiled else "first run")
        plan.clock = None
        return _to_format(plan.info, values, self.format, plan)

    def sparsity(self, *args, **kwargs):
        """The SparsityInfo for these arguments (planned and cached like a call)."""
        return self._plan(args, kwargs)[0].info

    def graph(self, *args, **kwargs):
        """The Graph from the flat input leaves to the non-zero values, in CSR order."""
        return self._plan(args, kwargs)[0].graph

    def __repr__(self):
        return f"<jaxlike.sparse.{self.kind} of {getattr(self.f, '__name__', self.f)!r}>"


class _Jacobian(_Transform):
    kind = "jacobian"

    def analyse(self, graph, diff, fname, clock):
        return plan_jacobian(graph, diff, self.options["mode"], name="jacobian", clock=clock,
                             values=self.options.get("values", True))


class _Hessian(_Transform):
    kind = "hessian"

    def analyse(self, graph, diff, fname, clock):
        if len(graph.outputs) != 1 or graph.out_avals[0].shape != ():
            raise TypeError(f"{fname} requires a function with one scalar output; "
                            f"{getattr(self.f, '__name__', 'it')} returned outputs of shapes "
                            f"{[a.shape for a in graph.out_avals]}")
        return plan_hessian(graph, diff, self.options["coloring"], name="hessian", clock=clock,
                            values=self.options.get("values", True))


def jacobian(f, argnums=0, *, format="csr", mode=None, compiled=False):  # noqa: A002
    """The sparse Jacobian of f: ``jacobian(f)(*args)``.

    The Jacobian is that of the flattened output with respect to the flattened input: the rows number the
    elements of f's output leaves (each flattened row-major, one after the other), the columns those of the
    differentiated arguments' leaves (``argnums``: an int or a tuple), likewise.

    format: 'csr' (a scipy.sparse.csr_matrix), 'coo' (coo_matrix), 'triplets' ((rows, cols, values),
    no SciPy needed; rows and cols are shared between calls, do not modify them) or 'dense' (an array of
    shape (outputs, inputs), computed at the cost of the sparse values plus writing the zeros).
    mode: None chooses forward mode (colour columns) or reverse mode (colour rows), whichever needs fewer
    colours; 'fwd' or 'rev' forces one.
    compiled: run the values graph compiled with jaxlike.jit instead of the interpreter.

    f is traced once per input signature without values, like under jit, and the pattern, the colouring
    and the values graph are cached: Python control flow on array values must use jnp.where or
    jaxlike.lax, and the pattern is that of every branch.
    """
    return _Jacobian(f, argnums, format, compiled, {"mode": mode})


def hessian(f, argnums=0, *, format="csr", coloring="star", compiled=False):  # noqa: A002
    """The sparse Hessian of a scalar f: ``hessian(f)(*args)``, w.r.t. the flattened differentiated input.

    The pattern is the Jacobian pattern of the gradient's graph, made symmetric. coloring='star' (the
    default) star-colours it, so that each entry is read from one side of the diagonal or the other
    (Gebremedhin, Manne and Pothen); 'column' colours the columns as for a Jacobian. Either way the values
    come from one Hessian-vector product (forward over reverse) per colour. Other options as in jacobian.
    """
    return _Hessian(f, argnums, format, compiled, {"coloring": coloring})


def sparsity_pattern(f, argnums=0, *, mode=None, hessian=False, coloring="star"):
    """``sparsity_pattern(f)(*args)``: the SparsityInfo of f's Jacobian (or Hessian, hessian=True) at
    arguments of this signature: the pattern, its colouring and the chosen mode. Print it, or save a
    picture with ``.spy('pattern.svg')``."""
    if hessian:
        transform = _Hessian(f, argnums, "triplets", False, {"coloring": coloring, "values": False})
    else:
        transform = _Jacobian(f, argnums, "triplets", False, {"mode": mode, "values": False})
    return transform.sparsity


# --------------------------------------------------------------------------------------------------
# The picture: the pattern in group colours, and the compressed matrix each entry is read from

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf", "#393b79", "#e6550d", "#31a354", "#756bb1", "#636363", "#843c39",
           "#7b4173", "#3182bd", "#fdae6b", "#74c476")


def _picture(info):
    """(entry colour keys, compressed (row, column) of each entry, compressed shape)."""
    m, n = info.shape
    if info.mode == "rev":
        keys = info.colors[info.rows]
        return keys, (keys, info.cols), (info.n_colors, n)
    if info.mode == "star":
        src_row, src_color = coloring.star_sources(info.rows, info.cols, info.colors)
        return info.colors[info.cols], (src_row, src_color), (m, info.n_colors)
    keys = info.colors[info.cols]
    return keys, (info.rows, keys), (m, info.n_colors)


def save_spy(info, path, title=None):
    """Write the picture of info to path (.svg, or .png); returns the path."""
    path = str(path)
    if path.endswith(".png"):
        try:
            return _spy_matplotlib(info, path, title)
        except ImportError:
            return _spy_png(info, path)
    return _spy_svg(info, path, title)


def _spy_svg(info, path, title):
    m, n = info.shape
    keys, (crow, ccol), (cm, cn) = _picture(info)
    scale = max(1.0, min(6.0, 480.0 / max(m, n, 1)))
    cx = max(scale, 120.0 / max(cn, 1)) if cn < cm else scale  # a narrow compressed matrix drawn wider
    gap, top, left = 40.0, 46.0, 10.0
    width = left + n * scale + gap + max(cn * cx, 120.0) + left
    height = top + max(m, cm) * scale + 30.0
    x2 = left + n * scale + gap
    title = title or (f"{info.kind} {m}x{n}: {info.nnz} non-zeros, {info.n_colors} colours "
                      f"({info.mode})")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.1f} {height:.1f}" font-family="sans-serif" font-size="12">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{left}" y="16">{_escape(title)}</text>',
           f'<text x="{left}" y="36" font-size="11">pattern, each entry in its group\'s colour</text>',
           f'<text x="{x2:.1f}" y="36" font-size="11">compressed: {cm}x{cn}</text>',
           f'<rect x="{left}" y="{top}" width="{n * scale:.1f}" height="{m * scale:.1f}" fill="none" '
           f'stroke="#999" stroke-width="0.5"/>',
           f'<rect x="{x2:.1f}" y="{top}" width="{cn * cx:.1f}" height="{cm * scale:.1f}" '
           f'fill="none" stroke="#999" stroke-width="0.5"/>']
    s, w = f"{scale:.3g}", f"{cx:.3g}"
    for k in coloring.unique_ints(keys):
        sel = keys == k
        colour = PALETTE[int(k) % len(PALETTE)]
        cells = [f"M{left + c * scale:.4g} {top + r * scale:.4g}h{s}v{s}h-{s}z"
                 for r, c in zip(info.rows[sel], info.cols[sel], strict=True)]
        cells += [f"M{x2 + c * cx:.4g} {top + r * scale:.4g}h{w}v{s}h-{w}z"
                  for r, c in zip(crow[sel], ccol[sel], strict=True)]
        out.append(f'<path fill="{colour}" d="{"".join(cells)}"/>')
    out.append("</svg>")
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")
    return path


def _escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _spy_matplotlib(info, path, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys, (crow, ccol), (cm, cn) = _picture(info)
    colours = [PALETTE[int(k) % len(PALETTE)] for k in keys]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 5), gridspec_kw={"width_ratios": [info.shape[1], cn * 4]})
    a.scatter(info.cols, info.rows, c=colours, marker="s", s=4)
    a.set_xlim(-0.5, info.shape[1] - 0.5)
    a.set_ylim(info.shape[0] - 0.5, -0.5)
    a.set_title(title or f"{info.kind} {info.shape[0]}x{info.shape[1]}, {info.nnz} non-zeros")
    b.scatter(ccol, crow, c=colours, marker="s", s=4)
    b.set_xlim(-0.5, cn - 0.5)
    b.set_ylim(cm - 0.5, -0.5)
    b.set_title(f"compressed {cm}x{cn}")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _spy_png(info, path):
    """A PNG without matplotlib: one pixel per entry (scaled up for small matrices), zlib and struct."""
    import struct
    import zlib
    m, n = info.shape
    keys, _, _ = _picture(info)
    scale = max(1, min(6, 480 // max(m, n, 1)))
    rgb = np.full((m, n, 3), 255, np.uint8)
    palette = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in PALETTE], np.uint8)
    rgb[info.rows, info.cols] = palette[keys % len(PALETTE)]
    rgb = np.repeat(np.repeat(rgb, scale, 0), scale, 1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb)

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", rgb.shape[1], rgb.shape[0], 8, 2, 0, 0, 0)
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                 + chunk(b"IEND", b""))
    return path


__all__ = ["jacobian", "hessian", "sparsity_pattern", "SparsityInfo", "save_spy"]
