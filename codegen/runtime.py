"""The calling convention, the native CPython entry point and the Python fallback.

Every compiled Graph is one LLVM module with

- ``core(ptr in0, ..., ptr out0, ..., ptr workspace)``: the computation, on contiguous buffers;
- ``entry(PyObject *self, PyObject *const *args, Py_ssize_t nargs)``: a ``METH_FASTCALL`` function that
  checks each argument in native code (exact type ``numpy.ndarray``, ndim, every dimension, dtype, C
  contiguous and aligned, reading the ``PyArrayObject`` fields at their fixed offsets), allocates the
  outputs with NumPy's ``PyArray_New`` (``PyArray_Zeros`` for one written on a mask only), provides the
  workspace (on the stack when small, else one ``PyMem_RawMalloc`` per call: never shared, so threads never
  race on it), runs ``core`` and returns one array or a tuple. On any mismatch it hands the whole call to ``self``, a Python callable, through
  ``PyObject_Vectorcall``: that fallback converts the arguments or raises a clear error.

``NativeFunction`` turns ``entry`` into a Python builtin once (``PyCFunction_NewEx`` on a ``PyMethodDef`` it
keeps alive); the builtin keeps its ``self`` alive, and ``self`` keeps the machine code alive.
"""

import ctypes

import numpy as np
from llvmlite import ir

from jaxlike.ir import dtypes

from . import emit, engine
from .emit import i8, i32, i64, ptr
from .loops import GraphPlan, emit_calls, emit_groups

STACK_WORKSPACE = 1 << 16  # bytes of workspace placed on the stack; more is allocated per call
CONST_INLINE = 1 << 10  # constants up to this size are embedded in the module, larger ones referenced

# PyArrayObject (NumPy >= 1.x, CPython without Py_TRACE_REFS): fixed field offsets, checked below
OFF_TYPE, OFF_DATA, OFF_NDIM, OFF_DIMS, OFF_DESCR, OFF_FLAGS = 8, 16, 24, 32, 56, 64
OFF_TUPLE_SIZE, OFF_TUPLE_ITEMS = 16, 24  # PyTupleObject: ob_size, ob_item[0]
NPY_C_CONTIGUOUS, NPY_ALIGNED, NPY_WRITEABLE = 0x1, 0x100, 0x400
METH_FASTCALL_KEYWORDS = 0x0080 | 0x0002


def _layout_ok():
    """The offsets above, checked on a live array; the native fast path is used only if they hold."""
    a = np.zeros((2, 3))
    base = id(a)

    def rd(off, t=ctypes.c_int64):
        return t.from_address(base + off).value

    try:
        return (rd(OFF_TYPE) == id(np.ndarray) and rd(OFF_DATA) == a.ctypes.data
                and rd(OFF_NDIM, ctypes.c_int) == 2 and ctypes.c_int64.from_address(rd(OFF_DIMS)).value == 2
                and rd(OFF_DESCR) == id(a.dtype) and rd(OFF_FLAGS, ctypes.c_int) & 0x101 == 0x101)
    except Exception:  # noqa: BLE001
        return False


FAST_PATH = _layout_ok()


class _PyMethodDef(ctypes.Structure):
    _fields_ = [("ml_name", ctypes.c_char_p), ("ml_meth", ctypes.c_void_p), ("ml_flags", ctypes.c_int),
                ("ml_doc", ctypes.c_char_p)]


_new_cfunction = ctypes.pythonapi.PyCFunction_NewEx
_new_cfunction.restype = ctypes.py_object
_new_cfunction.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.py_object]


# --------------------------------------------------------------------------------------------------
# Module construction


