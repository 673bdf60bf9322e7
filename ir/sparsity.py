"""The sparsity pass: which input elements each element of each value depends on, read off the graph.

Every value carries ``IndexSets``: for each of its elements (row-major), the sorted set of input elements it
depends on, stored like a CSR matrix (``indptr``, ``indices``) with one row per element. Input elements are
numbered across the differentiated inputs, each flattened, in order. The pass has the skeleton of the
others (an env, read, write, one loop over the equations, one table lookup by primitive name) and returns
the sets of the outputs; ``jacobian_sparsity`` turns them into the (rows, cols) of the Jacobian of the
flattened outputs with respect to the flattened inputs.

A rule maps the input sets of an equation to its output sets. Rules are exact where the structure is
static: elementwise operations and broadcasting, data movement (reshape, transpose, slice, pad, rev,
concatenate, ...), reductions, gathers and scatters with constant indices, dot_general (where a constant
operand has zeros, only its non-zeros connect), select with a constant predicate. Everywhere else they are
conservative: a rule may add a dependency that is not there, never drop one. Data movement is traced by
running the primitive's own NumPy implementation on arrays of element ids, so a rule never restates the
semantics of the primitive it describes.

Values that are constant (consts, literals and what is computed from them only) are evaluated on the way
when they are small, so that indices built with iota or arange, and constant matrices, are known. Integer
and bool values carry no derivative: their sets are empty.
"""

import threading

import numpy as np

from . import dtypes
from .coloring import unique_ints
from .core import Lit, subgraphs
from .primitive import PRIMITIVES

KNOWN_LIMIT = 1 << 22  # constants up to this many elements are evaluated for the rules to inspect


# --------------------------------------------------------------------------------------------------
# Index sets: one sorted set of input elements per element of a value, in CSR form


class IndexSets:
    """``indices[indptr[i]:indptr[i + 1]]`` is the sorted set of input elements element i depends on."""

    __slots__ = ("indptr", "indices")

    def __init__(self, indptr, indices):
        self.indptr = indptr
        self.indices = indices

    @property
    def n(self):
        return len(self.indptr) - 1

    @property
    def nnz(self):
        return len(self.indices)

    def row_lengths(self):
        return np.diff(self.indptr)

    def rows(self):
        """The element of each stored index (the COO row array)."""
        return np.repeat(np.arange(self.n, dtype=np.int64), self.row_lengths())

    def __repr__(self):
        return f"IndexSets(<{self.n} elements, {self.nnz} dependencies>)"

    def __eq__(self, other):
        return (isinstance(other, IndexSets) and np.array_equal(self.indptr, other.indptr)
                and np.array_equal(self.indices, other.indices))

    __hash__ = None


def empty(n):
    return IndexSets(np.zeros(n + 1, np.int64), np.zeros(0, np.int64))


def identity(n, offset=0):
    """Element i depends on input element offset + i."""
    return IndexSets(np.arange(n + 1, dtype=np.int64), offset + np.arange(n, dtype=np.int64))


class PatternTooLarge(Exception):
    """The analysis would hold more (element, input element) pairs at once than its budget allows."""


def _charge(pairs):
    """Raise PatternTooLarge when one step would build more pairs than the running analysis's budget."""
    limit = getattr(_report, "max_pairs", None)
    if limit is not None and pairs > limit:
        raise PatternTooLarge(f"{pairs} dependencies in one step, over the budget of {limit}")


def full(n, cols):
    """Every element depends on every input element in cols (the conservative answer)."""
    cols = np.asarray(cols, np.int64)
    _charge(n * len(cols))
    return IndexSets(np.arange(n + 1, dtype=np.int64) * len(cols), np.tile(cols, n))


def _expand(sets, src):
    """(lengths, positions into sets.indices) of the rows src (src < 0 selects an empty row)."""
    valid = src >= 0
    safe = np.where(valid, src, 0)
    starts = sets.indptr[safe]
    lens = np.where(valid, sets.indptr[safe + 1] - starts, 0)
    total = int(lens.sum())
    _charge(total)
    first = np.cumsum(lens) - lens  # where each row starts in the output
    positions = np.repeat(starts - first, lens) + np.arange(total, dtype=np.int64)
    return lens, positions


