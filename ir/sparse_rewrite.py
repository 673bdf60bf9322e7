"""The graph rewrites of sparse differentiation: the compressed evaluation of a Jacobian as one Graph.

Given a graph, the inputs to differentiate and a colouring of the Jacobian's columns (forward mode) or rows
(reverse mode), ``forward_graph`` and ``reverse_graph`` build ONE Graph from the graph's inputs to the
non-zero values: the jvp (or vjp) batched over one seed vector per colour, then a gather with constant
indices that picks each non-zero out of the compressed result. Two rewrites then make it small:

- ``sink_gather`` moves that gather up through elementwise and data-movement equations, so that only the
  entries that are picked get computed (the same operations on fewer elements: the values do not change);
- ``collect_terms`` rewrites the polynomial tail as a constant vector plus a few scattered products
  (constants are summed first: the last bits of a value may differ from the uncompressed evaluation).

``densify`` and ``dense_graph`` scatter the values into zeros. ``jaxlike.sparse`` (the user API) and
``jaxlike.jacfwd`` / ``jacrev`` (when colouring wins) build on these.
"""

import numpy as np

from . import coloring, dtypes
from .batching import batch_eval, move_batch_axis
from .builder import Tracer, broadcast_to, convert, full, reshape, trace_graph
from .core import Lit
from .interpret import eval_graph
from .jvp import jvp_graph
from .partial_eval import partial_eval
from .prims import indexing
from .prims.indexing import gather
from .prims.shape import concatenate
from .simplify import simplify
from .sparsity import PatternTooLarge, jacobian_sparsity
from .transpose import transpose_graph


def linearize_graphs(graph, diff):
    """(known, linear, num_residuals) for the jvp of graph w.r.t. the inputs flagged in diff."""
    jg = jvp_graph(graph, diff)
    n_in, n_out = len(graph.inputs), len(graph.outputs)
    known, linear, nres = partial_eval(jg, [False] * n_in + [True] * sum(diff),
                                       [False] * n_out + [True] * n_out)
    return simplify(known), simplify(linear), nres


def vjp_graphs(graph, diff):
    """(known, transposed, num_residuals): known maps inputs to (outputs, residuals); transposed maps
    (residuals, output cotangents) to cotangents of the differentiated inputs."""
    known, linear, nres = linearize_graphs(graph, diff)
    transposed = transpose_graph(linear, [False] * nres + [True] * (len(linear.inputs) - nres))
    return known, simplify(transposed), nres

# --------------------------------------------------------------------------------------------------
# The compressed evaluation as one Graph


def _seeds(avals, colors, p):
    """The seed matrix split per leaf: leaf k gets an array (p, *shape_k) with a 1 at [colour of e, e]."""
    out, start = [], 0
    for aval in avals:
        size = aval.size
        seed = np.zeros((p, size), aval.dtype)
        seed[colors[start:start + size], np.arange(size)] = 1
        out.append(seed.reshape((p,) + aval.shape))
        start += size
    return out


def _flat_rows(parts, p, dtype):
    """Batched results (p, *shape) of several leaves as one flat array of p rows: element i of the
    concatenated leaves, for colour c, at c * total + i."""
    mats = [reshape(convert(x, dtype), (p, int(np.prod(x.shape[1:], dtype=np.int64)))) for x in parts]
    mat = mats[0] if len(mats) == 1 else concatenate(mats, 1)
    return reshape(mat, (p * mat.shape[1],))


def _pick(flat, index):
    """The non-zeros: a gather with constant indices from the compressed result (none when they are all
    of it, in order: a diagonal Jacobian is its compressed result)."""
    index = np.asarray(index, np.int64)
    if len(index) == flat.shape[0] and np.array_equal(index, np.arange(len(index))):
        return flat
    return gather(flat, index.reshape(-1, 1), (0,))


