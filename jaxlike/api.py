"""Each transform as a short pipeline: flatten → trace → passes → simplify → run → unflatten.

Called on concrete arrays, a transform traces the function with values attached (Python control flow on
values works and the derivative follows the branch taken) and runs the derived graph on the interpreter.
Called on Tracers (inside jit, vmap or another derivative), the derived graph is inlined into the open trace.
"""

import functools
from contextlib import contextmanager

import numpy as np

from . import tree
from .ir import dtypes
from .ir.batching import batch_graph
from .ir.builder import Tracer, aval_of, state, trace_graph
from .ir.core import AVal
from .ir.dce import dce
from .ir.interpret import eval_graph
from .ir.jvp import jvp_graph
from .ir.partial_eval import partial_eval
from .ir.simplify import simplify
from .ir.transpose import transpose_graph


# --------------------------------------------------------------------------------------------------
# Flattening and tracing


def _fun_name(f):
    return getattr(f, "__name__", type(f).__name__)


def _leaf_aval(path, x, what="argument"):
    if isinstance(x, Tracer):
        return x.aval
    if dtypes.weak_kind(x) is not None:
        return AVal((), dtypes.result_type(dtypes.weak_kind(x)))
    if isinstance(x, (np.ndarray, np.generic)):
        try:
            return AVal(np.shape(x), x.dtype)
        except TypeError as e:
            raise TypeError(f"{what} {path or ''} has dtype {x.dtype}, which jaxlike does not support: "
                            f"{e}") from None
    raise TypeError(f"{what} {path or ''} of type {type(x).__name__} is not a valid jaxlike type: pass "
                    "NumPy arrays, Python scalars, or pytrees (tuples, lists, dicts) of them")


def _as_leaf(x):
    """Python scalars become 0-d arrays of their default dtype; arrays and Tracers are kept."""
    if isinstance(x, Tracer):
        return x
    if dtypes.weak_kind(x) is not None:
        return np.asarray(x, dtypes.result_type(dtypes.weak_kind(x)))
    arr = np.asarray(x)
    return arr.astype(dtypes.canonical(arr.dtype), copy=False)


def flatten_args(args, argname="args"):
    """Leaves (arrays or Tracers), their avals, and the treedef; errors name the leaf's pytree path."""
    pairs = tree.flatten_with_paths(tuple(args))
    avals = [_leaf_aval(argname + path, x) for path, x in pairs]
    leaves = [_as_leaf(x) for _, x in pairs]
    return leaves, avals, tree.structure(tuple(args))


def _values(leaves):
    """Concrete values of the leaves, or None if any leaf is an abstract Tracer."""
    vals = [x.value if isinstance(x, Tracer) else x for x in leaves]
    return None if any(v is None for v in vals) else vals


class Traced:
    """A function traced to a Graph: the graph, the outer values it captured, and the output structure."""

    def __init__(self, graph, captured, out_tree, aux=None):
        self.graph = graph
        self.captured = captured
        self.out_tree = out_tree
        self.aux = aux


def trace_fn(f, args, kwargs=None, *, name, abstract=False, has_aux=False, in_avals=None):
    """Trace f(*args, **kwargs) with flat array inputs. kwargs are closed over (not inputs).

    With has_aux, f returns (out, aux); aux is returned as traced values of the outer context, not graph
    outputs (it is not differentiated).
    """
    leaves, avals, in_tree = flatten_args(args)
    if in_avals is not None:
        avals = in_avals
    values = None if abstract else _values(leaves)
    kwargs = kwargs or {}
    box = {}

    def flat_fun(*flat):
        out = f(*in_tree.unflatten(flat), **kwargs)
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError("expected function with aux output to return a two-element tuple, but got "
                                f"{type(out).__name__}"
                                + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
                                + f": {_fun_name(f)} was given has_aux=True, so it must return a pair "
                                "(output, aux)")
            out, aux = out
            box["aux"] = aux
        out_pairs = tree.flatten_with_paths(out)
        for path, leaf in out_pairs:
            _leaf_aval("output" + path, leaf, what=f"{_fun_name(f)} returned an output")
        box["out_tree"] = tree.structure(out)
        return [leaf if isinstance(leaf, Tracer) else _as_leaf(leaf) for _, leaf in out_pairs]

    graph, captured = trace_graph(flat_fun, avals, values, name=f"{name} of {_fun_name(f)}")
    traced = Traced(graph, captured, box["out_tree"], box.get("aux"))
    traced.leaves = leaves
    traced.in_tree = in_tree
    return traced


