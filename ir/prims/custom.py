"""Custom derivative rules as primitives: custom_jvp_call, custom_vjp_call and custom_lin.

A custom call carries the primal function as a nested Graph (``call``, traced when the function is called)
and the user's rules as ``Rule`` objects: callables on flat lists, hashable, printed by the rule's name. A
rule is traced only when a transform needs it, like JAX's, because a rule usually calls its own function
(``return f(x), t * f(x)``): tracing it eagerly would never end.

    custom_jvp_call[call, jvp, num_consts, num_nondiff](*nondiff, *args, *consts) -> outs
        jvp(nondiff, primals, tangents) -> (outs, tangents of outs)
    custom_vjp_call[bwd, call, fwd, num_consts, num_nondiff](*nondiff, *args, *consts) -> outs
        fwd(nondiff, args) -> (outs, residuals);  bwd(nondiff, residuals, cotangents of outs) -> cotangents
    custom_lin[bwd, num_consts, num_nondiff, num_res](*nondiff, *residuals, *consts, *tangents) -> tangents
        the linear map whose transpose is bwd: what the jvp of custom_vjp_call leaves for transpose.

``nondiff`` are the array values among the nondiff_argnums arguments. ``consts`` are the traced values the
function closes over (closure conversion): by the time a rule runs, the trace they belong to may have
ended, so while a rule runs those Tracer objects stand for the equation's const inputs (``Rule.closure``);
a rule may thus close over the same values as its function and call the function. The user's rule does not
cover the derivative through nondiff arrays and consts: when they carry a tangent, it is that of the
primal graph.

Rules, family by family: impl runs ``call``; jvp calls the rule (custom_vjp_call: calls fwd and emits
custom_lin); transpose of custom_lin calls bwd; batching batches ``call`` and wraps each rule in a vmap.
``inline_custom(graph)`` replaces every custom call by its primal graph, for a consumer past all transforms
(the LLVM backend does the same by emitting ``call`` in place).
"""

from contextlib import contextmanager, nullcontext

import numpy as np

from .. import dtypes
from ..builder import Tracer, UnexpectedTracerError, aval_of, current_trace, emit, full, trace_graph
from ..core import Graph, Var, subgraphs
from ..interpret import eval_graph
from ..primitive import Linear, Primitive, Zero, add_tangents, instantiate, is_zero, not_mapped

CUSTOM_CALLS = ("custom_jvp_call", "custom_vjp_call")


class CustomRuleError(TypeError):
    """A custom rule returned values of the wrong shape or dtype (messages follow JAX's)."""


class Rule:
    """A user's rule with a flat calling convention (lists of arrays in, lists out).

    Hashable by identity and printed by name, so it can be a param. ``arg_avals`` are the avals of the
    differentiable arguments and ``out_avals`` those of the function's outputs: what the rule's results are
    checked against. ``closure`` are the Tracers the function closed over when it was called; a call gives
    their current values as ``consts``.
    """

    def __init__(self, fn, name, arg_avals, out_avals, closure=()):
        self.fn = fn
        self.__qualname__ = self.__name__ = name
        self.arg_avals = tuple(arg_avals)
        self.out_avals = tuple(out_avals)
        self.closure = tuple(closure)

    def __call__(self, *lists, consts=()):
        trace = current_trace()
        before = len(trace.captured) if trace is not None else 0
        try:
            with _standing_for(self.closure, consts) if self.closure else nullcontext():
                result = self.run(*lists, consts=consts)
        except UnexpectedTracerError as e:
            raise UnexpectedTracerError(f"{e}\nThis happened in the custom rule {self.__qualname__}: a "
                                        "custom rule runs when a transform differentiates the function, "
                                        "after the call that defined it returned, so it can use only the "
                                        "traced values its function closes over. Pass the others as "
                                        "arguments (an array that is not differentiated can be listed in "
                                        "nondiff_argnums).") from None
        if trace is not None and len(trace.captured) > before:
            raise UnexpectedTracerError(
                f"the custom rule {self.__qualname__} closes over a value traced by an enclosing "
                "transformation that its function does not use; pass it as an argument (an array that is "
                "not differentiated can be listed in nondiff_argnums)")
        return result

    def run(self, *lists, consts):
        return self.fn(*lists)

    def __repr__(self):
        return f"Rule({self.__qualname__})"


class _WrappedRule(Rule):
    """A rule made from another one by a transform (vmap): its function gets the consts explicitly."""

    def run(self, *lists, consts):
        return self.fn(*lists, list(consts))