def take(sets, src):
    """Element i of the result has the set of element src[i] of sets (empty where src[i] < 0)."""
    src = np.asarray(src, np.int64).ravel()
    if sets.nnz == 0:
        return empty(len(src))
    lens, positions = _expand(sets, src)
    indptr = np.zeros(len(src) + 1, np.int64)
    np.cumsum(lens, out=indptr[1:])
    return IndexSets(indptr, sets.indices[positions])


def from_pairs(n, rows, cols):
    """Sets from (element, input element) pairs, duplicates merged."""
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    if len(cols) == 0:
        return empty(n)
    width = int(cols.max()) + 1
    keys = unique_ints(rows * width + cols)
    rows, cols = np.divmod(keys, width)
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return IndexSets(indptr, cols)


def union(*all_sets):
    """Element-by-element union of sets over the same elements."""
    nonempty = [s for s in all_sets if s.nnz]
    if not nonempty:
        return empty(all_sets[0].n)
    if all(s is nonempty[0] for s in nonempty):
        return nonempty[0]
    rows = np.concatenate([s.rows() for s in nonempty])
    cols = np.concatenate([s.indices for s in nonempty])
    return from_pairs(nonempty[0].n, rows, cols)


def combine(n, parts):
    """Element out[k] of the result depends on everything element src[k] of sets does, for every
    (sets, out, src) in parts: the union over a many-to-many map from operand elements to result elements."""
    rows, cols = [], []
    for sets, out, src in parts:
        if sets.nnz == 0 or len(src) == 0:
            continue
        lens, positions = _expand(sets, np.asarray(src, np.int64).ravel())
        rows.append(np.repeat(np.asarray(out, np.int64).ravel(), lens))
        cols.append(sets.indices[positions])
    if not rows:
        return empty(n)
    return from_pairs(n, np.concatenate(rows), np.concatenate(cols))


def stack(all_sets):
    """The sets of several values one after the other, as the sets of one value."""
    offsets = np.cumsum([0] + [s.nnz for s in all_sets])
    indptr = np.concatenate([np.zeros(1, np.int64)]
                            + [s.indptr[1:] + off for s, off in zip(all_sets, offsets, strict=False)])
    indices = np.concatenate([np.zeros(0, np.int64)] + [s.indices for s in all_sets])
    return IndexSets(indptr, indices)


def union_all(sets):
    """The set of all input elements any element depends on, sorted."""
    return unique_ints(sets.indices)


# --------------------------------------------------------------------------------------------------
# The pass


class Operand:
    """What a rule sees of one input: its aval, its index sets and its value when it is a known constant."""

    __slots__ = ("aval", "sets", "value")

    def __init__(self, aval, sets, value):
        self.aval = aval
        self.sets = sets
        self.value = value

    @property
    def known(self):
        return self.value is not None


RULES = {}  # primitive name -> rule(eqn, operands) -> [IndexSets per output]
_report = threading.local()  # of the running analysis: .conservative (primitives handled conservatively)
#                               and .max_pairs (its budget, or None)


def rule(*names):
    def register(fn):
        for name in names:
            RULES[name] = fn
        return fn
    return register


def has_derivative(aval):
    return dtypes.is_float(aval.dtype)


def sparsity_eval(graph, in_sets, in_values=None):
    """The IndexSets of the outputs of graph, given those of its inputs (None: no dependence) and,
    optionally, the values of the inputs that are known constants (None where not known)."""
    env = {}

    def read(atom):
        if isinstance(atom, Lit):
            return Operand(atom.aval, empty(1), np.asarray(atom.value, atom.aval.dtype))
        return env[atom]

    def write(var, sets, value=None):
        if sets is None or not has_derivative(var.aval):
            sets = empty(var.aval.size)
        env[var] = Operand(var.aval, sets, value)

    for var, value in graph.consts.items():
        write(var, None, np.asarray(value))
    in_values = [None] * len(graph.inputs) if in_values is None else in_values
    for var, sets, value in zip(graph.inputs, in_sets, in_values, strict=True):
        write(var, sets, value)
    for eqn in graph.eqns:
        ops = [read(a) for a in eqn.inputs]
        if all(op.sets.nnz == 0 for op in ops):  # nothing flows in: nothing flows out
            outs = [None] * len(eqn.outputs)
        else:
            outs = rule_for(eqn.prim)(eqn, ops)
        values = _constant_outputs(eqn, ops)
        for var, sets, value in zip(eqn.outputs, outs, values, strict=True):
            write(var, sets, value)
    return [read(atom).sets for atom in graph.outputs]


