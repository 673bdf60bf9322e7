"""jaxlike.ir: the graph IR, the primitives and every pass. Imports without llvmlite."""

from . import prims  # noqa: F401  (registers the primitives)
from .builder import Tracer, bind, trace_graph
from .core import AVal, Eqn, Graph, Lit, Var
from .interpret import eval_graph
from .primitive import PRIMITIVES, Primitive

__all__ = ["AVal", "Eqn", "Graph", "Lit", "Var", "Tracer", "bind", "trace_graph", "eval_graph",
           "PRIMITIVES", "Primitive"]