@contextmanager
def _standing_for(tracers, values):
    """While the block runs, each Tracer in tracers is the corresponding value (a handle of an open trace).

    The Tracers are those a custom function closed over; their own trace has usually ended. Redirecting
    them (and restoring them after) lets a rule that closes over them run in the trace of the transform.
    """
    saved = [(t._trace, t._var, t.value) for t in tracers]
    try:
        new = [_fields(v) for v in values]  # all read before any is redirected (a value may be one of them)
        for t, (trace, var, value) in zip(tracers, new, strict=True):
            t._trace, t._var, t.value = trace, var, value
        yield
    finally:
        for t, (trace, var, value) in zip(tracers, saved):
            t._trace, t._var, t.value = trace, var, value


def _fields(value):
    """(trace, var, value) of a Tracer standing for value in the innermost open trace."""
    if not isinstance(value, Tracer):
        trace = current_trace()
        arr = np.asarray(value)
        var = Var(aval_of(arr))
        trace.consts[var] = arr
        value = Tracer(trace, var, arr if trace.with_values else None)
    return value._trace, value._var, value.value


# --------------------------------------------------------------------------------------------------
# Binding: trace the primal function, wrap the rules


def _values(args):
    vals = [a.value if isinstance(a, Tracer) else a for a in args]
    return None if any(v is None for v in vals) else vals


def _primal_graph(name, fun, args):
    """The function traced (with values when all are known, so Python control flow on them works)."""
    in_avals = [aval_of(a) for a in args]
    graph, captured = trace_graph(fun, in_avals, _values(args), name=f"custom function {name}")
    return graph, captured


def custom_jvp_call(name, fun, rule, rule_name, nondiff, args):
    """Bind custom_jvp_call: ``fun(*nondiff, *args) -> outs`` and ``rule(nondiff, primals, tangents) ->
    (outs, tangents)`` on flat lists. Returns the list of outputs."""
    call, consts = _primal_graph(name, fun, [*nondiff, *args])
    jvp = Rule(rule, rule_name, [aval_of(a) for a in args], call.out_avals, consts)
    return custom_jvp_call_p.bind(*nondiff, *args, *consts, call=call, jvp=jvp, num_consts=len(consts),
                                  num_nondiff=len(nondiff))


def custom_vjp_call(name, fun, fwd, fwd_name, bwd, bwd_name, nondiff, args):
    """Bind custom_vjp_call: ``fun(*nondiff, *args) -> outs``, ``fwd(nondiff, args) -> (outs, residuals)``,
    ``bwd(nondiff, residuals, cotangents) -> cotangents of args`` (None for a zero), on flat lists."""
    call, consts = _primal_graph(name, fun, [*nondiff, *args])
    arg_avals = [aval_of(a) for a in args]
    return custom_vjp_call_p.bind(*nondiff, *args, *consts, call=call,
                                  fwd=Rule(fwd, fwd_name, arg_avals, call.out_avals, consts),
                                  bwd=Rule(bwd, bwd_name, arg_avals, call.out_avals, consts),
                                  num_consts=len(consts), num_nondiff=len(nondiff))


# --------------------------------------------------------------------------------------------------
# Calling the rules, their results checked


def _as_aval(x, aval, message):
    """A rule's result as a value of type aval: a Python scalar takes it; anything else must match."""
    if dtypes.weak_kind(x) is not None:
        x = np.asarray(x, aval.dtype)
        return full(aval.shape, x, aval.dtype) if aval.shape else x
    got = aval_of(x)
    if got != aval:
        raise CustomRuleError(message(got))
    return x


def _zeros(aval):
    return full(aval.shape, 0, aval.dtype)


def call_jvp_rule(rule, nondiff, primals, tangents, consts):
    """(outs, tangents of outs), checked; integer outputs get zero tangents whatever the rule says."""
    outs, touts = rule(list(nondiff), list(primals), list(tangents), consts=list(consts))
    n = len(rule.out_avals)
    if len(outs) != n or len(touts) != n:
        raise CustomRuleError(f"Custom JVP rule {rule.__qualname__} must produce {n} primal and tangent "
                              f"outputs (one per output of the function), got {len(outs)} and {len(touts)}")
    outs = [_as_aval(o, a, lambda got, a=a: (
        f"Custom JVP rule {rule.__qualname__} must produce primal outputs with the shapes and dtypes of the "
        f"function's outputs, but got {got} where the function gives {a}"))
        for o, a in zip(outs, rule.out_avals)]
    checked = []
    for t, a in zip(touts, rule.out_avals):
        if not dtypes.is_float(a.dtype):
            checked.append(Zero(a))
        else:
            checked.append(_as_aval(t, a, lambda got, a=a: (
                "Custom JVP rule must produce primal and tangent outputs with equal shapes and dtypes, but "
                f"got {a} and {got} respectively (rule {rule.__qualname__})")))
    return outs, checked


