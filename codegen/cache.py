"""The in-memory compile cache: one CompiledGraph per structurally equal Graph.

Keyed on structure, never on ``id()``: the printed Graph (deterministic, params included), the bytes of
its constants, the LLVM version and the host CPU. Bounded (least recently used entries go first).
"""

import hashlib
import threading
from collections import OrderedDict

from . import engine

MAX_ENTRIES = 512

_lock = threading.Lock()
_entries = OrderedDict()
stats = {"hits": 0, "misses": 0}


def graph_key(graph, text=None):
    h = hashlib.sha256()
    h.update((text if text is not None else str(graph)).encode())
    for var, value in graph.consts.items():
        h.update(f"{var.aval.str_short()}".encode())
        h.update(memoryview(value.tobytes()))
    return (h.hexdigest(), engine.LLVM_VERSION, engine.HOST_CPU, engine.HOST_FEATURES)


def get(key):
    with _lock:
        hit = _entries.get(key)
        if hit is not None:
            _entries.move_to_end(key)
            stats["hits"] += 1
        return hit


def put(key, compiled):
    with _lock:
        stats["misses"] += 1
        _entries[key] = compiled
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def clear():
    with _lock:
        _entries.clear()