def forward_graph(graph, diff, colors, index, dtype, collect=True):
    """Graph(inputs of graph) -> values: J S by a jvp batched over the seeds S (one per colour of the
    differentiated input elements), then B.ravel()[index] with B = (J S).T of shape (p, outputs).
    collect=False leaves out collect_terms: each value is then computed by the operations of the jvp."""
    p = coloring.num_colors(colors)
    n_in, n_out = len(graph.inputs), len(graph.outputs)
    diff_avals = [a for a, d in zip(graph.in_avals, diff, strict=True) if d]
    seeds = _seeds(diff_avals, colors, p)
    jg = jvp_graph(graph, diff) if p else None

    def build(*xs):
        if not p:
            return [np.zeros((0,), dtype)]
        outs, dims = batch_eval(jg, [*xs, *seeds], [None] * n_in + [0] * len(seeds))
        tangents = [move_batch_axis(t, d, p, 0) for t, d in zip(outs[n_out:], dims[n_out:], strict=True)]
        return [_pick(_flat_rows(tangents, p, dtype), index)]

    out, captured = trace_graph(build, graph.in_avals, name="sparse jacobian (forward)")
    assert not captured
    out = sink_gather(simplify(out))
    return collect_terms(out) if collect else out


def reverse_graph(graph, diff, colors, index, dtype, collect=True):
    """Graph(inputs of graph) -> values: W J by a vjp batched over the seeds W (one per colour of the
    output elements), then C.ravel()[index] with C = W J of shape (p, inputs). collect as in
    forward_graph."""
    p = coloring.num_colors(colors)
    n_out = len(graph.outputs)
    known, linear, nres = linearize_graphs(graph, diff)
    n_diff = sum(diff)
    transposed = simplify(transpose_graph(linear, [False] * nres + [True] * n_diff)) if p else None
    seeds = _seeds(graph.out_avals, colors, p)

    def build(*xs):
        if not p:
            return [np.zeros((0,), dtype)]
        res = eval_graph(known, *xs)[n_out:]
        cts, dims = batch_eval(transposed, [*res, *seeds], [None] * nres + [0] * n_out)
        cts = [move_batch_axis(c, d, p, 0) for c, d in zip(cts, dims, strict=True)]
        return [_pick(_flat_rows(cts, p, dtype), index)]

    out, captured = trace_graph(build, graph.in_avals, name="sparse jacobian (reverse)")
    assert not captured
    out = sink_gather(simplify(out))
    return collect_terms(out) if collect else out


def gradient_graph(graph, diff):
    """Graph(inputs) -> gradient of the scalar output w.r.t. each differentiated input."""
    known, transposed, _ = vjp_graphs(graph, diff)
    one = np.ones((), graph.out_avals[0].dtype)

    def build(*xs):
        res = eval_graph(known, *xs)[1:]
        return eval_graph(transposed, *res, one)

    out, captured = trace_graph(build, graph.in_avals, name="gradient")
    assert not captured
    return simplify(out)


# --------------------------------------------------------------------------------------------------
# Sinking the decompression: gather the non-zeros as early as possible

PUSH_THROUGH = {"reshape", "squeeze", "expand_dims", "broadcast_in_dim", "transpose", "slice", "rev",
                "pad", "concatenate"}


def _elementwise_eqn(eqn):
    out = eqn.outputs[0].aval
    return (eqn.prim.family in ("unary", "binary") and len(eqn.outputs) == 1
            and all(a.aval.shape in (out.shape, ()) for a in eqn.inputs))


def _origins(eqn):
    """For each output element of a data-movement equation, the (operand, element) it copies: one
    numbering across the operands (operand k's elements after those of operands 0..k-1), from running the
    primitive's impl on arrays of element ids. Padding shows as the padding value's id."""
    ids, offset = [], 0
    for a in eqn.inputs:
        ids.append(offset + np.arange(a.aval.size, dtype=np.int64).reshape(a.aval.shape))
        offset += a.aval.size
    starts = np.cumsum([0] + [a.aval.size for a in eqn.inputs])
    return np.asarray(eqn.prim.impl(*ids, **eqn.params), np.int64).ravel(), starts


