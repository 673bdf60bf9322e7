"""The llvmlite engine: host target machine, external symbols, verify, the O3 pipeline, MCJIT.

One compile at a time (``COMPILE_LOCK``): LLVM's global state (the symbol table, the pass builder) is not
something to share between threads. Each compiled module gets its own execution engine, so its machine code
lives exactly as long as the Python objects that call it.

External symbols are resolved in-process and registered explicitly with ``llvm.add_symbol``: libm for the
math functions LLVM has no intrinsic for, the running Python's C API and NumPy's C-API table for the
native entry points (see runtime.py). Nothing is looked up by the dynamic linker at call time.
"""

import ctypes
import ctypes.util
import os
import sys
import tempfile
import threading

import llvmlite.binding as llvm
import numpy as np

from ..errors import InternalCompilerError

COMPILE_LOCK = threading.RLock()

llvm.initialize_native_target()
llvm.initialize_native_asmprinter()

HOST_CPU = llvm.get_host_cpu_name()
HOST_FEATURES = llvm.get_host_cpu_features().flatten()
LLVM_VERSION = llvm.llvm_version_info


# Modules longer than this (lines of IR) are not vectorised: a huge graph is one huge loop body, and
# vectorising a body full of libm calls (scalarised again by the backend) makes instruction selection and
# register allocation take seconds for nothing.
LARGE_MODULE_LINES = 5000


def _target_machine(opt=3):
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(cpu=HOST_CPU, features=HOST_FEATURES, opt=opt,
                                        codemodel="jitdefault", jit=True)


_TM = _target_machine()  # used for the pass pipeline and assembly listings, under COMPILE_LOCK
TRIPLE = llvm.get_process_triple()
DATA_LAYOUT = str(_TM.target_data)

# --------------------------------------------------------------------------------------------------
# External symbols

LIBM_FUNCTIONS = ("tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
                  "expm1", "log1p", "cbrt", "atan2", "fmod", "exp", "log", "sin", "cos", "pow", "exp2",
                  "log2", "log10", "nearbyint", "rint", "trunc", "floor", "ceil", "round", "fabs", "sqrt",
                  "copysign", "fma")

PYTHON_FUNCTIONS = ("PyTuple_New", "PyTuple_SetItem", "PyObject_Vectorcall", "Py_IncRef", "Py_DecRef",
                    "PyErr_NoMemory", "PyMem_RawMalloc", "PyMem_RawFree")

_registered = {}  # symbol name -> address
OUT_KEYWORD = sys.intern("out")  # keyword names at call sites are interned: the entry compares pointers


def _register(name, address):
    if not address:
        raise ImportError(f"jaxlike.codegen: symbol {name} could not be resolved in this process")
    llvm.add_symbol(name, address)
    _registered[name] = address


def _register_libm():
    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    for base in LIBM_FUNCTIONS:
        for name in (base, base + "f"):
            _register(name, ctypes.cast(getattr(libm, name), ctypes.c_void_p).value)


def _register_python():
    for name in PYTHON_FUNCTIONS:
        _register(name, ctypes.cast(getattr(ctypes.pythonapi, name), ctypes.c_void_p).value)
    api = ctypes.pythonapi
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    try:
        from numpy._core import _multiarray_umath as mu
    except ImportError:  # NumPy 1.x
        from numpy.core import _multiarray_umath as mu
    table = api.PyCapsule_GetPointer(mu._ARRAY_API, None)
    entries = (ctypes.c_void_p * 200).from_address(table)
    _register("jaxlike_PyArray_New", entries[93])  # PyArray_New, index from __multiarray_api.h
    _register("jaxlike_PyArray_Type", id(np.ndarray))
    _register("jaxlike_PyTuple_Type", id(tuple))
    _register("jaxlike_str_out", id(OUT_KEYWORD))
    for dt in (np.bool_, np.int32, np.int64, np.uint32, np.float32, np.float64):
        _register(f"jaxlike_descr_{np.dtype(dt).name}", id(np.dtype(dt)))


_register_libm()
_register_python()


# --------------------------------------------------------------------------------------------------
# Compilation


class CompiledModule:
    """An optimised module in its own MCJIT engine; the engine owns the machine code."""

    def __init__(self, engine, optimized_ir, module_ref):
        self.engine = engine
        self.optimized_ir = optimized_ir
        self._module = module_ref
        self._asm = None

    def address(self, name):
        return self.engine.get_function_address(name)

    def global_address(self, name):
        return self.engine.get_global_value_address(name)

    def asm(self):
        if self._asm is None:
            with COMPILE_LOCK:
                self._asm = _TM.emit_assembly(llvm.parse_assembly(self.optimized_ir))
        return self._asm


def dump_failure(stage, llvm_ir, graph_text, error):
    """Save what failed to a file and return the InternalCompilerError that names it."""
    fd, path = tempfile.mkstemp(prefix="jaxlike-ice-", suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.write(f"; jaxlike internal compiler error during {stage}\n; {error}\n\n")
        f.write("; ---- graph ----\n" + "\n".join("; " + line for line in str(graph_text).splitlines()))
        f.write("\n\n; ---- LLVM IR ----\n" + str(llvm_ir) + "\n")
    return InternalCompilerError(
        f"compilation failed during {stage}: {error}. This is a bug in jaxlike, not in your code; the graph and "
        f"the LLVM IR were saved to {path} (please attach it to a bug report).")


def compile_ir(llvm_ir, graph_text=""):
    """Parse, verify, run the O3 pipeline and JIT ``llvm_ir``; an LLVM failure is an InternalCompilerError."""
    with COMPILE_LOCK:
        stage = "parsing"
        try:
            mod = llvm.parse_assembly(str(llvm_ir))
            mod.triple = TRIPLE
            mod.data_layout = DATA_LAYOUT
            stage = "verification"
            mod.verify()
            stage = "optimisation"
            pto = llvm.create_pipeline_tuning_options(speed_level=3)
            vectorise = str(llvm_ir).count("\n") <= LARGE_MODULE_LINES
            pto.loop_vectorization = vectorise
            pto.slp_vectorization = vectorise
            pb = llvm.create_pass_builder(_TM, pto)
            pb.getModulePassManager().run(mod, pb)
            optimized = str(mod)
            stage = "machine code generation"
            engine = llvm.create_mcjit_compiler(mod, _target_machine())
            engine.finalize_object()
        except Exception as e:  # noqa: BLE001  (every LLVM failure becomes one error class)
            raise dump_failure(stage, llvm_ir, graph_text, e) from e
        return CompiledModule(engine, optimized, mod)