def run(build, in_avals, args):
    """Trace ``build`` (flat arrays -> flat list) to a graph, simplify it, and run it on args."""
    graph, captured = trace_graph(build, in_avals, name="transform")
    graph = simplify(graph)
    return eval_graph(graph, *args, *captured)


def _aux_values(aux):
    """aux computed in a finished trace: hand out its concrete values (eager), or fail clearly."""
    def conv(x):
        if isinstance(x, Tracer):
            if x.value is not None:
                return x.value
            if x._trace.alive:
                return x
            raise TypeError("has_aux output depends on an abstract traced value; it cannot be returned "
                            "from inside jit or vmap tracing of this function")
        return x
    return tree.tree_map(conv, aux)


# --------------------------------------------------------------------------------------------------
# Which inputs are differentiated


class ArgnumsError(TypeError, ValueError):
    """argnums names an argument the call does not have (a TypeError, as in JAX)."""


def _normalize_argnums(argnums, nargs, fname):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise ValueError(f"{fname}: argnums must name at least one argument, got ()")
    out = []
    for a in nums:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            need = max(a + 1, -a)
            raise ArgnumsError(f"{fname}: argnums {argnums!r} is out of range: differentiating with respect "
                               f"to argnums={argnums!r} requires at least {need} positional arguments to be "
                               f"passed by the caller, but got only {nargs} positional argument"
                               f"{'s' if nargs != 1 else ''}.")
        out.append(int(a) % nargs)
    return single, tuple(out)


def _diff_mask(args, argnums, fname, require_float=True):
    """One flag per leaf of args: is it differentiated? Integer inputs to differentiate are an error."""
    mask = []
    for i, a in enumerate(args):
        for path, leaf in tree.flatten_with_paths(a, prefix=f"args[{i}]"):
            diff = i in argnums
            if diff and require_float and not dtypes.is_float(_leaf_aval(path, leaf).dtype):
                raise TypeError(
                    f"{fname} requires real-valued (float) inputs (input dtype that is a sub-dtype of "
                    f"np.inexact), but got {_leaf_aval(path, leaf).dtype} for {path}, which it "
                    "differentiates. Convert it with .astype(float), or leave it out of argnums.")
            mask.append(diff)
    return mask


# --------------------------------------------------------------------------------------------------
# Graph-level compositions


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
# Public transforms


def make_ir(f, *, static_argnums=()):
    """``make_ir(f)(*args)``: the Graph f traces to (abstractly, like jax.make_jaxpr).

    Equations whose outputs nothing uses are left out: a transform applied inside f leaves some in the
    trace (jacrev evaluates its primal graph for the residuals and discards the primal outputs). Nested
    graphs print as traced (a loop keeps its carries; jit's lowering trims them).
    """
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        traced = trace_fn(f, args, kwargs, name="make_ir", abstract=True)
        return dce(traced.graph, trim_nested=False)
    return wrapped


make_jaxpr = make_ir


def _check_tangents(primals, tangents):
    p_leaves, p_avals, p_tree = flatten_args(primals, "primals")
    t_leaves, t_avals, t_tree = flatten_args(tangents, "tangents")
    if p_tree != t_tree:
        raise TypeError(f"primal and tangent arguments to jvp must have the same tree structure; primals "
                        f"have tree structure {p_tree} whereas tangents have tree structure {t_tree}")
    paths = [p for p, _ in tree.flatten_with_paths(tuple(primals), "primals")]
    raw = tree.leaves(tuple(tangents))
    for i, (path, pa, ta) in enumerate(zip(paths, p_avals, t_avals)):
        if dtypes.weak_kind(raw[i]) is not None and pa.shape == ():
            t_leaves[i] = np.asarray(raw[i], pa.dtype)  # a Python scalar takes the primal's dtype
            continue
        if pa.shape != ta.shape:
            raise ValueError(f"jvp called with different primal and tangent shapes; got primal shape "
                             f"{pa.shape} and tangent shape {ta.shape} at {path}")
        if dtypes.is_float(pa.dtype) and ta.dtype != pa.dtype:
            raise TypeError(f"primal and tangent arguments to jvp do not match; dtypes must be equal. Got "
                            f"primal dtype {pa.dtype} and tangent dtype {ta.dtype} at {path}; use a tangent "
                            f"of dtype {pa.dtype}")
    return t_leaves