def call_fwd_rule(rule, nondiff, args, consts):
    """(outs, residuals), checked."""
    outs, res = rule(list(nondiff), list(args), consts=list(consts))
    n = len(rule.out_avals)
    if len(outs) != n:
        raise CustomRuleError(f"Custom VJP fwd rule {rule.__qualname__} must produce {n} primal outputs "
                              f"(one per output of the function), got {len(outs)}")
    outs = [_as_aval(o, a, lambda got, a=a: (
        f"Custom VJP fwd rule {rule.__qualname__} must produce primal outputs with the shapes and dtypes of "
        f"the function's outputs, but got {got} where the function gives {a}"))
        for o, a in zip(outs, rule.out_avals)]
    return outs, [r if isinstance(r, Tracer) else _array(r) for r in res]


def call_bwd_rule(rule, nondiff, res, cts, consts):
    """Cotangents of the arguments, checked; None (or an integer argument) gives None."""
    cts_in = rule(list(nondiff), list(res), list(cts), consts=list(consts))
    if len(cts_in) != len(rule.arg_avals):
        raise CustomRuleError(f"Custom VJP bwd rule {rule.__qualname__} must produce "
                              f"{len(rule.arg_avals)} cotangents (one per argument), got {len(cts_in)}")
    out = []
    for ct, a in zip(cts_in, rule.arg_avals):
        if ct is None or is_zero(ct) or not dtypes.is_float(a.dtype):
            out.append(None)
        else:
            out.append(_as_aval(ct, a, lambda got, a=a: (
                f"Custom VJP bwd rule {rule.__qualname__} must produce an output with the same shape/dtypes "
                f"as the args tuple of the primal function, but it produced {got} for an input of {a}")))
    return out


def _array(x):
    if dtypes.weak_kind(x) is not None:
        return np.asarray(x, dtypes.result_type(dtypes.weak_kind(x)))
    arr = np.asarray(x)
    return arr.astype(dtypes.canonical(arr.dtype), copy=False)


# --------------------------------------------------------------------------------------------------
# Rules shared by both calls


def _split(xs, num_nondiff, num_consts):
    """(nondiff, args, consts) of a custom call's inputs (or of anything laid out like them)."""
    xs = list(xs)
    stop = len(xs) - num_consts
    return xs[:num_nondiff], xs[num_nondiff:stop], xs[stop:]


def _call_shape_rule(*avals, call, **params):
    if list(avals) != call.in_avals:
        raise TypeError(f"a custom call whose function takes {', '.join(map(str, call.in_avals))} got "
                        f"{', '.join(map(str, avals))}")
    return call.out_avals


def _call_impl(*args, call, **params):
    return eval_graph(call, *args)


def _closed_over_jvp(call, primals, tangents, num_nondiff, num_consts, touts):
    """touts plus the derivative through nondiff arrays and closed-over values (of the primal graph)."""
    nd_ts, arg_ts, const_ts = _split(tangents, num_nondiff, num_consts)
    if all(is_zero(t) for t in nd_ts + const_ts):
        return touts
    from ..jvp import jvp_eval
    only_those = nd_ts + [Zero(aval_of(t)) for t in arg_ts] + const_ts
    _, extra = jvp_eval(call, primals, only_those)
    return [add_tangents(t, e) for t, e in zip(touts, extra, strict=True)]


def _call_transpose(cts, *args, call, **params):
    """A custom call in a linear position is linear itself: transpose its primal graph (as JAX does)."""
    from ..transpose import backward_pass
    linear = [isinstance(a, Linear) for a in args]
    cts_in = backward_pass(call, linear, [a for a in args if not isinstance(a, Linear)], cts)
    it = iter(cts_in)
    return [next(it) if lin else None for lin in linear]


def _batch_size(args, dims):
    return next(aval_of(a).shape[d] for a, d in zip(args, dims) if d is not not_mapped)