def build_module(graph, name="jaxlike_fn"):
    """The LLVM module of ``graph`` (core + entry) and its plan."""
    plan = GraphPlan(graph, zeroed_outputs=True)
    module = ir.Module(name=name)
    module.triple = engine.TRIPLE
    module.data_layout = engine.DATA_LAYOUT
    emitters = emit_groups(plan, module, "g")
    n_in, n_out = len(graph.inputs), len(graph.outputs)
    core_ty = ir.FunctionType(emit.void, [ptr] * (n_in + n_out + 1))
    core = ir.Function(module, core_ty, name="core")
    for arg in core.args:
        arg.add_attribute("noalias")
    b = ir.IRBuilder(core.append_basic_block("entry"))
    consts = {}

    def pointer_of(st):
        if st.kind == "arg":
            return core.args[st.index]
        if st.kind == "out":
            return core.args[n_in + st.index]
        if st.kind == "ws":
            return b.gep(core.args[-1], [emit.index(st.offset)], source_etype=i8, inbounds=True)
        if id(st) not in consts:
            consts[id(st)] = _constant(module, b, st)
        return consts[id(st)]

    emit_calls(b, emitters, pointer_of)
    b.ret_void()
    if FAST_PATH:
        _emit_entry(module, core, graph, plan)
    return module, plan


def _constant(module, b, st):
    """The pointer to a constant: small ones are data in the module, larger ones are passed by address.

    A large constant becomes a global pointer the loader fills in (``bind_constants``), so its bytes are
    neither copied into the IR nor compiled: the machine code is the same for any value of them.
    """
    arr = st.array
    if arr.nbytes > CONST_INLINE:
        pool = module.__dict__.setdefault("_jaxlike_const_pool", [])
        gv = ir.GlobalVariable(module, ptr, name=f"jaxlike_constp{len(pool)}")
        gv.initializer = ir.Constant(ptr, None)
        gv.align = 8
        pool.append((gv.name, arr))
        with b.goto_entry_block():
            return b.load(gv, typ=ptr)
    data = bytearray(arr.tobytes()) or bytearray(1)
    gv = ir.GlobalVariable(module, ir.ArrayType(i8, len(data)), name=emit.fresh_name(module, "const."))
    gv.initializer = ir.Constant(ir.ArrayType(i8, len(data)), data)
    gv.global_constant = True
    gv.linkage = "private"
    gv.unnamed_addr = True
    gv.align = 64
    return gv


def const_pool(module):
    """The (global name, array) pairs of the constants ``module`` reads by address."""
    return list(module.__dict__.get("_jaxlike_const_pool", ()))


def bind_constants(compiled_module, pool):
    """Write each large constant's address into its global pointer; the arrays must outlive the code."""
    for name, arr in pool:
        ctypes.c_void_p.from_address(compiled_module.global_address(name)).value = arr.ctypes.data


def _field(b, obj, offset, typ):
    return b.load(b.gep(obj, [emit.index(offset)], source_etype=i8, inbounds=True), typ=typ)


