"""Structured control flow: cond, while and scan. Their bodies are nested Graphs in their params.

    cond[branches](index, *operands)                      branches[clamp(index)](*operands)
    while[cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps](*cond_consts, *body_consts, *init)
    scan[body, length, reverse, num_consts, num_carry](*consts, *init, *xs)

A body is a closed Graph: what it reads from outside is an explicit operand (the ``consts`` of a loop). Each
rule transforms the bodies with the pass it implements (``jvp_eval``, ``batch_eval``, ``partial_eval``,
``backward_pass``) inside a trace of its own, so a loop stays one equation whatever the transform.

Reverse mode needs a primitive to split in two: the ``partial_eval`` rule (looked up by ir.partial_eval)
keeps the primal loop in the known graph, saves the residuals the tangent loop needs (stacked per iteration
for a scan), and puts only the linear loop in the unknown graph, where the ``transpose`` rule runs it
backwards. A while loop has no trip count to run backwards unless it is bounded: with ``max_steps`` it is
split as the scan of length ``max_steps`` that freezes its carry once the condition fails.
"""

import numpy as np

from .. import dtypes
from ..batching import batch_eval, batched_aval, move_batch_axis
from ..builder import aval_of, broadcast_to, convert, elementwise, full, moveaxis, trace_graph
from ..core import AVal, Eqn, Graph, Lit, Var
from ..dce import dce
from ..interpret import eval_graph
from ..jvp import has_tangent, jvp_eval
from ..partial_eval import partial_eval
from ..primitive import Linear, Primitive, Zero, instantiate, is_zero, not_mapped
from ..simplify import simplify
from ..transpose import backward_pass
from .binary import select
from .reduce import reduce_max


# --------------------------------------------------------------------------------------------------
# Bodies: each pass applied to a nested graph, giving a new closed graph


def _split(seq, sizes):
    """seq cut into consecutive pieces of the given sizes."""
    out, start = [], 0
    for n in sizes:
        out.append(list(seq[start:start + n]))
        start += n
    assert start == len(seq), (sizes, len(seq))
    return out


def _closed(fn, in_avals, name):
    graph, captured = trace_graph(fn, list(in_avals), name=name)
    assert not captured, f"a {name} body captured an outer value"
    return simplify(graph)


def _jvp_body(graph, nonzero, instantiate_out, in_groups, out_groups):
    """The jvp of a body: (graph, which outputs carry a tangent).

    The inputs come in groups (consts, carry, xs); the new graph takes each group's primals followed by the
    tangents of its inputs flagged ``nonzero``, and gives each output group's primals followed by the
    tangents that are nonzero or asked for by ``instantiate_out`` (as zeros then). Only float values have
    tangents.
    """
    in_parts = _split(list(zip(graph.in_avals, nonzero)), in_groups)
    avals = []
    for part in in_parts:
        avals += [a for a, _ in part] + [a for a, nz in part if nz]
    flags = []

    def fn(*args):
        it = iter(args)
        primals, tangents = [], []
        for part in in_parts:
            primals += [next(it) for _ in part]
            tangents += [next(it) if nz else Zero(a) for a, nz in part]
        outs, touts = jvp_eval(graph, primals, tangents)
        flags[:] = [has_tangent(aval_of(o)) and (not is_zero(t) or inst)
                    for o, t, inst in zip(outs, touts, instantiate_out, strict=True)]
        result = []
        for part in _split(list(zip(outs, touts, flags)), out_groups):
            result += [o for o, _, _ in part] + [instantiate(t) for _, t, f in part if f]
        return result

    return _closed(fn, avals, "jvp"), list(flags)


def _known_outputs(graph, unknown_inputs):
    """Which outputs of graph partial evaluation can compute from its known inputs alone."""
    _, unknown, nres = partial_eval(graph, unknown_inputs, [True] * len(graph.outputs))
    residuals = set(unknown.inputs[:nres])
    return [isinstance(a, Lit) or a in residuals or a in unknown.consts for a in unknown.outputs]


def _batch_body(graph, batched, size, force):
    """The body vectorised with the batch axis first: (graph, which outputs are batched).

    Inputs flagged ``batched`` carry a leading batch axis; an output is batched if it depends on the batch
    or ``force`` asks for it (broadcast then).
    """
    dims = [0 if b else not_mapped for b in batched]
    avals = [batched_aval(a, d, size) for a, d in zip(graph.in_avals, dims, strict=True)]
    flags = []

    def fn(*args):
        outs, out_dims = batch_eval(graph, args, dims)
        flags[:] = [d is not not_mapped or f for d, f in zip(out_dims, force, strict=True)]
        return [move_batch_axis(x, d, size, 0) if f else x for x, d, f in zip(outs, out_dims, flags)]

    return _closed(fn, avals, "vmap"), list(flags)