def _unbatched(x, d):
    aval = aval_of(x)
    return aval if d is not_mapped else aval.update(shape=aval.shape[:d] + aval.shape[d + 1:])


def _vmapped(flat_fn, args, dims, size, out_dims):
    """flat_fn traced on one example of args (batch axes at dims) and batched; each output moved to its
    out_dim (one int: all there); an output wanted unbatched (None) is summed over the batch (a cotangent)."""
    from ..batching import batch_eval, move_batch_axis
    from ..builder import reduce_sum
    avals = [_unbatched(x, d) for x, d in zip(args, dims, strict=True)]
    graph, captured = trace_graph(flat_fn, avals, name="vmap of a custom rule")
    if captured:
        raise UnexpectedTracerError("a custom rule closes over a value traced by an enclosing "
                                    "transformation that its function does not use; pass it as an argument")
    outs, got = batch_eval(graph, list(args), list(dims))
    if isinstance(out_dims, int):
        out_dims = [out_dims] * len(outs)
    result = []
    for x, d, want in zip(outs, got, out_dims, strict=True):
        if want is not_mapped:
            result.append(x if d is not_mapped else reduce_sum(x, (d,)))
        else:
            result.append(move_batch_axis(x, d, size, want))
    return result


def _pieces(xs, *counts):
    """xs cut into consecutive lists of the given lengths (the last one takes the rest)."""
    xs, out, start = list(xs), [], 0
    for n in counts:
        out.append(xs[start:start + n])
        start += n
    return out + [xs[start:]]


# --------------------------------------------------------------------------------------------------
# custom_jvp_call

custom_jvp_call_p = Primitive("custom_jvp_call", family="custom", multiple_results=True)
custom_jvp_call_p.shape_rule = _call_shape_rule
custom_jvp_call_p.impl = _call_impl
custom_jvp_call_p.transpose = _call_transpose


def _custom_jvp_call_jvp(primals, tangents, *, call, jvp, num_consts, num_nondiff):
    nondiff, args, consts = _split(primals, num_nondiff, num_consts)
    _, arg_ts, _ = _split(tangents, num_nondiff, num_consts)
    if all(is_zero(t) for t in arg_ts):
        outs = custom_jvp_call_p.bind(*primals, call=call, jvp=jvp, num_consts=num_consts,
                                      num_nondiff=num_nondiff)
        touts = [Zero(a) for a in call.out_avals]
    else:  # the user's rule
        outs, touts = call_jvp_rule(jvp, nondiff, args, map(instantiate, arg_ts), consts)
    return outs, _closed_over_jvp(call, primals, tangents, num_nondiff, num_consts, touts)


def _custom_jvp_call_batch(args, dims, *, call, jvp, num_consts, num_nondiff):
    from ..batching import batch_graph
    size = _batch_size(args, dims)
    nd_dims, arg_dims, const_dims = _split(dims, num_nondiff, num_consts)
    bcall = batch_graph(call, dims, size)
    n, n_args, n_out = num_nondiff, len(arg_dims), len(call.outputs)

    def rule(nondiff, primals, tangents, consts):  # a tangent is batched like its primal
        def flat(*xs):
            nd, ps, ts, cs = _pieces(xs, n, n_args, n_args)
            outs, touts = call_jvp_rule(jvp, nd, ps, ts, cs)
            return outs + [instantiate(t) for t in touts]
        both = _vmapped(flat, [*nondiff, *primals, *tangents, *consts],
                        nd_dims + arg_dims + arg_dims + const_dims, size, 0)
        return both[:n_out], both[n_out:]

    _, batched_args, _ = _split(bcall.in_avals, num_nondiff, num_consts)
    bjvp = _WrappedRule(rule, f"vmap({jvp.__qualname__})", batched_args, bcall.out_avals)
    outs = custom_jvp_call_p.bind(*args, call=bcall, jvp=bjvp, num_consts=num_consts, num_nondiff=num_nondiff)
    return outs, [0] * len(outs)


custom_jvp_call_p.jvp = _custom_jvp_call_jvp
custom_jvp_call_p.batch = _custom_jvp_call_batch


# --------------------------------------------------------------------------------------------------
# custom_vjp_call

custom_vjp_call_p = Primitive("custom_vjp_call", family="custom", multiple_results=True)
custom_vjp_call_p.shape_rule = _call_shape_rule
custom_vjp_call_p.impl = _call_impl
custom_vjp_call_p.transpose = _call_transpose