def _emit_entry(module, core, graph, plan):
    n_in, n_out = len(graph.inputs), len(graph.outputs)
    fn = ir.Function(module, ir.FunctionType(ptr, [ptr, ptr, i64, ptr]), name="entry")
    self_obj, args, nargs, kwnames = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    fallback = fn.append_basic_block("fallback")
    array_type = _extern_global(module, "jaxlike_PyArray_Type")
    null = ir.Constant(ptr, None)

    def check(cond):
        ok = fn.append_basic_block("ok")
        b.cbranch(cond, ok, fallback)
        b.position_at_end(ok)

    def item(base, i):
        return b.load(b.gep(base, [emit.index(i)], source_etype=ptr, inbounds=True), typ=ptr)

    def check_array(obj, aval, writeable=False):
        """Exact ndarray of ``aval``, C-contiguous and aligned (and writeable): its data pointer."""
        check(b.icmp_unsigned("==", _field(b, obj, OFF_TYPE, ptr), array_type))
        check(b.icmp_signed("==", _field(b, obj, OFF_NDIM, i32), ir.Constant(i32, aval.ndim)))
        if aval.ndim:
            dims = _field(b, obj, OFF_DIMS, ptr)
            for d, n in enumerate(aval.shape):
                got = b.load(b.gep(dims, [emit.index(d)], source_etype=i64, inbounds=True), typ=i64)
                check(b.icmp_signed("==", got, emit.index(n)))
        descr = _extern_global(module, f"jaxlike_descr_{aval.dtype.name}")
        check(b.icmp_unsigned("==", _field(b, obj, OFF_DESCR, ptr), descr))
        want = NPY_C_CONTIGUOUS | NPY_ALIGNED | (NPY_WRITEABLE if writeable else 0)
        flags = b.and_(_field(b, obj, OFF_FLAGS, i32), ir.Constant(i32, want))
        check(b.icmp_signed("==", flags, ir.Constant(i32, want)))
        return _field(b, obj, OFF_DATA, ptr)

    check(b.icmp_signed("==", nargs, emit.index(n_in)))
    data = [check_array(item(args, i), var.aval) for i, var in enumerate(graph.inputs)]

    # out=: no keywords, or exactly the interned "out" (anything else goes to the fallback)
    has_out = b.icmp_unsigned("!=", kwnames, null)
    with_out, without_out, body = (fn.append_basic_block(n) for n in ("with_out", "without_out", "body"))
    b.cbranch(has_out, with_out, without_out)

    b.position_at_end(with_out)
    check(b.icmp_signed("==", _field(b, kwnames, OFF_TUPLE_SIZE, i64), emit.index(1)))
    check(b.icmp_unsigned("==", _field(b, kwnames, OFF_TUPLE_ITEMS, ptr),
                          _extern_global(module, "jaxlike_str_out")))
    out_obj = item(args, n_in)
    if n_out == 1:
        given = [out_obj]
    else:
        check(b.icmp_unsigned("==", _field(b, out_obj, OFF_TYPE, ptr), _extern_global(module, "jaxlike_PyTuple_Type")))
        check(b.icmp_signed("==", _field(b, out_obj, OFF_TUPLE_SIZE, i64), emit.index(n_out)))
        given = [_field(b, out_obj, OFF_TUPLE_ITEMS + 8 * j, ptr) for j in range(n_out)]
    given_data = [check_array(obj, atom.aval, writeable=True) for obj, atom in zip(given, graph.outputs, strict=True)]
    # the core's buffers are noalias: an output overlapping an input or another output goes the slow way
    ranges = [(d, _nbytes(v.aval)) for d, v in zip(data, graph.inputs, strict=True)]
    for j, (d, atom) in enumerate(zip(given_data, graph.outputs, strict=True)):
        n = _nbytes(atom.aval)
        if not n:
            continue
        for other, m in ranges + [(given_data[i], _nbytes(graph.outputs[i].aval)) for i in range(j)]:
            if m:
                check(b.not_(_overlap(b, d, n, other, m)))
    for d, st, atom in zip(given_data, plan.out_storage, graph.outputs, strict=True):
        if st.zeroed:  # written on its mask only: the rest must be zeros
            memset = emit.declare(module, "llvm.memset.p0.i64", emit.void, [ptr, i8, i64, emit.i1])
            b.call(memset, [d, ir.Constant(i8, 0), emit.index(_nbytes(atom.aval)), ir.Constant(emit.i1, 0)])
    b.call(emit.declare(module, "Py_IncRef", emit.void, [ptr]), [out_obj])  # returned: a new reference
    with_out_end = b.block
    b.branch(body)

    b.position_at_end(without_out)
    new_array = emit.declare(module, "jaxlike_PyArray_New", ptr,
                             [ptr, i32, ptr, i32, ptr, ptr, i32, i32, ptr])
    zeros_array = emit.declare(module, "jaxlike_PyArray_Zeros", ptr, [i32, ptr, ptr, i32])
    decref = emit.declare(module, "Py_DecRef", emit.void, [ptr])
    outs, out_data = [], []
    for j, atom in enumerate(graph.outputs):
        aval = atom.aval
        if aval.ndim:
            dims_ty = ir.ArrayType(i64, aval.ndim)
            gv = ir.GlobalVariable(module, dims_ty, name=f"out_dims{j}")
            gv.initializer = ir.Constant(dims_ty, list(aval.shape))
            gv.global_constant = True
            gv.linkage = "private"
            dims = gv
        else:
            dims = null
        if plan.out_storage[j].zeroed:  # NumPy's calloc: a large output's untouched pages stay unmapped
            descr = _extern_global(module, f"jaxlike_descr_{aval.dtype.name}")
            b.call(emit.declare(module, "Py_IncRef", emit.void, [ptr]), [descr])  # PyArray_Zeros steals it
            obj = b.call(zeros_array, [ir.Constant(i32, aval.ndim), dims, descr, ir.Constant(i32, 0)])
        else:
            obj = b.call(new_array, [array_type, ir.Constant(i32, aval.ndim), dims,
                                     ir.Constant(i32, aval.dtype.num), null, null, ir.Constant(i32, 0),
                                     ir.Constant(i32, 0), null])
        with b.if_then(b.icmp_unsigned("==", obj, null), likely=False):
            for prev in outs:
                b.call(decref, [prev])
            b.ret(null)
        outs.append(obj)
        out_data.append(_field(b, obj, OFF_DATA, ptr))
    if n_out == 1:
        result = outs[0]
    else:
        result = b.call(emit.declare(module, "PyTuple_New", ptr, [i64]), [emit.index(n_out)])
        with b.if_then(b.icmp_unsigned("==", result, null), likely=False):
            for obj in outs:
                b.call(decref, [obj])
            b.ret(null)
        set_item = emit.declare(module, "PyTuple_SetItem", i32, [ptr, i64, ptr])
        for j, obj in enumerate(outs):
            b.call(set_item, [result, emit.index(j), obj])  # steals the reference
    without_out_end = b.block
    b.branch(body)

    b.position_at_end(body)
    ret = b.phi(ptr, name="result")
    ret.add_incoming(out_obj, with_out_end)
    ret.add_incoming(result, without_out_end)
    out_ptrs = []
    for j in range(n_out):
        phi = b.phi(ptr, name=f"out{j}")
        phi.add_incoming(given_data[j], with_out_end)
        phi.add_incoming(out_data[j], without_out_end)
        out_ptrs.append(phi)

    # the workspace: on the stack when small; else the function's own block when no other thread holds
    # it, or (only then) a fresh allocation
    size = plan.workspace_size
    if size > STACK_WORKSPACE:
        cached = ir.GlobalVariable(module, ptr, name="jaxlike_workspace")
        cached.initializer = null
        cached.align = 8
        busy = ir.GlobalVariable(module, i32, name="jaxlike_workspace_busy")
        busy.initializer = ir.Constant(i32, 0)
        busy.align = 4
        pair = b.cmpxchg(busy, ir.Constant(i32, 0), ir.Constant(i32, 1), "acquire", "monotonic")
        owned = b.extract_value(pair, 1)
        mine = b.load(cached, typ=ptr)
        pre = b.block
        with b.if_then(b.not_(owned), likely=False):
            fresh = b.call(emit.declare(module, "PyMem_RawMalloc", ptr, [i64]), [emit.index(size)])
            with b.if_then(b.icmp_unsigned("==", fresh, null), likely=False):
                b.call(decref, [ret])
                b.ret(b.call(emit.declare(module, "PyErr_NoMemory", ptr, []), []))
            fresh_end = b.block
        ws = b.phi(ptr, name="workspace")
        ws.add_incoming(mine, pre)
        ws.add_incoming(fresh, fresh_end)
        b.call(core, data + out_ptrs + [ws])
        with b.if_else(owned) as (then, otherwise):
            with then:
                b.store_atomic(ir.Constant(i32, 0), busy, "release", 4)
            with otherwise:
                b.call(emit.declare(module, "PyMem_RawFree", emit.void, [ptr]), [ws])
    else:
        ws = emit.alloca_entry(b, ir.ArrayType(i8, max(size, 1)), name="workspace")
        ws.align = 64
        b.call(core, data + out_ptrs + [ws])
    b.ret(ret)

    b.position_at_end(fallback)
    vectorcall = emit.declare(module, "PyObject_Vectorcall", ptr, [ptr, ptr, i64, ptr])
    b.ret(b.call(vectorcall, [self_obj, args, nargs, kwnames]))