def _batch_size(args, dims):
    return next(aval_of(a).shape[d] for a, d in zip(args, dims) if d is not not_mapped)


def _to_front(x, d, size, batched):
    """x with its batch axis first; broadcast along a new one when it must be batched and is not."""
    if d is not_mapped:
        return move_batch_axis(x, d, size, 0) if batched else x
    return moveaxis(x, d, 0)


def _type_str(aval):
    return f"{aval.dtype.name}[{','.join(map(str, aval.shape))}]"


def _check_avals(what, got, want):
    if list(got) != list(want):
        raise TypeError(f"{what}: expected {', '.join(map(_type_str, want)) or 'nothing'}, got "
                        f"{', '.join(map(_type_str, got)) or 'nothing'}")


def _with_io(graph, inputs, outputs):
    """graph with its inputs and outputs replaced (reordered or pruned), simplified and with Vars of its own
    (partial evaluation shares Vars with the graph it splits; two bodies that share none print clearly)."""
    return simplify(dce(Graph(graph.consts, inputs, graph.eqns, outputs)))


# --------------------------------------------------------------------------------------------------
# cond[branches](index, *operands): branches[clamp(index, 0, n - 1)](*operands)

cond_p = Primitive("cond", family="control", multiple_results=True)


def _cond_shape_rule(index, *operands, branches):
    if index.shape != () or not dtypes.is_int(index.dtype):
        raise TypeError(f"cond: the branch index must be an integer scalar, got {_type_str(index)}")
    if not branches:
        raise ValueError("cond: needs at least one branch")
    for i, branch in enumerate(branches):
        _check_avals(f"cond: the inputs of branch {i}", operands, branch.in_avals)
        _check_avals(f"cond: the outputs of branch {i}", branch.out_avals, branches[0].out_avals)
    return branches[0].out_avals


def _cond_impl(index, *operands, branches):
    return eval_graph(branches[int(np.clip(index, 0, len(branches) - 1))], *operands)


def _cond_jvp(primals, tangents, *, branches):
    (index, *ops), (_, *tans) = primals, tangents
    nonzero = [not is_zero(t) for t in tans]
    n_out = len(branches[0].outputs)
    out_nz = [False] * n_out
    for branch in branches:
        _, flags = _jvp_body(branch, nonzero, [False] * n_out, [len(ops)], [n_out])
        out_nz = [a or b for a, b in zip(out_nz, flags)]
    new = tuple(_jvp_body(b, nonzero, out_nz, [len(ops)], [n_out])[0] for b in branches)
    outs = cond_p.bind(index, *ops, *[t for t, nz in zip(tans, nonzero) if nz], branches=new)
    it = iter(outs[n_out:])
    return outs[:n_out], [next(it) if nz else Zero(aval_of(o)) for o, nz in zip(outs[:n_out], out_nz)]


def _filler(aval):
    """What a branch not taken leaves in another branch's residual slot: ones for floats, so that if the
    slot is read anyway (vmap turns a batched cond into a select of every branch) a division stays finite."""
    return full(aval.shape, 1 if dtypes.is_float(aval.dtype) else 0, aval.dtype)


