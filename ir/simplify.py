"""Simplification: a table of small rewrite rows, then CSE and DCE.

The pass re-evaluates the graph inside a new trace. For each equation the rows registered for its
primitive are tried in order; a row looks at the (already simplified) inputs and returns the outputs to
use instead, or None. Equations whose inputs are all constants fold to constants (bind evaluates them),
unless the result would be a large array. Identical equations are emitted once (CSE); unused ones are
dropped (DCE). Jacobian graphs are full of zeros, ones and identities: this pass makes them small.

New optimisations are new rows; the driver loop never changes.
"""

import numpy as np

from .builder import Tracer, aval_of, broadcast_to, current_trace, emit, trace_graph
from .core import Lit
from .dce import dce
from .primitive import PRIMITIVES

FOLD_LIMIT = 1024  # fold constants up to this many elements; larger ones stay equations
ROWS = {}  # primitive name -> [row(ins, **params) -> list of outputs | None]
FAMILY_ROWS = {}  # primitive family -> rows for every primitive of the family, tried after ROWS


def row(*names, family=()):
    def register(fn):
        for name in names:
            ROWS.setdefault(name, []).append(fn)
        for fam in (family,) if isinstance(family, str) else family:
            FAMILY_ROWS.setdefault(fam, []).append(fn)
        return fn
    return register


# --------------------------------------------------------------------------------------------------
# What a row can ask about a value

class _Context:
    """The trace being built and, for each Var made in it so far, the equation that made it; and the
    constants folded from fills (broadcasts of a scalar), with the scalar each one holds."""

    def __init__(self, trace):
        self.trace = trace
        self.made_by = {}
        self.scanned = 0
        self.fills = {}  # id(folded array) -> its scalar; the arrays stay alive in the pass's env
        self.seen = {}  # CSE: equation key -> outputs
        self.depth = 0  # how deep rows are rebinding inside each other (see rebind)

    def catch_up(self):
        for eqn in self.trace.eqns[self.scanned:]:
            for var in eqn.outputs:
                self.made_by[var] = eqn
        self.scanned = len(self.trace.eqns)


_ctx = []  # the innermost running simplification (rows may themselves simplify nested graphs)


def producer(x):
    """The equation that made Tracer x in the trace being built, or None."""
    if not isinstance(x, Tracer) or not _ctx:
        return None
    ctx = _ctx[-1]
    eqn = ctx.made_by.get(x._var)
    if eqn is None and ctx.scanned < len(ctx.trace.eqns):  # made by a row of the running equation
        ctx.catch_up()
        eqn = ctx.made_by.get(x._var)
    return eqn


def operand(eqn, i):
    """Input i of an equation of the trace being built, as a handle a row can use."""
    atom = eqn.inputs[i]
    if isinstance(atom, Lit):
        return atom.value
    trace = _ctx[-1].trace
    return trace.consts[atom] if atom in trace.consts else Tracer(trace, atom)


def scalar_value(x):
    """The single value every element of x has, when that is known statically, else None."""
    if isinstance(x, Tracer):
        eqn = producer(x)
        if eqn is not None and eqn.prim.name == "broadcast_in_dim" and isinstance(eqn.inputs[0], Lit):
            return eqn.inputs[0].value
        return None
    arr = np.asarray(x)
    if arr.size == 0:
        return None
    if arr.size > FOLD_LIMIT:  # a large constant is scanned never (rows ask often): a fill, or nothing known
        fill = _ctx[-1].fills.get(id(x)) if _ctx else None
        return None if fill is None else fill[()]
    first = arr.flat[0]
    return first if arr.size == 1 or np.all(arr == first) else None


def fill_value(x):
    """The scalar x is a fill of: a broadcast of a literal (or a constant folded from one), or a rank-0
    constant; None for anything else."""
    if isinstance(x, Tracer):
        eqn = producer(x)
        if eqn is not None and eqn.prim.name == "broadcast_in_dim" and isinstance(eqn.inputs[0], Lit):
            return np.asarray(eqn.inputs[0].value)
        return None
    if np.ndim(x) == 0:
        return np.asarray(x)
    return _ctx[-1].fills.get(id(x)) if _ctx else None