def _nbytes(aval):
    return aval.size * aval.dtype.itemsize


def _overlap(b, p, n, q, m):
    """Do the byte ranges [p, p + n) and [q, q + m) intersect?"""
    p_end = b.gep(p, [emit.index(n)], source_etype=i8)
    q_end = b.gep(q, [emit.index(m)], source_etype=i8)
    return b.and_(b.icmp_unsigned("<", p, q_end), b.icmp_unsigned("<", q, p_end))


def _extern_global(module, name):
    gv = module.globals.get(name)
    if gv is None:
        gv = ir.GlobalVariable(module, i8, name=name)
        gv.linkage = "external"
    return gv


# --------------------------------------------------------------------------------------------------
# The compiled function


class CompiledGraph:
    """A Graph compiled to machine code: ``run(arrays)`` (checked by the caller) and native callables."""

    def __init__(self, graph, graph_text=None):
        self.graph = graph
        self.in_avals = [v.aval for v in graph.inputs]
        self.out_avals = [a.aval for a in graph.outputs]
        text = graph_text if graph_text is not None else str(graph)
        try:
            module, self.plan = build_module(graph)
            self._keep_alive = [arr for _, arr in const_pool(module)]
        except (NotImplementedError, TypeError):
            raise  # a primitive without a lowering, or a user error found while lowering
        except Exception as e:  # noqa: BLE001  (a bug in the emitter: never a crash, always a report)
            raise engine.dump_failure("lowering", "(not built)", text, f"{type(e).__name__}: {e}") from e
        self.llvm_ir_unoptimized = str(module)
        self.module = engine.compile_ir(self.llvm_ir_unoptimized, text)
        bind_constants(self.module, const_pool(module))
        self._workspace = None
        if FAST_PATH and self.plan.workspace_size > STACK_WORKSPACE:  # the entry's own block (see _emit_entry)
            self._workspace = np.empty(self.plan.workspace_size + 64, np.uint8)
            address = self._workspace.ctypes.data + (-self._workspace.ctypes.data) % 64
            ctypes.c_void_p.from_address(self.module.global_address("jaxlike_workspace")).value = address
        n = len(self.in_avals) + len(self.out_avals) + 1
        self._core = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * n)(self.module.address("core"))
        self._entry_address = self.module.address("entry") if FAST_PATH else None
        self.workspace_size = self.plan.workspace_size
        self.num_groups = len(self.plan.groups)

    @property
    def llvm_ir(self):
        return self.module.optimized_ir

    def asm(self):
        return self.module.asm()

    def run(self, arrays, out=None):
        """Run on C-contiguous, aligned arrays of exactly the compiled shapes and dtypes (the slow path).

        ``out``, a list of arrays checked with ``check_out``, receives the results (and is returned).
        """
        zeroed = [st.zeroed for st in self.plan.out_storage]
        fresh = [(np.zeros if z else np.empty)(a.shape, a.dtype) for a, z in zip(self.out_avals, zeroed)]
        ws = np.empty(self.workspace_size + 64, np.uint8)
        ws_ptr = ws.ctypes.data + (-ws.ctypes.data) % 64
        direct = out is not None and not _shares_memory(out, arrays)
        outs = out if direct else fresh
        if direct:
            for o, z in zip(out, zeroed, strict=True):
                if z:
                    o.fill(0)
        self._core(*[a.ctypes.data for a in arrays], *[o.ctypes.data for o in outs], ws_ptr)
        if out is not None and not direct:
            for dst, src in zip(out, fresh, strict=True):
                np.copyto(dst, src)
            return list(out)
        return outs

    def native(self, fallback, name="jaxlike_fn"):
        """A builtin calling ``entry``; on a mismatch it calls ``fallback(*args)``."""
        if self._entry_address is None:
            return fallback
        return NativeFunction(self, fallback, name).function