def _split(eqn, idx):
    """How a demand for elements idx of eqn's output becomes demands on its operands: a list with, per
    operand, None (not needed), 'scalar' (used whole: a rank-0 operand) or an index array; plus the data
    the emission needs (positions of each operand's elements among idx)."""
    if _elementwise_eqn(eqn):
        return ["scalar" if a.aval.shape == () else idx for a in eqn.inputs], None
    if eqn.prim.name in ("reshape", "squeeze", "expand_dims"):
        return [idx], None
    origin, starts = _origins(eqn)
    source = origin[idx]
    owner = np.searchsorted(starts, source, side="right") - 1
    demands, where = [], []
    for k, a in enumerate(eqn.inputs):
        mine = np.flatnonzero(owner == k)
        where.append(mine)
        if not len(mine):
            demands.append(None)
        elif a.aval.shape == ():
            demands.append("scalar")
        else:
            demands.append(source[mine] - starts[k])
    return demands, where


def sink_gather(graph):
    """The values graph with its final gather (constant indices into the flattened compressed result)
    moved up through elementwise and data-movement equations: only the elements that are picked get
    computed. A value no smaller than the demand (or made by any other primitive) is computed whole and
    gathered from. One backward sweep decides, one forward sweep emits."""
    producer = {v: e for e in graph.eqns for v in e.outputs}
    final = producer.get(graph.outputs[0]) if len(graph.outputs) == 1 else None
    if (final is None or final.prim.name != "gather" or final.params["axes"] != (0,)
            or final.inputs[1] not in graph.consts):
        return graph
    start_idx = np.asarray(graph.consts[final.inputs[1]], np.int64).ravel()
    demands = {}  # Var -> {idx bytes: idx}, in discovery order
    whole = set()  # Vars computed whole
    plans = {}  # (Var, idx bytes) -> (demands on operands, emission data)

    def demand(atom, idx):
        if isinstance(atom, Lit) or atom in graph.consts:
            return
        if isinstance(idx, str):
            whole.add(atom)
        else:
            demands.setdefault(atom, {})[idx.tobytes()] = idx

    demand(final.inputs[0], start_idx)
    for eqn in reversed(graph.eqns):
        if eqn is final:
            continue
        pushable = len(eqn.outputs) == 1 and (_elementwise_eqn(eqn) or eqn.prim.name in PUSH_THROUGH)
        for var in eqn.outputs:
            for key, idx in demands.get(var, {}).items():
                if pushable and var not in whole and var.aval.size > len(idx):
                    split, data = _split(eqn, idx)
                    plans[(var, key)] = (split, data)
                    for a, d in zip(eqn.inputs, split, strict=True):
                        if d is not None:
                            demand(a, d)
                else:
                    whole.add(var)
        if any(v in whole for v in eqn.outputs):
            for a in eqn.inputs:
                demand(a, "scalar")

    def build(*xs):
        env = dict(graph.consts)
        env.update(zip(graph.inputs, xs, strict=True))
        picked = {}

        def read(atom):
            return np.asarray(atom.value, atom.aval.dtype) if isinstance(atom, Lit) else env[atom]

        def pick(atom, d):
            if isinstance(d, str) or isinstance(atom, Lit):
                return read(atom)
            if atom in graph.consts:
                vals = graph.consts[atom].ravel()[d]
                return vals[0] if len(vals) and np.all(vals == vals[0]) else vals
            hit = picked.get((atom, d.tobytes()))
            if hit is not None:
                return hit
            x = read(atom)
            if atom.aval.shape == ():
                return x
            return gather(reshape(x, (atom.aval.size,)), d.reshape(-1, 1), (0,))

        def vector(x, n):
            return broadcast_to(x, (n,)) if np.shape(x) == () else x

        for var, value in zip(graph.inputs, xs):
            for key, idx in demands.get(var, {}).items():
                picked[(var, key)] = pick(var, idx)
        for eqn in graph.eqns:
            if eqn is final:
                continue
            if any(v in whole for v in eqn.outputs):
                outs = eqn.prim.bind(*map(read, eqn.inputs), **eqn.params)
                env.update(zip(eqn.outputs, outs if eqn.prim.multiple_results else [outs], strict=True))
            for var in eqn.outputs:
                for key, idx in demands.get(var, {}).items():
                    picked[(var, key)] = _emit_pick(eqn, var, idx, plans.get((var, key)), pick, vector)
        return [vector(convert(pick(final.inputs[0], start_idx), final.outputs[0].aval.dtype),
                       len(start_idx))]

    out, captured = trace_graph(build, graph.in_avals, name="sparse values")
    assert not captured
    return simplify(out)