def _float_inputs(traced):
    """Which graph inputs carry derivatives: the float leaves of the arguments (never captured values)."""
    n_leaves = len(traced.leaves)
    return ([dtypes.is_float(a.dtype) for a in traced.graph.in_avals[:n_leaves]]
            + [False] * len(traced.captured))


def _split_known(known, traced):
    """Run the known part on the arguments: (outputs, residuals)."""
    results = eval_graph(known, *traced.leaves, *traced.captured)
    n_out = len(traced.graph.outputs)
    return results[:n_out], results[n_out:]


def jvp(f, primals, tangents, has_aux=False):
    """(f(*primals), J·tangents): forward mode, as jax.jvp."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples (or lists) of arguments, got "
                        f"{type(primals).__name__} and {type(tangents).__name__}")
    t_leaves = _check_tangents(tuple(primals), tuple(tangents))
    traced = trace_fn(f, tuple(primals), name="jvp", has_aux=has_aux)
    g = traced.graph
    diff = _float_inputs(traced)
    jg = simplify(jvp_graph(g, diff))
    tangent_args = [t for t, d in zip(t_leaves, diff) if d]
    outs = eval_graph(jg, *traced.leaves, *traced.captured, *tangent_args)
    n_out = len(g.outputs)
    primal_out = traced.out_tree.unflatten(outs[:n_out])
    tangent_out = traced.out_tree.unflatten(outs[n_out:])
    if has_aux:
        return primal_out, tangent_out, _aux_values(traced.aux)
    return primal_out, tangent_out


def linearize(f, *primals, has_aux=False):
    """(f(*primals), f_jvp): f_jvp(*tangents) runs only the linear part of the jvp, never f again."""
    traced = trace_fn(f, primals, name="linearize", has_aux=has_aux)
    diff = _float_inputs(traced)
    known, linear, _ = linearize_graphs(traced.graph, diff)
    outs, residuals = _split_known(known, traced)

    def f_jvp(*tangents):
        t_leaves = _check_tangents(tuple(primals), tangents)
        lin_out = eval_graph(linear, *residuals, *[t for t, d in zip(t_leaves, diff) if d])
        return traced.out_tree.unflatten(lin_out)

    f_jvp.graph = linear
    out = traced.out_tree.unflatten(outs)
    return (out, f_jvp, _aux_values(traced.aux)) if has_aux else (out, f_jvp)


def vjp(f, *primals, has_aux=False):
    """(f(*primals), f_vjp): f_vjp(cotangent) gives one cotangent per primal, as jax.vjp."""
    traced = trace_fn(f, primals, name="vjp", has_aux=has_aux)
    g = traced.graph
    n_leaves, n_out = len(traced.leaves), len(g.outputs)
    diff = _float_inputs(traced)
    known, transposed, _ = vjp_graphs(g, diff)
    outs, residuals = _split_known(known, traced)
    out_avals = g.out_avals

    def f_vjp(cotangent):
        ct_leaves, ct_avals, ct_tree = flatten_args((cotangent,), "cotangent")
        if ct_tree != tree.structure((traced.out_tree.unflatten([0] * n_out),)):
            got_tree = ct_tree.children[0] if ct_tree.children else ct_tree
            raise TypeError(f"Tree structure of cotangent input {got_tree}, does not match structure of "
                            f"primal output {traced.out_tree}.")
        raw = tree.leaves(cotangent)
        for i, (want, got) in enumerate(zip(out_avals, ct_avals)):
            if dtypes.weak_kind(raw[i]) is not None and want.shape == ():
                ct_leaves[i] = np.asarray(raw[i], want.dtype)  # a Python scalar takes the output's dtype
                continue
            if dtypes.is_float(want.dtype) and want.dtype != got.dtype:
                raise TypeError(f"Type of cotangent input to vjp pullback function ({got.dtype}) is not the "
                                f"expected tangent type ({want.dtype}) of corresponding primal output with "
                                f"dtype {want.dtype} (output leaf {i})")
            if want.shape != got.shape:
                raise ValueError(f"Shape of cotangent input to vjp pullback function {got.shape} must be the "
                                 f"same as the shape of corresponding primal output {want.shape} (output "
                                 f"leaf {i})")
        cts = eval_graph(transposed, *residuals, *ct_leaves)
        it = iter(cts)
        full = [next(it) if d else np.zeros(a.shape, a.dtype) for a, d in zip(g.in_avals[:n_leaves], diff)]
        return traced.in_tree.unflatten(full)

    f_vjp.graph = transposed
    out = traced.out_tree.unflatten(outs)
    return (out, f_vjp, _aux_values(traced.aux)) if has_aux else (out, f_vjp)


def _scalar_output_check(fname, aval):
    if aval.shape != ():
        raise TypeError(f"Gradient only defined for scalar-output functions. Output had shape: {aval.shape}. "
                        f"Use jacrev (or jacfwd) for the Jacobian of a non-scalar output, or reduce it first, "
                        f"e.g. {fname}(lambda x: f(x).sum()).")
    if not dtypes.is_float(aval.dtype):
        raise TypeError(f"{fname} requires real-valued outputs (output dtype that is a sub-dtype of "
                        f"np.floating), but got {aval.dtype}. For functions with integer outputs, use vjp.")


def value_and_grad(f, argnums=0, has_aux=False):
    """(f(*args), ∂f/∂args[argnums]) in one reverse pass, as jax.value_and_grad."""
    return _grad(f, argnums, has_aux, with_value=True, fname="value_and_grad")


def grad(f, argnums=0, has_aux=False):
    """∂f/∂args[argnums] for a scalar f, as jax.grad."""
    return _grad(f, argnums, has_aux, with_value=False, fname="grad")


def _grad(f, argnums, has_aux, with_value, fname):
    @functools.wraps(f)
    def wrapped(*args, **kwargs):
        single, nums = _normalize_argnums(argnums, len(args), fname)
        diff_leaves = _diff_mask(args, nums, fname)
        traced = trace_fn(f, args, kwargs, name=fname, has_aux=has_aux)
        g = traced.graph
        if len(g.outputs) != 1:
            raise TypeError(f"{fname} requires a function with a single scalar output; "
                            f"{_fun_name(f)} returned {traced.out_tree}")
        _scalar_output_check(fname, g.out_avals[0])
        diff = diff_leaves + [False] * len(traced.captured)
        known, transposed, nres = vjp_graphs(g, diff)

        def build(*xs):
            results = eval_graph(known, *xs)
            one = np.ones((), g.out_avals[0].dtype)
            grads = eval_graph(transposed, *results[1:], one)
            return results[:1] + grads if with_value else grads

        outs = run(build, g.in_avals, [*traced.leaves, *traced.captured])
        grads = outs[1:] if with_value else outs
        grads_tree = _select_args(args, nums, grads)
        result = grads_tree[0] if single else tuple(grads_tree)
        if with_value:
            value = traced.out_tree.unflatten(outs[:1])
            return ((value, _aux_values(traced.aux)), result) if has_aux else (value, result)
        return (result, _aux_values(traced.aux)) if has_aux else result

    return wrapped


def _select_args(args, nums, flat_grads):
    """Unflatten per-leaf results of the differentiated leaves (in argument order) into the structure of
    each args[i] for i in nums (in the order nums gives)."""
    it = iter(flat_grads)
    per_arg = {}
    for i in sorted(set(nums)):
        n = len(tree.leaves(args[i]))
        per_arg[i] = tree.structure(args[i]).unflatten([next(it) for _ in range(n)])
    return [per_arg[i] for i in nums]


def stop_gradient(x):
    """x, with a zero derivative in every mode (applied to every leaf of a pytree)."""
    from .ir.prims.misc import stop_gradient as _sg
    return tree.tree_map(lambda leaf: _sg(leaf) if isinstance(leaf, Tracer) else leaf, x)


@contextmanager
def no_grad():
    """Inside the block, every traced result is cut from differentiation (torch.no_grad)."""
    state.no_grad += 1
    try:
        yield
    finally:
        state.no_grad -= 1


__all__ = ["make_ir", "make_jaxpr", "jvp", "linearize", "vjp", "grad", "value_and_grad", "stop_gradient",
           "no_grad", "flatten_args", "trace_fn", "run", "vjp_graphs", "linearize_graphs", "aval_of",
           "batch_graph"]