def _custom_vjp_call_jvp(primals, tangents, *, bwd, call, fwd, num_consts, num_nondiff):
    nondiff, args, consts = _split(primals, num_nondiff, num_consts)
    _, arg_ts, _ = _split(tangents, num_nondiff, num_consts)
    if all(is_zero(t) for t in arg_ts):
        outs = custom_vjp_call_p.bind(*primals, bwd=bwd, call=call, fwd=fwd, num_consts=num_consts,
                                      num_nondiff=num_nondiff)
        touts = [Zero(a) for a in call.out_avals]
    else:  # the user's fwd gives outputs and residuals; custom_lin holds on to bwd for the transpose
        outs, res = call_fwd_rule(fwd, nondiff, args, consts)
        touts = custom_lin_p.bind(*nondiff, *res, *consts, *map(instantiate, arg_ts), bwd=bwd,
                                  num_consts=num_consts, num_nondiff=num_nondiff, num_res=len(res))
    return outs, _closed_over_jvp(call, primals, tangents, num_nondiff, num_consts, touts)


def _batched_bwd(bwd, nd_dims, res_dims, const_dims, size, arg_dims, arg_avals, out_avals):
    """bwd under vmap: cotangents of the outputs come batched along axis 0; each argument's cotangent is
    laid out as the argument (summed over the batch when the argument is not batched)."""
    n, n_res, n_out = len(nd_dims), len(res_dims), len(out_avals)

    def rule(nondiff, res, cts, consts):
        def flat(*xs):
            nd, rs, cs_out, cs = _pieces(xs, n, n_res, n_out)
            cts_in = call_bwd_rule(bwd, nd, rs, cs_out, cs)
            return [_zeros(a) if c is None else c for c, a in zip(cts_in, bwd.arg_avals)]
        return _vmapped(flat, [*nondiff, *res, *cts, *consts], nd_dims + res_dims + [0] * n_out + const_dims,
                        size, arg_dims)

    return _WrappedRule(rule, f"vmap({bwd.__qualname__})", arg_avals, out_avals)


def _custom_vjp_call_batch(args, dims, *, bwd, call, fwd, num_consts, num_nondiff):
    from ..batching import batch_graph
    size = _batch_size(args, dims)
    nd_dims, arg_dims, const_dims = _split(dims, num_nondiff, num_consts)
    bcall = batch_graph(call, dims, size)
    n, n_out = num_nondiff, len(call.outputs)

    def fwd_rule(nondiff, primals, consts):  # outputs and residuals all batched along axis 0
        def flat(*xs):
            nd, ps, cs = _pieces(xs, n, len(primals))
            outs, res = call_fwd_rule(fwd, nd, ps, cs)
            return outs + res
        outs = _vmapped(flat, [*nondiff, *primals, *consts], nd_dims + arg_dims + const_dims, size, 0)
        return outs[:n_out], outs[n_out:]

    _, batched_args, _ = _split(bcall.in_avals, num_nondiff, num_consts)
    bfwd = _WrappedRule(fwd_rule, f"vmap({fwd.__qualname__})", batched_args, bcall.out_avals)

    def bwd_rule(nondiff, res, cts, consts):  # the residuals come from bfwd: batched along axis 0
        inner = _batched_bwd(bwd, nd_dims, [0] * len(res), const_dims, size, arg_dims, batched_args,
                             bcall.out_avals)
        return inner.run(nondiff, res, cts, consts=consts)

    bbwd = _WrappedRule(bwd_rule, f"vmap({bwd.__qualname__})", batched_args, bcall.out_avals)
    outs = custom_vjp_call_p.bind(*args, bwd=bbwd, call=bcall, fwd=bfwd, num_consts=num_consts,
                                  num_nondiff=num_nondiff)
    return outs, [0] * len(outs)


custom_vjp_call_p.jvp = _custom_vjp_call_jvp
custom_vjp_call_p.batch = _custom_vjp_call_batch


# --------------------------------------------------------------------------------------------------
# custom_lin: the linear map given by its transpose

custom_lin_p = Primitive("custom_lin", family="custom", multiple_results=True)
custom_lin_p.shape_rule = lambda *avals, bwd, num_consts, num_nondiff, num_res: bwd.out_avals


def _forward_mode_error(name):
    return TypeError(f"can't apply forward-mode autodiff (jvp) to a custom_vjp function: its rule {name} "
                     "gives only the transpose of the derivative. Differentiate it in reverse mode (grad, "
                     "vjp, jacrev), or give the function a forward rule with custom_jvp.")


