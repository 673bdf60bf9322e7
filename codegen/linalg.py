"""dot_general as a loop nest.

The output's axes are (batch, lhs free, rhs free). Two loop orders, picked from the operands' layout so the
innermost loop walks contiguous memory and vectorises:

- rhs's last axis is free ("axpy" order): ``for b, i, k: for j: out[b, i, j] += lhs[b, i, k] * rhs[b, k, j]``
- rhs's last axis is contracted ("dot" order): ``for b, i, j: acc = sum_k lhs[b, i, k] * rhs[b, j, k]``

All sizes are static, so tiny products unroll completely and pay no call.
"""

from jaxlike.ir import dtypes

from . import emit


def _free(ndim, contract, batch):
    return tuple(i for i in range(ndim) if i not in contract and i not in batch)


def emit_dot_general(k, eqn):
    b = k.b
    x, y = eqn.inputs
    out = eqn.outputs[0]
    (xc, yc), (xb, yb) = eqn.params["dimension_numbers"]
    xf, yf = _free(x.aval.ndim, xc, xb), _free(y.aval.ndim, yc, yb)
    dt = out.aval.dtype
    is_float = dtypes.is_float(dt)
    if 0 in out.aval.shape:
        return
    nb, nxf = len(xb), len(xf)
    contract_shape = tuple(x.aval.shape[i] for i in xc)
    zero = emit.const(dt, 0)

    def add(a, c):
        return b.fadd(a, c, flags=("reassoc",)) if is_float else b.add(a, c)

    def mul(a, c):
        return b.fmul(a, c) if is_float else b.mul(a, c)

    def operand_index(ndim, batch_axes, batch_ivs, free_axes, free_ivs, contract_axes, contract_ivs):
        idx = [None] * ndim
        for axes, ivs in ((batch_axes, batch_ivs), (free_axes, free_ivs), (contract_axes, contract_ivs)):
            for a, iv in zip(axes, ivs, strict=True):
                idx[a] = iv
        return idx

    dot_order = y.aval.ndim > 0 and (y.aval.ndim - 1) in yc
    if dot_order or 0 in contract_shape:
        acc_slot = emit.alloca_entry(b, emit.value_type(dt))
        with emit.loop_nest(b, out.aval.shape, name="o") as ivs:
            bi, fi, fj = ivs[:nb], ivs[nb:nb + nxf], ivs[nb + nxf:]
            b.store(zero, acc_slot)
            if 0 not in contract_shape:
                with emit.loop_nest(b, contract_shape, name="c") as cs:
                    xv = k.load(x, operand_index(x.aval.ndim, xb, bi, xf, fi, xc, cs))
                    yv = k.load(y, operand_index(y.aval.ndim, yb, bi, yf, fj, yc, cs))
                    acc = b.load(acc_slot, typ=emit.value_type(dt))
                    b.store(add(acc, mul(xv, yv)), acc_slot)
            k.store(out, ivs, b.load(acc_slot, typ=emit.value_type(dt)))
        return
    with emit.loop_nest(b, out.aval.shape, name="z") as ivs:
        k.store(out, ivs, zero)
    batch_shape = out.aval.shape[:nb]
    xf_shape = out.aval.shape[nb:nb + nxf]
    yf_shape = out.aval.shape[nb + nxf:]
    with emit.loop_nest(b, batch_shape + xf_shape + contract_shape, name="o") as outer:
        bi, fi, cs = outer[:nb], outer[nb:nb + nxf], outer[nb + nxf:]
        xv = k.load(x, operand_index(x.aval.ndim, xb, bi, xf, fi, xc, cs))
        with emit.loop_nest(b, yf_shape, name="j") as fj:
            yv = k.load(y, operand_index(y.aval.ndim, yb, bi, yf, fj, yc, cs))
            oi = list(bi) + list(fi) + list(fj)
            k.store(out, oi, add(k.load(out, oi), mul(xv, yv)))
