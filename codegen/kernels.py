"""Rows that are more than one expression: kernels with their own loop nests, and random bits.

A kernel row ``fn(k, eqn)`` reads operands with ``k.load(atom, idx)`` and writes its outputs with
``k.store(var, idx, value)``; every index it forms is in bounds by construction (scatter clamps).
"""

from llvmlite import ir

from jaxlike.ir import dtypes

from . import emit
from .emit import i64


def _dt(atom):
    return atom.aval.dtype


# --------------------------------------------------------------------------------------------------
# Kernels: their own loop nests, reading through k.load and writing through k.store


def cumsum(k, eqn):
    b = k.b
    (x,), (out,) = eqn.inputs, eqn.outputs
    shape = x.aval.shape
    axis, reverse = eqn.params["axis"], eqn.params["reverse"]
    if 0 in shape:
        return
    dt = _dt(x)
    outer = [n for d, n in enumerate(shape) if d != axis]
    acc_slot = emit.alloca_entry(b, emit.value_type(dt))
    with emit.loop_nest(b, outer) as ivs:
        b.store(emit.const(dt, 0), acc_slot)
        with emit.for_range(b, shape[axis], name="c") as j:
            pos = b.sub(emit.index(shape[axis] - 1), j) if reverse else j
            full = list(ivs[:axis]) + [pos] + list(ivs[axis:])
            acc = b.load(acc_slot, typ=emit.value_type(dt))
            v = k.load(x, full)
            acc = b.fadd(acc, v) if dtypes.is_float(dt) else b.add(acc, v)
            b.store(acc, acc_slot)
            k.store(out, full, acc)


def concatenate(k, eqn):
    b = k.b
    out = eqn.outputs[0]
    dim = eqn.params["dimension"]
    offset = 0
    for x in eqn.inputs:
        shape = x.aval.shape
        if 0 not in shape:
            with emit.loop_nest(b, shape) as ivs:
                dst = list(ivs)
                dst[dim] = b.add(ivs[dim], emit.index(offset)) if offset else ivs[dim]
                k.store(out, dst, k.load(x, ivs))
        offset += shape[dim]


def scatter(accumulate):
    """out = x, then out[indices[b]] (+)= updates[b] in batch order: the last duplicate wins a scatter."""
    def fn(k, eqn):
        b = k.b
        x, indices, updates = eqn.inputs
        out = eqn.outputs[0]
        axes = eqn.params["axes"]
        if 0 not in x.aval.shape and not k.zeroed(out):  # zeroed: x is zeros, and out holds them already
            with emit.loop_nest(b, x.aval.shape) as ivs:
                k.store(out, ivs, k.load(x, ivs))
        if 0 in updates.aval.shape or 0 in x.aval.shape:
            return
        nbatch = indices.aval.ndim - 1
        dt = _dt(x)
        with emit.loop_nest(b, updates.aval.shape, name="u") as ivs:
            batch, rest = list(ivs[:nbatch]), iter(ivs[nbatch:])
            dst = []
            for axis, n in enumerate(x.aval.shape):
                if axis in axes:
                    raw = k.load(indices, batch + [emit.index(axes.index(axis))])
                    if raw.type != i64:
                        raw = b.zext(raw, i64) if _dt(indices).kind == "u" else b.sext(raw, i64)
                    dst.append(emit.clamp(b, raw, emit.index(0), emit.index(n - 1)))
                else:
                    dst.append(next(rest))
            value = k.load(updates, ivs)
            if accumulate:
                old = k.load(out, dst)
                if dtypes.is_bool(dt):
                    value = b.or_(old, value)
                else:
                    value = b.fadd(old, value) if dtypes.is_float(dt) else b.add(old, value)
            k.store(out, dst, value)
    return fn


# --------------------------------------------------------------------------------------------------
# Random bits: Threefry-2x32, 20 rounds, on uint32 in registers

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry_values(b, k0, k1, x0, x1):
    u32 = emit.i32
    ks = (k0, k1, b.xor(b.xor(k0, k1), ir.Constant(u32, 0x1BD11BDA)))
    x0, x1 = b.add(x0, ks[0]), b.add(x1, ks[1])
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x0 = b.add(x0, x1)
            x1 = b.or_(b.shl(x1, ir.Constant(u32, r)), b.lshr(x1, ir.Constant(u32, 32 - r)))
            x1 = b.xor(x1, x0)
        x0 = b.add(x0, ks[(i + 1) % 3])
        x1 = b.add(b.add(x1, ks[(i + 2) % 3]), ir.Constant(u32, i + 1))
    return x0, x1


def threefry2x32(b, eqn, args):
    return list(_threefry_values(b, *args))


def random_bits(v, eqn, idx):
    b = v.b
    shape = tuple(eqn.params["shape"])
    nbatch = len(idx) - len(shape)
    batch = list(idx[:nbatch])
    flat = emit.linear_index(b, idx[nbatch:], shape)
    hi = b.trunc(b.lshr(flat, emit.index(32)), emit.i32)
    lo = b.trunc(flat, emit.i32)
    k0 = v.load(0, batch + [emit.index(0)])
    k1 = v.load(0, batch + [emit.index(1)])
    y0, y1 = _threefry_values(b, k0, k1, hi, lo)
    return b.xor(y0, y1)
