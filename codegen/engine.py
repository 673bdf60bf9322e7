"""The llvmlite engine: host target machine, external symbols, verify, the pass pipeline, MCJIT, and the
optional on-disk cache of machine code.

One compile at a time (``COMPILE_LOCK``): LLVM's global state (the symbol table, the pass builder) is not
something to share between threads. Each compiled module gets its own execution engine, so its machine code
lives exactly as long as the Python objects that call it.

External symbols are resolved in-process and registered explicitly with ``llvm.add_symbol``: libm for the
math functions LLVM has no intrinsic for, the running Python's C API and NumPy's C-API table for the
native entry points (see runtime.py). Nothing is looked up by the dynamic linker at call time.

With ``JAXLIKE_CACHE_DIR`` set, the object code of every module is kept in that folder, keyed as numba keys
its cache: the unoptimised LLVM IR (which holds the whole program and no addresses), the LLVM and llvmlite
versions, the pass pipeline, and the CPU's name and features. A hit skips the pass pipeline and machine code
generation (most of a compile). Entries are written atomically (a temporary file, then a rename) and carry a
checksum: one that does not match is deleted and compiled again, never handed to LLVM.
"""

import ctypes
import ctypes.util
import hashlib
import os
import sys
import tempfile
import threading

import llvmlite
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
# The pass pipeline's level: O3 cost half again the compile time of O2 for no speed the benchmarks could
# measure (bench/run.py with JAXLIKE_OPT_LEVEL=3 and =2).
SPEED_LEVEL = int(os.environ.get("JAXLIKE_OPT_LEVEL", "2"))


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
    _register("jaxlike_PyArray_New", entries[93])  # indices from __multiarray_api.h
    _register("jaxlike_PyArray_Zeros", entries[183])
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
    """A module in its own MCJIT engine; the engine owns the machine code. ``optimized_ir`` is the module
    after the pass pipeline (for a module loaded from the disk cache it is made again when first asked)."""

    def __init__(self, engine, llvm_ir, optimized_ir, module_ref, from_disk=False):
        self.engine = engine
        self.llvm_ir = llvm_ir
        self._optimized_ir = optimized_ir
        self._module = module_ref
        self._asm = None
        self.from_disk = from_disk

    @property
    def optimized_ir(self):
        if self._optimized_ir is None:
            with COMPILE_LOCK:
                self._optimized_ir = str(_optimise(_parse(self.llvm_ir)))
        return self._optimized_ir

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


def _parse(llvm_ir):
    mod = llvm.parse_assembly(llvm_ir)
    mod.triple = TRIPLE
    mod.data_layout = DATA_LAYOUT
    return mod


def _optimise(mod):
    pto = llvm.create_pipeline_tuning_options(speed_level=SPEED_LEVEL)
    vectorise = str(mod).count("\n") <= LARGE_MODULE_LINES
    pto.loop_vectorization = vectorise
    pto.slp_vectorization = vectorise
    pb = llvm.create_pass_builder(_TM, pto)
    pb.getModulePassManager().run(mod, pb)
    return mod


def compile_ir(llvm_ir, graph_text=""):
    """Parse, verify, optimise and JIT ``llvm_ir`` (or load its machine code from the disk cache); an LLVM
    failure is an InternalCompilerError."""
    llvm_ir = str(llvm_ir)
    with COMPILE_LOCK:
        stage = "parsing"
        try:
            mod = _parse(llvm_ir)
            stage = "verification"
            mod.verify()
            path = disk_cache_path(llvm_ir)
            cached = read_cached_object(path) if path else None
            optimized = None
            if cached is None:
                stage = "optimisation"
                optimized = str(_optimise(mod))
            stage = "machine code generation"
            engine = llvm.create_mcjit_compiler(mod, _target_machine())
            if path:
                def notify(_module, buffer):
                    if cached is None:
                        write_cached_object(path, buffer)
                engine.set_object_cache(notify, lambda _module: cached)
            engine.finalize_object()
        except Exception as e:  # noqa: BLE001  (every LLVM failure becomes one error class)
            raise dump_failure(stage, llvm_ir, graph_text, e) from e
        return CompiledModule(engine, llvm_ir, optimized, mod, from_disk=cached is not None)


# --------------------------------------------------------------------------------------------------
# The on-disk cache of machine code

_MAGIC = b"jaxlike-object-1\n"


def disk_cache_path(llvm_ir):
    """The cache file of a module, or None when ``JAXLIKE_CACHE_DIR`` is not set (read at each compile)."""
    folder = os.environ.get("JAXLIKE_CACHE_DIR")
    if not folder:
        return None
    key = hashlib.sha256()
    for part in (llvm_ir, TRIPLE, HOST_CPU, HOST_FEATURES, str(LLVM_VERSION), llvmlite.__version__,
                 f"speed_level={SPEED_LEVEL} vectorise_below={LARGE_MODULE_LINES}"):
        key.update(part.encode())
        key.update(b"\0")
    return os.path.join(os.path.expanduser(folder), key.hexdigest() + ".o")


def read_cached_object(path):
    """The object code stored at path, or None (missing, unreadable, or corrupt: a corrupt entry is
    deleted, and the module compiled again)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    head = len(_MAGIC) + 32
    if data[:len(_MAGIC)] == _MAGIC and hashlib.sha256(data[head:]).digest() == data[len(_MAGIC):head]:
        return data[head:]
    try:
        os.remove(path)
    except OSError:
        pass
    return None


def write_cached_object(path, obj):
    """Store obj atomically: a reader sees the whole entry or none (a failure to write is not an error:
    the cache is an optimisation)."""
    obj = bytes(obj)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".o")
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + hashlib.sha256(obj).digest() + obj)
        os.replace(tmp, path)
    except OSError:
        try:
            os.remove(tmp)
        except (OSError, UnboundLocalError):
            pass
