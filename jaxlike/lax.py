"""Structured control flow, as jax.lax: loops and branches that stay one equation in the graph.

A Python ``if`` or ``for`` on traced values either fails (jit, vmap: the value is not known while tracing)
or unrolls into the graph (eager transforms). These functions trace their bodies once, to nested Graphs,
and bind one ``cond``, ``while`` or ``scan`` equation, which every transform and the compiler understand:

    cond(pred, true_fun, false_fun, *operands)        switch(index, branches, *operands)
    while_loop(cond_fun, body_fun, init_val, *, max_steps=None)
    fori_loop(lower, upper, body_fun, init_val)       scan(f, init, xs, length=None, reverse=False)
    map(f, xs, batch_size=None)

Operands, carries and xs are pytrees. Values a body closes over become extra operands of the equation. Outside
any trace (NumPy inputs) the equation runs at once on the interpreter.
"""

import operator

import numpy as np

from . import tree
from .api import _as_leaf, _fun_name, _leaf_aval
from .ir import dtypes
from .ir.builder import Tracer, aval_of, convert, dtype_item, elementwise, promote, reshape, trace_graph
from .ir.core import Graph, Var
from .ir.interpret import eval_graph
from .ir.prims import control
from .ir.prims.shape import concatenate, slice_


# --------------------------------------------------------------------------------------------------
# Tracing a body


def _flatten(value, what):
    """(leaves, avals, treedef) of a pytree of arrays; errors name the leaf's path."""
    pairs = tree.flatten_with_paths(value)
    avals = [_leaf_aval(what + path, x, what=what) for path, x in pairs]
    return [_as_leaf(x) for _, x in pairs], avals, tree.structure(value)


def _type_str(aval):
    return f"{aval.dtype.name}[{','.join(str(d) for d in aval.shape)}]"


def _trace(fun, args_tree, in_avals, name, expected=None):
    """Trace fun(*args_tree.unflatten(leaves)) to a Graph: (graph, captured outer Tracers, output treedef).

    Python scalars among the outputs take the dtype ``expected`` gives at their position (a literal
    ``0.0`` returned for a float32 carry is a float32).
    """
    box = {}

    def flat_fun(*flat):
        out = fun(*args_tree.unflatten(flat))
        pairs = tree.flatten_with_paths(out)
        for path, leaf in pairs:
            _leaf_aval("output" + path, leaf, what=f"{name} returned an output")
        box["tree"] = tree.structure(out)
        leaves = []
        for i, (_, leaf) in enumerate(pairs):
            if expected is not None and i < len(expected) and dtypes.weak_kind(leaf) is not None:
                leaf = np.asarray(leaf, expected[i].dtype)
            leaves.append(leaf if isinstance(leaf, Tracer) else _as_leaf(leaf))
        return leaves

    graph, captured = trace_graph(flat_fun, in_avals, name=name)
    return graph, captured, box["tree"]


def _consts_first(graph, n_captured):
    """The graph with its captured inputs (traced last) moved to the front: the consts of a loop."""
    if not n_captured:
        return graph
    ins = graph.inputs
    return Graph(graph.consts, ins[-n_captured:] + ins[:-n_captured], graph.eqns, graph.outputs)


def _carry_mismatch(what, in_tree, in_avals, out_tree, out_avals):
    """JAX's message for a carry whose type changes, naming both types; None if they agree."""
    if in_tree != out_tree:
        return (f"{what} carry input and carry output must have the same pytree structure, but they differ:"
                f"\n\n  the input carry is a {in_tree} but the output carry is a {out_tree}")
    paths = [p for p, _ in tree.flatten_with_paths(in_tree.unflatten(in_avals), "carry")]
    lines = []
    for path, a, b in zip(paths, in_avals, out_avals):
        if a != b:
            diff = ("the dtypes do not match" if a.shape == b.shape else
                    "the shapes do not match" if a.dtype == b.dtype else "the shapes and dtypes do not match")
            lines.append(f"  * the input carry component {path} has type {_type_str(a)} but the "
                         f"corresponding output carry component has type {_type_str(b)}, so {diff}")
    if not lines:
        return None
    return (f"{what} carry input and carry output must have equal types (e.g. shapes and dtypes of arrays), "
            "but they differ:\n\n" + "\n".join(lines))


# --------------------------------------------------------------------------------------------------
# cond and switch