def _custom_lin_impl(*args, bwd, num_consts, num_nondiff, num_res):
    raise _forward_mode_error(bwd.__qualname__)


def _custom_lin_jvp(primals, tangents, *, bwd, num_consts, num_nondiff, num_res):
    raise _forward_mode_error(bwd.__qualname__)


def _custom_lin_transpose(cts, *args, bwd, num_consts, num_nondiff, num_res):
    nondiff, res, consts, _ = _pieces(args, num_nondiff, num_res, num_consts)
    if any(isinstance(a, Linear) for a in nondiff + res + consts):
        raise ValueError(f"custom_lin of {bwd.__qualname__}: only the tangents can be linear inputs")
    if all(is_zero(c) for c in cts):
        return [None] * len(args)
    cts_in = call_bwd_rule(bwd, nondiff, res, map(instantiate, cts), consts)  # the user's bwd
    return [None] * (num_nondiff + num_res + num_consts) + cts_in


def _custom_lin_batch(args, dims, *, bwd, num_consts, num_nondiff, num_res):
    size = _batch_size(args, dims)
    nd_dims, res_dims, const_dims, t_dims = _pieces(dims, num_nondiff, num_res, num_consts)
    tangents = args[num_nondiff + num_res + num_consts:]
    out_avals = [a.update(shape=(size,) + a.shape) for a in bwd.out_avals]
    bbwd = _batched_bwd(bwd, nd_dims, res_dims, const_dims, size, t_dims, [aval_of(t) for t in tangents],
                        out_avals)
    outs = custom_lin_p.bind(*args, bwd=bbwd, num_consts=num_consts, num_nondiff=num_nondiff, num_res=num_res)
    return outs, [0] * len(outs)


custom_lin_p.impl = _custom_lin_impl
custom_lin_p.jvp = _custom_lin_jvp
custom_lin_p.transpose = _custom_lin_transpose
custom_lin_p.batch = _custom_lin_batch


def _register_simplify_rows():
    from .. import simplify

    @simplify.row("custom_lin")
    def custom_lin_of_zero(ins, bwd, num_consts, num_nondiff, num_res):  # custom_lin(res, 0) → 0
        if all(simplify.is_zero(t) for t in ins[num_nondiff + num_res + num_consts:]):
            return [simplify.zeros_like_out(a) for a in bwd.out_avals]
        return None


_register_simplify_rows()


# --------------------------------------------------------------------------------------------------
# Lowering custom rules away


def has_custom(graph):
    """Does graph (or a graph nested in it) contain a custom call?"""
    work = [graph]
    while work:
        g = work.pop()
        for eqn in g.eqns:
            if eqn.prim.family == "custom":
                return True
            work.extend(subgraphs(eqn.params))
    return False


def inline_custom(graph):
    """graph with every custom call replaced by its primal graph, nested graphs included: what a
    backend compiles. A graph without custom calls is returned as it is."""
    if not has_custom(graph):
        return graph
    out, captured = trace_graph(lambda *args: _inline_eval(graph, args), graph.in_avals,
                                name="inline_custom")
    assert not captured
    return out


def _inline_param(value):
    if isinstance(value, Graph):
        return inline_custom(value)
    if isinstance(value, tuple):
        return tuple(_inline_param(v) for v in value)
    return value


def _inline_eval(graph, args):
    env = dict(graph.consts)
    env.update(zip(graph.inputs, args, strict=True))

    def read(atom):
        return env[atom] if isinstance(atom, Var) else atom.value

    for eqn in graph.eqns:
        ins = [read(a) for a in eqn.inputs]
        if eqn.prim.name in CUSTOM_CALLS:
            outs = _inline_eval(eqn.params["call"], ins)
        elif eqn.prim is custom_lin_p:
            raise _forward_mode_error(eqn.params["bwd"].__qualname__)
        else:
            params = {k: _inline_param(v) for k, v in eqn.params.items()}
            outs = emit(current_trace(), eqn.prim, ins, params)  # never folded: effects stay in order
            outs = outs if eqn.prim.multiple_results else [outs]
        env.update(zip(eqn.outputs, outs, strict=True))
    return [read(a) for a in graph.outputs]


__all__ = ["custom_jvp_call", "custom_vjp_call", "custom_jvp_call_p", "custom_vjp_call_p", "custom_lin_p",
           "Rule", "inline_custom", "has_custom", "CustomRuleError"]
