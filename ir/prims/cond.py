"""cond[branches](index, *operands) = branches[clamp(index, 0, len(branches) - 1)](*operands).

Every branch is a closed Graph taking the operands; all return the same types. The rules transform each
branch with the pass they implement (helpers in bodies.py) and bind one new ``cond``.
"""

import numpy as np

from .. import dtypes
from ..batching import batch_eval, move_batch_axis
from ..builder import aval_of, broadcast_to, elementwise, full, moveaxis
from ..core import Eqn, Var
from ..dce import dce_graph, graph_has_effects
from ..interpret import eval_graph
from ..partial_eval import partial_eval
from ..primitive import Linear, Primitive, Zero, instantiate, is_zero, not_mapped
from ..transpose import backward_pass
from .binary import select
from .bodies import batch_body, batch_size, check_avals, closed, jvp_body, known_outputs, to_front, type_str


cond_p = Primitive("cond", family="control", multiple_results=True)


def _cond_shape_rule(index, *operands, branches):
    if index.shape != () or not dtypes.is_int(index.dtype):
        raise TypeError(f"cond: the branch index must be an integer scalar, got {type_str(index)}")
    if not branches:
        raise ValueError("cond: needs at least one branch")
    for i, branch in enumerate(branches):
        check_avals(f"cond: the inputs of branch {i}", operands, branch.in_avals)
        check_avals(f"cond: the outputs of branch {i}", branch.out_avals, branches[0].out_avals)
    return branches[0].out_avals


def _cond_impl(index, *operands, branches):
    return eval_graph(branches[int(np.clip(index, 0, len(branches) - 1))], *operands)


def _cond_jvp(primals, tangents, *, branches):
    (index, *ops), (_, *tans) = primals, tangents
    nonzero = [not is_zero(t) for t in tans]
    n_out = len(branches[0].outputs)
    out_nz = [False] * n_out
    for branch in branches:
        _, flags = jvp_body(branch, nonzero, [False] * n_out, [len(ops)], [n_out])
        out_nz = [a or b for a, b in zip(out_nz, flags)]
    new = tuple(jvp_body(b, nonzero, out_nz, [len(ops)], [n_out])[0] for b in branches)
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
        out_uk = [u or not k for u, k in zip(out_uk, known_outputs(branch, ops_uk))]
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
        return closed(fn, [a.aval for a in known_ops], "cond")

    def unknown_branch(i, unk, nres):
        start = sum(len(avals) for avals in res_avals[:i])

        def fn(*args):
            res, rest = args[:len(all_res)], args[len(all_res):]
            return eval_graph(unk, *res[start:start + nres], *rest)
        return closed(fn, all_res + [a.aval for a, u in zip(ops, ops_uk) if u], "cond")

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
        return closed(fn, [aval_of(r) for r in res] + ct_avals, "cond transpose")

    outs = cond_p.bind(index, *res, *[c for c in cts if not is_zero(c)],
                       branches=tuple(transposed(b) for b in branches))
    it = iter(outs)
    return [None] + [next(it) if lin else None for lin in linear]


def _cond_batch(args, dims, *, branches):
    (index, *ops), (d_index, *d_ops) = args, dims
    size = batch_size(args, dims)
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
        out_b = [a or b for a, b in zip(out_b, batch_body(branch, batched, size, [False] * n_out)[1])]
    new = tuple(batch_body(b, batched, size, out_b)[0] for b in branches)
    ops = [to_front(o, d, size, False) for o, d in zip(ops, d_ops)]
    outs = cond_p.bind(index, *ops, branches=new)
    return outs, [0 if b else not_mapped for b in out_b]


def _cond_dce(used_outputs, eqn):
    """An unused output goes from every branch, and an operand that no branch reads any more goes too.
    A cond none of whose outputs is used goes, unless a branch has an effect."""
    branches = eqn.params["branches"]
    if not any(used_outputs) and not any(graph_has_effects(b) for b in branches):
        return None
    reads = [dce_graph(b, used_outputs)[1] for b in branches]
    used_ops = [any(flags) for flags in zip(*reads, strict=True)]
    new = tuple(dce_graph(b, used_outputs, used_ops)[0] for b in branches)
    if all(a is b for a, b in zip(new, branches, strict=True)):
        return eqn
    index, ops = eqn.inputs[0], eqn.inputs[1:]
    return Eqn(cond_p, [index] + [a for a, u in zip(ops, used_ops, strict=True) if u],
               dict(eqn.params, branches=new), [v for v, u in zip(eqn.outputs, used_outputs) if u])


cond_p.shape_rule = _cond_shape_rule
cond_p.impl = _cond_impl
cond_p.jvp = _cond_jvp
cond_p.partial_eval = _cond_partial_eval
cond_p.transpose = _cond_transpose
cond_p.batch = _cond_batch
cond_p.dce = _cond_dce


def cond(index, *operands, branches):
    return cond_p.bind(index, *operands, branches=tuple(branches))


__all__ = ["cond_p", "cond"]