def _constant_outputs(eqn, ops):
    """The outputs of an equation all of whose inputs are known constants (small ones), else Nones."""
    none = [None] * len(eqn.outputs)
    if not all(op.known for op in ops) or getattr(eqn.prim, "effectful", False) or eqn.prim.impl is None:
        return none
    if sum(v.aval.size for v in eqn.outputs) > KNOWN_LIMIT:
        return none
    try:
        outs = eqn.prim.impl(*[op.value for op in ops], **eqn.params)
    except Exception:  # noqa: BLE001  (a constant we cannot evaluate is simply not known)
        return none
    outs = outs if eqn.prim.multiple_results else [outs]
    return [np.asarray(o, v.aval.dtype) for o, v in zip(outs, eqn.outputs, strict=True)]


def jacobian_sparsity(graph, diff=None, conservative=None, max_pairs=None):
    """(rows, cols) of the structural non-zeros of the Jacobian of graph.

    Rows number the elements of the outputs (each flattened row-major, one output after the other), columns
    the elements of the inputs flagged in diff (all inputs by default). Sorted by row, then column. The
    names of the primitives that had to be handled conservatively (all inputs to all outputs) are appended
    to the list ``conservative`` when one is given. With ``max_pairs``, a step that would build more
    (element, input element) pairs than that raises PatternTooLarge: the time and memory of the analysis
    stay bounded when its caller only wants a sparse pattern.
    """
    diff = [True] * len(graph.inputs) if diff is None else list(diff)
    in_sets, offset = [], 0
    for var, d in zip(graph.inputs, diff, strict=True):
        if d:
            in_sets.append(identity(var.aval.size, offset) if has_derivative(var.aval) else None)
            offset += var.aval.size
        else:
            in_sets.append(None)
    outer = getattr(_report, "conservative", None), getattr(_report, "max_pairs", None)
    _report.conservative = [] if conservative is None else conservative
    _report.max_pairs = max_pairs
    try:
        out_sets = stack(sparsity_eval(graph, in_sets))
    finally:
        _report.conservative, _report.max_pairs = outer
    return out_sets.rows(), out_sets.indices.copy()


# --------------------------------------------------------------------------------------------------
# Helpers for the rules


def _out(eqn, i=0):
    return eqn.outputs[i].aval


def _ids(aval, offset=0):
    return offset + np.arange(aval.size, dtype=np.int64).reshape(aval.shape)


def _broadcast_src(op, out_aval):
    """For each element of a result of out_aval's shape, the element of op it reads (elementwise ops)."""
    if op.aval.shape == out_aval.shape:
        return None  # the identity
    if op.aval.size == 1:
        return np.zeros(out_aval.size, np.int64)
    return np.broadcast_to(_ids(op.aval), out_aval.shape).ravel()


def _reduce_axes(sets, aval, axes):
    """Union over axes: the sets of a value of aval's shape, reduced to the remaining axes."""
    kept = tuple(i for i in range(aval.ndim) if i not in axes)
    shape = tuple(aval.shape[i] for i in kept)
    n = int(np.prod(shape, dtype=np.int64))
    out = np.arange(n, dtype=np.int64).reshape(shape)
    expand = [aval.shape[i] if i in kept else 1 for i in range(aval.ndim)]
    dest = np.broadcast_to(out.reshape(expand), aval.shape).ravel()
    return combine(n, [(sets, dest, np.arange(aval.size, dtype=np.int64))])


def _spread(sets, shape, dims):
    """Sets of a value of ``shape`` whose element reads the element of sets at its coordinates on dims."""
    src_shape = tuple(shape[d] for d in dims)
    n = int(np.prod(src_shape, dtype=np.int64))
    expand = [1] * len(shape)
    for d in dims:
        expand[d] = shape[d]
    src = np.broadcast_to(np.arange(n, dtype=np.int64).reshape(expand), shape)
    return take(sets, src)


def _route(eqn, ops, moved):
    """Data movement traced by the primitive's own impl: the operands in ``moved`` become arrays of element
    ids (one numbering across them), the others are passed as their known values; each output
    element then names the one operand element it is a copy of."""
    args, parts, offset = [], [], 0
    for i, op in enumerate(ops):
        if i in moved:
            args.append(_ids(op.aval, offset))
            parts.append(op.sets)
            offset += op.aval.size
        else:
            args.append(op.value)
    outs = eqn.prim.impl(*args, **eqn.params)
    outs = outs if eqn.prim.multiple_results else [outs]
    everything = stack(parts)
    return [take(everything, np.asarray(o, np.int64).ravel()) for o in outs]