def _scalar_index(value, what):
    aval = _leaf_aval(what, value, what=what)
    if aval.shape != ():
        raise TypeError(f"{what.capitalize()} must be a scalar, got {value} of shape {aval.shape}.")
    return _as_leaf(value), aval


def cond(pred, true_fun, false_fun, *operands):
    """true_fun(*operands) if pred else false_fun(*operands), as one ``cond`` equation.

    Both branches are traced; they must return the same types. Under vmap a batched pred runs both branches
    and selects per element.
    """
    if not (callable(true_fun) and callable(false_fun)):
        raise TypeError("true_fun and false_fun arguments should be callable.")
    pred, aval = _scalar_index(pred, "pred")
    if aval.dtype.kind not in "biuf":
        raise TypeError(f"Pred type must be either boolean or number, got {aval.dtype}.")
    if aval.dtype.kind != "b":
        pred = elementwise("ne", pred, np.zeros((), aval.dtype))
    return _switch(convert(pred, dtypes.int32), (false_fun, true_fun), operands, ("false_fun", "true_fun"))


def switch(index, branches, *operands):
    """branches[clamp(index, 0, len(branches) - 1)](*operands), as one ``cond`` equation."""
    branches = tuple(branches)
    if not branches:
        raise ValueError("Empty branch sequence")
    if not all(callable(b) for b in branches):
        raise TypeError("branches argument should be a sequence of callables.")
    index, aval = _scalar_index(index, "index")
    if not dtypes.is_int(aval.dtype):
        raise TypeError(f"Index type must be an integer, got {index} of dtype {aval.dtype}.")
    return _switch(index, branches, operands, [f"branch {i}" for i in range(len(branches))])


def _switch(index, funs, operands, names):
    leaves, avals, ops_tree = _flatten(tuple(operands), "operands")
    traced = [_trace(f, ops_tree, avals, name=f"{name} of cond ({_fun_name(f)})") for f, name in zip(funs, names)]
    out_tree, out_avals = traced[0][2], traced[0][0].out_avals
    for i, (graph, _, t) in enumerate(traced[1:], 1):
        # cond names true_fun (branch 1) first, as JAX does
        first, second = (names[1], names[0]) if len(funs) == 2 and names[0] == "false_fun" else (names[0], names[i])
        a_tree, b_tree, a_avals, b_avals = ((t, out_tree, graph.out_avals, out_avals) if first == names[i]
                                            else (out_tree, t, out_avals, graph.out_avals))
        if t != out_tree:
            raise TypeError(f"{first} and {second} output must have same type structure, got {a_tree} and "
                            f"{b_tree}.")
        if graph.out_avals != out_avals:
            paths = [p for p, _ in tree.flatten_with_paths(out_tree.unflatten(out_avals), "output")]
            diffs = [f"  {p}: {_type_str(a)} from {first} vs. {_type_str(b)} from {second}"
                     for p, a, b in zip(paths, a_avals, b_avals) if a != b]
            raise TypeError(f"{first} and {second} output must have identical types, got\n"
                            + "\n".join(diffs) + ".")
    # the branches' captured values, without repeats, become operands every branch takes
    captured, seen = [], {}
    for _, caps, _ in traced:
        for t in caps:
            if id(t) not in seen:
                seen[id(t)] = len(captured)
                captured.append(t)
    graphs = []
    for graph, caps, _ in traced:
        own = {seen[id(t)]: var for t, var in zip(caps, graph.inputs[len(leaves):])}
        extra = [own.get(i, Var(t.aval)) for i, t in enumerate(captured)]
        graphs.append(Graph(graph.consts, graph.inputs[:len(leaves)] + extra, graph.eqns, graph.outputs))
    if len(graphs) == 1:
        outs = eval_graph(graphs[0], *leaves, *captured)
    else:
        outs = control.cond(index, *leaves, *captured, branches=graphs)
    return out_tree.unflatten(outs)


# --------------------------------------------------------------------------------------------------
# while_loop and fori_loop


