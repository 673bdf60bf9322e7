"""dot_general as a loop nest.

The output's axes are (batch, lhs free, rhs free). Two loop orders, picked from the operands' layout so the
innermost loop walks contiguous memory and vectorises:

- rhs's last axis is free ("axpy" order): ``for b, i, k: for j: out[b, i, j] += lhs[b, i, k] * rhs[b, k, j]``
- rhs's last axis is contracted ("dot" order): ``for b, i, j: acc = sum_k lhs[b, i, k] * rhs[b, j, k]``

All sizes are static, so tiny products unroll completely and pay no call. Large float products that are
matrix products (one contracting axis, one free axis per operand, leading batch axes) call BLAS ``sgemm`` /
``dgemm`` once per batch element: those of the OpenBLAS NumPy's wheels bundle, or else scipy's.
"""

import ctypes

from llvmlite import ir

from jaxlike.ir import dtypes

from . import emit

BLAS_MIN_FLOPS = 32 ** 3  # multiply-adds from which a BLAS call beats the inline loop nest


def _register(address, name, found, dtype, int_type):
    import llvmlite.binding as llvm
    if address:
        llvm.add_symbol(f"jaxlike_{name}", address)
        found[dtype] = (f"jaxlike_{name}", int_type)


def _numpy_blas(found):
    """sgemm / dgemm of the OpenBLAS that NumPy's wheels bundle (ILP64: 64-bit integer arguments, symbols
    prefixed ``scipy_``): already loaded by NumPy, so it costs no import."""
    import glob
    import os

    import numpy as np
    root = os.path.dirname(np.__file__)
    for lib in sorted(glob.glob(os.path.join(root, os.pardir, "numpy.libs", "libscipy_openblas64_*"))
                      + glob.glob(os.path.join(root, ".dylibs", "libscipy_openblas64_*"))):
        try:
            handle = ctypes.CDLL(lib)
        except OSError:
            continue
        for dtype, name in (("float32", "sgemm"), ("float64", "dgemm")):
            fn = getattr(handle, f"scipy_{name}_64_", None)
            if fn is not None and dtype not in found:
                _register(ctypes.cast(fn, ctypes.c_void_p).value, name, found, dtype, emit.i64)
        return


def _scipy_blas(found):
    """sgemm / dgemm from scipy's ``cython_blas`` capsules (LP64: 32-bit integer arguments)."""
    try:
        from scipy.linalg import cython_blas
    except ImportError:
        return
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype = ctypes.c_char_p
    api.PyCapsule_GetName.argtypes = [ctypes.py_object]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    for dtype, name in (("float32", "sgemm"), ("float64", "dgemm")):
        capsule = cython_blas.__pyx_capi__.get(name)
        if capsule is not None and dtype not in found:
            _register(api.PyCapsule_GetPointer(capsule, api.PyCapsule_GetName(capsule)), name, found, dtype,
                      emit.i32)


def _blas_symbols():
    """{dtype name: (symbol, integer type)} of the gemm routines found: NumPy's own OpenBLAS first (no
    import to pay), then scipy's; empty when neither is there (the loop nests do all products)."""
    found = {}
    _numpy_blas(found)
    if len(found) < 2:
        _scipy_blas(found)
    return found


_BLAS = []


def blas():
    """{dtype name: (gemm symbol, integer type)}, resolved on first use."""
    if not _BLAS:
        _BLAS.append(_blas_symbols())
    return _BLAS[0]


def _free(ndim, contract, batch):
    return tuple(i for i in range(ndim) if i not in contract and i not in batch)


def blas_layout(eqn):
    """(batch, M, N, K, lhs contracts its last axis, rhs contracts its last axis) when gemm applies."""
    x, y = eqn.inputs
    dt = eqn.outputs[0].aval.dtype
    if dt.kind != "f":
        return None
    (xc, yc), (xb, yb) = eqn.params["dimension_numbers"]
    nb = len(xb)
    if (x.aval.ndim != nb + 2 or y.aval.ndim != nb + 2 or len(xc) != 1 or tuple(xb) != tuple(range(nb))
            or tuple(yb) != tuple(range(nb))):
        return None
    m = x.aval.shape[nb + (xc[0] == nb)]
    n = y.aval.shape[nb + (yc[0] == nb)]
    kk = x.aval.shape[xc[0]]
    if m * n * kk < BLAS_MIN_FLOPS or dt.name not in blas():
        return None
    return x.aval.shape[:nb], m, n, kk, xc[0] == nb + 1, yc[0] == nb + 1


def needs_buffers(eqn):
    return blas_layout(eqn) is not None


def _emit_gemm(k, eqn, layout):
    """Row-major C = A B as column-major C^T = B^T A^T: gemm(rhs, lhs) with the transposes to match."""
    b = k.b
    batch, m, n, kk, x_last, y_last = layout
    x, y = eqn.inputs
    out = eqn.outputs[0]
    dt = out.aval.dtype
    ft = emit.value_type(dt)
    symbol, int_t = blas()[dt.name]  # the BLAS integer: 32 or 64 bits, by the library's interface
    gemm = emit.declare(b.module, symbol, emit.void, [emit.ptr] * 13)

    def cell(typ, value):
        slot = emit.alloca_entry(b, typ)
        b.store(ir.Constant(typ, value), slot)
        return slot

    trans_a = cell(emit.i8, ord("T") if y_last else ord("N"))  # op(rhs memory) = B^T
    trans_b = cell(emit.i8, ord("N") if x_last else ord("T"))  # op(lhs memory) = A^T
    lda = cell(int_t, kk if y_last else n)
    ldb = cell(int_t, kk if x_last else m)
    args = dict(m=cell(int_t, n), n=cell(int_t, m), k=cell(int_t, kk), alpha=cell(ft, 1.0), beta=cell(ft, 0.0),
                ldc=cell(int_t, n))
    x_ptr, y_ptr, out_ptr = k.buffer(x), k.buffer(y), k.buffer(out)
    with emit.loop_nest(b, batch, name="bb") as ivs:
        flat = emit.linear_index(b, ivs, batch)
        def at(base, size):
            return emit.gep(b, dt, base, b.mul(flat, emit.index(size)) if batch else emit.index(0))
        b.call(gemm, [trans_a, trans_b, args["m"], args["n"], args["k"], args["alpha"],
                      at(y_ptr, n * kk), lda, at(x_ptr, m * kk), ldb, args["beta"], at(out_ptr, m * n),
                      args["ldc"]])


def emit_dot_general(k, eqn):
    b = k.b
    if 0 not in eqn.outputs[0].aval.shape and 0 not in eqn.inputs[0].aval.shape:
        layout = blas_layout(eqn)
        if layout is not None and all(k.has_buffer(v) for v in eqn.inputs):
            _emit_gemm(k, eqn, layout)
            return
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