def is_const(x, value):
    v = scalar_value(x)
    return v is not None and v == value


def is_zero(x):
    return is_const(x, 0)


def structural_zero(x):
    """A zero that stands for "nothing flows here" (a broadcast literal zero, maybe folded), never a user's
    0 * inf."""
    if isinstance(x, Tracer):
        eqn = producer(x)
        return (eqn is not None and eqn.prim.name == "broadcast_in_dim" and isinstance(eqn.inputs[0], Lit)
                and eqn.inputs[0].value == 0)
    fill = _ctx[-1].fills.get(id(x)) if _ctx else None
    return fill is not None and fill == 0


def is_one(x):
    return is_const(x, 1)


def zeros_like_out(aval):
    from .builder import full
    return full(aval.shape, 0, aval.dtype)


def same(x, aval):
    """x as a value of type aval (broadcast from rank 0 if needed), if that is a free re-use."""
    xa = aval_of(x)
    if xa.dtype != aval.dtype:
        return None
    if xa.shape == aval.shape:
        return x
    return broadcast_to(x, aval.shape) if xa.ndim == 0 else None


def _out(prim, ins, params):
    return PRIMITIVES[prim].shape_rule(*[aval_of(i) for i in ins], **params)


# --------------------------------------------------------------------------------------------------
# The rows. Each comment states the identity the row implements.

@row("add")
def add_zero(ins):  # x + 0 → x, 0 + x → x
    x, y = ins
    out = _out("add", ins, {})
    if is_zero(y):
        return [same(x, out)] if same(x, out) is not None else None
    if is_zero(x):
        return [same(y, out)] if same(y, out) is not None else None
    return None


@row("sub")
def sub_zero(ins):  # x - 0 → x, 0 - x → -x
    x, y = ins
    out = _out("sub", ins, {})
    if is_zero(y) and same(x, out) is not None:
        return [same(x, out)]
    if is_zero(x) and same(y, out) is not None:
        return [-same(y, out)]
    return None


@row("mul")
def mul_identity(ins):  # x * 1 → x; x * 0 → 0 when the 0 is structural (a materialised zero tangent)
    x, y = ins
    out = _out("mul", ins, {})
    for a, b in ((x, y), (y, x)):
        if is_one(b) and same(a, out) is not None:
            return [same(a, out)]
        if structural_zero(b):
            return [zeros_like_out(out)]
    return None


@row("div")
def div_one(ins):  # x / 1 → x
    x, y = ins
    out = _out("div", ins, {})
    if is_one(y) and same(x, out) is not None:
        return [same(x, out)]
    return None


@row("neg")
def neg_neg(ins):  # -(-x) → x, -0 → 0
    (x,) = ins
    eqn = producer(x)
    if eqn is not None and eqn.prim.name == "neg":
        return [operand(eqn, 0)]
    if is_zero(x):
        return [zeros_like_out(aval_of(x))]
    return None


LINEAR_UNARY = ("reduce_sum", "broadcast_in_dim", "reshape", "transpose", "squeeze", "expand_dims",
                "slice", "rev", "cumsum", "gather", "convert", "reduce_max", "reduce_min")


@row(*LINEAR_UNARY)
def linear_of_zero(ins, **params):  # L(0) → 0 for a linear (or max/min) map L of the first operand
    x = ins[0]
    if not is_zero(x):
        return None
    name = current_row_prim[0]
    out = _out(name, ins, params)
    if np.dtype(out.dtype).kind != "f" and name == "convert":
        return None
    if name == "broadcast_in_dim" and not isinstance(x, Tracer) and np.ndim(x) == 0:
        return None  # a broadcast literal zero is already the canonical zero
    return [zeros_like_out(out)]


@row("dot_general")
def dot_of_zero(ins, **params):  # 0 · y → 0, x · 0 → 0
    if structural_zero(ins[0]) or structural_zero(ins[1]):
        return [zeros_like_out(_out("dot_general", ins, params))]
    return None