def _emit_pick(eqn, var, idx, plan, pick, vector):
    """Elements idx of var: gathered from var computed whole, or computed from its operands' elements."""
    if plan is None:
        return pick(var, idx)
    split, where = plan
    ops = [None if d is None else pick(a, d) for a, d in zip(eqn.inputs, split, strict=True)]
    if where is None:  # elementwise or a reshape: the same positions
        return eqn.prim.bind(*ops, **eqn.params) if _elementwise_eqn(eqn) else ops[0]
    # the pieces each operand provides, put back in the order of idx
    parts = [(vector(o, len(w)), w) for o, w in zip(ops, where, strict=True) if o is not None]
    if len(parts) == 1:
        return parts[0][0]
    out = concatenate([p for p, _ in parts], 0)
    order = np.argsort(np.concatenate([w for _, w in parts]), kind="stable")
    if not np.array_equal(order, np.arange(len(order))):
        out = gather(out, order.reshape(-1, 1), (0,))
    return out


# --------------------------------------------------------------------------------------------------
# Collecting terms: the values as a constant vector plus a few scattered products

MAX_TERMS = 32  # a product that would make more terms than this is computed as it stands


class Terms:
    """A vector of length k as ``const + sum_t coef_t * prod_f base_f[idx_tf]``: coef_t a constant vector,
    each base_f a value of the new trace (flat), idx_tf constant positions into it. Where coef_t is zero
    the term contributes nothing, and its positions are set to 0 so that equal terms compare equal."""

    def __init__(self, k, const, terms):
        self.k = k
        self.const = const  # ndarray (k,)
        self.terms = terms  # {key: (coef, factors)}; factors a tuple of (base number, idx)

    @staticmethod
    def constant(value, k):
        return Terms(k, np.broadcast_to(np.asarray(value, np.float64), (k,)).copy(), {})

    @staticmethod
    def leaf(base, idx):
        t = Terms(len(idx), np.zeros(len(idx)), {})
        t.add_term(np.ones(len(idx)), ((base, np.asarray(idx, np.int64)),))
        return t

    def add_term(self, coef, factors):
        live = coef != 0
        if not live.any():
            return
        factors = tuple(sorted(((b, np.where(live, i, 0)) for b, i in factors),
                               key=lambda f: (f[0], f[1].tobytes())))
        key = tuple((b, i.tobytes()) for b, i in factors)
        if key in self.terms:
            old, _ = self.terms[key]
            coef = old + coef
            if not (coef != 0).any():
                del self.terms[key]
                return
        self.terms[key] = (coef, factors)

    def scaled(self, c):
        out = Terms(self.k, self.const * c, {})
        for coef, factors in self.terms.values():
            out.add_term(coef * c, factors)
        return out

    def plus(self, other):
        out = Terms(self.k, self.const + other.const, {})
        for coef, factors in list(self.terms.values()) + list(other.terms.values()):
            out.add_term(coef, factors)
        return out

    def times(self, other):
        if (len(self.terms) + 1) * (len(other.terms) + 1) > MAX_TERMS:
            return None
        out = Terms(self.k, self.const * other.const, {})
        for coef, factors in self.terms.values():
            out.add_term(coef * other.const, factors)
        for coef, factors in other.terms.values():
            out.add_term(coef * self.const, factors)
        for c1, f1 in self.terms.values():
            for c2, f2 in other.terms.values():
                out.add_term(c1 * c2, f1 + f2)
        return out

    def take(self, idx):
        out = Terms(len(idx), self.const[idx], {})
        for coef, factors in self.terms.values():
            out.add_term(coef[idx], tuple((b, i[idx]) for b, i in factors))
        return out

    @staticmethod
    def join(parts):
        """Terms of the concatenation of parts."""
        k = sum(p.k for p in parts)
        out = Terms(k, np.concatenate([p.const for p in parts]), {})
        start = 0
        for p in parts:
            for coef, factors in p.terms.values():
                full = np.zeros(k)
                full[start:start + p.k] = coef
                out.add_term(full, tuple((b, _placed(i, start, k)) for b, i in factors))
            start += p.k
        return out