def _cond_partial_eval(eqn, unknown):
    """Known cond: the known outputs and the residuals of every branch (fillers from the branches not
    taken); unknown cond: the rest, on the same index, each branch reading its own residuals."""
    if unknown[0]:  # the branch taken is not known yet: everything waits
        return [], [eqn]
    branches, ops, ops_uk = eqn.params["branches"], eqn.inputs[1:], unknown[1:]
    out_uk = [False] * len(eqn.outputs)
    for branch in branches:
        out_uk = [u or not k for u, k in zip(out_uk, _known_outputs(branch, ops_uk))]
    if not any(out_uk):
        return [eqn], []
    splits = [partial_eval(b, ops_uk, out_uk) for b in branches]
    res_avals = [[v.aval for v in unk.inputs[:nres]] for _, unk, nres in splits]
    all_res = [a for avals in res_avals for a in avals]
    known_ops = [a for a, u in zip(ops, ops_uk) if not u]
    n_known_out = out_uk.count(False)

    def known_branch(i, known):
        def fn(*args):
            outs = eval_graph(known, *args)
            pieces = [outs[n_known_out:] if j == i else [_filler(a) for a in avals]
                      for j, avals in enumerate(res_avals)]
            return outs[:n_known_out] + [r for piece in pieces for r in piece]
        return _closed(fn, [a.aval for a in known_ops], "cond")

    def unknown_branch(i, unk, nres):
        start = sum(len(avals) for avals in res_avals[:i])

        def fn(*args):
            res, rest = args[:len(all_res)], args[len(all_res):]
            return eval_graph(unk, *res[start:start + nres], *rest)
        return _closed(fn, all_res + [a.aval for a, u in zip(ops, ops_uk) if u], "cond")

    res_vars = [Var(a) for a in all_res]
    known_eqn = Eqn(cond_p, [eqn.inputs[0]] + known_ops,
                    dict(branches=tuple(known_branch(i, k) for i, (k, _, _) in enumerate(splits))),
                    [v for v, u in zip(eqn.outputs, out_uk) if not u] + res_vars)
    unknown_eqn = Eqn(cond_p, [eqn.inputs[0]] + res_vars + [a for a, u in zip(ops, ops_uk) if u],
                      dict(branches=tuple(unknown_branch(i, unk, n) for i, (_, unk, n) in enumerate(splits))),
                      [v for v, u in zip(eqn.outputs, out_uk) if u])
    return [known_eqn], [unknown_eqn]


def _cond_transpose(cts, index, *ops, branches):
    if isinstance(index, Linear):
        raise ValueError("cond is not linear in its branch index")
    linear = [isinstance(o, Linear) for o in ops]
    ct_nz = [not is_zero(c) for c in cts]
    if not any(ct_nz):
        return [None] * (1 + len(ops))
    res = [o for o, lin in zip(ops, linear) if not lin]
    ct_avals = [aval_of(c) for c, nz in zip(cts, ct_nz) if nz]

    def transposed(branch):
        def fn(*args):
            it = iter(args[len(res):])
            cts_full = [next(it) if nz else Zero(a) for a, nz in zip(branch.out_avals, ct_nz)]
            return [instantiate(c) for c in backward_pass(branch, linear, args[:len(res)], cts_full)]
        return _closed(fn, [aval_of(r) for r in res] + ct_avals, "cond transpose")

    outs = cond_p.bind(index, *res, *[c for c in cts if not is_zero(c)],
                       branches=tuple(transposed(b) for b in branches))
    it = iter(outs)
    return [None] + [next(it) if lin else None for lin in linear]


def _cond_batch(args, dims, *, branches):
    (index, *ops), (d_index, *d_ops) = args, dims
    size = _batch_size(args, dims)
    if d_index is not not_mapped:
        # a batched index: every branch runs on the whole batch, a select per element picks the results
        index = moveaxis(index, d_index, 0)
        results = []
        for branch in branches:
            outs, out_dims = batch_eval(branch, ops, d_ops)
            results.append([move_batch_axis(o, d, size, 0) for o, d in zip(outs, out_dims)])
        chosen = results[0]
        for k in range(1, len(branches)):  # index <= 0 takes branch 0, index >= n - 1 the last one
            take = elementwise("ge", index, np.asarray(k, aval_of(index).dtype))
            chosen = [select(broadcast_to(take, aval_of(new).shape, leading_batch=True), new, old)
                      for new, old in zip(results[k], chosen)]
        return chosen, [0] * len(chosen)
    batched = [d is not not_mapped for d in d_ops]
    n_out = len(branches[0].outputs)
    out_b = [False] * n_out
    for branch in branches:
        out_b = [a or b for a, b in zip(out_b, _batch_body(branch, batched, size, [False] * n_out)[1])]
    new = tuple(_batch_body(b, batched, size, out_b)[0] for b in branches)
    ops = [_to_front(o, d, size, False) for o, d in zip(ops, d_ops)]
    outs = cond_p.bind(index, *ops, branches=new)
    return outs, [0 if b else not_mapped for b in out_b]


cond_p.shape_rule = _cond_shape_rule
cond_p.impl = _cond_impl
cond_p.jvp = _cond_jvp
cond_p.partial_eval = _cond_partial_eval
cond_p.transpose = _cond_transpose
cond_p.batch = _cond_batch


def cond(index, *operands, branches):
    return cond_p.bind(index, *operands, branches=tuple(branches))