def while_loop(cond_fun, body_fun, init_val, *, max_steps=None):
    """val = init_val; while cond_fun(val): val = body_fun(val); return val (one ``while`` equation).

    Forward mode and vmap work as in JAX. Reverse mode needs ``max_steps``: then the loop stops after at
    most max_steps iterations, and the forward pass records the carries so the backward pass can run the
    loop backwards.
    """
    if not (callable(cond_fun) and callable(body_fun)):
        raise TypeError("cond_fun and body_fun arguments should be callable.")
    if max_steps is not None and (not isinstance(max_steps, (int, np.integer)) or isinstance(max_steps, bool)
                                  or max_steps < 0):
        raise ValueError(f"while_loop: max_steps must be None or an int >= 0, got {max_steps!r}")
    leaves, avals, in_tree = _flatten(init_val, "init_val")
    args_tree = tree.structure((init_val,))
    cond_graph, cond_caps, cond_tree = _trace(cond_fun, args_tree, avals, f"cond_fun ({_fun_name(cond_fun)})")
    if cond_tree.num_leaves != 1 or cond_graph.out_avals[0].shape != () \
            or cond_graph.out_avals[0].dtype != dtypes.bool_:
        got = ", ".join(_type_str(a) for a in cond_graph.out_avals)
        raise TypeError(f"cond_fun must return a boolean scalar, but got output type(s) [{got}].")
    body_graph, body_caps, body_tree = _trace(body_fun, args_tree, avals, f"body_fun ({_fun_name(body_fun)})",
                                              expected=avals)
    message = _carry_mismatch("while_loop body function", in_tree, avals, body_tree, body_graph.out_avals)
    if message:
        raise TypeError(message)
    outs = control.while_(*cond_caps, *body_caps, *leaves,
                          cond_graph=_consts_first(cond_graph, len(cond_caps)),
                          body_graph=_consts_first(body_graph, len(body_caps)),
                          cond_nconsts=len(cond_caps), body_nconsts=len(body_caps),
                          max_steps=None if max_steps is None else int(max_steps))
    return in_tree.unflatten(outs)


def _static_int(x):
    """x as a Python int when its value is known now (a Python or NumPy integer, or a traced integer
    scalar with a value attached), else None."""
    if isinstance(x, Tracer):
        if x.value is None or x.shape != () or not dtypes.is_int(x.dtype):
            return None
        return int(x.value)
    if isinstance(x, bool):
        return None
    try:
        return operator.index(x)
    except TypeError:
        arr = np.asarray(x)
        return int(arr) if arr.shape == () and dtypes.is_int(arr.dtype) else None


def fori_loop(lower, upper, body_fun, init_val):
    """val = init_val; for i in range(lower, upper): val = body_fun(i, val); return val.

    With bounds known while tracing this is a ``scan`` (reverse mode works); with traced bounds it is a
    ``while`` (forward mode and vmap only, as in JAX).
    """
    if not callable(body_fun):
        raise TypeError("body_fun argument should be callable.")
    for name, bound in (("lower", lower), ("upper", upper)):
        kind = aval_of(bound).dtype
        if not dtypes.is_int(kind) or aval_of(bound).shape != ():
            raise TypeError(f"fori_loop {name} bound must be an integer scalar, got {_type_str(aval_of(bound))}")
    lo, hi = _static_int(lower), _static_int(upper)
    if lo is not None and hi is not None:
        index_dtype = dtypes.result_type(*[dtype_item(b) for b in (lower, upper)])
        length = max(hi - lo, 0)

        def step(carry, _):
            i, val = carry
            return (i + np.asarray(1, index_dtype), body_fun(i, val)), None

        (_, out), _ = scan(step, (np.asarray(lo, index_dtype), init_val), None, length=length)
        return out
    lower, upper = promote(lower, upper)

    def body(carry):
        i, val = carry
        return i + 1, body_fun(i, val)

    _, out = while_loop(lambda carry: carry[0] < upper, body, (lower, init_val))
    return out


# --------------------------------------------------------------------------------------------------
# scan and map


