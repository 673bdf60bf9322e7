"""Small helpers that make LLVM emission read like the code it produces (numba's cgutils, in spirit).

Loops and branches are context managers; allocas go in the entry block; dtypes map to LLVM types here and
nowhere else (bool is stored as i8 and computed as i1).
"""

from contextlib import contextmanager

import numpy as np
from llvmlite import ir

from jaxlike.ir import dtypes

i1 = ir.IntType(1)
i8 = ir.IntType(8)
i32 = ir.IntType(32)
i64 = ir.IntType(64)
f32 = ir.FloatType()
f64 = ir.DoubleType()
ptr = ir.PointerType()
void = ir.VoidType()

_STORAGE = {dtypes.bool_: i8, dtypes.int32: i32, dtypes.int64: i64, dtypes.uint32: i32,
            dtypes.float32: f32, dtypes.float64: f64}
_VALUE = {**_STORAGE, dtypes.bool_: i1}


def storage_type(dtype):
    """The LLVM type of one element in memory."""
    return _STORAGE[np.dtype(dtype)]


def value_type(dtype):
    """The LLVM type of one element in a register (bool is i1)."""
    return _VALUE[np.dtype(dtype)]


def const(dtype, value):
    """A scalar constant of ``dtype`` as an LLVM value-typed constant."""
    dtype = np.dtype(dtype)
    t = value_type(dtype)
    if dtypes.is_float(dtype):
        return ir.Constant(t, float(value))
    if dtypes.is_bool(dtype):
        return ir.Constant(t, int(bool(value)))
    return ir.Constant(t, int(np.asarray(value, dtype).astype(np.int64 if dtype.kind == "i" else np.uint64)))


def index(value):
    return ir.Constant(i64, int(value))


def load_elem(b, dtype, pointer):
    """Load one element and bring it to its register type."""
    v = b.load(pointer, typ=storage_type(dtype))
    if dtypes.is_bool(dtype):
        v = b.icmp_unsigned("!=", v, ir.Constant(i8, 0))
    return v


def store_elem(b, dtype, value, pointer):
    if dtypes.is_bool(dtype):
        value = b.zext(value, i8)
    b.store(value, pointer)


def gep(b, dtype, base, offset):
    return b.gep(base, [offset], source_etype=storage_type(dtype), inbounds=True)


def alloca_entry(b, typ, count=None, name=""):
    """An alloca placed in the function's entry block, so loops never grow the stack."""
    with b.goto_entry_block():
        return b.alloca(typ, size=count, name=name)


def fresh_name(module, prefix):
    """``prefix0``, ``prefix1``, ... counted per module, so two compilations of a graph give the same IR."""
    counters = module.__dict__.setdefault("_jaxlike_names", {})
    n = counters.get(prefix, 0)
    counters[prefix] = n + 1
    return f"{prefix}{n}"


class _LoopID(ir.values.MDValue):
    """A loop's ``distinct !{self, properties...}`` node (``!llvm.loop`` metadata refers to itself)."""

    def descr(self, buf):
        ops = ", ".join([self.get_reference()] + [op.get_reference() for op in self.operands])
        buf += (f"distinct !{{ {ops} }}", "\n")


def no_unroll(branch):
    """Mark the loop whose latch is ``branch`` as not to be unrolled: its code size stays that of one body."""
    module = branch.parent.parent.module
    prop = module.add_metadata([ir.MetaDataString(module, "llvm.loop.unroll.disable")])
    branch.set_metadata("llvm.loop", _LoopID(module, [prop], name=str(len(module.metadata))))


UNROLL_MAX_TRIPS = 8  # control-flow loops with more iterations than this are never unrolled


@contextmanager
def for_range(b, count, name="i", unroll=True):
    """``for i in range(count)`` with a static positive ``count``; yields the induction variable (i64).

    Emitted as a bottom-tested loop, the shape LLVM's loop passes like best. A zero-trip loop is the
    caller's business: callers skip the body statically. ``unroll=False`` forbids LLVM to unroll it.
    """
    pre = b.block
    header = b.append_basic_block(f"{name}.body")
    after = b.append_basic_block(f"{name}.end")
    b.branch(header)
    b.position_at_end(header)
    iv = b.phi(i64, name=name)
    iv.add_incoming(index(0), pre)
    yield iv
    nxt = b.add(iv, index(1), name=f"{name}.next", flags=("nuw", "nsw"))
    iv.add_incoming(nxt, b.block)
    latch = b.cbranch(b.icmp_signed("<", nxt, index(count)), header, after)
    if not unroll:
        no_unroll(latch)
    b.position_at_end(after)


@contextmanager
def loop_nest(b, shape, name="i"):
    """Nested static loops over ``shape`` (outermost first); yields the list of induction variables."""
    stack = []
    try:
        ivs = []
        for axis, n in enumerate(shape):
            cm = for_range(b, n, name=f"{name}{axis}")
            ivs.append(cm.__enter__())
            stack.append(cm)
        yield ivs
    finally:
        while stack:
            stack.pop().__exit__(None, None, None)


def linear_index(b, ivs, shape):
    """Row-major flat offset of the index ``ivs`` in an array of static ``shape``."""
    if not shape:
        return index(0)
    strides = np.cumprod((1,) + tuple(shape[:0:-1]))[::-1]
    offset = None
    for iv, stride, n in zip(ivs, strides, shape, strict=True):
        if n == 1:
            continue
        term = iv if stride == 1 else b.mul(iv, index(int(stride)), flags=("nuw", "nsw"))
        offset = term if offset is None else b.add(offset, term, flags=("nuw", "nsw"))
    return offset if offset is not None else index(0)


def unravel(b, flat, shape):
    """The row-major index of the flat offset ``flat`` in an array of static ``shape``."""
    if not shape:
        return []  # a scalar: no index at all
    out = []
    rest = flat
    strides = np.cumprod((1,) + tuple(shape[:0:-1]))[::-1]
    for stride, n in zip(strides, shape, strict=True):
        if n == 1:
            out.append(index(0))
            continue
        q = rest if stride == 1 else b.udiv(rest, index(int(stride)))
        out.append(q)
        if stride != 1:
            rest = b.urem(rest, index(int(stride)))
    return out


def clamp(b, iv, lo, hi):
    """min(max(iv, lo), hi) on signed i64."""
    iv = b.select(b.icmp_signed("<", iv, lo), lo, iv)
    return b.select(b.icmp_signed(">", iv, hi), hi, iv)


def declare(module, name, ret, args, var_arg=False):
    fn = module.globals.get(name)
    if fn is None:
        fn = ir.Function(module, ir.FunctionType(ret, args, var_arg=var_arg), name=name)
    return fn