@row("broadcast_in_dim")
def broadcast_of_broadcast(ins, shape, broadcast_dimensions):  # bcast(bcast(x)) → bcast(x)
    (x,) = ins
    eqn = producer(x)
    if eqn is None or eqn.prim.name != "broadcast_in_dim":
        return None
    inner = operand(eqn, 0)
    dims = tuple(broadcast_dimensions[d] for d in eqn.params["broadcast_dimensions"])
    return [rebind("broadcast_in_dim", inner, shape=shape, broadcast_dimensions=dims)]


@row("transpose")
def transpose_of_transpose(ins, permutation):  # T(T(x)) → one transpose, or x
    (x,) = ins
    if permutation == tuple(range(len(permutation))):
        return [x]
    eqn = producer(x)
    if eqn is None or eqn.prim.name != "transpose":
        return None
    inner = operand(eqn, 0)
    composed = tuple(eqn.params["permutation"][p] for p in permutation)
    if composed == tuple(range(len(composed))):
        return [inner]
    return [rebind("transpose", inner, permutation=composed)]


@row("reshape")
def reshape_of_reshape(ins, shape):  # reshape(reshape(x)) → reshape(x); reshape to its own shape → x
    (x,) = ins
    if aval_of(x).shape == tuple(shape):
        return [x]
    eqn = producer(x)
    if eqn is None or eqn.prim.name != "reshape":
        return None
    inner = operand(eqn, 0)
    if aval_of(inner).shape == tuple(shape):
        return [inner]
    return [rebind("reshape", inner, shape=tuple(shape))]


@row("convert")
def convert_same(ins, dtype):  # convert to its own dtype → x
    return [ins[0]] if aval_of(ins[0]).dtype == dtype else None


@row("select")
def select_known(ins):  # select(True, a, b) → a; select(p, a, a) → a
    pred, a, b = ins
    out = _out("select", ins, {})
    p = scalar_value(pred)
    if p is not None:
        chosen = a if bool(p) else b
        return [same(chosen, out)] if same(chosen, out) is not None else None
    if a is b and same(a, out) is not None:
        return [same(a, out)]
    if is_zero(a) and is_zero(b):
        return [zeros_like_out(out)]
    return None


ELEMENTWISE = ("add", "sub", "mul", "div", "max", "min", "pow", "atan2", "rem", "eq", "ne", "lt", "le",
               "gt", "ge", "and", "or", "xor", "select")


@row(*ELEMENTWISE)
def scalar_operand(ins, **params):  # f(bcast(s), y) → f(s, y): rank-0 operands broadcast by themselves
    if all(fill_value(x) is not None for x in ins):
        return None  # all fills: elementwise_of_fills makes one fill of the result
    out = _out(current_row_prim[0], ins, params)
    new = list(ins)
    for i, x in enumerate(ins):
        fill = fill_value(x) if aval_of(x).ndim else None
        # another operand must keep the full shape, or the result would shrink to rank 0
        if fill is not None and any(aval_of(o).shape == out.shape for j, o in enumerate(new) if j != i):
            new[i] = fill
    if all(a is b for a, b in zip(new, ins)):
        return None
    return [rebind(current_row_prim[0], *new, **params)]


current_row_prim = [None]  # the primitive whose rows are running (rows shared by several read it)


@row(family=("unary", "binary"))
def elementwise_of_fills(ins, **params):  # f(fill(a), fill(b)) → fill(f(a, b)): one scalar, no array
    if not any(isinstance(x, Tracer) for x in ins):
        return None  # all constant: ordinary folding (which remembers fills)
    scalars = [fill_value(x) for x in ins]
    if any(v is None for v in scalars):
        return None
    prim = PRIMITIVES[current_row_prim[0]]
    out = _out(prim.name, ins, params)
    value = prim.bind(*scalars, **params)
    from .builder import full
    return [full(out.shape, value, out.dtype)]


# --------------------------------------------------------------------------------------------------
# The driver