# --------------------------------------------------------------------------------------------------
# while[cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps](*cond_consts, *body_consts, *init):
# carry = init; while cond_graph(cond_consts, carry) (and fewer than max_steps steps): carry = body(...)

while_p = Primitive("while", family="control", multiple_results=True)

WHILE_REVERSE_ERROR = (
    "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with dynamic start/stop "
    "values. Try using lax.scan, or using fori_loop with static start/stop, or pass max_steps=N to "
    "while_loop to bound its trip count (the forward pass then records up to N carries).")


def _while_parts(args, cond_nconsts, body_nconsts):
    return _split(args, [cond_nconsts, body_nconsts, len(args) - cond_nconsts - body_nconsts])


def _while_shape_rule(*args, cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps):
    cconsts, bconsts, carry = _while_parts(args, cond_nconsts, body_nconsts)
    _check_avals("while: the inputs of cond_graph", cconsts + carry, cond_graph.in_avals)
    _check_avals("while: the output of cond_graph", cond_graph.out_avals, [AVal((), dtypes.bool_)])
    _check_avals("while: the inputs of body_graph", bconsts + carry, body_graph.in_avals)
    _check_avals("while: the outputs of body_graph (the carry)", body_graph.out_avals, carry)
    if max_steps is not None and (not isinstance(max_steps, int) or max_steps < 0):
        raise ValueError(f"while: max_steps must be None or an int >= 0, got {max_steps!r}")
    return carry


def _while_impl(*args, cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps):
    cconsts, bconsts, carry = _while_parts(args, cond_nconsts, body_nconsts)
    steps = 0
    while (max_steps is None or steps < max_steps) and eval_graph(cond_graph, *cconsts, *carry)[0]:
        carry = eval_graph(body_graph, *bconsts, *carry)
        steps += 1
    return carry


def _while_jvp(primals, tangents, *, cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps):
    cconsts, bconsts, carry = _while_parts(primals, cond_nconsts, body_nconsts)
    _, bconst_t, carry_t = _while_parts(tangents, cond_nconsts, body_nconsts)
    bconst_nz = [not is_zero(t) for t in bconst_t]
    carry_nz = [not is_zero(t) for t in carry_t]
    groups = [len(bconsts), len(carry)]
    while True:  # a carry with a tangent keeps it: iterate to the fixed point
        _, out_nz = _jvp_body(body_graph, bconst_nz + carry_nz, [False] * len(carry), groups, [len(carry)])
        new = [a or b for a, b in zip(carry_nz, out_nz)]
        if new == carry_nz:
            break
        carry_nz = new
    body, _ = _jvp_body(body_graph, bconst_nz + carry_nz, carry_nz, groups, [len(carry)])
    tan_avals = [aval_of(c) for c, nz in zip(carry, carry_nz) if nz]
    n_cond_in = len(cond_graph.inputs)
    cond_jvp = _closed(lambda *a: eval_graph(cond_graph, *a[:n_cond_in]), cond_graph.in_avals + tan_avals,
                       "while cond")
    carry_tans = [instantiate(t) for t, nz in zip(carry_t, carry_nz) if nz]
    outs = while_p.bind(*cconsts, *bconsts, *[t for t, nz in zip(bconst_t, bconst_nz) if nz], *carry,
                        *carry_tans, cond_graph=cond_jvp, body_graph=body, cond_nconsts=cond_nconsts,
                        body_nconsts=len(bconsts) + bconst_nz.count(True), max_steps=max_steps)
    it = iter(outs[len(carry):])
    return outs[:len(carry)], [next(it) if nz else Zero(aval_of(c)) for c, nz in zip(carry, carry_nz)]


def _while_as_scan(eqn):
    """The scan of length max_steps equal to a bounded while: once the condition fails the carry is
    frozen (a cond between the identity and the body), so the scan runs the loop and then idles."""
    p = eqn.params
    n_cc, n_bc = p["cond_nconsts"], p["body_nconsts"]
    body_graph = p["body_graph"]
    identity = _closed(lambda *a: list(a[n_bc:]), body_graph.in_avals, "while")

    def step(*args):
        cconsts, bconsts, carry = _while_parts(args, n_cc, n_bc)
        pred = eval_graph(p["cond_graph"], *cconsts, *carry)[0]
        return cond_p.bind(convert(pred, dtypes.int32), *bconsts, *carry, branches=(identity, body_graph))

    body = _closed(step, [a.aval for a in eqn.inputs], "while")
    return Eqn(scan_p, eqn.inputs, dict(body=body, length=p["max_steps"], reverse=False,
                                        num_consts=n_cc + n_bc, num_carry=len(eqn.outputs)), eqn.outputs)


