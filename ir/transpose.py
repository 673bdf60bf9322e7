"""The transpose pass: turn a linear graph into its adjoint (reverse mode).

Equations that read no linear value (they transform residuals only) are evaluated forward first; the
linear equations are then walked in reverse, each primitive's transpose rule mapping the cotangent of its
output to cotangents of its linear inputs. Cotangents accumulate by addition; a missing one is a symbolic
zero and is never materialised unless it is an output.
"""

from .builder import trace_graph
from .core import Lit
from .primitive import NONLINEAR, Linear, Zero, add_tangents, instantiate, is_zero


class NotLinearError(ValueError):
    pass


def backward_pass(graph, linear, args, cts):
    """Evaluate the transpose of graph w.r.t. the inputs marked linear.

    args: values of the non-linear inputs (in order); cts: cotangents of the outputs (Zero allowed).
    Returns one cotangent per linear input (Zero where nothing flowed).
    """
    primal_env = {}
    lin = set()

    def read_primal(atom):
        return atom.value if isinstance(atom, Lit) else primal_env[atom]

    it = iter(args)
    for var, is_lin in zip(graph.inputs, linear, strict=True):
        if is_lin:
            lin.add(var)
        else:
            primal_env[var] = next(it)
    primal_env.update(graph.consts)

    linear_eqns = []
    for eqn in graph.eqns:  # forward sweep: non-linear equations run now
        if any(not isinstance(a, Lit) and a in lin for a in eqn.inputs):
            linear_eqns.append(eqn)
            lin.update(eqn.outputs)
        else:
            outs = eqn.prim.bind(*map(read_primal, eqn.inputs), **eqn.params)
            for var, value in zip(eqn.outputs, outs if eqn.prim.multiple_results else [outs]):
                primal_env[var] = value

    ct_env = {}

    def write_ct(atom, ct):
        if ct is None or is_zero(ct) or isinstance(atom, Lit) or atom not in lin:
            return
        ct_env[atom] = add_tangents(ct_env[atom], ct) if atom in ct_env else ct

    for atom, ct in zip(graph.outputs, cts, strict=True):
        write_ct(atom, ct)
    for eqn in reversed(linear_eqns):  # backward sweep
        cts_out = [ct_env.pop(v) if v in ct_env else Zero(v.aval) for v in eqn.outputs]
        if all(is_zero(c) for c in cts_out):
            continue
        rule = eqn.prim.transpose
        if rule is None or rule == NONLINEAR:
            raise NotLinearError(f"'{eqn.prim.name}' is not linear in its input, so it cannot be transposed "
                                 "(the graph given to transpose is not linear in the inputs marked linear)")
        ins = [Linear(a.aval) if not isinstance(a, Lit) and a in lin else read_primal(a) for a in eqn.inputs]
        cts_in = rule(cts_out if eqn.prim.multiple_results else cts_out[0], *ins, **eqn.params)
        for atom, ct in zip(eqn.inputs, cts_in, strict=True):
            write_ct(atom, ct)
    return [ct_env.get(v, Zero(v.aval)) for v, is_lin in zip(graph.inputs, linear) if is_lin]


def transpose_graph(graph, linear):
    """Graph(non-linear inputs..., output cotangents...) -> (cotangents of the linear inputs...)."""
    nonlin_avals = [v.aval for v, is_lin in zip(graph.inputs, linear, strict=True) if not is_lin]
    n = len(nonlin_avals)

    def fn(*args):
        cts = backward_pass(graph, linear, args[:n], args[n:])
        return [instantiate(c) for c in cts]

    out, captured = trace_graph(fn, nonlin_avals + graph.out_avals, name="transpose")
    assert not captured
    return out
