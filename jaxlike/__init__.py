"""jaxlike: trace NumPy-style Python into a graph IR, transform it, and compile it with LLVM."""

from . import tree
from .api import grad, jvp, linearize, make_ir, make_jaxpr, no_grad, stop_gradient, value_and_grad, vjp
from .jit import jit
from .jacobians import hessian, jacfwd, jacrev
from .vmap import vmap
from .custom import custom_jvp, custom_vjp
from .functional import jacobian
from . import random
from . import lax
from . import sparse
from .errors import (ConcretizationTypeError, InternalCompilerError, NonConcreteBooleanIndexError,
                     TracerArrayConversionError, TracerBoolConversionError, TracerIntegerConversionError,
                     UnexpectedTracerError)

__version__ = "0.1.0"

__all__ = ["custom_jvp", "custom_vjp", "jacobian", "random", "sparse", "jit", "hessian", "jacfwd", "jacrev", "vmap", "grad", "jvp", "linearize", "make_ir", "make_jaxpr",
           "no_grad", "stop_gradient", "value_and_grad", "vjp", "tree", "ConcretizationTypeError", "InternalCompilerError",
           "NonConcreteBooleanIndexError", "TracerArrayConversionError", "TracerBoolConversionError",
           "TracerIntegerConversionError", "UnexpectedTracerError"]