def _while_partial_eval(eqn, unknown):
    """Bounded: split as the equivalent scan (the residuals of up to max_steps iterations are saved).
    Unbounded: the known carries get a loop of their own and the unknown part reruns the whole loop, whose
    transpose then raises (forward mode and linearize work; reverse mode needs max_steps)."""
    p = eqn.params
    if p["max_steps"] is not None:
        return _scan_partial_eval(_while_as_scan(eqn), unknown)
    n_cc, n_bc = p["cond_nconsts"], p["body_nconsts"]
    cc_uk, bc_uk, carry_uk = _while_parts(unknown, n_cc, n_bc)
    while True:
        out_known = _known_outputs(p["body_graph"], bc_uk + carry_uk)
        new = [u or not k for u, k in zip(carry_uk, out_known)]
        if new == carry_uk:
            break
        carry_uk = new
    if all(carry_uk) or not _known_outputs(p["cond_graph"], cc_uk + carry_uk)[0]:
        return [], [eqn]
    known_cond, _, _ = partial_eval(p["cond_graph"], cc_uk + carry_uk, [False])
    known_body, _, _ = partial_eval(p["body_graph"], bc_uk + carry_uk, carry_uk)
    known_cond = _with_io(known_cond, known_cond.inputs, known_cond.outputs[:1])
    known_body = _with_io(known_body, known_body.inputs, known_body.outputs[:carry_uk.count(False)])
    known_ins = [a for a, u in zip(eqn.inputs, cc_uk + bc_uk + carry_uk) if not u]
    known_eqn = Eqn(while_p, known_ins, dict(p, cond_graph=known_cond, body_graph=known_body,
                                             cond_nconsts=cc_uk.count(False), body_nconsts=bc_uk.count(False)),
                    [v for v, u in zip(eqn.outputs, carry_uk) if not u])
    rerun = Eqn(while_p, eqn.inputs, p, [v if u else Var(v.aval) for v, u in zip(eqn.outputs, carry_uk)])
    return [known_eqn], [rerun]


def _while_transpose(cts, *args, **params):
    raise ValueError(WHILE_REVERSE_ERROR)


def _while_batch(args, dims, *, cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps):
    size = _batch_size(args, dims)
    cc_b, bc_b, carry_b = _while_parts([d is not not_mapped for d in dims], cond_nconsts, body_nconsts)
    n = len(carry_b)
    while True:  # a carry that becomes batched stays batched; a batched predicate batches every carry
        pred_b = _batch_body(cond_graph, cc_b + carry_b, size, [False])[1][0]
        out_b = _batch_body(body_graph, bc_b + carry_b, size, [False] * n)[1]
        new = [True] * n if pred_b else [a or b for a, b in zip(carry_b, out_b)]
        if new == carry_b:
            break
        carry_b = new
    cond_b, _ = _batch_body(cond_graph, cc_b + carry_b, size, [False])
    body_b, _ = _batch_body(body_graph, bc_b + carry_b, size, carry_b)
    flags = cc_b + bc_b + carry_b
    moved = [_to_front(a, d, size, f) for a, d, f in zip(args, dims, flags)]
    cconsts, bconsts, carry = _while_parts(moved, cond_nconsts, body_nconsts)
    if not pred_b:
        outs = while_p.bind(*moved, cond_graph=cond_b, body_graph=body_b, cond_nconsts=cond_nconsts,
                            body_nconsts=body_nconsts, max_steps=max_steps)
        return outs, [0 if b else not_mapped for b in carry_b]
    # a batched predicate: loop while any element runs; the elements already done keep their carry
    cond_any = _closed(lambda *a: [reduce_max(eval_graph(cond_b, *a)[0], (0,))], cond_b.in_avals, "while")

    def step(*a):
        cc, bc, c = _while_parts(a, cond_nconsts, body_nconsts)
        running = eval_graph(cond_b, *cc, *c)[0]
        new = eval_graph(body_b, *bc, *c)
        return [select(broadcast_to(running, aval_of(x).shape, leading_batch=True), x, old)
                for x, old in zip(new, c)]

    body_sel = _closed(step, [aval_of(a) for a in moved], "while")
    outs = while_p.bind(*cconsts, *cconsts, *bconsts, *carry, cond_graph=cond_any, body_graph=body_sel,
                        cond_nconsts=cond_nconsts, body_nconsts=cond_nconsts + body_nconsts,
                        max_steps=max_steps)
    return outs, [0] * n