def _placed(idx, start, k):
    out = np.zeros(k, np.int64)
    out[start:start + len(idx)] = idx
    return out


def _emit_terms(terms, bases, dtype):
    """The vector ``terms`` stands for, emitted: the constant part, plus one scatter_add of the products at
    the positions where their coefficients are non-zero (a product live everywhere is added directly)."""
    dense, positions, updates = [], [], []
    for coef, factors in terms.terms.values():
        live = np.flatnonzero(coef)
        everywhere = len(live) == terms.k
        c = coef[live]
        value = c[0] if np.all(c == c[0]) else c.astype(dtype)
        for b, idx in factors:
            idx = idx[live]
            base = bases[b]
            same = len(idx) == base.shape[0] and np.array_equal(idx, np.arange(len(idx)))
            value = value * (base if same else gather(base, idx.reshape(-1, 1), (0,)))
        value = convert(value, dtype)
        if everywhere:
            dense.append(value)
        else:
            positions.append(live)
            updates.append(value)
    out = terms.const.astype(dtype)
    if dense:
        out = dense[0] + out if np.any(out) else dense[0]
        for d in dense[1:]:
            out = out + d
    if updates:
        where = np.concatenate(positions).reshape(-1, 1)
        out = indexing.scatter_add(out if isinstance(out, Tracer) else np.asarray(out), where,
                                   updates[0] if len(updates) == 1 else concatenate(updates, 0), (0,))
    return out


POLYNOMIAL = ("add", "sub", "mul", "neg", "gather", "concatenate", "reshape", "broadcast_in_dim",
              "convert")


def collect_terms(graph):
    """The values graph with its polynomial tail (sums and products of gathered values, constants,
    concatenations and gathers with constant indices) rewritten as a constant vector plus one scatter of
    the non-constant products: entries that are constant (often most of a Jacobian) cost a copy, and each
    product is computed only where its coefficient is non-zero. Anything else is computed as it stands
    and enters the sums as a factor."""
    out_aval = graph.outputs[0].aval if len(graph.outputs) == 1 else None
    if out_aval is None or out_aval.ndim != 1 or not dtypes.is_float(out_aval.dtype):
        return graph
    dtype = out_aval.dtype

    def build(*xs):
        env = dict(graph.consts)
        env.update(zip(graph.inputs, xs, strict=True))
        bases, base_ids = [], {}

        def read(atom):
            return np.asarray(atom.value, atom.aval.dtype) if isinstance(atom, Lit) else env[atom]

        def as_terms(x, k):
            """x (a Terms, a constant or a value of the trace of length k or rank 0) as Terms."""
            if isinstance(x, Terms):
                return x
            if not isinstance(x, Tracer):
                return Terms.constant(x, k) if np.ndim(x) == 0 or np.shape(x) == (k,) else None
            if x.ndim == 0 or x.shape == (k,):
                flat = reshape(x, (x.size,))
                b = base_ids.setdefault(id(flat), len(bases))
                if b == len(bases):
                    bases.append(flat)
                return Terms.leaf(b, np.zeros(k, np.int64) if x.ndim == 0 else np.arange(k))
            return None

        def value(x):
            return _emit_terms(x, bases, dtype) if isinstance(x, Terms) else x

        for eqn in graph.eqns:
            ins = [read(a) for a in eqn.inputs]
            out = _terms_rule(eqn, ins, as_terms, bases, base_ids) if eqn.prim.name in POLYNOMIAL else None
            if out is None:
                out = eqn.prim.bind(*[value(x) for x in ins], **eqn.params)
            env.update(zip(eqn.outputs, out if eqn.prim.multiple_results else [out], strict=True))
        result = read(graph.outputs[0])
        return [convert(value(result), dtype) if isinstance(result, Terms) else result]

    out, captured = trace_graph(build, graph.in_avals, name="sparse values")
    assert not captured
    return simplify(out)