class NativeFunction:
    """Keeps the PyMethodDef, the fallback and the machine code alive as long as the builtin lives."""

    def __init__(self, compiled, fallback, name):
        self.compiled = compiled
        self.fallback = fallback
        self._name = name.encode() if isinstance(name, str) else name
        self._def = _PyMethodDef(self._name, compiled._entry_address, METH_FASTCALL_KEYWORDS, None)
        # the builtin's self is this object: PyObject_Vectorcall(self, ...) lands in __call__
        self.function = _new_cfunction(ctypes.addressof(self._def), self, None)

    def __call__(self, *args, **kwargs):
        return self.fallback(*args, **kwargs)


def _shares_memory(outs, arrays):
    """Does an output overlap an input or another output (so it cannot be written in place)?"""
    for j, o in enumerate(outs):
        if any(np.may_share_memory(o, a) for a in list(arrays) + list(outs[:j])):
            return True
    return False


def check_out(out, out_avals, out_tree=None):
    """``out`` (an array for one output, else a tuple / pytree like the result) as a list of arrays.

    Each must be a writeable, C-contiguous, aligned ``numpy.ndarray`` of exactly the output's shape and
    dtype: nothing is converted, since the results are written into it. Else a TypeError naming ``out``.
    """
    if out_tree is not None and not out_tree.is_leaf:
        from jaxlike import tree
        leaves, treedef = tree.flatten(out)
        if treedef != out_tree:
            raise TypeError(f"out has structure {treedef} but the function returns {out_tree}; pass "
                            "arrays in the structure of the result")
    elif len(out_avals) == 1:
        leaves = [out]  # one output: an array
    else:
        if not isinstance(out, (tuple, list)) or len(out) != len(out_avals):
            raise TypeError(f"out must be a tuple of {len(out_avals)} arrays (one per output), got "
                            f"{type(out).__name__}")
        leaves = list(out)
    for j, (arr, aval) in enumerate(zip(leaves, out_avals, strict=True)):
        name = "out" if len(out_avals) == 1 else f"out[{j}]"
        want = f"{aval.str_short()} ({aval.dtype} of shape {aval.shape})"
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{name} is a {type(arr).__name__}, not a numpy.ndarray; the output is {want}: "
                            f"pass np.empty({aval.shape}, np.{aval.dtype.name})")
        if arr.shape != aval.shape or arr.dtype != aval.dtype:
            raise TypeError(f"{name} is {arr.dtype} of shape {arr.shape} but the output is {want}; pass "
                            f"np.empty({aval.shape}, np.{aval.dtype.name})")
        if not (arr.flags.c_contiguous and arr.flags.aligned and arr.flags.writeable):
            raise TypeError(f"{name} must be a writeable, C-contiguous, aligned array (it is written in "
                            f"place); pass np.empty({aval.shape}, np.{aval.dtype.name})")
    return leaves