while_p.shape_rule = _while_shape_rule
while_p.impl = _while_impl
while_p.jvp = _while_jvp
while_p.partial_eval = _while_partial_eval
while_p.transpose = _while_transpose
while_p.batch = _while_batch


# --------------------------------------------------------------------------------------------------
# scan[body, length, reverse, num_consts, num_carry](*consts, *init, *xs): for i in range(length) (reversed
# if reverse): carry, ys[i] = body(*consts, *carry, *[x[i] for x in xs]); outputs (carry, ys)

scan_p = Primitive("scan", family="control", multiple_results=True)


def _scan_parts(args, num_consts, num_carry):
    return _split(args, [num_consts, num_carry, len(args) - num_consts - num_carry])


def _scan_shape_rule(*args, body, length, reverse, num_consts, num_carry):
    consts, carry, xs = _scan_parts(args, num_consts, num_carry)
    if not isinstance(length, int) or length < 0:
        raise ValueError(f"scan: length must be an int >= 0, got {length!r}")
    for x in xs:
        if x.shape[:1] != (length,):
            raise ValueError(f"scan: every scanned operand needs a leading axis of length {length}, got "
                             f"{_type_str(x)}")
    slices = [x.update(shape=x.shape[1:]) for x in xs]
    _check_avals("scan: the inputs of the body", consts + carry + slices, body.in_avals)
    _check_avals("scan: the carry outputs of the body", body.out_avals[:num_carry], carry)
    return carry + [y.update(shape=(length,) + y.shape) for y in body.out_avals[num_carry:]]


def _scan_impl(*args, body, length, reverse, num_consts, num_carry):
    consts, carry, xs = _scan_parts(args, num_consts, num_carry)
    ys = [np.empty((length,) + a.shape, a.dtype) for a in body.out_avals[num_carry:]]
    for i in (reversed(range(length)) if reverse else range(length)):
        outs = eval_graph(body, *consts, *carry, *[x[i] for x in xs])
        carry = outs[:num_carry]
        for y, out in zip(ys, outs[num_carry:]):
            y[i] = out
    return list(carry) + ys


def _scan_jvp(primals, tangents, *, body, length, reverse, num_consts, num_carry):
    consts, carry, xs = _scan_parts(primals, num_consts, num_carry)
    const_t, carry_t, xs_t = _scan_parts(tangents, num_consts, num_carry)
    const_nz, carry_nz, xs_nz = ([not is_zero(t) for t in ts] for ts in (const_t, carry_t, xs_t))
    groups, n_ys = [len(consts), len(carry), len(xs)], len(body.outputs) - num_carry
    while True:  # a carry with a tangent keeps it: iterate to the fixed point
        _, out_nz = _jvp_body(body, const_nz + carry_nz + xs_nz, [False] * len(body.outputs), groups,
                              [num_carry, n_ys])
        new = [a or b for a, b in zip(carry_nz, out_nz[:num_carry])]
        if new == carry_nz:
            break
        carry_nz = new
    new_body, out_nz = _jvp_body(body, const_nz + carry_nz + xs_nz, carry_nz + [False] * n_ys, groups,
                                 [num_carry, n_ys])

    def with_tangents(ps, ts, nz):
        return list(ps) + [instantiate(t) for t, f in zip(ts, nz) if f]

    outs = scan_p.bind(*with_tangents(consts, const_t, const_nz), *with_tangents(carry, carry_t, carry_nz),
                       *with_tangents(xs, xs_t, xs_nz), body=new_body, length=length, reverse=reverse,
                       num_consts=num_consts + const_nz.count(True),
                       num_carry=num_carry + carry_nz.count(True))
    n_carry_out = num_carry + carry_nz.count(True)
    carry_out, carry_tan = outs[:num_carry], iter(outs[num_carry:n_carry_out])
    ys, ys_tan = outs[n_carry_out:n_carry_out + n_ys], iter(outs[n_carry_out + n_ys:])
    primal_out = carry_out + ys
    tan_out = ([next(carry_tan) if nz else Zero(aval_of(c)) for c, nz in zip(carry_out, carry_nz)]
               + [next(ys_tan) if nz else Zero(aval_of(y)) for y, nz in zip(ys, out_nz[num_carry:])])
    return primal_out, tan_out


