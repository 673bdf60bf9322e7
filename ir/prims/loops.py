"""Loops: while and scan. Their bodies are closed Graphs in their params.

    while[cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps](*cond_consts, *body_consts, *init)
    scan[body, length, reverse, num_consts, num_carry](*consts, *init, *xs)

A loop stays one equation whatever the transform: each rule transforms the body with the pass it implements
(helpers in bodies.py) and binds one new loop. Which carries a transform touches (have a tangent, are
batched, are unknown) is a fixed point over the iterations.
"""

import numpy as np

from .. import dtypes
from ..builder import aval_of, broadcast_to, convert, moveaxis
from ..core import AVal, Eqn, Var
from ..dce import dce_graph, graph_has_effects
from ..interpret import eval_graph
from ..partial_eval import partial_eval
from ..primitive import Linear, Primitive, Zero, instantiate, is_zero, not_mapped
from ..transpose import backward_pass
from .binary import select
from .bodies import (batch_body, batch_size, check_avals, closed, jvp_body, known_outputs, split, to_front,
                     type_str, with_io)
from .cond import cond_p
from .reduce import reduce_max


# --------------------------------------------------------------------------------------------------
# while[cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps](*cond_consts, *body_consts, *init):
# carry = init; while cond_graph(cond_consts, carry) (and fewer than max_steps steps): carry = body(...)

while_p = Primitive("while", family="control", multiple_results=True)

WHILE_REVERSE_ERROR = (
    "Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with dynamic start/stop "
    "values. Try using lax.scan, or using fori_loop with static start/stop, or pass max_steps=N to "
    "while_loop to bound its trip count (the forward pass then records up to N carries).")


def _while_parts(args, cond_nconsts, body_nconsts):
    return split(args, [cond_nconsts, body_nconsts, len(args) - cond_nconsts - body_nconsts])