def check_and_convert(args, in_avals, paths, what="argument"):
    """Arguments made into arrays of exactly ``in_avals``, converting what converts safely.

    Converts lists, Python scalars, non-contiguous or unaligned arrays and dtypes that cast safely; any
    other mismatch raises a TypeError naming the argument, what was expected and the fix.
    """
    if len(args) != len(in_avals):
        raise TypeError(f"the compiled function takes {len(in_avals)} array arguments, got {len(args)}")
    out = []
    for arg, aval, path in zip(args, in_avals, paths, strict=True):
        name = f"{what} {path}" if path else what
        if isinstance(arg, np.ndarray):
            arr = arg
        elif isinstance(arg, (bool, int, float, np.generic, list, tuple)):
            try:
                arr = np.asarray(arg)
            except Exception as e:  # noqa: BLE001  (a ragged list, for example)
                raise TypeError(f"{name} could not be converted to an array: {e}") from None
            if dtypes.weak_kind(arg) is not None:  # a Python scalar takes the compiled dtype
                arr = arr.astype(aval.dtype) if np.can_cast(arr, aval.dtype, "same_kind") else arr
        elif hasattr(arg, "__array__") and not hasattr(arg, "trace"):
            arr = np.asarray(arg)
        else:
            raise TypeError(f"{name} is a {type(arg).__name__}, not an array; the compiled function "
                            f"expects {aval.str_short()} ({aval.dtype} of shape {aval.shape})")
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        if arr.shape != aval.shape:
            raise TypeError(f"{name} has shape {arr.shape} but the function was compiled for shape "
                            f"{aval.shape} ({aval.str_short()}); pass an array of that shape, or call the "
                            "jitted function (not a compiled one), which compiles for each new shape")
        if arr.dtype != aval.dtype:
            if not np.can_cast(arr.dtype, aval.dtype, "safe"):
                raise TypeError(f"{name} has dtype {arr.dtype} but the function was compiled for "
                                f"{aval.dtype} ({aval.str_short()}); convert it with "
                                f".astype(np.{aval.dtype.name})")
            arr = arr.astype(aval.dtype)
        if not (arr.flags.c_contiguous and arr.flags.aligned):
            arr = np.array(arr, order="C", copy=True)
        out.append(arr)
    return out