def _scan_partial_eval(eqn, unknown):
    """Known scan: the known carries and ys, and the residuals of every iteration stacked as extra ys;
    unknown scan: the rest, reading those residuals as xs (or as consts, when they are the loop's consts).
    A known carry that the unknown part changes becomes unknown (fixed point)."""
    p = eqn.params
    body, num_consts, num_carry = p["body"], p["num_consts"], p["num_carry"]
    consts_uk, carry_uk, xs_uk = _scan_parts(unknown, num_consts, num_carry)
    while True:
        out_known = _known_outputs(body, consts_uk + carry_uk + xs_uk)
        new = [u or not k for u, k in zip(carry_uk, out_known[:num_carry])]
        if new == carry_uk:
            break
        carry_uk = new
    ys_uk = [not k for k in out_known[num_carry:]]
    in_uk, out_uk = consts_uk + carry_uk + xs_uk, carry_uk + ys_uk
    if not any(out_uk):
        return [eqn], []
    known, unk, nres = partial_eval(body, in_uk, out_uk)
    n_known_out = len(known.outputs) - nres
    res_vars = known.outputs[n_known_out:]  # the body's Vars the unknown part reads
    position = {v: i for i, v in enumerate(body.inputs)}
    const_res, xs_res, stacked = [], [], []  # (index among the residuals, outer atom or None)
    for k, var in enumerate(res_vars):
        i = position.get(var, -1)
        if 0 <= i < num_consts:  # a known const of the loop: passed to the unknown loop as a const
            const_res.append((k, eqn.inputs[i]))
        elif i >= num_consts + num_carry:  # a known xs: passed to the unknown loop as it is
            xs_res.append((k, eqn.inputs[i]))
        else:  # changes per iteration: stacked by the known loop
            stacked.append((k, Var(AVal((p["length"],) + var.aval.shape, var.aval.dtype))))

    known_body = _with_io(known, known.inputs, known.outputs[:n_known_out] + [res_vars[k] for k, _ in stacked])
    known_eqn = Eqn(scan_p, [a for a, u in zip(eqn.inputs, in_uk) if not u],
                    dict(p, body=known_body, num_consts=consts_uk.count(False), num_carry=carry_uk.count(False)),
                    [v for v, u in zip(eqn.outputs, out_uk) if not u] + [v for _, v in stacked])

    res_ins = unk.inputs[:nres]
    consts_in, carry_in, xs_in = _scan_parts(unk.inputs[nres:], consts_uk.count(True), carry_uk.count(True))
    unknown_body = _with_io(unk, [res_ins[k] for k, _ in const_res] + consts_in + carry_in + xs_in
                            + [res_ins[k] for k, _ in xs_res + stacked], unk.outputs)
    # (an unknown carry whose init is known reads the init as a residual of the outer graph)
    uk_consts, uk_carry, uk_xs = _scan_parts([a for a, u in zip(eqn.inputs, in_uk) if u],
                                             consts_uk.count(True), carry_uk.count(True))
    unknown_eqn = Eqn(scan_p, [a for _, a in const_res] + uk_consts + uk_carry + uk_xs
                      + [a for _, a in xs_res + stacked],
                      dict(p, body=unknown_body, num_consts=len(const_res) + len(uk_consts),
                           num_carry=len(uk_carry)),
                      [v for v, u in zip(eqn.outputs, out_uk) if u])
    known_eqns = [known_eqn] if known_eqn.outputs else []
    return known_eqns, [unknown_eqn]