def _fallback(eqn, ops):
    """Any primitive without a rule: every output element depends on every input element (conservative).
    A primitive with nested graphs is the same; control flow gets its own rules."""
    if getattr(_report, "conservative", None) is not None:
        _report.conservative.append(eqn.prim.name)
    cols = unique_ints(np.concatenate([op.sets.indices for op in ops]))
    return [full(v.aval.size, cols) for v in eqn.outputs]


# --------------------------------------------------------------------------------------------------
# The rules


def _elementwise(eqn, ops, masks=None):
    """Output element i depends on element i of each operand (a rank-0 operand: its one element).
    masks[k], when given, is False where operand k's contribution is known to vanish."""
    out = _out(eqn)
    parts = []
    for k, op in enumerate(ops):
        if op.sets.nnz == 0:
            continue
        src = _broadcast_src(op, out)
        mask = None if masks is None else masks[k]
        if mask is None:
            parts.append(op.sets if src is None else take(op.sets, src))
        else:
            dest = np.flatnonzero(np.broadcast_to(mask, out.shape))
            parts.append(combine(out.size, [(op.sets, dest, dest if src is None else src[dest])]))
    if not parts:
        return [None]
    return [union(*parts)]


@rule("mul")
def _mul(eqn, ops):  # d(x*y) = y dx + x dy: where the other factor is a known zero, that term vanishes
    x, y = ops
    masks = [None if not y.known else y.value != 0, None if not x.known else x.value != 0]
    return _elementwise(eqn, ops, masks)


@rule("div")
def _div(eqn, ops):  # d(x/y) = dx / y - x dy / y²: the second term vanishes where x is a known zero
    x, _ = ops
    return _elementwise(eqn, ops, [None, None if not x.known else x.value != 0])


@rule("integer_pow")
def _integer_pow(eqn, ops):  # x ** 0 is constant
    return [None] if eqn.params["y"] == 0 else _elementwise(eqn, ops)


ZERO_DERIVATIVE = ("sign", "floor", "ceil", "round", "stop_gradient", "iota", "argmax", "argmin",
                   "is_finite", "not", "and", "or", "xor", "eq", "ne", "lt", "le", "gt", "ge")


@rule(*ZERO_DERIVATIVE)
def _zero(eqn, ops):  # piecewise constant, or integer valued: no dependence
    return [None] * len(eqn.outputs)


@rule("select")
def _select(eqn, ops):  # select(p, a, b): exact when p is known, the union of a and b otherwise
    pred, on_true, on_false = ops
    if pred.known:
        pred = np.broadcast_to(pred.value, _out(eqn).shape)
        return _elementwise(eqn, ops, [None, pred, ~pred])
    return _elementwise(eqn, ops)


@rule("broadcast_in_dim", "reshape", "transpose", "squeeze", "expand_dims", "slice", "rev", "pad",
      "concatenate")
def _move(eqn, ops):  # data movement: each output element is a copy of one input element (or padding)
    return _route(eqn, ops, moved=range(len(ops)))


@rule("reduce_sum", "reduce_max", "reduce_min", "reduce_prod")
def _reduce(eqn, ops):  # union over the reduced axes
    (x,) = ops
    return [_reduce_axes(x.sets, x.aval, eqn.params["axes"])]


@rule("cumsum", "cumprod", "cummax", "cummin")
def _cumulative(eqn, ops):  # element i along the axis depends on elements 0..i (i..n-1 when reversed)
    (x,) = ops
    axis, reverse = eqn.params["axis"], eqn.params.get("reverse", False)
    ids = np.moveaxis(_ids(x.aval), axis, -1)
    length = ids.shape[-1]
    i, j = np.tril_indices(length) if not reverse else np.triu_indices(length)
    dest = ids[..., i].ravel()
    src = ids[..., j].ravel()
    return [combine(x.aval.size, [(x.sets, dest, src)])]


@rule("gather")
def _gather(eqn, ops):  # exact with known indices; otherwise all of the indexed axes
    x, indices = ops
    axes = eqn.params["axes"]
    if indices.known:
        return _route(eqn, ops, moved=(0,))
    out = _out(eqn)
    remaining = _reduce_axes(x.sets, x.aval, axes)
    batch_ndim = out.ndim - (x.aval.ndim - len(axes))
    return [_spread(remaining, out.shape, tuple(range(batch_ndim, out.ndim)))]