def scan(f, init, xs, length=None, reverse=False, unroll=1):
    """Loop f over the leading axis of xs, carrying a value: one ``scan`` equation.

        def scan(f, init, xs, length=None):
            carry, ys = init, []
            for x in xs:
                carry, y = f(carry, x)
                ys.append(y)
            return carry, stack(ys)

    ``unroll`` is accepted for compatibility with JAX and has no effect: the graph keeps one copy of the
    body and the compiler emits it once. Copying the body k times into the loop (k iterations per trip)
    was measured no faster on compiled scalar recurrences (docs/control_flow.md), so it is not done.
    """
    if not callable(f):
        raise TypeError("scan: f argument should be callable.")
    if not isinstance(unroll, (bool, int, np.integer)) or unroll < 0:
        raise ValueError(f"scan: unroll must be a positive int or a bool, got {unroll!r}")
    x_leaves, x_avals, x_tree = _flatten(xs, "xs")
    for (path, _), aval in zip(tree.flatten_with_paths(xs, "xs"), x_avals):
        if aval.ndim == 0:
            raise ValueError(f"scan got value with no leading axis to scan over: {path} of type "
                             f"{_type_str(aval)}.")
    sizes = [a.shape[0] for a in x_avals]
    if length is not None:
        length = operator.index(length)
        if any(s != length for s in sizes):
            raise ValueError(f"scan got `length` argument of {length} which disagrees with leading axis "
                             f"sizes {sizes}.")
    elif not sizes:
        raise ValueError("scan got no values to scan over and `length` not provided.")
    elif len(set(sizes)) > 1:
        raise ValueError(f"scan got values with different leading axis sizes: {', '.join(str(s) for s in sizes)}.")
    else:
        length = sizes[0]
    c_leaves, c_avals, c_tree = _flatten(init, "init")
    slices = [a.update(shape=a.shape[1:]) for a in x_avals]
    args_tree = tree.structure((c_tree.unflatten(c_leaves), x_tree.unflatten(x_leaves)))
    pair = {}

    def body(carry, x):
        out = f(carry, x)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            got = (f"a {type(out).__name__} of length {len(out)}" if isinstance(out, (tuple, list)) else
                   _type_str(aval_of(out)) if isinstance(out, (Tracer, np.ndarray, np.generic, int, float))
                   else type(out).__name__)
            raise TypeError(f"scan body output must be a pair (carry, y), got {got}.")
        pair["carry_tree"] = tree.structure(out[0])
        return out

    graph, captured, out_tree = _trace(body, args_tree, c_avals + slices, f"scan body ({_fun_name(f)})",
                                       expected=c_avals)
    n_carry = len(c_leaves)
    carry_out_tree = pair["carry_tree"]
    carry_out_avals = graph.out_avals[:carry_out_tree.num_leaves]
    message = _carry_mismatch("scan body function", c_tree, c_avals, carry_out_tree, carry_out_avals)
    if message:
        raise TypeError(message)
    outs = control.scan(*captured, *c_leaves, *x_leaves, body=_consts_first(graph, len(captured)),
                        length=length, reverse=reverse, num_consts=len(captured), num_carry=n_carry)
    ys_tree = out_tree.children[1]
    return c_tree.unflatten(outs[:n_carry]), ys_tree.unflatten(outs[n_carry:])


def map(f, xs, batch_size=None):  # noqa: A001  (jax.lax.map; this module never calls the builtin)
    """[f(x) for x in xs] stacked, as one ``scan``; with batch_size, f is vmapped over chunks of that size."""
    if not callable(f):
        raise TypeError("map: f argument should be callable.")
    if batch_size is None:
        return scan(lambda _, x: ((), f(x)), (), xs)[1]
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"map: batch_size must be a positive int, got {batch_size!r}")
    from .vmap import vmap
    leaves, avals, x_tree = _flatten(xs, "xs")
    if not leaves:
        raise ValueError("map got no values to map over.")
    n = avals[0].shape[0]
    n_main = n - n % batch_size

    def rows(x, start, stop):
        shape = aval_of(x).shape
        return slice_(x, (start,) + (0,) * (len(shape) - 1), (stop,) + shape[1:])

    pieces = []
    if n_main:
        main = [reshape(rows(x, 0, n_main), (n_main // batch_size, batch_size) + a.shape[1:])
                for x, a in zip(leaves, avals)]
        ys = scan(lambda _, x: ((), vmap(f)(x)), (), x_tree.unflatten(main))[1]
        y_leaves, y_tree = tree.flatten(ys)
        pieces.append([reshape(y, (n_main,) + aval_of(y).shape[2:]) for y in y_leaves])
    if n_main < n:
        rest = vmap(f)(x_tree.unflatten([rows(x, n_main, n) for x in leaves]))
        y_leaves, y_tree = tree.flatten(rest)
        pieces.append(y_leaves)
    if len(pieces) == 1:
        return y_tree.unflatten(pieces[0])
    return y_tree.unflatten([concatenate(list(ys), 0) for ys in zip(*pieces)])


__all__ = ["cond", "switch", "while_loop", "fori_loop", "scan", "map"]