def _scan_transpose(cts, *args, body, length, reverse, num_consts, num_carry):
    """The transposed loop runs the other way: its carry holds the cotangents of the linear consts (summed
    over the iterations) and of the carry; its xs are the residuals and the cotangents of the ys."""
    consts, carry, xs = _scan_parts(args, num_consts, num_carry)
    ct_carry, ct_ys = cts[:num_carry], cts[num_carry:]
    const_lin = [isinstance(c, Linear) for c in consts]
    xs_lin = [isinstance(x, Linear) for x in xs]
    # every carry is linear; a carry init that is a known value (a materialised zero) only gets no cotangent
    linear = const_lin + [True] * num_carry + xs_lin
    res_consts = [c for c, lin in zip(consts, const_lin) if not lin]
    res_xs = [x for x, lin in zip(xs, xs_lin) if not lin]
    ys_nz = [not is_zero(c) for c in ct_ys]
    lin_const_avals = [aval_of(c) for c, lin in zip(consts, const_lin) if lin]
    carry_avals = body.in_avals[num_consts:num_consts + num_carry]
    res_x_avals = [a for a, lin in zip(body.in_avals[num_consts + num_carry:], xs_lin) if not lin]
    ys_avals = body.out_avals[num_carry:]

    def step(*args):
        rc, acc, ctc, rx, cty = _split(args, [len(res_consts), len(lin_const_avals), num_carry,
                                              len(res_xs), ys_nz.count(True)])
        it = iter(cty)
        cts_out = list(ctc) + [next(it) if nz else Zero(a) for a, nz in zip(ys_avals, ys_nz)]
        cts_in = [instantiate(c) for c in backward_pass(body, linear, rc + rx, cts_out)]
        ct_consts, ct_carry_in, ct_xs = _split(cts_in, [len(acc), num_carry, xs_lin.count(True)])
        return [a + c for a, c in zip(acc, ct_consts)] + ct_carry_in + ct_xs

    step_avals = ([aval_of(c) for c in res_consts] + lin_const_avals + carry_avals + res_x_avals
                  + [a for a, nz in zip(ys_avals, ys_nz) if nz])
    t_body = _closed(step, step_avals, "scan transpose")
    acc0 = [np.zeros(a.shape, a.dtype) for a in lin_const_avals]
    outs = scan_p.bind(*res_consts, *acc0, *[instantiate(c) for c in ct_carry], *res_xs,
                       *[c for c in ct_ys if not is_zero(c)], body=t_body, length=length,
                       reverse=not reverse, num_consts=len(res_consts),
                       num_carry=len(acc0) + num_carry)
    ct_consts, ct_init, ct_xs = _split(outs, [len(acc0), num_carry, xs_lin.count(True)])
    ct_consts, ct_xs = iter(ct_consts), iter(ct_xs)
    return ([next(ct_consts) if lin else None for lin in const_lin]
            + [ct if isinstance(c, Linear) else None for c, ct in zip(carry, ct_init)]
            + [next(ct_xs) if lin else None for lin in xs_lin])


def _scan_batch(args, dims, *, body, length, reverse, num_consts, num_carry):
    size = _batch_size(args, dims)
    consts_b, carry_b, xs_b = _scan_parts([d is not not_mapped for d in dims], num_consts, num_carry)
    n_ys = len(body.outputs) - num_carry
    while True:  # a carry that becomes batched stays batched
        out_b = _batch_body(body, consts_b + carry_b + xs_b, size, [False] * len(body.outputs))[1]
        new = [a or b for a, b in zip(carry_b, out_b[:num_carry])]
        if new == carry_b:
            break
        carry_b = new
    new_body, out_b = _batch_body(body, consts_b + carry_b + xs_b, size, carry_b + [False] * n_ys)
    consts, carry, xs = _scan_parts(args, num_consts, num_carry)
    d_consts, d_carry, d_xs = _scan_parts(dims, num_consts, num_carry)
    consts = [_to_front(c, d, size, False) for c, d in zip(consts, d_consts)]
    carry = [_to_front(c, d, size, b) for c, d, b in zip(carry, d_carry, carry_b)]
    xs = [x if d is not_mapped else moveaxis(x, d, 1) for x, d in zip(xs, d_xs)]  # axis 0 is scanned
    outs = scan_p.bind(*consts, *carry, *xs, body=new_body, length=length, reverse=reverse,
                       num_consts=num_consts, num_carry=num_carry)
    return outs, ([0 if b else not_mapped for b in carry_b]
                  + [1 if b else not_mapped for b in out_b[num_carry:]])


scan_p.shape_rule = _scan_shape_rule
scan_p.impl = _scan_impl
scan_p.jvp = _scan_jvp
scan_p.partial_eval = _scan_partial_eval
scan_p.transpose = _scan_transpose
scan_p.batch = _scan_batch


def scan(*args, body, length, reverse=False, num_consts=0, num_carry=0):
    return scan_p.bind(*args, body=body, length=int(length), reverse=bool(reverse), num_consts=num_consts,
                       num_carry=num_carry)


def while_(*args, cond_graph, body_graph, cond_nconsts=0, body_nconsts=0, max_steps=None):
    return while_p.bind(*args, cond_graph=cond_graph, body_graph=body_graph, cond_nconsts=cond_nconsts,
                        body_nconsts=body_nconsts, max_steps=max_steps)


__all__ = ["cond", "while_", "scan", "WHILE_REVERSE_ERROR"]