def _key(prim, ins, params):
    def atom_key(x):
        if isinstance(x, Tracer):
            return ("v", x._var.id)
        arr = np.asarray(x)
        if arr.ndim == 0:
            return ("c", arr.dtype.str, arr.item() if arr == arr else "nan")
        return ("a", id(x))
    return (prim.name, tuple(map(atom_key, ins)), tuple(sorted(params.items(), key=lambda kv: kv[0])))


def simplify_eval(graph, args):
    ctx = _Context(current_trace())
    env = {}

    def read(atom):
        return atom.value if isinstance(atom, Lit) else env[atom]

    env.update(graph.consts)
    env.update(zip(graph.inputs, args, strict=True))
    _ctx.append(ctx)
    try:
        for eqn in graph.eqns:
            ins = [read(a) for a in eqn.inputs]
            outs = None
            current_row_prim[0] = eqn.prim.name
            for rewrite in (*ROWS.get(eqn.prim.name, ()), *FAMILY_ROWS.get(eqn.prim.family, ())):
                outs = rewrite(ins, **eqn.params)
                if outs is not None:
                    break
            if outs is None:
                outs = _emit_once(eqn.prim, ins, eqn.params)
            ctx.catch_up()
            env.update(zip(eqn.outputs, outs, strict=True))
    finally:
        _ctx.pop()
    return [read(a) for a in graph.outputs]


def _emit_once(prim, ins, params, fold=True):
    """prim(*ins) as outputs of the trace being built: folded when constant and small (unless fold is
    False), emitted once per distinct key (CSE)."""
    ctx = _ctx[-1]
    effectful = getattr(prim, "effectful", False)
    key = None if effectful else _key(prim, ins, params)
    if key is not None and key in ctx.seen:
        return ctx.seen[key]
    if fold and not effectful and not any(isinstance(i, Tracer) for i in ins):
        out_avals = prim.shape_rule(*[aval_of(i) for i in ins], **params)
        fold = all(a.size <= FOLD_LIMIT for a in (out_avals if prim.multiple_results else [out_avals]))
    else:
        fold = False
    if fold:
        outs = prim.bind(*ins, **params)  # constant folding
        fill = _folded_fill(prim, ins, params)
        if fill is not None and np.ndim(outs):
            ctx.fills[id(outs)] = fill
    else:
        outs = emit(ctx.trace, prim, ins, params)
    outs = outs if prim.multiple_results else [outs]
    if key is not None:
        ctx.seen[key] = outs
    return outs


REBIND_DEPTH = 32  # rows rebinding inside rows deeper than this emit plainly (a guard, never reached)


def rebind(name, *ins, **params):
    """name(*ins) for a row that builds a new equation, itself passed through the table first (so rows
    see what other rows build), then folded or emitted once like any equation. One output."""
    prim = PRIMITIVES[name]
    ctx = _ctx[-1]
    if ctx.depth < REBIND_DEPTH:
        saved = current_row_prim[0]
        current_row_prim[0] = name
        ctx.depth += 1
        try:
            for rewrite in (*ROWS.get(name, ()), *FAMILY_ROWS.get(prim.family, ())):
                outs = rewrite(list(ins), **params)
                if outs is not None:
                    return outs[0]
        finally:
            ctx.depth -= 1
            current_row_prim[0] = saved
    return _emit_once(prim, list(ins), params)[0]


def _folded_fill(prim, ins, params):
    """The scalar a folded constant is a fill of: a broadcast of a scalar, or elementwise of fills."""
    if prim.name == "broadcast_in_dim":
        return np.asarray(ins[0]) if np.ndim(ins[0]) == 0 else None
    if prim.family in ("unary", "binary") and not prim.multiple_results:
        scalars = [fill_value(x) for x in ins]
        if all(v is not None for v in scalars):
            return np.asarray(prim.bind(*scalars, **params))
    return None


def simplify(graph):
    """The simplified Graph: same inputs and outputs, fewer and cheaper equations."""
    out, captured = trace_graph(lambda *args: simplify_eval(graph, args), graph.in_avals, name="simplify")
    assert not captured
    return dce(out)


from . import simplify_masks, simplify_structure  # noqa: E402, F401  (they register more rows)