def _terms_rule(eqn, ins, as_terms, bases, base_ids):
    """The Terms of one equation's output, or None to compute it as it stands."""
    name = eqn.prim.name
    out = eqn.outputs[0].aval
    if out.ndim != 1 or not dtypes.is_float(out.dtype):
        return None
    k = out.shape[0]
    if name in ("add", "sub", "mul"):
        if not any(isinstance(x, Terms) for x in ins):
            return None
        a, b = as_terms(ins[0], k), as_terms(ins[1], k)
        if a is None or b is None:
            return None
        if name == "add":
            return a.plus(b)
        if name == "sub":
            return a.plus(b.scaled(-1.0))
        return a.times(b)
    if name == "neg" and isinstance(ins[0], Terms):
        return ins[0].scaled(-1.0)
    if name == "convert" and isinstance(ins[0], Terms):
        return ins[0]
    if name == "reshape" and isinstance(ins[0], Terms) and eqn.inputs[0].aval.ndim == 1:
        return ins[0]
    if name == "broadcast_in_dim" and isinstance(ins[0], Terms) and eqn.inputs[0].aval.shape == (1,):
        return ins[0].take(np.zeros(k, np.int64))
    if name == "gather" and eqn.params["axes"] == (0,) and eqn.inputs[0].aval.ndim == 1 \
            and not isinstance(ins[1], Tracer):
        idx = np.clip(np.asarray(ins[1], np.int64).ravel(), 0, eqn.inputs[0].aval.size - 1)
        if isinstance(ins[0], Terms):
            return ins[0].take(idx)
        if isinstance(ins[0], Tracer):
            b = base_ids.setdefault(id(ins[0]), len(bases))
            if b == len(bases):
                bases.append(ins[0])
            return Terms.leaf(b, idx)
        return None
    if name == "concatenate" and any(isinstance(x, Terms) for x in ins):
        parts = [as_terms(x, a.aval.shape[0]) for x, a in zip(ins, eqn.inputs, strict=True)]
        return None if any(p is None for p in parts) else Terms.join(parts)
    return None


def densify(values, rows, cols, shape):
    """Graph(inputs) -> the dense Jacobian of this shape: the values (of the entries at rows, cols)
    scattered into zeros, in the same graph."""
    m, n = shape

    def build(*xs):
        (vals,) = eval_graph(values, *xs)
        flat = indexing.scatter(full((m * n,), 0, values.out_avals[0].dtype),
                                (rows * n + cols).reshape(-1, 1), vals, (0,))
        return [reshape(flat, (m, n))]

    out, captured = trace_graph(build, values.in_avals, name="dense jacobian")
    assert not captured
    return simplify(out)


# --------------------------------------------------------------------------------------------------
# Dense Jacobians by compression: what jacfwd and jacrev do when colouring wins