@rule("scatter_add", "scatter")
def _scatter(eqn, ops):
    x, indices, updates = ops
    axes = eqn.params["axes"]
    out = _out(eqn)
    if indices.known and eqn.prim.name == "scatter":  # exact: which update (or x) wins each position
        return _route(eqn, ops, moved=(0, 2))
    if indices.known:  # x, plus every update added at that position (gather's positions, transposed)
        dest = PRIMITIVES["gather"].impl(_ids(out), indices.value, axes=axes)
        return [union(x.sets, combine(out.size, [(updates.sets, np.asarray(dest).ravel(),
                                                  np.arange(updates.aval.size, dtype=np.int64))]))]
    # unknown positions: every update that could land there, i.e. all of them with the same remaining
    # coordinates
    batch_ndim = updates.aval.ndim - (out.ndim - len(axes))
    remaining = _reduce_axes(updates.sets, updates.aval, tuple(range(batch_ndim)))
    kept = tuple(i for i in range(out.ndim) if i not in axes)
    return [union(x.sets, _spread(remaining, out.shape, kept))]


@rule("dot_general")
def _dot_general(eqn, ops):
    """out[b, i, j] = sum_k x[b, i, k] y[b, k, j]: the union over k, where a known operand's zeros
    cut the terms they multiply."""
    x, y = ops
    (xc, yc), (xb, yb) = eqn.params["dimension_numbers"]
    out = _out(eqn)
    xf = tuple(i for i in range(x.aval.ndim) if i not in xc and i not in xb)
    yf = tuple(i for i in range(y.aval.ndim) if i not in yc and i not in yb)
    nb = int(np.prod([x.aval.shape[i] for i in xb], dtype=np.int64))
    nk = int(np.prod([x.aval.shape[i] for i in xc], dtype=np.int64))
    ni = int(np.prod([x.aval.shape[i] for i in xf], dtype=np.int64))
    nj = int(np.prod([y.aval.shape[i] for i in yf], dtype=np.int64))
    # element ids of x as (b, i, k) and of y as (b, k, j); the output is (b, i, j) row-major
    xid = np.transpose(_ids(x.aval), xb + xf + xc).reshape(nb, ni, nk)
    yid = np.transpose(_ids(y.aval), yb + yc + yf).reshape(nb, nk, nj)
    oid = np.arange(out.size, dtype=np.int64).reshape(nb, ni, nj)
    parts = []
    for this, other, this_ids, swap in ((x, y, xid, False), (y, x, yid, True)):
        if this.sets.nnz == 0:
            continue
        if other.known:
            # this[b, i, k] reaches out[b, i, j] only where other[b, k, j] != 0 (for y: x[b, i, k] != 0)
            mask = np.transpose(other.value, (yb + yc + yf) if not swap else (xb + xf + xc))
            mask = mask.reshape((nb, nk, nj) if not swap else (nb, ni, nk)) != 0
            _charge(int(np.count_nonzero(mask)) * (ni if not swap else nj))
            if not swap:
                b, k, j = np.nonzero(mask)
                i = np.arange(ni, dtype=np.int64)
                dest = oid[b[:, None], i[None, :], j[:, None]]
                src = this_ids[b[:, None], i[None, :], k[:, None]]
            else:
                b, i, k = np.nonzero(mask)
                j = np.arange(nj, dtype=np.int64)
                dest = oid[b[:, None], i[:, None], j[None, :]]
                src = this_ids[b[:, None], k[:, None], j[None, :]]
            parts.append(combine(out.size, [(this.sets, dest.ravel(), src.ravel())]))
            continue
        # structural: the union over k, then spread over the other operand's free axes
        src = this_ids.reshape(-1)
        if not swap:
            reduced = combine(nb * ni, [(this.sets, np.repeat(np.arange(nb * ni), nk), src)])
            dest = np.broadcast_to(np.arange(nb * ni).reshape(nb, ni, 1), (nb, ni, nj))
        else:
            dest_bj = np.broadcast_to(np.arange(nb * nj).reshape(nb, 1, nj), (nb, nk, nj))
            reduced = combine(nb * nj, [(this.sets, dest_bj.ravel(), src)])
            dest = np.broadcast_to(np.arange(nb * nj).reshape(nb, 1, nj), (nb, ni, nj))
        parts.append(take(reduced, dest.ravel()))
    return [union(*parts) if parts else None]


