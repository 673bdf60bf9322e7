"""jaxlike.codegen: Graphs compiled to machine code with LLVM (llvmlite).

``compile_graph(graph)`` returns a ``CompiledGraph``: ``run(arrays)`` on checked arrays, and ``native``
builtins whose argument checking happens in native code. See docs/compiling.md.
"""

from . import cache, engine
from .lowering import LOWERINGS
from .runtime import CompiledGraph, check_and_convert, check_out

__all__ = ["compile_graph", "CompiledGraph", "LOWERINGS", "check_and_convert", "check_out", "cache", "engine"]


def compile_graph(graph, text=None):
    """The CompiledGraph of ``graph``, from the cache when a structurally equal one was compiled before."""
    text = text if text is not None else str(graph)
    key = cache.graph_key(graph, text)
    hit = cache.get(key)
    if hit is not None:
        return hit
    with engine.COMPILE_LOCK:
        hit = cache.get(key)
        if hit is not None:
            return hit
        compiled = CompiledGraph(graph, text)
        cache.put(key, compiled)
        return compiled