MIN_GAIN = 4  # compress when colours * MIN_GAIN <= the number of basis vectors the colours replace
MIN_PAIRS = 1 << 16  # the pattern analysis may always build this many (element, input) pairs in one step


def compressed_dense_graph(graph, diff, mode):
    """Graph(inputs of graph) -> the dense Jacobian, one block per output o and differentiated input j (o
    major), of shape ``out_o.shape + in_j.shape``: one jvp (mode 'fwd') or vjp ('rev') per colour of the
    sparsity pattern, the values scattered into zeros. None when that does not win: the colours are not
    MIN_GAIN times fewer than the basis vectors, the analysis outgrew its budget, a rule of the pattern
    had to be conservative, or the pattern is the diagonal (which the simplifier reads off the plain
    basis). Each value is computed by the operations of the jvp (no collect_terms), as
    with the plain basis, so the Jacobian is the same."""
    in_avals = [a for a, d in zip(graph.in_avals, diff, strict=True) if d]
    out_avals = graph.out_avals
    m, n = sum(a.size for a in out_avals), sum(a.size for a in in_avals)
    size = n if mode == "fwd" else m  # the number of basis vectors
    if not m or not n or size < MIN_GAIN:
        return None
    conservative = []
    try:  # a Jacobian sparse enough to win has at most m n / MIN_GAIN entries: a dense one stops early
        rows, cols = jacobian_sparsity(graph, diff, conservative, max(MIN_PAIRS, 2 * m * n // MIN_GAIN))
    except PatternTooLarge:
        return None
    if conservative:
        return None
    if m == n == len(rows) and np.array_equal(rows, cols):
        return None  # the diagonal: the plain basis simplifies to one select on the identity's mask, as fast
    along = rows if mode == "fwd" else cols  # the most entries in a row (column) bounds the colours below
    if len(along) and np.bincount(along).max() * MIN_GAIN > size:
        return None
    if mode == "fwd":
        colors = coloring.color_columns(rows, cols, (m, n))
        index = colors[cols] * m + rows
    else:
        colors = coloring.color_rows(rows, cols, (m, n))
        index = colors[rows] * n + cols
    p = coloring.num_colors(colors)
    if p * MIN_GAIN > size:
        return None
    dtype = np.result_type(*[a.dtype for a in out_avals])
    make = forward_graph if mode == "fwd" else reverse_graph
    values = make(graph, diff, colors, index, dtype, collect=False)
    return dense_blocks(values, rows, cols, out_avals, in_avals)


def dense_blocks(values, rows, cols, out_avals, in_avals):
    """Graph(inputs of values) -> the blocks of a dense Jacobian (one per output o and input j, o major,
    of shape ``out_o.shape + in_j.shape``) whose non-zeros, at (rows, cols) of the flattened outputs and
    inputs, values computes: each block's entries scattered into zeros."""
    row_start = np.cumsum([0] + [a.size for a in out_avals])
    col_start = np.cumsum([0] + [a.size for a in in_avals])

    def build(*xs):
        (vals,) = eval_graph(values, *xs)
        blocks = []
        for o, out in enumerate(out_avals):
            in_rows = (rows >= row_start[o]) & (rows < row_start[o + 1])
            for j, inp in enumerate(in_avals):
                mine = np.flatnonzero(in_rows & (cols >= col_start[j]) & (cols < col_start[j + 1]))
                flat = full((out.size * inp.size,), 0, out.dtype)
                if len(mine):
                    picked = vals if len(mine) == len(rows) else gather(vals, mine.reshape(-1, 1), (0,))
                    where = (rows[mine] - row_start[o]) * inp.size + cols[mine] - col_start[j]
                    flat = indexing.scatter(flat, where.reshape(-1, 1), convert(picked, out.dtype), (0,))
                blocks.append(reshape(flat, out.shape + inp.shape))
        return blocks

    out, captured = trace_graph(build, values.in_avals, name="dense jacobian")
    assert not captured
    return simplify(out)