@rule("convert")
def _convert(eqn, ops):  # float -> float is elementwise; into int or bool the derivative is zero
    return _elementwise(eqn, ops) if has_derivative(_out(eqn)) else [None]


def rule_for(prim):
    """The rule of a primitive: its row in RULES; the elementwise rule for the elementwise families (so a
    new unary or binary primitive needs no row); the conservative fallback otherwise."""
    found = RULES.get(prim.name)
    if found is not None:
        return found
    if prim.family in ("unary", "binary"):
        return _checked_elementwise
    return _fallback


def _checked_elementwise(eqn, ops):
    out = _out(eqn)
    if len(eqn.outputs) != 1 or any(op.aval.shape not in (out.shape, ()) for op in ops):
        return _fallback(eqn, ops)  # not elementwise after all
    return _elementwise(eqn, ops)


# --------------------------------------------------------------------------------------------------
# Control flow: nested graphs analysed with the same pass


def _nested(eqn):
    return subgraphs(eqn.params)


UNROLL_LIMIT = 20_000  # a scan is analysed iteration by iteration up to length x body equations this big


def _nested(graph, ops):
    """The outputs' sets of a nested graph applied to these operands."""
    return sparsity_eval(graph, [op.sets for op in ops], [op.value for op in ops])


def fixed_point(body, carry):
    """Iterate carry = carry ∪ body(carry) until nothing changes: the sets of a loop's carry after any
    number of iterations (sets only grow and are bounded, so this ends)."""
    while True:
        new = [union(c, b) for c, b in zip(carry, body(carry), strict=True)]
        if all(a == b for a, b in zip(new, carry, strict=True)):
            return new
        carry = new


def _with_sets(ops, sets):
    return [Operand(op.aval, s, None) for op, s in zip(ops, sets, strict=True)]


@rule("cond")
def _cond(eqn, ops):  # the branch taken when the index is known, else the union over the branches
    index, operands = ops[0], ops[1:]
    branches = eqn.params["branches"]
    if index.known:
        return _nested(branches[int(np.clip(index.value, 0, len(branches) - 1))], operands)
    per_branch = [_nested(g, operands) for g in branches]
    return [union(*sets) for sets in zip(*per_branch, strict=True)]


@rule("while")
def _while(eqn, ops):  # the carry after any number of trips: a fixed point of the body
    p = eqn.params
    consts = ops[p["cond_nconsts"]:p["cond_nconsts"] + p["body_nconsts"]]
    init = ops[p["cond_nconsts"] + p["body_nconsts"]:]
    carry = fixed_point(lambda c: _nested(p["body_graph"], consts + _with_sets(init, c)),
                        [op.sets for op in init])
    return carry


@rule("scan")
def _scan(eqn, ops):
    """Iteration by iteration when that is cheap (exact as the body), else a fixed point of the carry with
    every slice of xs standing for all of them."""
    p = eqn.params
    nc, nk, length = p["num_consts"], p["num_carry"], p["length"]
    consts, init, xs = ops[:nc], ops[nc:nc + nk], ops[nc + nk:]
    body = p["body"]
    ys_avals = [v.aval for v in eqn.outputs[nk:]]
    if length * max(len(body.eqns), 1) <= UNROLL_LIMIT:
        carry = [op.sets for op in init]
        ys = [[None] * length for _ in ys_avals]
        for i in (reversed(range(length)) if p["reverse"] else range(length)):
            slices = [Operand(x.aval.update(shape=x.aval.shape[1:]), _slice0(x, i),
                              None if x.value is None else x.value[i]) for x in xs]
            outs = _nested(body, consts + _with_sets(init, carry) + slices)
            carry = outs[:nk]
            for y, out in zip(ys, outs[nk:], strict=True):
                y[i] = out
        return carry + [stack(y) if length else empty(0) for y in ys]
    slices = [Operand(x.aval.update(shape=x.aval.shape[1:]), _reduce_axes(x.sets, x.aval, (0,)), None)
              for x in xs]
    carry = fixed_point(lambda c: _nested(body, consts + _with_sets(init, c) + slices)[:nk],
                        [op.sets for op in init])
    ys = _nested(body, consts + _with_sets(init, carry) + slices)[nk:]
    return carry + [take(y, np.tile(np.arange(y.n), length)) for y in ys]


def _slice0(x, i):
    """The sets of x[i] (x's leading axis)."""
    size = x.aval.size // x.aval.shape[0]
    return take(x.sets, np.arange(i * size, (i + 1) * size))
