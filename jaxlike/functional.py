"""torch.autograd.functional-style Jacobians: ``jacobian(func, inputs, ...)``.

``inputs`` is an array or a tuple of arrays; ``func(*inputs)`` returns an array or a tuple of arrays. The
result has torch's structure: one array when both are single, a tuple when one of them is a tuple, and a
tuple of tuples ``J[i][j]`` (output i, input j) when both are. Each block has shape
``outputs[i].shape + inputs[j].shape``.

- ``strategy='reverse-mode'`` (default) pulls back one output row at a time, or all rows in one batched
  pass with ``vectorize=True``; ``strategy='forward-mode'`` pushes forward the input basis and requires
  ``vectorize=True``, as in torch.
- ``strict=True`` raises when an output does not depend on an input. The dependency is read from the
  graph (is there a differentiable path from input j to output i?), not from the values, so it is exact
  and works with every strategy (torch supports it only with ``vectorize=False`` reverse mode).
- ``create_graph`` is accepted for compatibility and changes nothing: a jaxlike result is an ordinary
  traced value, and can always be differentiated again (``jacobian`` inside ``grad`` or ``jacfwd`` works).
"""

import numpy as np

from .api import trace_fn
from .ir import dtypes
from .ir.builder import Tracer
from .ir.core import Lit
from .ir.jvp import jvp_graph
from .jacobians import jacfwd, jacrev

STRATEGIES = ("forward-mode", "reverse-mode")


class ForwardModeVectorizeError(ValueError, NotImplementedError):
    """strategy='forward-mode' without vectorize=True (a ValueError; torch raises NotImplementedError)."""


def _is_array(x):
    return isinstance(x, (np.ndarray, np.generic, Tracer, float, int)) and not isinstance(x, bool)


def _as_tuple(value, what):
    """(is it a tuple, the tuple), checking every element is an array, as torch's _as_tuple does."""
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for i, item in enumerate(items):
        if not _is_array(item):
            if what == "inputs":
                raise TypeError(f"The inputs given to jacobian must be either an array or a tuple of arrays "
                                f"but the value at index {i} has type {type(item).__name__}.")
            raise TypeError(f"The outputs of the user-provided function given to jacobian must be either an "
                            f"array or a tuple of arrays but the value at index {i} has type "
                            f"{type(item).__name__}.")
    return is_tuple, tuple(items)


def dependencies(graph, diff):
    """{(output i, input j)} for each pair with a differentiable path from input j to output i.

    Read from the jvp graph: a tangent reaches an output only through primitives that propagate it, so
    stop_gradient, comparisons and integer casts cut the path (symbolic zero tangents).
    """
    jg = jvp_graph(graph, diff)
    n_in, n_out = len(graph.inputs), len(graph.outputs)
    tangent_inputs = jg.inputs[n_in:]
    reach = {var: {j} for j, var in enumerate(tangent_inputs)}
    for eqn in jg.eqns:
        found = set()
        for atom in eqn.inputs:
            if not isinstance(atom, Lit):
                found |= reach.get(atom, set())
        if found:
            for var in eqn.outputs:
                reach[var] = found
    pairs = set()
    for i, atom in enumerate(jg.outputs[n_out:]):
        for j in (set() if isinstance(atom, Lit) else reach.get(atom, set())):
            pairs.add((i, j))
    return pairs


def _check_strict(func, inputs):
    traced = trace_fn(lambda *xs: func(*xs), inputs, name="jacobian")
    g = traced.graph
    diff = [True] * len(inputs) + [False] * len(traced.captured)
    deps = dependencies(g, diff)
    for i in range(len(g.outputs)):
        for j in range(len(inputs)):
            if (i, j) not in deps:
                raise RuntimeError(f"Output {i} of the user-provided function is independent of input {j}. "
                                   "This is not allowed in strict mode.")


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``, as torch.autograd.functional.jacobian.

    Returns an array, a tuple of arrays, or a tuple of tuples (``J[i][j]``: output i, input j), each of
    shape ``outputs[i].shape + inputs[j].shape``.
    """
    if strategy not in STRATEGIES:
        raise ValueError('Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
                         'function has more outputs than inputs, "forward-mode" tends to be more performant. '
                         f'Otherwise, prefer to use "reverse-mode". Got {strategy!r}.')
    if strategy == "forward-mode" and not vectorize:
        raise ForwardModeVectorizeError(
            'jacobian: `strategy="forward-mode"` requires `vectorize=True`: computing the Jacobian with '
            "forward mode is only implemented as one vectorized pass. Please set `vectorize=True`.")
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs")
    for j, x in enumerate(inputs):
        dt = x.dtype if isinstance(x, (np.ndarray, np.generic, Tracer)) else np.asarray(x).dtype
        if not dtypes.is_float(dt):
            raise TypeError(f"jacobian: input {j} has dtype {dt}; only float inputs can be differentiated. "
                            "Convert it with .astype(float).")

    box = {}

    def flat_func(*xs):
        out = func(*xs)
        box["is_tuple"], outs = _as_tuple(out, "outputs")
        return outs

    if strict:
        _check_strict(flat_func, inputs)
    argnums = tuple(range(len(inputs)))
    if strategy == "forward-mode":
        jac = jacfwd(flat_func, argnums=argnums, randomness="same")(*inputs)
    else:
        jac = jacrev(flat_func, argnums=argnums, chunk_size=None if vectorize else 1)(*inputs)
    # jac[i][j]: output i, input j
    if is_inputs_tuple and box["is_tuple"]:
        return tuple(tuple(row) for row in jac)
    if is_inputs_tuple:
        return tuple(jac[0])
    if box["is_tuple"]:
        return tuple(row[0] for row in jac)
    return jac[0][0]


__all__ = ["jacobian", "dependencies", "ForwardModeVectorizeError"]