def _while_shape_rule(*args, cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps):
    cconsts, bconsts, carry = _while_parts(args, cond_nconsts, body_nconsts)
    check_avals("while: the inputs of cond_graph", cconsts + carry, cond_graph.in_avals)
    check_avals("while: the output of cond_graph", cond_graph.out_avals, [AVal((), dtypes.bool_)])
    check_avals("while: the inputs of body_graph", bconsts + carry, body_graph.in_avals)
    check_avals("while: the outputs of body_graph (the carry)", body_graph.out_avals, carry)
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
        _, out_nz = jvp_body(body_graph, bconst_nz + carry_nz, [False] * len(carry), groups, [len(carry)])
        new = [a or b for a, b in zip(carry_nz, out_nz)]
        if new == carry_nz:
            break
        carry_nz = new
    body, _ = jvp_body(body_graph, bconst_nz + carry_nz, carry_nz, groups, [len(carry)])
    tan_avals = [aval_of(c) for c, nz in zip(carry, carry_nz) if nz]
    n_cond_in = len(cond_graph.inputs)
    cond_jvp = closed(lambda *a: eval_graph(cond_graph, *a[:n_cond_in]), cond_graph.in_avals + tan_avals,
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
    identity = closed(lambda *a: list(a[n_bc:]), body_graph.in_avals, "while")

    def step(*args):
        cconsts, bconsts, carry = _while_parts(args, n_cc, n_bc)
        pred = eval_graph(p["cond_graph"], *cconsts, *carry)[0]
        return cond_p.bind(convert(pred, dtypes.int32), *bconsts, *carry, branches=(identity, body_graph))

    body = closed(step, [a.aval for a in eqn.inputs], "while")
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
        out_known = known_outputs(p["body_graph"], bc_uk + carry_uk)
        new = [u or not k for u, k in zip(carry_uk, out_known)]
        if new == carry_uk:
            break
        carry_uk = new
    if all(carry_uk) or not known_outputs(p["cond_graph"], cc_uk + carry_uk)[0]:
        return [], [eqn]
    known_cond, _, _ = partial_eval(p["cond_graph"], cc_uk + carry_uk, [False])
    known_body, _, _ = partial_eval(p["body_graph"], bc_uk + carry_uk, carry_uk)
    known_cond = with_io(known_cond, known_cond.inputs, known_cond.outputs[:1])
    known_body = with_io(known_body, known_body.inputs, known_body.outputs[:carry_uk.count(False)])
    known_ins = [a for a, u in zip(eqn.inputs, cc_uk + bc_uk + carry_uk) if not u]
    known_eqn = Eqn(while_p, known_ins, dict(p, cond_graph=known_cond, body_graph=known_body,
                                             cond_nconsts=cc_uk.count(False), body_nconsts=bc_uk.count(False)),
                    [v for v, u in zip(eqn.outputs, carry_uk) if not u])
    rerun = Eqn(while_p, eqn.inputs, p, [v if u else Var(v.aval) for v, u in zip(eqn.outputs, carry_uk)])
    return [known_eqn], [rerun]


def _while_transpose(cts, *args, **params):
    raise ValueError(WHILE_REVERSE_ERROR)


def _while_batch(args, dims, *, cond_graph, body_graph, cond_nconsts, body_nconsts, max_steps):
    size = batch_size(args, dims)
    cc_b, bc_b, carry_b = _while_parts([d is not not_mapped for d in dims], cond_nconsts, body_nconsts)
    n = len(carry_b)
    while True:  # a carry that becomes batched stays batched; a batched predicate batches every carry
        pred_b = batch_body(cond_graph, cc_b + carry_b, size, [False])[1][0]
        out_b = batch_body(body_graph, bc_b + carry_b, size, [False] * n)[1]
        new = [True] * n if pred_b else [a or b for a, b in zip(carry_b, out_b)]
        if new == carry_b:
            break
        carry_b = new
    cond_b, _ = batch_body(cond_graph, cc_b + carry_b, size, [False])
    body_b, _ = batch_body(body_graph, bc_b + carry_b, size, carry_b)
    flags = cc_b + bc_b + carry_b
    moved = [to_front(a, d, size, f) for a, d, f in zip(args, dims, flags)]
    cconsts, bconsts, carry = _while_parts(moved, cond_nconsts, body_nconsts)
    if not pred_b:
        outs = while_p.bind(*moved, cond_graph=cond_b, body_graph=body_b, cond_nconsts=cond_nconsts,
                            body_nconsts=body_nconsts, max_steps=max_steps)
        return outs, [0 if b else not_mapped for b in carry_b]
    # a batched predicate: loop while any element runs; the elements already done keep their carry
    cond_any = closed(lambda *a: [reduce_max(eval_graph(cond_b, *a)[0], (0,))], cond_b.in_avals, "while")

    def step(*a):
        cc, bc, c = _while_parts(a, cond_nconsts, body_nconsts)
        running = eval_graph(cond_b, *cc, *c)[0]
        new = eval_graph(body_b, *bc, *c)
        return [select(broadcast_to(running, aval_of(x).shape, leading_batch=True), x, old)
                for x, old in zip(new, c)]

    body_sel = closed(step, [aval_of(a) for a in moved], "while")
    outs = while_p.bind(*cconsts, *cconsts, *bconsts, *carry, cond_graph=cond_any, body_graph=body_sel,
                        cond_nconsts=cond_nconsts, body_nconsts=cond_nconsts + body_nconsts,
                        max_steps=max_steps)
    return outs, [0] * n


def _while_dce(used_outputs, eqn):
    """A carry stays when its output is used, the condition reads it, or the body reads it to compute a
    carry that stays (a fixed point over the iterations); the others are no longer computed, nor the consts
    only they read. A loop none of whose outputs is used goes, unless it has an effect."""
    p = eqn.params
    cond_graph, body_graph = p["cond_graph"], p["body_graph"]
    n_cc, n_bc = p["cond_nconsts"], p["body_nconsts"]
    if not any(used_outputs) and not graph_has_effects(cond_graph) and not graph_has_effects(body_graph):
        return None
    used = [u or r for u, r in zip(used_outputs, dce_graph(cond_graph, [True])[1][n_cc:], strict=True)]
    while True:
        reads = dce_graph(body_graph, used)[1][n_bc:]
        new = [u or r for u, r in zip(used, reads, strict=True)]
        if new == used:
            break
        used = new
    new_cond, cond_reads = dce_graph(cond_graph, [True], [False] * n_cc + used)
    new_body, body_reads = dce_graph(body_graph, used, [False] * n_bc + used)
    if new_cond is cond_graph and new_body is body_graph:
        return eqn
    cconsts, bconsts, init = _while_parts(eqn.inputs, n_cc, n_bc)
    inputs = ([a for a, r in zip(cconsts, cond_reads) if r] + [a for a, r in zip(bconsts, body_reads) if r]
              + [a for a, u in zip(init, used) if u])
    params = dict(p, cond_graph=new_cond, body_graph=new_body, cond_nconsts=sum(cond_reads[:n_cc]),
                  body_nconsts=sum(body_reads[:n_bc]))
    return Eqn(while_p, inputs, params, [v for v, u in zip(eqn.outputs, used) if u])


while_p.shape_rule = _while_shape_rule
while_p.impl = _while_impl
while_p.jvp = _while_jvp
while_p.partial_eval = _while_partial_eval
while_p.transpose = _while_transpose
while_p.batch = _while_batch
while_p.dce = _while_dce


# --------------------------------------------------------------------------------------------------
# scan[body, length, reverse, num_consts, num_carry](*consts, *init, *xs): for i in range(length) (reversed
# if reverse): carry, ys[i] = body(*consts, *carry, *[x[i] for x in xs]); outputs (carry, ys)

scan_p = Primitive("scan", family="control", multiple_results=True)


def _scan_parts(args, num_consts, num_carry):
    return split(args, [num_consts, num_carry, len(args) - num_consts - num_carry])


def _scan_shape_rule(*args, body, length, reverse, num_consts, num_carry):
    consts, carry, xs = _scan_parts(args, num_consts, num_carry)
    if not isinstance(length, int) or length < 0:
        raise ValueError(f"scan: length must be an int >= 0, got {length!r}")
    for x in xs:
        if x.shape[:1] != (length,):
            raise ValueError(f"scan: every scanned operand needs a leading axis of length {length}, got "
                             f"{type_str(x)}")
    slices = [x.update(shape=x.shape[1:]) for x in xs]
    check_avals("scan: the inputs of the body", consts + carry + slices, body.in_avals)
    check_avals("scan: the carry outputs of the body", body.out_avals[:num_carry], carry)
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
        _, out_nz = jvp_body(body, const_nz + carry_nz + xs_nz, [False] * len(body.outputs), groups,
                              [num_carry, n_ys])
        new = [a or b for a, b in zip(carry_nz, out_nz[:num_carry])]
        if new == carry_nz:
            break
        carry_nz = new
    new_body, out_nz = jvp_body(body, const_nz + carry_nz + xs_nz, carry_nz + [False] * n_ys, groups,
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
        out_known = known_outputs(body, consts_uk + carry_uk + xs_uk)
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

    known_body = with_io(known, known.inputs, known.outputs[:n_known_out] + [res_vars[k] for k, _ in stacked])
    known_eqn = Eqn(scan_p, [a for a, u in zip(eqn.inputs, in_uk) if not u],
                    dict(p, body=known_body, num_consts=consts_uk.count(False), num_carry=carry_uk.count(False)),
                    [v for v, u in zip(eqn.outputs, out_uk) if not u] + [v for _, v in stacked])

    res_ins = unk.inputs[:nres]
    consts_in, carry_in, xs_in = _scan_parts(unk.inputs[nres:], consts_uk.count(True), carry_uk.count(True))
    unknown_body = with_io(unk, [res_ins[k] for k, _ in const_res] + consts_in + carry_in + xs_in
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
        rc, acc, ctc, rx, cty = split(args, [len(res_consts), len(lin_const_avals), num_carry,
                                              len(res_xs), ys_nz.count(True)])
        it = iter(cty)
        cts_out = list(ctc) + [next(it) if nz else Zero(a) for a, nz in zip(ys_avals, ys_nz)]
        cts_in = [instantiate(c) for c in backward_pass(body, linear, rc + rx, cts_out)]
        ct_consts, ct_carry_in, ct_xs = split(cts_in, [len(acc), num_carry, xs_lin.count(True)])
        return [a + c for a, c in zip(acc, ct_consts)] + ct_carry_in + ct_xs

    step_avals = ([aval_of(c) for c in res_consts] + lin_const_avals + carry_avals + res_x_avals
                  + [a for a, nz in zip(ys_avals, ys_nz) if nz])
    t_body = closed(step, step_avals, "scan transpose")
    acc0 = [np.zeros(a.shape, a.dtype) for a in lin_const_avals]
    outs = scan_p.bind(*res_consts, *acc0, *[instantiate(c) for c in ct_carry], *res_xs,
                       *[c for c in ct_ys if not is_zero(c)], body=t_body, length=length,
                       reverse=not reverse, num_consts=len(res_consts),
                       num_carry=len(acc0) + num_carry)
    ct_consts, ct_init, ct_xs = split(outs, [len(acc0), num_carry, xs_lin.count(True)])
    ct_consts, ct_xs = iter(ct_consts), iter(ct_xs)
    return ([next(ct_consts) if lin else None for lin in const_lin]
            + [ct if isinstance(c, Linear) else None for c, ct in zip(carry, ct_init)]
            + [next(ct_xs) if lin else None for lin in xs_lin])


def _scan_batch(args, dims, *, body, length, reverse, num_consts, num_carry):
    size = batch_size(args, dims)
    consts_b, carry_b, xs_b = _scan_parts([d is not not_mapped for d in dims], num_consts, num_carry)
    n_ys = len(body.outputs) - num_carry
    while True:  # a carry that becomes batched stays batched
        out_b = batch_body(body, consts_b + carry_b + xs_b, size, [False] * len(body.outputs))[1]
        new = [a or b for a, b in zip(carry_b, out_b[:num_carry])]
        if new == carry_b:
            break
        carry_b = new
    new_body, out_b = batch_body(body, consts_b + carry_b + xs_b, size, carry_b + [False] * n_ys)
    consts, carry, xs = _scan_parts(args, num_consts, num_carry)
    d_consts, d_carry, d_xs = _scan_parts(dims, num_consts, num_carry)
    consts = [to_front(c, d, size, False) for c, d in zip(consts, d_consts)]
    carry = [to_front(c, d, size, b) for c, d, b in zip(carry, d_carry, carry_b)]
    xs = [x if d is not_mapped else moveaxis(x, d, 1) for x, d in zip(xs, d_xs)]  # axis 0 is scanned
    outs = scan_p.bind(*consts, *carry, *xs, body=new_body, length=length, reverse=reverse,
                       num_consts=num_consts, num_carry=num_carry)
    return outs, ([0 if b else not_mapped for b in carry_b]
                  + [1 if b else not_mapped for b in out_b[num_carry:]])


def _scan_dce(used_outputs, eqn):
    """A carry stays when its output is used or the body reads it to compute a carry or a y that stays (a
    fixed point over the iterations); an unused y goes; so do the consts and xs nothing left reads. A scan
    none of whose outputs is used goes, unless its body has an effect."""
    p = eqn.params
    body, num_consts, num_carry = p["body"], p["num_consts"], p["num_carry"]
    if not any(used_outputs) and not graph_has_effects(body):
        return None
    used_carry, used_ys = used_outputs[:num_carry], used_outputs[num_carry:]
    while True:
        reads = dce_graph(body, used_carry + used_ys)[1][num_consts:num_consts + num_carry]
        new = [u or r for u, r in zip(used_carry, reads, strict=True)]
        if new == used_carry:
            break
        used_carry = new
    n_xs = len(body.inputs) - num_consts - num_carry
    keep = [False] * num_consts + used_carry + [False] * n_xs  # a carry that stays is passed on, read or not
    new_body, reads = dce_graph(body, used_carry + used_ys, keep)
    if new_body is body:
        return eqn
    consts_read, _, xs_read = _scan_parts(reads, num_consts, num_carry)
    consts, init, xs = _scan_parts(eqn.inputs, num_consts, num_carry)
    inputs = ([a for a, r in zip(consts, consts_read) if r] + [a for a, u in zip(init, used_carry) if u]
              + [a for a, r in zip(xs, xs_read) if r])
    carry_out, ys = eqn.outputs[:num_carry], eqn.outputs[num_carry:]
    return Eqn(scan_p, inputs, dict(p, body=new_body, num_consts=sum(consts_read), num_carry=sum(used_carry)),
               [v for v, u in zip(carry_out, used_carry) if u] + [v for v, u in zip(ys, used_ys) if u])


scan_p.shape_rule = _scan_shape_rule
scan_p.impl = _scan_impl
scan_p.jvp = _scan_jvp
scan_p.partial_eval = _scan_partial_eval
scan_p.transpose = _scan_transpose
scan_p.batch = _scan_batch
scan_p.dce = _scan_dce


def scan(*args, body, length, reverse=False, num_consts=0, num_carry=0):
    return scan_p.bind(*args, body=body, length=int(length), reverse=bool(reverse), num_consts=num_consts,
                       num_carry=num_carry)


def while_(*args, cond_graph, body_graph, cond_nconsts=0, body_nconsts=0, max_steps=None):
    return while_p.bind(*args, cond_graph=cond_graph, body_graph=body_graph, cond_nconsts=cond_nconsts,
                        body_nconsts=body_nconsts, max_steps=max_steps)


